"""Wheel build hook: put the app's top-level folders and compiled catalogues in the package.

The repository keeps templates/, static/, printables/ and migrations/ beside carevisits/; a
wheel carries each inside the package (``carevisits/templates`` …), where
``carevisits.config`` looks first. The compiled catalogues (``*.mo``) are build output
(.gitignore'd, made by ``make`` in a checkout), so each ``.po`` file is compiled with Babel, as
``pybabel compile --use-fuzzy`` does, into a temporary folder and added beside its source.
Editable installs get neither: they read the checkout itself.
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "carevisits"
TRANSLATIONS = Path(PACKAGE) / "translations"


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    """Compile one catalogue, fuzzy entries included (as the Makefile's `translations`)."""
    locale = po_path.parent.parent.name
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with mo_path.open("wb") as mo_file:
        write_mo(mo_file, catalog, use_fuzzy=True)


class PackageDataHook(BuildHookInterface):
    """Adds the ``resources`` folders (pyproject.toml) and the compiled catalogues."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map each resource folder into the package and compile every catalogue."""
        if version == "editable":
            return
        root = Path(self.root)
        for folder in self.config["resources"]:
            build_data["force_include"][str(root / folder)] = f"{PACKAGE}/{folder}"
        self._compiled = Path(tempfile.mkdtemp(prefix="carevisits-mo-"))
        for po_path in sorted((root / TRANSLATIONS).glob("*/LC_MESSAGES/*.po")):
            relative = po_path.relative_to(root).with_suffix(".mo")
            compile_catalogue(po_path, self._compiled / relative)
            build_data["force_include"][str(self._compiled / relative)] = relative.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the temporary folder of compiled catalogues."""
        if version != "editable":
            shutil.rmtree(self._compiled, ignore_errors=True)

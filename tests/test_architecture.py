"""The house rules of the code's layout, read from the source with `ast`:

- services (carevisits/services/) take the actor and the data as arguments: none reads Flask's
  `request`, `session` or `g`;
- blueprint packages (one per audience) share web pieces through carevisits/access.py,
  forms.py and throttle.py, never by importing one another.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "carevisits"
SERVICES = PACKAGE / "services"
REQUEST_STATE = frozenset({"request", "session", "g"})
FLASK_MODULES = frozenset({"flask", "flask.globals"})
# The audiences' packages as the issue names them; any other package that makes a Blueprint
# counts too (blueprint_packages).
BLUEPRINTS = frozenset({"auth", "scan", "round", "elders", "requests", "alerts", "coordinator",
                        "printing", "register", "family", "volunteer", "admin"})


def parse(path: Path) -> ast.Module:
    """The module's syntax tree."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def module_name(path: Path) -> str:
    """`carevisits/scan/forms.py` → `carevisits.scan.forms` (a package is its __init__)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    """The package relative imports in the file start from."""
    return module_name(path) if path.name == "__init__.py" else module_name(path.parent)


def imported_modules(tree: ast.Module, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import of a module of `package`; `from a import b`
    gives both `a` and `a.b`, since b may be a module. Relative imports are resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def request_state_uses(tree: ast.Module) -> Iterator[str]:
    """Where a module imports or reads Flask's request, session or g."""
    flask_names = set()  # names the flask module itself is bound to (`import flask as f`)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in FLASK_MODULES and not node.level:
            for alias in node.names:
                if alias.name in REQUEST_STATE:
                    yield f"line {node.lineno}: from {node.module} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in FLASK_MODULES:
                    flask_names.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in REQUEST_STATE
                and isinstance(node.value, ast.Name) and node.value.id in flask_names):
            yield f"line {node.lineno}: {node.value.id}.{node.attr}"


def makes_blueprint(path: Path) -> bool:
    """Whether the file calls `Blueprint(...)` (or `flask.Blueprint(...)`)."""
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "Blueprint":
                return True
    return False


def blueprint_packages() -> set[str]:
    """The issue's list, and every subpackage of carevisits that makes a Blueprint."""
    found = {init.parent.name for init in PACKAGE.glob("*/__init__.py")
             if any(makes_blueprint(path) for path in init.parent.rglob("*.py"))}
    return found | BLUEPRINTS


def blueprint_of(module: str, blueprints: set[str]) -> str | None:
    """The blueprint package a module belongs to (`carevisits.scan.forms` → `scan`)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "carevisits" and parts[1] in blueprints:
        return parts[1]
    return None


def test_every_named_blueprint_package_exists():
    assert sorted(name for name in BLUEPRINTS if not (PACKAGE / name / "__init__.py").is_file()) \
        == []


def test_no_service_reads_the_request_the_session_or_g():
    violations = []
    for path in sorted(SERVICES.rglob("*.py")):
        violations += [f"{path.relative_to(PACKAGE.parent)} {use}"
                       for use in request_state_uses(parse(path))]
    assert violations == [], "services take the actor and data as arguments:\n" + "\n".join(
        violations)


def test_no_blueprint_package_imports_another():
    blueprints = blueprint_packages()
    violations = []
    for name in sorted(blueprints):
        for path in sorted((PACKAGE / name).rglob("*.py")):
            imports = imported_modules(parse(path), package_of(path))
            imported = {(line, other) for line, module in imports
                        if (other := blueprint_of(module, blueprints)) not in (None, name)}
            violations += [f"{path.relative_to(PACKAGE.parent)}:{line} imports {other}"
                           for line, other in sorted(imported)]
    assert violations == [], "shared web pieces belong in access.py, forms.py or throttle.py:\n" \
        + "\n".join(violations)


def test_the_checks_catch_each_way_of_breaking_the_rules():
    service = ast.parse("import flask as f\nfrom flask import g, jsonify\n"
                        "def actor():\n    return f.session.get('x') or f.current_app\n")
    assert sorted(request_state_uses(service)) == ["line 2: from flask import g",
                                                   "line 4: f.session"]
    view = ast.parse("from carevisits import requests\nfrom ..auth.forms import SignUp\n"
                     "from . import forms\nimport carevisits.services.requests\n")
    found = {blueprint_of(module, set(BLUEPRINTS))
             for _, module in imported_modules(view, "carevisits.family")}
    assert found - {None} == {"requests", "auth", "family"}

"""Languages: every UI message has a Chinese translation, pages and form errors come out in
Chinese by default and in English after the switch.

The compiled catalogues (.mo) are build output: ``make test`` compiles them first
(``make translations``)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "carevisits" / "translations"
ZH_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# printf-style placeholders: %(name)s, %(num)d, %s, %.1f …; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _pybabel() -> str:
    exe = Path(sys.executable).with_name("pybabel")
    assert exe.exists(), f"pybabel is not installed next to {sys.executable}"
    return str(exe)


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the current sources, extracted the way ``make messages`` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [_pybabel(), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "--no-location", "--sort-output", "--ignore-dirs=.* _*", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return _read(pot)


def test_extraction_finds_python_and_template_messages(extracted):
    """Guards the extraction itself: an empty template would make the next test vacuous."""
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted if m.id}
    assert "Choose what happened." in ids  # carevisits/scan/forms.py, via _l
    assert "Sign in" in ids  # templates/auth/login.html, via _()
    assert "%(num)d day overdue" in ids  # templates/_macros.html, via ngettext
    assert len(ids) > 50


def test_zh_catalogue_has_one_plural_form():
    catalogue = _read(ZH_PO)
    assert str(catalogue.locale) == "zh_Hans_CN"
    assert catalogue.num_plurals == 1
    assert catalogue.plural_expr == "0"


def test_every_message_has_a_chinese_translation(extracted):
    catalogue = _read(ZH_PO)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        entry = catalogue.get(message.id)
        if entry is None:
            problems.append(f"missing: {key!r} (run `make messages`, then translate)")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if isinstance(message.id, tuple):
            expected = _placeholders(message.id[-1])  # one Chinese form serves every count
            if len(strings) != catalogue.num_plurals:
                problems.append(f"{len(strings)} plural forms, want 1: {key!r}")
        else:
            expected = _placeholders(message.id)
        for string in strings:
            if not string or not string.strip():
                problems.append(f"untranslated: {key!r}")
            elif _placeholders(string) != expected:
                problems.append(f"placeholders {_placeholders(string)} != {expected}: {key!r}")
            elif re.fullmatch(r"[\x00-\x7f]*", string) and re.search(r"[A-Za-z]{2}", string):
                problems.append(f"still English: {key!r} -> {string!r}")
    assert not problems, "\n".join(problems)


def test_pages_are_chinese_by_default_and_english_after_the_switch(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page
    assert "Sign in" not in page

    assert client.get("/lang/en").status_code == 302
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "登录" not in page

    client.get("/lang/zh_Hans_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)


def _post_check_in(client, world, fields_per_elder: dict[int, dict[str, str]]):
    """Send household h1's door form with the given fields for each elder (by id)."""
    data = {"idempotency_key": "k" * 20}
    for elder_id, fields in fields_per_elder.items():
        for name, value in fields.items():
            data[f"e{elder_id}-{name}"] = value
    return client.post(f"/c/{world.h1.code.token}", data=data)


def test_wtforms_own_errors_are_chinese(client, world):
    """"Not a valid choice." comes from WTForms' bundled catalogue, not ours."""
    login(client, world.worker)
    elder_ids = [e.id for e in world.h1.elders]
    response = _post_check_in(client, world, {i: {"outcome": "bogus"} for i in elder_ids})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count("不是有效的选择。") == len(elder_ids)
    assert "未保存。请修改标出的内容后重新提交。" in page
    assert "Not a valid choice" not in page

    client.get("/lang/en")
    response = _post_check_in(client, world, {i: {"outcome": "bogus"} for i in elder_ids})
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)


def test_check_in_form_errors_are_chinese(client, world):
    """The app's own validation messages, including one built from other lazy strings."""
    login(client, world.worker)
    first, second = (e.id for e in world.h1.elders)
    response = _post_check_in(client, world, {
        first: {"systolic": "abc"},  # no outcome, and not a number
        second: {"outcome": "met_well", "pulse": "999"},
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请选择探访情况。" in page
    assert "请输入整数。" in page
    assert "脉搏应在30到220之间。" in page
    assert "Choose what happened" not in page
    assert "must be between" not in page

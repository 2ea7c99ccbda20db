"""What the register's forms and its import keep of the text they are given: blank and
invisible characters are no value, full-width digits and the words 号楼 / 单元 / 室 typed into
their boxes do not make a second household at one address, and export → import of the demo
street is a no-op."""

import io
import zipfile as zf

from openpyxl import Workbook
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Elder, Household, Street
from carevisits.services import register_sheets
from tests.conftest import count, latest
from tests.test_register_import import snapshot
from tests.test_register_records import ELDER

INVISIBLE_NAMES = {"\u200b": None, "张\x00三": "张三", "\u202e张三\x07": "张三"}


def test_blank_and_invisible_household_fields_are_missing(client, world, as_user):
    as_user(world.coordinator)
    before = count(Household)
    response = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "  ", "building": " ", "unit": "\u200b",
        "room": "\x00"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and count(Household) == before
    assert "请填写街路门牌。" in body
    assert "请填写楼号。" not in body and "请填写室号。" not in body  # a 平房 has neither


def test_elder_text_fields_are_cleaned_and_an_invisible_name_is_missing(client, world,
                                                                        as_user):
    as_user(world.coordinator)
    url = f"/register/households/{world.h2.id}/elders/new"
    for typed, kept in INVISIBLE_NAMES.items():
        before = count(Elder)
        response = client.post(url, data={
            **ELDER, "name": typed, "tags": "\x00", "health_notes": "糖尿病\x00\r\n按时服药",
            "contacts-0-name": "刘\u200b伟\x00", "contacts-0-relation": "儿\x00子"})
        if kept is None:
            assert response.status_code == 422 and count(Elder) == before
            assert "请填写老人姓名。" in response.get_data(as_text=True)
            continue
        assert response.status_code == 302, response.get_data(as_text=True)
        elder = latest(Elder)
        assert elder.name == kept and elder.tags == []
        assert elder.health_notes == "糖尿病\n按时服药"
        assert elder.emergency_contacts[0]["name"] == "刘伟"
        assert elder.emergency_contacts[0]["relation"] == "儿子"
        client.post(f"/register/elders/{elder.id}/close", data={
            "reason": "moved_away", "closed_on": "2026-01-01"})


def test_no_control_character_reaches_the_database_from_other_forms(client, world, as_user):
    as_user(world.admin)
    response = client.post("/register/streets", data={"name": "\u200b\x00 "})
    assert response.status_code == 422
    response = client.post("/register/streets", data={"name": "三\x00街道\u200b"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(func.count(Street.id)).where(Street.name == "三街道")) == 1


def test_full_width_digits_and_typed_suffixes_find_the_address_that_exists(client, world,
                                                                           as_user):
    as_user(world.coordinator)
    h = world.h2  # 测试路1号院 1号楼1单元 <room>室
    before = count(Household)
    response = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "测试路１号院", "building": "１号楼",
        "unit": "1单元", "room": f"{h.room}室".translate(str.maketrans("0123456789",
                                                                      "０１２３４５６７８９"))})
    assert response.status_code == 422 and h.number in response.get_data(as_text=True)
    assert count(Household) == before
    # A new address typed the same way is kept as the importer keeps it.
    response = client.post("/register/households/new", data={
        "grid": world.grids[0].id, "address": "测试路１号院", "building": "２号楼",
        "unit": "３单元", "room": "３０２室"})
    assert response.status_code == 302
    new = latest(Household)
    assert (new.address, new.building, new.unit, new.room) == ("测试路1号院", "2", "3", "302")
    assert new.full_address == "测试路1号院2号楼3单元302室"


def _csv(rows):
    lines = ["户号,社区,网格,住址,楼号,单元,房号,姓名,出生年份"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def test_import_columns_with_suffixes_match_the_household_of_the_form(runner, world,
                                                                      tmp_path):
    h = world.h2
    path = tmp_path / "a.csv"
    path.write_bytes(_csv([["", "甲社区", "二网格", h.address, "１号楼", "1单元", f"{h.room}室",
                            h.elders[0].name, str(h.elders[0].birth_year)]]))
    before = count(Household)
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
    assert result.exit_code == 0, result.output
    assert count(Household) == before


def test_rows_with_their_own_numbers_at_one_shared_address_are_no_clash(runner, world,
                                                                        tmp_path):
    # An old register with two open households at one address (as the demo made them).
    h1, h2 = world.h1, world.h2
    h2.address, h2.building, h2.unit, h2.room = h1.address, h1.building, h1.unit, h1.room
    db.session.commit()
    rows = [[h.number, "甲社区", h.grid.name, h.address, h.building, h.unit, h.room,
             h.elders[0].name, str(h.elders[0].birth_year)] for h in (h1, h2)]
    path = tmp_path / "a.csv"
    path.write_bytes(_csv(rows))
    before = snapshot()
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before
    # Without the numbers the address cannot tell them apart: said, with the full address.
    path.write_bytes(_csv([["", *r[1:]] for r in rows]))
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
    assert result.exit_code == 1
    assert h1.full_address in result.output


def test_the_demo_street_has_one_household_per_address_and_exports_to_a_no_op(
        app, runner, tmp_path):
    assert runner.invoke(args=["demo"]).exit_code == 0
    addresses = db.session.execute(select(
        Household.address, Household.building, Household.unit, Household.room)).all()
    assert len(addresses) == len(set(addresses))
    out = tmp_path / "demo.xlsx"
    result = runner.invoke(args=["register", "export", "--street", "泉城路街道", "-o", str(out)])
    assert result.exit_code == 0, result.output
    before = snapshot()
    result = runner.invoke(args=["register", "import", str(out), "--street", "泉城路街道"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before


def test_the_preview_headers_are_the_imports_own_words(as_user, world):
    client = as_user(world.coordinator)
    data = _csv([["", "甲社区", "一网格", "芙蓉街37号院", "2", "3", "302", "张桂兰", "1940"]])
    response = client.post("/register/import", data={"file": (io.BytesIO(data), "a.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    head = page[page.index("<thead>"):page.index("</thead>")]
    for word in ("新增", "修改", "销档", "不变"):
        assert word in head, word
    assert "新诉求" not in head and "已办结" not in head


def test_a_repeated_name_is_not_imported_and_a_second_phone_gives_further_numbers():
    data = "姓名,电话,出生年份,姓名,电话\n张三,13800000000,1940,李四,13900000000\n".encode()
    sheet = register_sheets.open_sheet(data, "a.csv")
    assert sheet.columns == {0: "name", 1: "phone", 2: "birth", 4: "other_phones"}
    assert sheet.left_out == {3: "again"}


def test_door_notes_and_reasons_keep_no_control_characters(app):
    from carevisits.alerts.forms import NoteForm, ResolveForm
    from carevisits.forms import RaiseForm
    from carevisits.scan.forms import CorrectionForm, ElderRecordForm, VoidForm
    cases = [(NoteForm, "note"), (ResolveForm, "note"), (CorrectionForm, "reason"),
             (VoidForm, "reason"), (ElderRecordForm, "notes"), (RaiseForm, "description")]
    for form_class, name in cases:
        with app.test_request_context(method="POST", data={name: "门\x00没\u200b锁\x07\r\n好"}):
            form = form_class(meta={"csrf": False})
            lines = form[name].type == "TextAreaField"  # one line: a line break is a space
            assert form[name].data == ("门没锁\n好" if lines else "门没锁 好"), form_class
    said = "点错了：老人去女儿家了，明天再来"  # Chinese punctuation is text, kept as typed
    for form_class, name in cases:
        with app.test_request_context(method="POST", data={name: said}):
            assert form_class(meta={"csrf": False})[name].data == said, form_class
    for form_class, name in [(ResolveForm, "note"), (VoidForm, "reason"),
                             (RaiseForm, "description")]:
        with app.test_request_context(method="POST", data={name: " \x00\u200b "}):
            form = form_class(meta={"csrf": False})
            assert not form.validate() and form[name].errors, form_class


def test_a_note_typed_in_the_form_survives_export_and_import_unchanged(runner, world,
                                                                         tmp_path):
    """The form keeps prose as typed (糖尿病，按时服药); the import must not fold it."""
    elder = world.h1.elders[0]
    elder.health_notes = "糖尿病，按时服药（早晚各一次）"
    db.session.commit()
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["register", "export", "--street", "一街道",
                               "-o", str(out)]).exit_code == 0
    before = snapshot()
    result = runner.invoke(args=["register", "import", str(out), "--street", "一街道"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before


def test_headers_spaced_out_with_full_width_spaces_are_found(runner, world, tmp_path):
    """Chinese sheets align short headers with full-width spaces: 姓　名, 网　格."""
    h = world.h2
    path = tmp_path / "a.csv"
    path.write_bytes(("户号,社区,网　格,住址,楼号,单元,房号,姓　名,出生年份\n"
                      f"{h.number},甲社区,二网格,{h.address},{h.building},{h.unit},{h.room},"
                      f"{h.elders[0].name},{h.elders[0].birth_year}\n").encode())
    before = snapshot()
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before


def test_a_damaged_file_is_refused_as_unreadable_not_a_crash(runner, world, tmp_path):
    """A truncated XLSX sheet and a CSV cell of 200,000 characters: exit 2, nothing applied."""
    workbook = Workbook()
    workbook.active.append(["姓名", "社区"])
    for i in range(200):
        workbook.active.append([f"老人{i}", "甲社区"])
    whole = io.BytesIO()
    workbook.save(whole)
    damaged = io.BytesIO()
    with zf.ZipFile(whole) as source, zf.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]
            target.writestr(item, body)
    files = {"damaged.xlsx": damaged.getvalue(),
             "long.csv": ("姓名,社区\n" + "张" * 200_000 + ",甲社区\n").encode()}
    before = count(Elder)
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
        assert result.exit_code == 2, (name, result.output)
    assert count(Elder) == before


def test_a_household_number_typed_in_full_width_digits_is_found(client, world, as_user):
    as_user(world.worker)
    wide = "".join(chr(ord(d) + 0xFEE0) for d in world.h1.number)  # １２３…
    response = client.get(f"/visit?number={wide}")
    assert response.status_code == 302 and world.h1.number in response.location

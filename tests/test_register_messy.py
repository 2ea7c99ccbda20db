"""A street's real spreadsheet goes in whole (issue 25): the sheet of tests/register_messy.py,
as XLSX and as GBK CSV, is mapped without help but for its list words, reads as a person
reads it, and imports 59 of its 60 person rows with every phone, contact and note kept, no
address invented and no ID number stored. An old export cannot reopen a closed record or
overwrite a newer change without someone choosing it."""

import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import AuditEvent, ClosedReason, Elder, Household, LivingSituation
from carevisits.models.base import local_today
from carevisits.services import elders as elder_service
from carevisits.services import register_import, register_mapping
from carevisits.services.register_mapping import Mapping
from tests import register_messy as messy

FILES = {"xlsx": (messy.xlsx, "台账.xlsx"), "csv": (messy.gbk_csv, "台账.csv")}


def plan_of(world, data: bytes, name: str, mapping: Mapping | None = None):
    """The preview of a file for street one, as the coordinator would see it."""
    area = register_import.Area(world.streets[0])
    return register_import.preview(data, name, "0" * 64, area, local_today(), mapping)


@pytest.mark.parametrize("fmt", FILES)
def test_the_first_upload_maps_every_column_but_asks_for_the_list_words(world, fmt):
    make, name = FILES[fmt]
    plan = plan_of(world, make(), name)
    assert {c.header: c.key for c in plan.columns} == messy.GUESSED
    assert {key: set(words) for key, words in plan.unknown_values.items()} == {
        "care": {"特困", "A", "B", "C"}, "living": {"与保姆同住"}}
    not_imported = {c.header: c.filled for c in plan.not_imported}
    assert not_imported == {"序号": 60, "内部编码": 60}
    ids = next(c for c in plan.columns if c.key == "id_card")
    assert ids.samples and all(re.fullmatch(r"3701\*{12}\w\w", s) for s in ids.samples)
    hidden = [c.header for c in plan.columns if c.hidden]
    assert hidden == (["内部编码"] if fmt == "xlsx" else [])
    _rows, lines, blank, totals = messy.layout()
    assert (blank, "blank") in plan.skipped and (totals, "totals") in plan.skipped
    assert plan.hidden_rows == ([lines[3]] if fmt == "xlsx" else [])


@pytest.mark.parametrize("fmt", FILES)
def test_with_the_list_words_mapped_59_of_60_rows_go_in_with_every_value(runner, world, fmt,
                                                                         tmp_path):
    make, name = FILES[fmt]
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps({"columns": {}, "values": messy.VALUE_MAPPING},
                                       ensure_ascii=False), "utf-8")
    path = tmp_path / name
    path.write_bytes(make())
    errors = tmp_path / "errors.xlsx"
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道",
                                 "--mapping", str(mapping_file), "--skip-invalid",
                                 "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    assert "rows with errors not imported" in result.output
    people = messy.people()
    stored = {e.name: e for e in db.session.scalars(select(Elder))}
    imported = [p for p in people[:-1] if p.name in stored]
    assert len(imported) == 59  # the 60th row is the first person again: an error
    # The rest, to fix: the repeated person, with the row it repeats named.
    book = openpyxl.load_workbook(errors)
    error_rows = list(book["错误行"].iter_rows(min_row=2, values_only=True))
    assert len(error_rows) == 1 and error_rows[0][3] == people[0].name
    _rows, lines, _blank, _totals = messy.layout()
    assert str(lines[0]) in error_rows[0][-1]
    for person in imported:
        elder = stored[person.name]
        assert elder.phone == person.phone, person.cells
        assert elder.other_phones == person.other_phones, person.cells
        assert elder.notes == person.notes
        assert [(c["relation"], c["name"], c["phone"]) for c in elder.emergency_contacts] \
            == person.contacts, person.cells
        assert elder.household.full_address == person.address
        assert elder.household.building == person.building
    couple = [stored[p.name] for p in people[5:7]]
    assert couple[0].household_id == couple[1].household_id
    assert couple[0].household.building == "" and "号楼" not in couple[0].household.full_address
    assert stored[people[8].name].household_id == stored[people[9].name].household_id
    assert stored[people[1].name].living_situation == LivingSituation.OTHER
    # ID numbers gave birth years and genders, and are nowhere in the database.
    with_id = next(p for p in imported if p.id_card)
    assert stored[with_id.name].birth_year == int(with_id.id_card[6:10])
    for p in imported:
        if p.id_card:
            assert _found_anywhere(p.id_card) == [], p.id_card


def _found_anywhere(value: str) -> list[str]:
    """The tables whose text holds ``value`` (every row of every table, as text)."""
    found = []
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        if any(value in str(row) for row in rows):
            found.append(table.name)
    return found


def test_a_stale_export_neither_reopens_nor_overwrites_without_being_told(runner, world,
                                                                          tmp_path, clock):
    make, name = FILES["xlsx"]
    path = tmp_path / name
    path.write_bytes(make())
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"values": messy.VALUE_MAPPING}, ensure_ascii=False))
    assert runner.invoke(args=["register", "import", str(path), "--street", "一街道",
                               "--mapping", str(mapping), "--skip-invalid"]).exit_code == 0
    clock.advance(days=1)
    export = tmp_path / "export.xlsx"
    assert runner.invoke(args=["register", "export", "--street", "一街道", "-o",
                               str(export)]).exit_code == 0
    clock.advance(days=1)
    people = messy.people()
    ma = db.session.scalar(select(Elder).where(Elder.name == people[2].name))
    other = db.session.scalar(select(Elder).where(Elder.name == people[3].name))
    elder_service.close_elder(ma, reason=ClosedReason.DECEASED, on=local_today(),
                              actor=world.coordinator, today=local_today())
    elder_service.update_elder(other, actor=world.coordinator, phone="13811112222")
    db.session.commit()
    ma_id, other_id = ma.id, other.id

    plan = plan_of(world, export.read_bytes(), "export.xlsx")
    assert plan.exported_at is not None and plan.ok
    held = {(h.kind, h.key) for h in plan.conflicts}
    assert held == {("reopen", f"e{ma_id}"), ("newer", f"e{other_id}")}
    quiet = runner.invoke(args=["register", "import", str(export), "--street", "一街道"])
    assert quiet.exit_code == 0, quiet.output
    assert "Held back (apply with --reopen)" in quiet.output
    assert "Held back (apply with --overwrite-newer)" in quiet.output
    db.session.expire_all()
    assert db.session.get(Elder, ma_id).closed_reason == ClosedReason.DECEASED
    assert db.session.get(Elder, other_id).phone == "13811112222"

    reopen = runner.invoke(args=["register", "import", str(export), "--street", "一街道",
                                 "--reopen"])
    assert reopen.exit_code == 0 and "Reopened: 1." in reopen.output, reopen.output
    db.session.expire_all()
    assert db.session.get(Elder, ma_id).closed_reason is None
    assert db.session.get(Elder, other_id).phone == "13811112222"
    told = runner.invoke(args=["register", "import", str(export), "--street", "一街道",
                               "--overwrite-newer"])
    assert told.exit_code == 0, told.output
    db.session.expire_all()
    assert db.session.get(Elder, other_id).phone == people[3].phone


def test_a_file_that_does_not_say_when_it_was_exported_is_taken_to_be_old(world, tmp_path):
    elder = world.h1.elders[0]
    elder_service.update_elder(elder, actor=world.coordinator, phone="13811113333")
    db.session.commit()
    csv_text = (f"户号,姓名,出生年份,联系电话\n{world.h1.number},{elder.name},"
                f"{elder.birth_year},13900009999\n")
    plan = plan_of(world, csv_text.encode(), "old.csv")
    assert [(h.kind, h.key, h.changes["phone"]) for h in plan.conflicts] == [
        ("newer", f"e{elder.id}", ("13811113333", "13900009999"))]
    assert plan.counts["elders_update"] == 0 and plan.counts["held"] == 1


def test_the_mapping_is_kept_for_the_street_and_printed_as_json(runner, world, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(messy.gbk_csv())
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"columns": {"内部编码": "不导入"},
                                   "values": messy.VALUE_MAPPING}, ensure_ascii=False))
    shown = runner.invoke(args=["register", "import", str(path), "--street", "一街道",
                                "--mapping", str(mapping), "--show-mapping"])
    assert shown.exit_code == 0, shown.output
    printed = json.loads(shown.output)
    assert printed["columns"]["户主/老人姓名"] == "姓名"
    assert printed["columns"]["内部编码"] == "不导入"
    assert printed["values"]["关爱等级"]["A"] == "重点"
    assert db.session.scalar(select(func.count()).select_from(Household)) == 4  # nothing done
    applied = runner.invoke(args=["register", "import", str(path), "--street", "一街道",
                                  "--mapping", str(mapping), "--skip-invalid"])
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()
    kept = register_mapping.saved(world.streets[0])
    assert kept.values["care"]["特困"] == "重点" and kept.columns["内部编码"] is None
    # The next file of the street needs no mapping file.
    again = plan_of(world, messy.gbk_csv(), "台账.csv", kept)
    assert again.unknown_values == {}


def test_a_bad_mapping_file_names_what_is_wrong(runner, world, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(messy.gbk_csv())
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"columns": {"序号": "编号吗"},
                                   "values": {"关爱等级": {"A": "顶级"}}}, ensure_ascii=False))
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道",
                                 "--mapping", str(mapping)])
    assert result.exit_code == 2
    assert "编号吗" in result.output and "顶级" in result.output


def test_import_changes_are_in_the_audit_log_marked_as_the_import(runner, world, tmp_path):
    elder = world.h1.elders[0]
    path = tmp_path / "a.csv"
    path.write_bytes(f"户号,姓名,出生年份,备注\n{world.h1.number},{elder.name},"
                     f"{elder.birth_year},轮椅\n".encode())
    assert runner.invoke(args=["register", "import", str(path), "--street", "一街道"]
                         ).exit_code == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "elder.update",
                                                       AuditEvent.subject_id == elder.id))
    assert event.details["via"] == "import" and event.details["changes"]["notes"] == ["", "轮椅"]


def test_an_upload_and_its_mapping_are_the_uploaders_and_their_streets(client, world, as_user):
    as_user(world.coordinator)
    page = client.post("/register/import", data={"file": (io.BytesIO(messy.gbk_csv()),
                                                           "台账.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    sha = re.search(r'name="sha" type="hidden" value="([0-9a-f]{64})"', page)[1]
    assert "不在可选值中的写法" in page and 'name="word-care-0"' in page
    form = {f"col-{i}": register_mapping.header_of(k) if k else "不导入"
            for i, k in enumerate(messy.GUESSED.values())}
    words = re.findall(r'name="word-(\w+)-(\d+)" value="([^"]+)"', page)
    for key, n, word in words:
        table = messy.VALUE_MAPPING[register_mapping.header_of(key)]
        form[f"word-{key}-{n}"], form[f"val-{key}-{n}"] = word, table[word]
    mapped = client.post(f"/register/import/{sha}/mapping", data=form)
    assert mapped.status_code == 302
    again = client.get(f"/register/import/{sha}").get_data(as_text=True)
    assert "不在可选值中的写法" not in again
    assert client.get(f"/register/import/{sha}?action=elder_create&page=2").status_code == 200
    db.session.rollback()
    assert register_mapping.saved(world.streets[0]).values["care"]["A"] == "重点"
    # Another coordinator, even of the same street, has no such upload.
    client.post("/logout")
    as_user(world.community_coordinator)
    assert client.get(f"/register/import/{sha}").status_code == 404
    assert client.post(f"/register/import/{sha}/mapping", data=form).status_code == 404


def test_a_contact_column_holding_whole_contacts_is_read_as_contacts(world):
    text = ("姓名,出生年份,住址,社区,网格,紧急联系人\n"
            "冯秀英,1941,明湖西街74号,甲社区,一网格,外甥女冯长林15197402358\n"
            "冯德明,1939,明湖西街76号,甲社区,一网格,王强\n")
    plan = plan_of(world, text.encode(), "a.csv")
    assert plan.ok
    created = {e.record: dict(e.values) for e in plan.listing.entries
               if e.action == "elder_create"}
    assert created["冯秀英"]["紧急联系人"] == "外甥女 冯长林 15197402358"
    assert created["冯德明"]["紧急联系人"] == "王强"
    assert [(w.line, w.column) for w in plan.row_warnings] == [(3, "紧急联系人")]

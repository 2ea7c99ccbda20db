"""Importing and exporting the street's register: messy files in GBK and XLSX, row errors
with their row numbers, the error file, apply all or nothing, re-import and export → import
changing nothing, the coordinator's area, the command line's exit codes, the template."""

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import (
    AuditEvent,
    CareLevel,
    ClosedReason,
    DoorCode,
    Elder,
    Household,
    LivingSituation,
)
from carevisits.services import register_sheets, register_write, schedule
from tests.conftest import count

HEADER = ["序号", "老人姓名", "性别", "出生日期", "手机号", "家庭住址", "社区", "网格", "居住情况",
          "等级", "上门须知", "紧急联系人", "关系", "紧急联系电话", "门牌编号"]
GOOD = [
    ["1", "张桂兰", "女", "1940-05-01", "１３８０５３１０００１",
     "芙蓉街37号院2号楼3单元302室", "甲社区", "一网格", "独居", "重点", "行动不便，听力差",
     "李强", "儿子", "13905310002", ""],
    ["2", "李德明", "男", "1938", "139 0531 0003", "芙蓉街37号院2-3-302", "甲社区", "一网格",
     "与配偶同住", "关注", "", "", "", "", ""],
    ["3", "王玉珍", "女", "85", "0531-86011001", "曲水亭街8号院1号楼101室", "甲社区",
     "二网格", "空巢", "一般", "", "", "", "", ""],
    ["4", "赵秀英", "女", "1936年", "８６０１１００２", "县西巷5号院3-2-201", "乙社区",
     "三网格", "孤寡", "重点", "", "王芳", "女儿", "13905310004", ""],
]


def _bad(i, name, **cells):
    row = [str(i), name, "女", "1945", f"1380531{i:04d}", f"幸福路{i}号院1号楼1单元10{i}室",
           "甲社区", "一网格", "独居", "一般", "", "", "", "", ""]
    for column, value in cells.items():
        row[HEADER.index(column)] = value
    return row


# (bad row, the column the error names, a word of its Chinese message, the fixed row)
BAD = [
    (_bad(5, ""), "老人姓名", "缺少姓名", _bad(5, "孙凤英")),
    (_bad(6, "周淑珍", 出生日期="1850"), "出生日期", "出生年份不合理", _bad(6, "周淑珍")),
    (_bad(7, "吴建国", 手机号="12345"), "手机号", "既不是手机号也不是固定电话",
     _bad(7, "吴建国")),
    (_bad(8, "郑志强", 社区="丙社区"), "社区", "本街道没有这个社区", _bad(8, "郑志强")),
    (_bad(9, "冯玉兰", 等级="特级"), "等级", "关爱等级不在可选值内",
     _bad(9, "冯玉兰", 等级="关注")),
    (GOOD[0][:1] + ["张桂兰"] + GOOD[0][2:], "老人姓名", "是同一人",
     GOOD[0][:1] + ["张桂芝"] + GOOD[0][2:]),
    (_bad(11, "陈秀兰", 家庭住址="曲水亭街8号院1号楼101室"), "网格", "是同一户",
     _bad(11, "陈秀兰", 家庭住址="曲水亭街8号院1号楼101室", 网格="二网格")),
    (_bad(12, "何德明", 门牌编号="12345678"), "门牌编号", "户号格式不正确", _bad(12, "何德明")),
    (_bad(13, "杨淑英", 居住情况="随便"), "居住情况", "居住情况不在可选值内", _bad(13, "杨淑英")),
    (_bad(14, "朱建华", 网格="九网格"), "网格", "该社区没有这个网格", _bad(14, "朱建华")),
]
# Households of the fixed file: three of the good rows, one each for the bad rows but
# 张桂芝 (张桂兰's home) and 陈秀兰 (王玉珍's home).
NEW_HOUSEHOLDS, NEW_ELDERS = 3 + 8, 4 + 10


def messy_rows(fixed=False):
    """The good rows with a blank line among them, then the bad (or fixed) rows."""
    rows = GOOD[:2] + [[""] * len(HEADER)] + GOOD[2:]
    return rows + [fix if fixed else bad for bad, _, _, fix in BAD]


def gbk_csv(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("gbk")


def xlsx(rows, header=HEADER, title="泉城路街道独居老人台账") -> bytes:
    """An XLSX with a title row above the header, as streets write them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def expected_errors(first_bad_line):
    return [(first_bad_line + i, column, word) for i, (_, column, word, _) in enumerate(BAD)]


def snapshot():
    """What an import may change, as the database has it now."""
    db.session.rollback()
    elders = db.session.execute(select(
        Elder.id, Elder.household_id, Elder.name, Elder.gender, Elder.birth_year, Elder.phone,
        Elder.emergency_contacts, Elder.living_situation, Elder.care_level, Elder.health_notes,
        Elder.tags, Elder.closed_reason, Elder.closed_on, Elder.due_at).order_by(Elder.id))
    households = db.session.execute(select(
        Household.id, Household.grid_id, Household.number, Household.address, Household.building,
        Household.unit, Household.room).order_by(Household.id))
    codes = db.session.execute(select(DoorCode.id, DoorCode.revoked_at).order_by(DoorCode.id))
    return elders.all(), households.all(), codes.all()


def run_import(runner, tmp_path, data, name, *args):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(args=["register", "import", str(path), "--street", "一街道", *args])


# --- the messy files ------------------------------------------------------------------

def test_gbk_csv_reports_every_bad_row_and_changes_nothing(runner, world, tmp_path):
    before = snapshot()
    errors_path = tmp_path / "errors.xlsx"
    result = run_import(runner, tmp_path, gbk_csv(messy_rows()), "台账.csv", "--dry-run",
                        "--errors", str(errors_path))
    assert result.exit_code == 1, result.output
    reported = re.findall(r"Row (\d+), (\S+) '[^']*': (.+)", result.output)
    # Header on line 1, four good rows and a blank line: the bad rows start on line 7.
    assert len(reported) == len(BAD)
    for (line, column, word), (got_line, got_column, message) in zip(
            expected_errors(7), reported, strict=True):
        assert (int(got_line), got_column) == (line, column) and word in message
    assert "Column not imported: 序号 (14 filled cells)" in result.output
    assert snapshot() == before
    book = openpyxl.load_workbook(errors_path)
    rows = list(book.active.values)
    assert rows[0][-1] == "错误" and len(rows) == 1 + len(BAD)
    assert "缺少姓名" in rows[1][-1]


def test_fixed_csv_creates_exactly_the_expected_records(runner, world, tmp_path):
    households_before, elders_before = count(Household), count(Elder)
    result = run_import(runner, tmp_path, gbk_csv(messy_rows(fixed=True)), "台账.csv")
    assert result.exit_code == 0, result.output
    assert f"Households: {NEW_HOUSEHOLDS} new" in result.output
    assert count(Household) == households_before + NEW_HOUSEHOLDS
    assert count(Elder) == elders_before + NEW_ELDERS
    new = db.session.scalars(select(Household).where(Household.address.in_(
        ["芙蓉街37号院", "曲水亭街8号院", "县西巷5号院"]))).all()
    assert sorted((h.address, h.building, h.unit, h.room) for h in new) == [
        ("县西巷5号院", "3", "2", "201"), ("曲水亭街8号院", "1", "", "101"),
        ("芙蓉街37号院", "2", "3", "302")]
    for h in new:
        assert len(h.number) == 8
        assert count(DoorCode, DoorCode.household_id == h.id, DoorCode.revoked_at.is_(None)) == 1
    zhang = db.session.scalar(select(Elder).where(Elder.name == "张桂兰"))
    assert (zhang.phone, zhang.birth_year, zhang.care_level, zhang.living_situation) == (
        "13805310001", 1940, CareLevel.KEY, LivingSituation.ALONE)
    assert zhang.tags == ["行动不便", "听力差"] and zhang.due_at is not None
    assert zhang.emergency_contacts == [{"name": "李强", "relation": "儿子",
                                         "phone": "13905310002"}]
    assert {e.name for e in zhang.household.elders} == {"张桂兰", "李德明", "张桂芝"}
    wang = db.session.scalar(select(Elder).where(Elder.name == "王玉珍"))
    assert (wang.birth_year, wang.phone) == (2026 - 85, "0531-86011001")
    zhao = db.session.scalar(select(Elder).where(Elder.name == "赵秀英"))
    assert zhao.phone == "86011002" and zhao.household.grid.name == "三网格"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "register.import"))
    assert event.details["file"] == "台账.csv" and len(event.details["sha256"]) == 64
    assert event.details["counts"]["elders_create"] == NEW_ELDERS


def test_xlsx_preview_in_the_browser_lists_the_errors(as_user, world):
    client = as_user(world.coordinator)
    before = snapshot()
    response = client.post("/register/import", data={
        "file": (io.BytesIO(xlsx(messy_rows())), "台账.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)</td>",
                       page)
    # A title row and the header: the bad rows start on line 8 in Excel.
    assert len(cells) == len(BAD)
    for (line, column, word), (got_line, got_column, message) in zip(
            expected_errors(8), cells, strict=True):
        assert (int(got_line), got_column) == (line, column) and word in message
    assert "确认导入" not in page  # no apply button while there are errors
    sha = re.search(r"/register/import/errors/([0-9a-f]{64})", page)[1]
    refused = client.post("/register/import/apply", data={"sha": sha})
    assert refused.status_code == 422
    assert snapshot() == before


def test_the_error_file_uploads_again_after_fixing(as_user, world):
    client = as_user(world.coordinator)
    response = client.post("/register/import", data={
        "file": (io.BytesIO(xlsx(messy_rows())), "台账.xlsx")},
        content_type="multipart/form-data")
    sha = re.search(r"/register/import/errors/([0-9a-f]{64})", response.get_data(as_text=True))[1]
    download = client.get(f"/register/import/errors/{sha}")
    assert download.status_code == 200
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header == HEADER + ["错误"]
    for row, (_, _, _, fix) in zip(sheet.iter_rows(min_row=2), BAD, strict=True):
        for cell, value in zip(row, fix, strict=False):
            cell.value = value
    out = io.BytesIO()
    book.save(out)
    elders_before = count(Elder)
    preview = client.post("/register/import", data={
        "file": (io.BytesIO(out.getvalue()), "错误行.xlsx")}, content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认导入" in page, page
    assert "未导入的列" in page and "错误" not in page.split("未导入的列")[1].split("</p>")[0]
    new_sha = re.search(r'name="sha" type="hidden" value="([0-9a-f]{64})"', page)[1]
    applied = client.post("/register/import/apply", data={"sha": new_sha})
    assert applied.status_code == 302
    assert count(Elder) == elders_before + len(BAD)


# --- safe to repeat -------------------------------------------------------------------

def test_importing_the_same_file_twice_changes_nothing(runner, world, tmp_path):
    data = xlsx(messy_rows(fixed=True))
    assert run_import(runner, tmp_path, data, "a.xlsx").exit_code == 0
    before = snapshot()
    events = count(AuditEvent)
    again = run_import(runner, tmp_path, data, "a.xlsx")
    assert again.exit_code == 0, again.output
    assert (f"Households: 0 new, 0 changed, {NEW_HOUSEHOLDS} unchanged. "
            f"Elders: 0 new, 0 changed, 0 closed, {NEW_ELDERS} unchanged.") in again.output
    assert snapshot() == before
    assert count(AuditEvent) == events + 1  # the import itself is recorded, nothing else



def test_apply_writes_in_batches_as_one_import(runner, world, tmp_path, monkeypatch):
    """Tiny batches: a household made in one batch gets its elders from later ones."""
    monkeypatch.setattr(register_write, "BATCH", 2)
    households_before, elders_before = count(Household), count(Elder)
    result = run_import(runner, tmp_path, gbk_csv(messy_rows(fixed=True)), "台账.csv")
    assert result.exit_code == 0, result.output
    assert count(Household) == households_before + NEW_HOUSEHOLDS
    assert count(Elder) == elders_before + NEW_ELDERS
    assert count(DoorCode, DoorCode.revoked_at.is_(None)) == count(Household)
    zhang = db.session.scalar(select(Elder).where(Elder.name == "张桂兰"))
    assert {e.name for e in zhang.household.elders} == {"张桂兰", "李德明", "张桂芝"}
    again = run_import(runner, tmp_path, gbk_csv(messy_rows(fixed=True)), "台账.csv")
    assert f"Elders: 0 new, 0 changed, 0 closed, {NEW_ELDERS} unchanged." in again.output


def test_new_elders_get_the_schedule_the_schedule_service_gives(runner, world, tmp_path):
    """The apply writes a new elder's first schedule itself: it is schedule.refresh's."""
    schedule.set_policy(world.streets[0].id, CareLevel.KEY, 2, 5)
    db.session.commit()
    result = run_import(runner, tmp_path, gbk_csv(messy_rows(fixed=True)), "台账.csv")
    assert result.exit_code == 0, result.output
    names = {row[1] for row in messy_rows(fixed=True) if row[1]}
    new = db.session.scalars(select(Elder).where(Elder.name.in_(names))).all()
    assert len(new) == NEW_ELDERS and {e.care_level for e in new} == set(CareLevel)
    written = [(e.due_at, e.overdue_at) for e in new]
    schedule.refresh(new)
    assert [(e.due_at, e.overdue_at) for e in new] == written

@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_export_then_import_changes_nothing(runner, world, tmp_path, suffix):
    assert run_import(runner, tmp_path, gbk_csv(messy_rows(fixed=True)), "a.csv").exit_code == 0
    out = tmp_path / f"export.{suffix}"
    result = runner.invoke(args=["register", "export", "--street", "一街道", "-o", str(out)])
    assert result.exit_code == 0, result.output
    before = snapshot()
    again = run_import(runner, tmp_path, out.read_bytes(), f"export.{suffix}")
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed" in again.output and "0 closed" in again.output
    assert snapshot() == before


def test_closing_and_changing_through_the_import(runner, world, tmp_path):
    out = tmp_path / "export.xlsx"
    runner.invoke(args=["register", "export", "--grid", "甲社区 一网格", "-o", str(out)])
    book = openpyxl.load_workbook(out)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    first, second = sheet[2], sheet[3]
    first[header.index("状态")].value = "去世"
    first[header.index("销档日期")].value = "2026-11-10"
    second[header.index("关爱等级")].value = "重点"
    buffer = io.BytesIO()
    book.save(buffer)
    result = run_import(runner, tmp_path, buffer.getvalue(), "changed.xlsx")
    assert result.exit_code == 0, result.output
    assert "1 changed, 1 closed" in result.output
    closed, changed = (db.session.scalar(select(Elder).where(Elder.name == row[7].value))
                       for row in (first, second))
    assert closed.closed_reason == ClosedReason.DECEASED and str(closed.closed_on) == "2026-11-10"
    assert changed.care_level == CareLevel.KEY


def test_a_namesake_elsewhere_in_the_street_is_a_warning(runner, world, tmp_path):
    other = world.h2.elders[0]
    row = _bad(1, other.name, 出生日期=str(other.birth_year))
    result = run_import(runner, tmp_path, gbk_csv([row]), "a.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"Warning: 第2行：{other.name}（1940年生）已在册" in result.output
    assert world.h2.number in result.output


# --- area ---------------------------------------------------------------------------

def test_a_community_coordinator_imports_their_community_only(as_user, world):
    client = as_user(world.community_coordinator)  # 甲社区 of 一街道
    rows = [_bad(1, "甲老人"), _bad(2, "乙老人", 社区="乙社区", 网格="三网格"),
            _bad(3, "丙老人", 社区="丙社区", 网格="四网格")]
    before = snapshot()
    response = client.post("/register/import", data={
        "file": (io.BytesIO(gbk_csv(rows)), "a.csv")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "<td>3</td><td>社区</td><td>乙社区</td><td>该社区不在您的管辖范围内</td>" in page
    assert "<td>4</td><td>社区</td><td>丙社区</td><td>本街道没有这个社区</td>" in page
    assert snapshot() == before
    export = client.get("/register/export.csv")
    assert export.status_code == 200
    text = export.data.decode("utf-8-sig")
    assert world.h1.elders[0].name in text and world.h3.elders[0].name not in text
    assert client.get(f"/register/export.csv?area=c:{world.communities[1].id}").status_code == 404


# --- command line and template --------------------------------------------------------

def test_command_line_exit_codes(runner, world, tmp_path):
    good = run_import(runner, tmp_path, gbk_csv(GOOD), "good.csv", "--dry-run")
    assert good.exit_code == 0 and "Dry run" in good.output
    assert count(Elder, Elder.name == "张桂兰") == 0
    bad = run_import(runner, tmp_path, gbk_csv(messy_rows()), "bad.csv")
    assert bad.exit_code == 1
    assert count(Elder, Elder.name == "张桂兰") == 0  # the good rows were not applied either
    unreadable = run_import(runner, tmp_path, b"PK\x03\x04 not a workbook", "x.xlsx")
    assert unreadable.exit_code == 2 and "Cannot read" in unreadable.output
    no_header = run_import(runner, tmp_path, b"a,b\n1,2\n", "x.csv")
    assert no_header.exit_code == 2
    applied = run_import(runner, tmp_path, gbk_csv(GOOD), "good.csv")
    assert applied.exit_code == 0 and count(Elder, Elder.name == "张桂兰") == 1


def test_utf8_csv_with_and_without_bom(runner, world, tmp_path):
    text = "姓名,出生年份,住址,社区,网格\n刘玉兰,1941,芙蓉街1号院1-1-101,甲社区,一网格\n"
    for n, data in enumerate((text.encode("utf-8"), text.encode("utf-8-sig"))):
        result = run_import(runner, tmp_path, data, f"u{n}.csv")
        assert result.exit_code == 0, result.output
    assert count(Elder, Elder.name == "刘玉兰") == 1


def test_template_has_the_headers_and_the_allowed_values(runner, tmp_path, as_user, world):
    out = tmp_path / "template.xlsx"
    assert runner.invoke(args=["register", "template", "-o", str(out)]).exit_code == 0
    book = openpyxl.load_workbook(out)
    main, allowed = book.worksheets
    assert [c.value for c in main[1]] == register_sheets.HEADER
    assert main.max_row == 2  # one example row
    columns = {c[0].value: [v.value for v in c[1:] if v.value] for c in allowed.columns}
    assert columns["关爱等级"] == ["重点", "关注", "一般"]
    assert "去世" in columns["状态"] and "独居" in columns["居住情况"]
    response = as_user(world.coordinator).get("/register/template.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert db.session.scalar(select(func.count()).select_from(Household)) == 4

"""The register's spreadsheet files: columns and their synonyms, reading XLSX (streamed) and
CSV (UTF-8 with or without BOM, else GB18030), cleaning cells, and writing XLSX/CSV files."""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from sqlalchemy import Select, select

from carevisits.extensions import db
from carevisits.models import Community, Elder, Grid, Household, User
from carevisits.services import audit, register_fields
from carevisits.services.exports import FORMULA_STARTS, to_csv, to_xlsx, workbook_bytes

# Column key → the template's header, then the synonyms found in streets' own sheets.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("户号", "门牌编号", "户编号"),
    "community": ("社区", "所属社区", "社区名称"),
    "grid": ("网格", "所属网格", "网格名称"),
    "address": ("住址", "地址", "家庭住址", "居住地址", "详细地址"),
    "building": ("楼号", "楼", "楼栋", "楼座"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "室", "房间号", "门牌号"),
    "name": ("姓名", "老人姓名", "名字"),
    "gender": ("性别",),
    "birth": ("出生年份", "出生日期", "出生年月", "年龄"),
    "phone": ("联系电话", "电话", "手机号", "手机", "本人电话"),
    "living": ("居住情况", "居住状况", "类别"),
    "care": ("关爱等级", "照护等级", "等级"),
    "health": ("健康状况", "健康备注", "身体状况"),
    "tags": ("标签", "上门须知", "注意事项"),
    "c1_name": ("紧急联系人", "紧急联系人1", "联系人"),
    "c1_relation": ("与老人关系", "关系", "关系1"),
    "c1_phone": ("紧急联系电话", "紧急联系电话1", "联系人电话"),
    "c2_name": ("紧急联系人2",),
    "c2_relation": ("关系2", "与老人关系2"),
    "c2_phone": ("紧急联系电话2", "联系人电话2"),
    "status": ("状态", "在册状态"),
    "closed_on": ("销档日期", "注销日期"),
    # Optional, not in the template: the household's devices as kind:id (水表:WM-001、门磁:D7).
    "devices": ("设备编号", "设备", "智能设备"),
    "error": ("错误", "错误说明"),  # the column our error file adds: ignored on re-upload
}
TEMPLATE_KEYS = [k for k in COLUMNS if k not in ("error", "devices")]
HEADER = [COLUMNS[k][0] for k in TEMPLATE_KEYS]
ERROR_HEADER = COLUMNS["error"][0]
_BY_HEADER = {syn: key for key, names in COLUMNS.items() for syn in names}
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common
EXAMPLE_ROW = ["", "芙蓉街社区", "第一网格", "芙蓉街37号院", "2", "3", "302", "王秀英", "女", 1942,
               "13805310001", "独居", "重点", "高血压", "行动不便、听力差", "李强", "儿子",
               "13905310002", "", "", "", "在册", ""]


class SheetError(ValueError):
    """The file cannot be read as a register (message for users)."""


@dataclass
class Sheet:
    """An opened register file: its header mapping and a generator of its rows."""

    header: list[str]  # the header row as written (cleaned)
    columns: dict[int, str]  # cell position → column key
    unknown: list[str] = field(default_factory=list)
    rows: Iterator[tuple[int, list[str]]] = iter(())  # (row number as Excel shows it, cells)


def clean(value) -> str:
    """A cell as text: control characters dropped, a date as ISO, 1942.0 as 1942, our
    formula-guard apostrophe removed. Full-width forms are folded per column (row_values)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = register_fields.clean(str(value), fold=False)
    if text.startswith("'") and text[1:2] and text[1] in "".join(FORMULA_STARTS):
        text = text[1:]
    return text


def _header_word(cell: str) -> str:
    """A header cell as the synonyms are written: folded, without the spaces (姓　名 → 姓名)."""
    return re.sub(r"\s+", "", register_fields.plain(cell))


def open_sheet(data: bytes, filename: str) -> Sheet:
    """Open an uploaded register by its extension; SheetError when it cannot be read."""
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data)
    elif lower.endswith((".csv", ".txt")):
        rows = _csv_rows(data)
    else:
        raise SheetError(_l("Upload an XLSX or CSV file (old .xls files: save as .xlsx)."))
    for line, cells in rows:
        columns = {i: _BY_HEADER[key] for i, c in enumerate(cells)
                   if (key := _header_word(c)) in _BY_HEADER}
        if "name" in columns.values():
            kept = _first_of_each(columns)
            unknown = [c if i not in columns else str(_l("%(header)s (again: ignored)", header=c))
                       for i, c in enumerate(cells) if c and i not in kept]
            return Sheet(header=cells, columns=kept, unknown=unknown, rows=rows)
        if line >= HEADER_SEARCH_ROWS:
            break
    raise SheetError(_l("No header row with a name column (姓名) in the first rows."))


def _first_of_each(columns: dict[int, str]) -> dict[int, str]:
    """Keep the first column of each key (a sheet with 电话 and 手机: the first wins; the
    later ones are listed with the ignored columns)."""
    seen: set[str] = set()
    kept = {}
    for i, key in sorted(columns.items()):
        if key not in seen:
            seen.add(key)
            kept[i] = key
    return kept


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The first worksheet's rows, streamed (read-only mode keeps memory flat)."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError) as err:
        raise SheetError(_l("This is not an XLSX file Excel can open.")) from err

    def rows():
        try:
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield line, [clean(v) for v in values]
        # A damaged sheet shows only when it is read (XML parse errors are SyntaxErrors).
        except (SyntaxError, zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as err:
            raise SheetError(_l("This is not an XLSX file Excel can open.")) from err
        finally:
            workbook.close()
    return rows()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """CSV rows in UTF-8 (BOM or not) or, failing that, GB18030 (a superset of GBK), decoded
    as they are read (the file is not copied into one string)."""
    encoding = next((e for e in ("utf-8-sig", "gb18030") if _decodes(data, e)), None)
    if encoding is None:
        raise SheetError(_l("The CSV file is neither UTF-8 nor GBK text."))
    if b"\0" in data:  # in both encodings a zero byte is only ever the NUL character
        raise SheetError(_l("This is not a CSV text file."))
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""))

    def rows():
        try:
            for line, cells in enumerate(reader, start=1):
                yield line, [clean(v) for v in cells]
        except csv.Error as err:  # e.g. a cell longer than any register's (128 K characters)
            raise SheetError(_l("This CSV file has a broken or far too long cell.")) from err
    return rows()


def _decodes(data: bytes, encoding: str, piece: int = 1 << 16) -> bool:
    """Whether the whole file is text in this encoding (checked piece by piece)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), piece):
            decoder.decode(data[start:start + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# Prose, kept as typed like the form keeps it (糖尿病，按时服药): not folded, so that
# export → import of a note written in the app changes nothing.
PROSE = frozenset({"health"})


def row_values(sheet: Sheet, cells: list[str]) -> dict[str, str]:
    """The row's cells by column key, full-width forms folded (NFKC) but in prose; columns
    beyond the row's end are blank."""
    return {key: (cells[i] if key in PROSE else register_fields.plain(cells[i]))
            if i < len(cells) else "" for i, key in sheet.columns.items()}


def template_bytes() -> bytes:
    """The import template: the headers and one example row, then the allowed values."""
    allowed = register_fields.allowed_values()
    longest = max(len(v) for v in allowed.values())
    rows = [[values[i] if i < len(values) else "" for values in allowed.values()]
            for i in range(longest)]
    return workbook_bytes([("台账", HEADER, [EXAMPLE_ROW]), ("可选值", list(allowed), rows)])


def error_file(header: list[str], error_rows: list[list[str]]) -> bytes:
    """The rows with errors, as read, with an error column added: fix them and upload again."""
    width = len(header)
    rows = [cells[:-1] + [""] * (width - len(cells) + 1) + cells[-1:] for cells in error_rows]
    return workbook_bytes([("错误行", header + [ERROR_HEADER], rows)])


def export_rows(elder_ids: Select) -> list[list]:
    """One row per elder of a SELECT of elder ids (closed elders too, when it has them) who
    live in an open household, in the template's columns: importing them again changes
    nothing."""
    query = (select(Elder, Household, Grid.name, Community.name)
             .join(Household, Elder.household_id == Household.id)
             .join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id)
             .where(Elder.id.in_(elder_ids), Household.closed_at.is_(None))
             .order_by(Community.name, Grid.name, Household.address, Household.building,
                       Household.unit, Household.room, Elder.id))
    rows = []
    for elder, h, grid_name, community_name in db.session.execute(query):
        contacts = [*(elder.emergency_contacts or [])[:2], {}, {}][:2]
        rows.append([
            h.number, community_name, grid_name, h.address, h.building, h.unit, h.room,
            elder.name, elder.gender, elder.birth_year, elder.phone,
            register_fields.word_of(register_fields.LIVING_WORDS, elder.living_situation),
            register_fields.word_of(register_fields.CARE_WORDS, elder.care_level),
            elder.health_notes, "、".join(elder.tags or []),
            *[c.get(k, "") for c in contacts for k in ("name", "relation", "phone")],
            register_fields.word_of(register_fields.STATUS_WORDS, elder.closed_reason),
            elder.closed_on.isoformat() if elder.closed_on else ""])
    return rows


def export_file(actor: User, elder_ids: Select, fmt: str, filters: dict) -> bytes:
    """The register of a SELECT of elder ids (see export_rows) as an XLSX or CSV file for
    ``actor``; audited as ``register.export`` with the row count, format and ``filters``
    (the elder list's, as query arguments)."""
    rows = export_rows(elder_ids)
    audit.record(actor, "register.export", "area", None, rows=len(rows), format=fmt,
                 **filters)
    return export_bytes(rows, fmt)


def export_bytes(rows: list[list], fmt: str) -> bytes:
    """The export as XLSX or CSV (UTF-8 with BOM)."""
    if fmt == "csv":
        return to_csv(HEADER, rows)
    return to_xlsx(HEADER, rows, "台账")

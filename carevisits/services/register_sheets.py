"""The register's spreadsheet files: columns and their synonyms, reading XLSX (streamed) and
CSV (UTF-8 with or without BOM, else GB18030), cleaning cells, and writing XLSX/CSV files."""

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from sqlalchemy import Select, select

from carevisits.extensions import db
from carevisits.models import Community, Elder, Grid, Household, User
from carevisits.models.base import utcnow
from carevisits.services import audit, register_fields
from carevisits.services.exports import FORMULA_STARTS, to_csv, workbook_bytes
from carevisits.services.register_layout import Merges, sheet_layout
from carevisits.services.register_mapping import (
    COLUMNS,
    HEADER,
    LIST_KEYS,
    TEMPLATE_KEYS,
    Mapping,
    header_word,
)

HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common
EXPORT_INFO = "导出信息"  # the export's second sheet: when it was made (A1 导出时间, B1 ISO)
EXAMPLE = {"community": "芙蓉街社区", "grid": "第一网格", "address": "芙蓉街37号院",
           "building": "2", "unit": "3", "room": "302", "name": "王秀英", "gender": "女",
           "birth": 1942, "phone": "13805310001", "other_phones": "0531-86011001",
           "living": "独居", "care": "重点", "health": "高血压", "tags": "行动不便、听力差",
           "notes": "敲门要大声", "c1_name": "李强", "c1_relation": "儿子",
           "c1_phone": "13905310002", "status": "在册"}
EXAMPLE_ROW = [EXAMPLE.get(k, "") for k in TEMPLATE_KEYS]
# Columns several of which are read together (a second 电话 column is a further number).
MULTI = frozenset({"other_phones", "notes", "tags"})


class SheetError(ValueError):
    """The file cannot be read as a register (message for users)."""


@dataclass
class Row:
    """One row as a person reads it: merged cells filled in, and whether it is hidden."""

    line: int  # the row number Excel shows
    cells: list[str]
    hidden: bool = False


@dataclass
class Sheet:
    """An opened register file: its header, what each column is, and a generator of rows."""

    header: list[str]  # the header row as written (cleaned)
    line: int  # the header's row number
    columns: dict[int, str]  # cell position → field key, the columns imported
    left_out: dict[int, str]  # cell position → why not imported: unknown, chosen, again, ours
    mapping: Mapping
    hidden_columns: set[int] = field(default_factory=set)
    exported_at: datetime | None = None  # our export's own time (its second sheet)
    rows: Iterator[Row] = iter(())

    @property
    def has_name(self) -> bool:
        """Whether a column gives the elder's name (nothing can be imported without one)."""
        return "name" in self.columns.values()


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


def open_sheet(data: bytes, filename: str, mapping: Mapping | None = None) -> Sheet:
    """Open an uploaded register by its extension and find its header (the first row of the
    first ten with a name column; else the first row of three or more cells, so that the
    name column can be chosen); SheetError when it cannot be read."""
    mapping = mapping or Mapping()
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        rows, hidden_columns, exported_at = _xlsx_rows(data)
    elif lower.endswith((".csv", ".txt")):
        rows, hidden_columns, exported_at = _csv_rows(data), set(), None
    else:
        raise SheetError(_l("Upload an XLSX or CSV file (old .xls files: save as .xlsx)."))
    read: list[Row] = []  # the rows before the header, when it is not found by its name
    for row in rows:
        keys = [mapping.key_of(c) if c else None for c in row.cells]
        if "name" in keys:
            return _sheet(row, mapping, hidden_columns, exported_at, rows)
        read.append(row)
        if row.line >= HEADER_SEARCH_ROWS:
            break
    fallback = next((i for i, r in enumerate(read) if sum(bool(c) for c in r.cells) >= 3), None)
    if fallback is None:
        raise SheetError(_l("No header row with a name column (姓名) in the first rows."))
    return _sheet(read[fallback], mapping, hidden_columns, exported_at,
                  itertools.chain(read[fallback + 1:], rows))


def _sheet(header: Row, mapping: Mapping, hidden_columns: set[int],
           exported_at: datetime | None, rows: Iterator[Row]) -> Sheet:
    """The sheet of a header row: every column's field, the first of each (a second phone
    column gives further numbers; several note or tag columns are read together)."""
    columns: dict[int, str] = {}
    left_out: dict[int, str] = {}
    for i, cell in enumerate(header.cells):
        key = mapping.key_of(cell) if cell else None
        if key is None:
            chosen = header_word(cell) in mapping.columns if cell else False
            left_out[i] = "chosen" if chosen else "unknown"
        elif key in ("error", "warning"):
            left_out[i] = "ours"
        elif key in columns.values() and key not in MULTI:
            if key == "phone" and "other_phones" not in columns.values():
                columns[i] = "other_phones"
            else:
                left_out[i] = "again"
        else:
            columns[i] = key
    return Sheet(header=header.cells, line=header.line, columns=columns, left_out=left_out,
                 mapping=mapping, hidden_columns=hidden_columns, exported_at=exported_at,
                 rows=rows)


def _xlsx_rows(data: bytes) -> tuple[Iterator[Row], set[int], datetime | None]:
    """The first worksheet's rows, streamed (read-only mode keeps memory flat), with merged
    cells filled from their top-left cell; its hidden columns; when our export made it."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        exported_at = _exported_at(workbook)
        layout = sheet_layout(data)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError,
            SyntaxError) as err:
        raise SheetError(_l("This is not an XLSX file Excel can open.")) from err

    def rows():
        filled = Merges(layout.merges)
        try:
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = filled.fill(line, [clean(v) for v in values])
                yield Row(line, cells, line in layout.hidden_rows)
        # A damaged sheet shows only when it is read (XML parse errors are SyntaxErrors).
        except (SyntaxError, zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as err:
            raise SheetError(_l("This is not an XLSX file Excel can open.")) from err
        finally:
            workbook.close()
    return rows(), layout.hidden_columns, exported_at


def _exported_at(workbook) -> datetime | None:
    """The time our export wrote on its second sheet (B1), if the file has it."""
    if len(workbook.worksheets) < 2 or workbook.worksheets[1].title != EXPORT_INFO:
        return None
    for row in workbook.worksheets[1].iter_rows(min_row=1, max_row=1, values_only=True):
        try:
            at = datetime.fromisoformat(str(row[1]))
        except (IndexError, ValueError):
            return None
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def _csv_rows(data: bytes) -> Iterator[Row]:
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
                yield Row(line, [clean(v) for v in cells])
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
PROSE = frozenset({"health", "notes"})


def row_values(sheet: Sheet, cells: list[str]) -> dict[str, str]:
    """The row's cells by field, full-width forms folded (NFKC) but in prose, the words of
    list fields mapped; columns beyond the row's end are blank; several columns of one
    field joined (、)."""
    values: dict[str, str] = {}
    for i, key in sheet.columns.items():
        text = cells[i] if i < len(cells) else ""
        text = text if key in PROSE else register_fields.plain(text)
        if key in LIST_KEYS and text:
            text = sheet.mapping.value(key, text)
        values[key] = "、".join(v for v in (values.get(key, ""), text) if v)
    return values


def template_bytes() -> bytes:
    """The import template: the headers and one example row, then the allowed values."""
    allowed = register_fields.allowed_values()
    longest = max(len(v) for v in allowed.values())
    rows = [[values[i] if i < len(values) else "" for values in allowed.values()]
            for i in range(longest)]
    return workbook_bytes([("台账", HEADER, [EXAMPLE_ROW]), ("可选值", list(allowed), rows)])


def error_file(header: list[str], error_rows: list[list[str]], warnings=()) -> bytes:
    """The rows not imported, as read, with an error column added: fix them and upload
    again; then the warnings of the rows imported (row, column, value, what was not used)."""
    width = len(header)
    rows = [cells[:-1] + [""] * (width - len(cells) + 1) + cells[-1:] for cells in error_rows]
    sheets = [("错误行", header + [COLUMNS["error"][0]], rows)]
    if warnings:
        sheets.append(("提醒", ["行号", "列", "值", COLUMNS["warning"][0]],
                       [[w.line, w.column, w.value, str(w.message)] for w in warnings]))
    return workbook_bytes(sheets)


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
    return [_export_row(elder, household, grid_name, community_name)
            for elder, household, grid_name, community_name in db.session.execute(query)]


def _export_row(elder: Elder, h: Household, grid_name: str, community_name: str) -> list:
    """One elder in the template's columns."""
    contacts = [*(elder.emergency_contacts or [])[:2], {}, {}][:2]
    values = {
        "number": h.number, "community": community_name, "grid": grid_name,
        "address": h.address, "building": h.building, "unit": h.unit, "room": h.room,
        "name": elder.name, "gender": elder.gender, "birth": elder.birth_year,
        "phone": elder.phone, "other_phones": "、".join(elder.other_phones or []),
        "living": register_fields.word_of(register_fields.LIVING_WORDS, elder.living_situation),
        "care": register_fields.word_of(register_fields.CARE_WORDS, elder.care_level),
        "health": elder.health_notes, "tags": "、".join(elder.tags or []), "notes": elder.notes,
        "status": register_fields.word_of(register_fields.STATUS_WORDS, elder.closed_reason),
        "closed_on": elder.closed_on.isoformat() if elder.closed_on else ""}
    for n, contact in enumerate(contacts, start=1):
        for part, key in (("name", "name"), ("relation", "relation"), ("phone", "phone")):
            values[f"c{n}_{key}"] = contact.get(part, "")
    return [values.get(k, "") for k in TEMPLATE_KEYS]


def export_file(actor: User, elder_ids: Select, fmt: str, filters: dict) -> bytes:
    """The register of a SELECT of elder ids (see export_rows) as an XLSX or CSV file for
    ``actor``; audited as ``register.export`` with the row count, format and ``filters``
    (the elder list's, as query arguments)."""
    rows = export_rows(elder_ids)
    audit.record(actor, "register.export", "area", None, rows=len(rows), format=fmt,
                 **filters)
    return export_bytes(rows, fmt, utcnow())


def export_bytes(rows: list[list], fmt: str, now: datetime) -> bytes:
    """The export as XLSX (with the time it was made on a second sheet, so that an import
    of it can tell what was changed in the app since) or CSV (UTF-8 with BOM)."""
    if fmt == "csv":
        return to_csv(HEADER, rows)
    made = now.astimezone(UTC).isoformat(timespec="seconds")
    return workbook_bytes([("台账", HEADER, rows), (EXPORT_INFO, ["导出时间", made], [
        ["说明", "再次导入本文件时，系统据此判断哪些内容在导出后又被修改过"]])])

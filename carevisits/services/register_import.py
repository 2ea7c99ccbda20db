"""Importing the street's register from a spreadsheet: read it as a person reads it, check
every row and plan what would change (the preview, which writes nothing), then apply the plan:
all or nothing, or only the valid rows when the importer chooses so.

Importing the same file twice changes nothing the second time, and so does importing an
export: every change is a difference from what is stored (register_rows has the matching,
register_plan the planning). Nothing is dropped without a word: every column not imported
and every row skipped is reported, and a cell that could not be fully used is a row warning.
Neither step keeps the file's rows, only a small key per household and person for the checks
across rows: the apply reads the file again and writes in batches as it goes
(register_write), in the same transaction."""

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from carevisits.extensions import db
from carevisits.models import Role, Street, User
from carevisits.services import audit
from carevisits.services.register_listing import Listing
from carevisits.services.register_mapping import Mapping
from carevisits.services.register_plan import Choices, Conflict, Planner
from carevisits.services.register_rows import Register, RowCheck, RowError, mask_id
from carevisits.services.register_sheets import Row, Sheet, open_sheet, row_values
from carevisits.services.register_write import Writer

SAMPLES = 3  # values shown beside each column in the mapping step
# A row that sums up the ones above it, or signs the sheet off: not a person.
TOTALS = re.compile(r"^(合\s*计|小\s*计|总\s*计|共\s*计|总\s*数|共\s*\d+\s*[人户名]|制表|填表|审核"
                    r"|负责人)")
AREA_KEYS = ("community", "grid")  # carried down from the row above when blank


@dataclass
class Area:
    """Where an import may write: one street, and in it every community or only one."""

    street: Street
    community_ids: set[int] | None = None  # None: the whole street


def area_for(user: User | None, street: Street | None = None) -> Area | None:
    """The importer's area: the command line and admins act for a chosen street; a
    coordinator for their street, or their community only."""
    if user is None or user.role == Role.ADMIN:
        return Area(street) if street is not None else None
    if user.role == Role.COORDINATOR and user.community_id:
        return Area(user.community.street, {user.community_id})
    if user.role == Role.COORDINATOR and user.street_id:
        return Area(user.street)
    return None


class ImportRefused(ValueError):
    """A plan with row errors cannot be applied all or nothing."""


@dataclass
class Column:
    """One column of the file as the mapping step shows it."""

    index: int
    header: str
    key: str | None  # the field it is imported as; None: not imported
    why: str = ""  # when not imported: unknown, chosen, again, ours
    hidden: bool = False
    filled: int = 0  # non-empty cells below the header
    samples: list[str] = field(default_factory=list)


@dataclass
class Source:
    """What the apply needs to go through the file again as the preview did."""

    data: bytes
    area: Area
    today: date


@dataclass
class Plan:
    """What an import would do (the preview): the mapping, counts, the list of records,
    what is held back, warnings, skipped rows and row errors."""

    filename: str
    sha256: str
    street_id: int
    mapping: Mapping
    header: list[str] = field(default_factory=list)
    has_name: bool = True
    columns: list[Column] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_warnings: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # possible duplicates in the register
    error_rows: list[list[str]] = field(default_factory=list)  # cells + the row's messages
    error_lines: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, why)
    hidden_rows: list[int] = field(default_factory=list)
    carried: int = 0  # rows that took 社区/网格 from the row above
    unknown_values: dict[str, Counter] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    listing: Listing | None = field(default=None, repr=False)
    exported_at: object = None
    source: Source | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """No row errors: the plan may be applied whole."""
        return not self.errors and self.has_name

    @property
    def not_imported(self) -> list[Column]:
        """The columns with values that are not imported (by choice or not known)."""
        return [c for c in self.columns if c.key is None and c.why != "ours" and c.filled]


def preview(data: bytes, filename: str, sha256: str, area: Area, today: date,
            mapping: Mapping | None = None, choices: Choices | None = None) -> Plan:
    """Read the file and plan the import (nothing is written), with what is held back
    chosen already if ``choices`` (the command line's); SheetError if unreadable."""
    sheet = open_sheet(data, filename, mapping)
    register = Register(area.street.id, area.community_ids, sheet.exported_at)
    plan = Plan(filename=filename, sha256=sha256, street_id=area.street.id,
                mapping=sheet.mapping, header=sheet.header, has_name=sheet.has_name,
                exported_at=sheet.exported_at, source=Source(data, area, today))
    plan.columns = [Column(i, h, sheet.columns.get(i), sheet.left_out.get(i, ""),
                           i in sheet.hidden_columns) for i, h in enumerate(sheet.header)]
    plan.listing = Listing(register.grid_names())
    planner = Planner(register, today, choices=choices, listing=plan.listing)
    for row, check in _plan_rows(sheet, planner, plan):
        plan.row_warnings.extend(check.warnings)
        for key, word in check.unknown:
            plan.unknown_values.setdefault(key, Counter())[word] += 1
        if check.errors:
            plan.errors.extend(check.errors)
            plan.error_lines += 1
            plan.error_rows.append(row.cells + ["；".join(str(e.message) for e in check.errors)])
    plan.counts, plan.warnings, plan.conflicts = (planner.counts, planner.warnings,
                                                  planner.conflicts)
    return plan


def _plan_rows(sheet: Sheet, planner: Planner, plan: Plan | None = None
               ) -> Iterator[tuple[Row, RowCheck]]:
    """Check and plan every row of the sheet (skipping blank and totals rows, filling
    社区/网格 down), noting what the preview reports; yields every row checked."""
    names: dict[str, str] = {}
    for i, key in sheet.columns.items():
        names.setdefault(key, sheet.header[i])
    if not sheet.has_name:
        return
    carried: dict[str, str] = {}
    blank: list[int] = []  # blank rows, listed once a row follows them (not trailing ones)
    for row in sheet.rows:
        why = skip_reason(row.cells)
        if why == "blank":
            blank.append(row.line)
            continue
        if plan is not None:
            plan.skipped.extend((line, "blank") for line in blank)
            if why:
                plan.skipped.append((row.line, why))
        blank = []
        if why:
            continue
        if plan is not None:
            _see(plan, row)
        values = row_values(sheet, row.cells)
        if _carry(values, carried, sheet) and plan is not None:
            plan.carried += 1
        check = RowCheck(row.line, values, planner.register, planner.today, names)
        household, elder = check.household(), check.elder()
        if not check.errors:
            planner.add(check, household, elder)
        yield row, check


def _see(plan: Plan, row: Row) -> None:
    """Count a person row's cells per column (filled cells, samples); note it if hidden."""
    if row.hidden:
        plan.hidden_rows.append(row.line)
    for column in plan.columns:
        if column.index < len(row.cells) and row.cells[column.index]:
            column.filled += 1
            value = row.cells[column.index]
            value = mask_id(value) if column.key == "id_card" else value  # never shown whole
            if len(column.samples) < SAMPLES and value not in column.samples:
                column.samples.append(value)


def skip_reason(cells: list[str]) -> str | None:
    """Why a row is not a person: blank, or a totals or sign-off row (合计, 共58人, 制表人)."""
    filled = [c for c in cells if c]
    if not filled:
        return "blank"
    if any(TOTALS.match(c) for c in filled[:2]):
        return "totals"
    return None


def _carry(values: dict[str, str], carried: dict[str, str], sheet: Sheet) -> bool:
    """Fill blank 社区/网格 from the rows above (a merged cell saved as CSV leaves them
    blank below its first row); not for a row naming its household by number. True when
    a value was filled in."""
    if values.get("number"):
        return False
    filled = False
    if values.get("community") and values["community"] != carried.get("community"):
        carried.pop("grid", None)  # a new community: its grids start anew
    for key in AREA_KEYS:
        if key not in sheet.columns.values():
            continue
        if values.get(key):
            carried[key] = values[key]
        elif key in carried:
            values[key], filled = carried[key], True
    return filled


def apply(plan: Plan, actor: User | None, today: date, *, skip_invalid: bool = False,
          choices: Choices | None = None) -> Counter:
    """Make the planned changes in the current transaction (the caller commits once): read
    the file again, plan each row as the preview did and write in batches. All or nothing,
    unless ``skip_invalid``: then the rows without errors. Returns what was done."""
    if not plan.has_name or (plan.errors and not skip_invalid) or plan.source is None:
        raise ImportRefused(_l("The file has row errors; nothing was imported."))
    source = plan.source
    sheet = open_sheet(source.data, plan.filename, plan.mapping)
    writer = Writer(plan.street_id, actor, today)
    register = Register(source.area.street.id, source.area.community_ids, sheet.exported_at)
    planner = Planner(register, source.today, writer, choices)
    skipped = sum(1 for _row, check in _plan_rows(sheet, planner) if check.errors)
    if skipped and not skip_invalid:  # the register changed since the preview
        raise ImportRefused(_l("The file has row errors; nothing was imported."))
    writer.flush()
    audit.record(actor, "register.import", "street", plan.street_id, file=plan.filename,
                 sha256=plan.sha256, counts=dict(planner.counts), rows_skipped=skipped,
                 mapping=plan.mapping.as_json())
    db.session.flush()
    return planner.counts

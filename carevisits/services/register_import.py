"""Importing the street's register from a spreadsheet: check every row and plan what would
change (the preview, which writes nothing), then apply the plan all or nothing.

Importing the same file twice changes nothing the second time, and so does importing an
export: every change is a difference from what is stored (register_rows has the matching,
register_plan the planning). Neither step keeps the file's rows, only a small key per
household and person for the checks across rows: the preview counts, and the apply reads the
file again and writes in batches as it goes (register_write), in the same transaction."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from carevisits.extensions import db
from carevisits.models import Role, Street, User
from carevisits.services import audit
from carevisits.services.register_plan import Planner
from carevisits.services.register_rows import Register, RowCheck, RowError
from carevisits.services.register_sheets import Sheet, open_sheet, row_values
from carevisits.services.register_write import Writer


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
    """A plan with row errors cannot be applied."""


@dataclass
class Source:
    """What the apply needs to go through the file again as the preview did."""

    data: bytes
    register: Register
    today: date


@dataclass
class Plan:
    """What an import would do (the preview): counts, warnings and row errors."""

    filename: str
    sha256: str
    street_id: int
    header: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_rows: list[list[str]] = field(default_factory=list)  # cells + the row's messages
    counts: Counter = field(default_factory=Counter)
    source: Source | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """No row errors: the plan may be applied."""
        return not self.errors


def preview(data: bytes, filename: str, sha256: str, area: Area, today: date) -> Plan:
    """Read the file and plan the import (nothing is written); SheetError if unreadable."""
    sheet = open_sheet(data, filename)
    register = Register(area.street.id, area.community_ids)
    plan = Plan(filename=filename, sha256=sha256, street_id=area.street.id,
                header=sheet.header, unknown=sheet.unknown,
                source=Source(data, register, today))
    planner = Planner(register, today)
    for cells, check in _plan_rows(sheet, planner):
        plan.errors.extend(check.errors)
        plan.error_rows.append(cells + ["；".join(str(e.message) for e in check.errors)])
    plan.counts, plan.warnings = planner.counts, planner.warnings
    return plan


def _plan_rows(sheet: Sheet, planner: Planner) -> Iterator[tuple[list[str], RowCheck]]:
    """Check and plan every row of the sheet; yields the rows with errors."""
    register, today = planner.register, planner.today
    names = {key: sheet.header[i] for i, key in sheet.columns.items()}
    for line, cells in sheet.rows:
        if not any(cells):
            continue
        check = RowCheck(line, row_values(sheet, cells), register, today, names)
        household, elder = check.household(), check.elder()
        if not check.errors:
            planner.add(check, household, elder)
        if check.errors:
            yield cells, check


def apply(plan: Plan, actor: User | None, today: date) -> None:
    """Make the planned changes in the current transaction (the caller commits once): read
    the file again, plan each row as the preview did and write in batches."""
    if not plan.ok or plan.source is None:
        raise ImportRefused(_l("The file has row errors; nothing was imported."))
    source = plan.source
    writer = Writer(plan.street_id, actor, today)
    planner = Planner(source.register, source.today, writer)
    errors = any(_plan_rows(open_sheet(source.data, plan.filename), planner))
    if errors or planner.counts != plan.counts:  # cannot be: same file, register, transaction
        raise ImportRefused(_l("The file has row errors; nothing was imported."))
    writer.flush()
    audit.record(actor, "register.import", "street", plan.street_id, file=plan.filename,
                 sha256=plan.sha256, counts=dict(plan.counts))
    db.session.flush()

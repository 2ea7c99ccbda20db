"""Reading the audit log: who may see which events, the filters of its page, one page of
events newest first (one statement, keyset paged) and its spreadsheet (audited as an export).
Writing stays in services/audit.py, which only ever adds events.

Who sees what (docs/DECISIONS.md): an admin every event; a coordinator the events about
records in their area as it is now, street-wide ones as that street's coordinator only, and
every event they made themselves; events without an area (sign-ins, API keys, other people's
downloads) are the admins'."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import aliased

from carevisits.extensions import db
from carevisits.models import (
    ApiKey,
    AuditEvent,
    Community,
    Elder,
    Grid,
    GridAssignment,
    Household,
    PrintJob,
    PrintJobHousehold,
    Role,
    Roster,
    ServiceItem,
    ServiceRequest,
    Street,
    User,
    Visit,
    VolunteerProfile,
)
from carevisits.models.base import local_today
from carevisits.models.household import format_address
from carevisits.services import audit
from carevisits.services.audit_words import KINDS, action_label, describe, subject_label
from carevisits.services.exports import local_text
from carevisits.services.register_fields import clean
from carevisits.services.scope import community_scope, household_scope

# The most events one download holds (the newest); a narrower filter gets the rest.
EXPORT_MAX = 10_000
WHO_MAX = 40
# Openings of a record: left out when only changes are asked for.
VIEWS = ("elder.view", "household.view")
E = AuditEvent


class AuditFilterError(ValueError):
    """A filter value that cannot be read (the page says which)."""


@dataclass(frozen=True)
class AuditFilter:
    """What the log shows: who (a username, or part of a name), what (a kind of record,
    audit_words.KINDS), which record (its id, of that kind), local dates from/to, and
    whether to leave out the openings of records (``changes``: "who closed this elder?")."""

    who: str = ""
    what: str = ""
    record: int | None = None
    start: date | None = None
    end: date | None = None
    changes: bool = False

    @classmethod
    def from_args(cls, args) -> "AuditFilter":
        """The filter of a query string; AuditFilterError for a value that is not one."""
        what = args.get("what", "")
        if what and what not in KINDS:
            raise AuditFilterError(_l("There is no such kind of record."))
        return cls(who=clean(args.get("who", ""), lines=False)[:WHO_MAX], what=what,
                   record=number_arg(args.get("record", "")),
                   start=_date(args.get("start", "")), end=_date(args.get("end", "")),
                   changes=args.get("changes") == "1")

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for the next page and the download)."""
        args = {k: str(v) for k, v in vars(self).items()
                if v is not None and v != "" and v is not False}
        return {**args, "changes": "1"} if self.changes else args


def number_arg(text: str) -> int | None:
    """A record number of the query string (``record``, the page's ``before``: the last event
    of the page before); None when empty, AuditFilterError for anything else."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise AuditFilterError(_l("A record is chosen by its number."))
    return int(text)


def _date(text: str) -> date | None:
    """A local date of the query string (year-month-day); None when empty."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AuditFilterError(_l("Write dates as year-month-day, e.g. 2026-11-02.")) from None


def _in(key, *where) -> ColumnElement[bool]:
    """The event's subject is the row of ``key``'s table (by that key) meeting ``where``."""
    return exists(select(key).where(key == E.subject_id, *where))


def _account_in_area(user: User) -> ColumnElement[bool]:
    """Accounts of the coordinator's area: coordinators of their communities (and, for a
    street's, of the street), workers assigned to their grids today, their volunteers."""
    communities = select(Community.id).where(community_scope(user))
    grids = select(Grid.id).where(Grid.community_id.in_(communities))
    own = User.community_id.in_(communities)
    if user.street_id:
        own = or_(own, User.street_id == user.street_id)
    return or_(
        _in(User.id, own),
        _in(GridAssignment.user_id, GridAssignment.grid_id.in_(grids),
            GridAssignment.in_force(local_today())),
        _in(VolunteerProfile.user_id,
            VolunteerProfile.community_id.in_(communities)))


def in_area(user: User) -> ColumnElement[bool]:
    """Events about a record in the user's area (for an admin, every event): the records a
    coordinator may also open from the log."""
    if not user.active or user.role not in (Role.ADMIN, Role.COORDINATOR):
        return false()
    if user.role == Role.ADMIN:
        return true()
    scope = household_scope(user)
    communities = select(Community.id).where(community_scope(user))
    street = (E.subject_id == user.street_id) if user.street_id else false()
    by_type = {  # subject types → their events in the area
        ("elder", "family_visits"): _in(Elder.id, Elder.household_id.in_(
            select(Household.id).where(scope))),
        "household": _in(Household.id, scope),
        "visit": _in(Visit.id, Visit.household_id.in_(select(Household.id)
                                                             .where(scope))),
        "request": _in(ServiceRequest.id, ServiceRequest.elder_id.in_(
            select(Elder.id).join(Household, Elder.household_id == Household.id).where(scope))),
        # As the printing pages: a job whose every household is the user's.
        "print_job": ~exists(select(PrintJobHousehold.job_id)
                             .join(Household, PrintJobHousehold.household_id == Household.id)
                             .where(PrintJobHousehold.job_id == E.subject_id, ~scope)),
        "grid": _in(Grid.id, Grid.community_id.in_(communities)),
        "community": E.subject_id.in_(communities),
        "roster": _in(Roster.id, Roster.community_id.in_(communities)),
        "street": street,
        "service_item": _in(ServiceItem.id, ServiceItem.street_id
                            == user.street_id) if user.street_id else false(),
        "user": and_(~E.action.in_(KINDS["signin"].actions), _account_in_area(user)),
    }
    return or_(*(and_(E.subject_type.in_(kinds) if isinstance(kinds, tuple)
                      else E.subject_type == kinds, clause)
                 for kinds, clause in by_type.items()))


def visible(user: User) -> ColumnElement[bool]:
    """The events the user may read: those of :func:`in_area` and their own."""
    if user.role == Role.ADMIN and user.active:
        return true()
    return or_(in_area(user), and_(E.actor_id == user.id, user.active))


@dataclass
class AuditRow:
    """One event as a reader sees it."""

    id: int
    at: datetime
    actor: str
    actor_username: str | None
    action: str
    subject_type: str
    subject_id: int | None
    record: str
    openable: bool  # about a record in the reader's area: its page may be linked
    details: list[tuple[str, str]]

    @property
    def what(self) -> str:
        """The action in words."""
        return action_label(self.action)


@dataclass
class AuditPage:
    """A page of events, newest first, and the cursor of the next (older) page."""

    rows: list[AuditRow]
    older: int | None


def _filtered(user: User, chosen: AuditFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    """The WHERE conditions: what the user may read, and the filter."""
    where = [visible(user)]
    if chosen.who:
        text = chosen.who
        where.append(E.actor_id.in_(select(User.id).where(or_(
            func.lower(User.username) == text.lower(),
            User.display_name.contains(text, autoescape=True)))))
    if chosen.changes:
        where.append(E.action.not_in(VIEWS))
    if chosen.what:
        kind = KINDS[chosen.what]
        where.append(kind.clause())
        if chosen.record is not None and kind.subject_type:
            where.append(E.subject_type == kind.subject_type)
    if chosen.record is not None:
        where.append(E.subject_id == chosen.record)
    if chosen.start:
        where.append(E.at >= datetime.combine(chosen.start, time(), zone))
    if chosen.end:
        where.append(E.at < datetime.combine(chosen.end + timedelta(days=1), time(), zone))
    return where


# A name for the record of each subject type (households: their address, from the join).
NAMES = [(("elder", "family_visits"), Elder.name), (("user",), User.display_name),
         (("print_job",), PrintJob.scope_label), (("grid",), Grid.name),
         (("community",), Community.name), (("street",), Street.name),
         (("roster",), Roster.name), (("request",), ServiceRequest.kind),
         (("service_item",), ServiceItem.name), (("api_key",), ApiKey.name)]


def events_query(user: User, chosen: AuditFilter, zone: ZoneInfo) -> Select:
    """One SELECT of the events the user may read that match the filter, newest first, with
    who made each and a name for its record: a subquery per subject type, run for the rows
    of the page only (a dozen outer joins cost PostgreSQL more to plan than to run); the
    joined tables are aliases, so that the visibility subqueries never correlate with them."""
    actor, household = aliased(User), aliased(Household)
    names = [select(column).where(column.table.c.id == E.subject_id,
                                  E.subject_type.in_(types)).scalar_subquery()
             for types, column in NAMES]
    return (select(E.id, E.at, E.action, E.subject_type, E.subject_id, E.details,
                   actor.display_name, actor.username, case((in_area(user), True), else_=False),
                   household.number, household.address, household.building, household.unit,
                   household.room, *names)
            .select_from(E).outerjoin(actor, actor.id == E.actor_id)
            .outerjoin(household, and_(E.subject_type == "household",
                                       household.id == E.subject_id))
            .where(*_filtered(user, chosen, zone)).order_by(E.at.desc(), E.id.desc()))


def _row(r) -> AuditRow:
    """An event's row of :func:`events_query` as the page and the download show it."""
    (id_, at, action, subject_type, subject_id, details, actor, username, openable,
     number, address, building, unit, room, *names) = r
    if number is not None:
        name = f"{format_address(address, building, unit, room)}（{number}）"
    else:
        name = next((n for n in names if n is not None), None)
    if name is None and subject_id is not None:
        name = f"#{subject_id}"
    what = subject_label(subject_type)
    return AuditRow(id=id_, at=at, actor=actor or str(_l("System")), actor_username=username,
                    action=action, subject_type=subject_type, subject_id=subject_id,
                    record=f"{what} · {name}" if name else what,
                    openable=bool(openable) and subject_id is not None,
                    details=describe(action, details))


def page(user: User, chosen: AuditFilter, zone: ZoneInfo, *, before: int | None,
         size: int) -> AuditPage:
    """The events older than event ``before`` (None: the newest), ``size`` of them, in one
    statement (one more row is read to know whether an older page exists)."""
    query = events_query(user, chosen, zone)
    if before is not None:
        marked = aliased(AuditEvent)  # not the listed event: a subquery of its own
        mark = select(marked.at).where(marked.id == before).scalar_subquery()
        query = query.where(or_(E.at < mark, and_(E.at == mark, E.id < before)))
    rows = [_row(r) for r in db.session.execute(query.limit(size + 1))]
    return AuditPage(rows[:size], rows[size - 1].id if len(rows) > size else None)


HEADER = ["时间", "操作人", "账号", "操作", "对象", "对象编号", "内容（原值 → 新值）"]


def export(user: User, chosen: AuditFilter, zone: ZoneInfo) -> tuple[list[str], list[list]]:
    """The events of the filter as spreadsheet rows (the newest EXPORT_MAX; a last row says
    when there were more), audited as an ``export`` of the audit log with the filter."""
    found = [_row(r) for r in db.session.execute(
        events_query(user, chosen, zone).limit(EXPORT_MAX + 1))]
    rows = [[local_text(r.at, zone), r.actor, r.actor_username or "", r.what, r.record,
             r.subject_id, "\n".join(f"{label}：{text}" for label, text in r.details)]
            for r in found[:EXPORT_MAX]]
    if len(found) > EXPORT_MAX:
        rows.append([str(_l("Only the newest %(n)d events: choose fewer days for the rest.",
                            n=EXPORT_MAX))])
    audit.record(user, "export", "audit_log", None, rows=min(len(found), EXPORT_MAX),
                 format="xlsx", **chosen.as_args())
    return HEADER, rows


# Changes made in the app, by the audit event that records them: an import must not undo one
# made after its file was exported without saying so.
APP_EDITS = ("elder.update", "elder.close", "elder.reopen", "household.update",
             "household.move")


def app_changes(grid_ids, since: datetime | None) -> dict[str, dict[str, datetime]]:
    """The fields of the street's elders and households changed in the app (not by an
    import) after ``since`` (ever, when None: a file that does not say when it was
    exported is taken to be old): "e12"/"h3" → field → when last changed."""
    households = select(Household.id).where(Household.grid_id.in_(grid_ids))
    subject = or_(
        and_(AuditEvent.subject_type == "household", AuditEvent.subject_id.in_(households)),
        and_(AuditEvent.subject_type == "elder", AuditEvent.subject_id.in_(
            select(Elder.id).where(Elder.household_id.in_(households)))))
    query = select(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.details,
                   AuditEvent.at).where(AuditEvent.action.in_(APP_EDITS), subject)
    if since is not None:
        query = query.where(AuditEvent.at > since)
    found: dict[str, dict[str, datetime]] = defaultdict(dict)
    for kind, subject_id, details, at in db.session.execute(query.order_by(AuditEvent.at)):
        if (details or {}).get("via") == "import":
            continue
        for name in (details or {}).get("changes") or {}:
            found[f"{kind[0]}{subject_id}"]["grid_id" if name == "grid" else name] = at
    return dict(found)

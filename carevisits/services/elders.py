"""Elders on the register: create, edit, move, close and reopen, each change audited with
its old and new values, and the likely-duplicate rule shared with the spreadsheet import.
(The rules of each field — phones, birth years, tags — are in register_fields.)"""

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.labels import CLOSED_REASONS
from carevisits.models import (
    Alert,
    AlertStatus,
    CareLevel,
    ClosedReason,
    Community,
    Elder,
    Grid,
    Household,
    LivingSituation,
    User,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, audit, schedule

# What a form or an import row may set on an elder, in the order they are shown.
FIELDS = ("name", "gender", "birth_year", "phone", "other_phones", "emergency_contacts",
          "living_situation", "care_level", "health_notes", "tags", "notes")


class ElderError(ValueError):
    """A change that cannot be made; ``field`` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def name_key(name: str) -> str:
    """A name for comparing: without any spaces (王 芳 and 王芳 are the same name)."""
    return re.sub(r"\s+", "", name or "")


def _similar(a: str, b: str) -> bool:
    """Same name ignoring spaces, or the same surname (first character), the same length
    and exactly one other character different (王秀英 / 王秀芙)."""
    a, b = name_key(a), name_key(b)
    if a == b:
        return True
    if len(a) != len(b) or len(a) < 2 or a[0] != b[0]:
        return False
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def likely_duplicates(name: str, birth_year: int | None, household: Household, *,
                      exclude_id: int | None = None) -> list[Elder]:
    """Active elders that may be the same person as a new or renamed elder of ``household``:
    the same name (spaces ignored) and birth year anywhere in the household's street, or a
    similar name (see :func:`_similar`) in the same household. Used by the forms and the
    spreadsheet import; ``household`` may be new and not yet flushed."""
    found: dict[int, Elder] = {}
    key = name_key(name)
    street_id = household.grid.community.street_id
    if key and birth_year is not None:
        same = (select(Elder).join(Household, Elder.household_id == Household.id)
                .join(Grid, Household.grid_id == Grid.id)
                .join(Community, Grid.community_id == Community.id)
                .where(Community.street_id == street_id, Elder.active,
                       Elder.birth_year == birth_year,
                       func.replace(Elder.name, " ", "") == key)
                .order_by(Elder.id))
        found.update((e.id, e) for e in db.session.scalars(same))
    for elder in household.elders:
        if elder.active and elder.id is not None and _similar(elder.name, name):
            found.setdefault(elder.id, elder)
    found.pop(exclude_id, None)
    return sorted(found.values(), key=lambda e: e.id)


def audit_value(value):
    """A value as the audit log keeps it (JSON): enums by value, dates as ISO text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value


def _apply(elder: Elder, values: dict) -> dict[str, list]:
    """Set the given fields; returns {field: [old, new]} of those that changed."""
    changes = {}
    for field in FIELDS:
        if field not in values:
            continue
        old, new = getattr(elder, field), values[field]
        if field == "name":
            new = new.strip()
        if old != new:
            changes[field] = [audit_value(old), audit_value(new)]
            # JSON columns: a new list, so that the change is seen and saved.
            setattr(elder, field, list(new) if isinstance(new, list) else new)
    return changes


def create_elder(household: Household, *, actor: User | None, name: str, birth_year: int,
                 **values) -> Elder:
    """A new elder of an open household; the first visit is due at once."""
    if household.closed_at is not None:
        raise ElderError(_l("This household is closed: nobody can be added to it."))
    elder = Elder(household=household, name="", birth_year=birth_year, emergency_contacts=[],
                  tags=[], other_phones=[], notes="", living_situation=LivingSituation.ALONE,
                  care_level=CareLevel.GENERAL)
    db.session.add(elder)
    changes = _apply(elder, {"name": name, "birth_year": birth_year, **values})
    db.session.flush()
    schedule.refresh([elder])
    audit.record(actor, "elder.create", "elder", elder.id, household=household.number,
                 changes={f: [None, new] for f, (_old, new) in changes.items()})
    return elder


def update_elder(elder: Elder, *, actor: User | None, **values) -> dict[str, list]:
    """Change any of the elder's fields; a new care level moves the schedule."""
    changes = _apply(elder, values)
    if changes:
        db.session.flush()
        if "care_level" in changes:
            schedule.refresh([elder])
        audit.record(actor, "elder.update", "elder", elder.id, changes=changes)
    return changes


def move_elder(elder: Elder, household: Household, *, actor: User | None) -> None:
    """The elder now lives in another (open) household; the schedule follows its street."""
    if household.closed_at is not None:
        raise ElderError(_l("This household is closed: nobody can be added to it."), "number")
    if household.id == elder.household_id:
        raise ElderError(_l("The elder lives in this household already."), "number")
    old = elder.household
    elder.household = household
    db.session.flush()
    if elder.active:
        schedule.refresh([elder])
    audit.record(actor, "elder.move", "elder", elder.id, changes={
        "household": [f"{old.number} {old.full_address}",
                      f"{household.number} {household.full_address}"]})


def close_elder(elder: Elder, *, reason: ClosedReason, on: date, actor: User | None,
                today: date, via: str | None = None) -> list[Alert]:
    """Close the record (death, a move, a care home, no longer needed): the elder leaves
    rounds, scans and door forms; open alerts are resolved with the reason; history stays.
    ``via``: what made the change when not the app's forms (an import). Returns the alerts
    resolved."""
    if not elder.active:
        raise ElderError(_l("This record is closed already."))
    if on > today:
        raise ElderError(_l("The date cannot be in the future."), "closed_on")
    elder.closed_reason, elder.closed_on = reason, on
    note = str(_l("Record closed: %(reason)s (%(date)s)", reason=CLOSED_REASONS[reason],
                  date=on.isoformat()))
    open_alerts = list(db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.status != AlertStatus.RESOLVED)))
    for alert in open_alerts:
        alerts.resolve(alert, actor=actor, note=note)
    db.session.flush()
    audit.record(actor, "elder.close", "elder", elder.id,
                 resolved_alerts=[a.id for a in open_alerts],
                 changes={"closed_reason": [None, reason.value],
                          "closed_on": [None, on.isoformat()]}, **_via(via))
    return open_alerts


def reopen_elder(elder: Elder, *, actor: User | None, now: datetime | None = None,
                 via: str | None = None) -> None:
    """Bring a closed record back: on the round again, due a visit now (any pause ended);
    ``via`` as for close_elder."""
    if elder.active:
        raise ElderError(_l("This record is not closed."))
    if elder.household.closed_at is not None:
        raise ElderError(_l("The household is closed: move the elder to an open household "
                            "first."))
    changes = {"closed_reason": [audit_value(elder.closed_reason), None],
               "closed_on": [audit_value(elder.closed_on), None]}
    elder.closed_reason, elder.closed_on = None, None
    schedule.refresh([elder])  # the street's grace period for the elder's care level
    schedule.end_pause(elder, now or utcnow())  # and due from now, not from the last visit
    db.session.flush()
    audit.record(actor, "elder.reopen", "elder", elder.id, changes=changes, **_via(via))


def _via(via: str | None) -> dict:
    """The audit detail of a change not made in the app's forms."""
    return {"via": via} if via else {}


def record_view(actor: User, elder: Elder) -> None:
    """Staff opened the elder's record (health notes, visit history): audited as
    ``elder.view``."""
    audit.record(actor, "elder.view", "elder", elder.id)


def pause_visits(elder: Elder, *, reason: str, until: date, actor: User, today: date) -> None:
    """Pause the elder's visits until ``until`` (in hospital, with children); audited."""
    schedule.pause(elder, reason=reason, expected_end=until, actor=actor, today=today)
    audit.record(actor, "elder.pause", "elder", elder.id)


def resume_visits(elder: Elder, *, actor: User, now: datetime) -> None:
    """The elder is back: visits are due again from ``now``; audited."""
    schedule.end_pause(elder, now)
    audit.record(actor, "elder.resume", "elder", elder.id)


def set_interval(elder: Elder, *, days: int | None, actor: User) -> None:
    """Visit the elder every ``days`` days instead of as the care level says (None: as the
    care level says); the due date moves with it. Audited."""
    elder.visit_interval_days = days
    schedule.refresh([elder])
    audit.record(actor, "elder.interval", "elder", elder.id, days=days)

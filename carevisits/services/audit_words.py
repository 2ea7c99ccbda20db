"""The audit log in words: a label for every action that ``audit.record`` is called with,
the kinds of record a reader filters by, and an event's details (old → new values, counts,
ids) with field names and stored values (enums, booleans, lists) as people read them.

An action or a detail key not listed here is shown as stored: a new ``audit.record`` call
never breaks the page, it only reads less well until it is given its words here."""

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_

from carevisits import labels
from carevisits.models import AuditEvent

ACTIONS = {
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.logout_everywhere": _l("Signed out on every device"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.unlock": _l("Sign-in unlocked"),
    "apikey.create": _l("API key created"),
    "apikey.revoke": _l("API key revoked"),
    "api.request": _l("API request"),
    "street.create": _l("Street added"),
    "community.save": _l("Community saved"),
    "grid.save": _l("Grid saved"),
    "grid.assign": _l("Grid worker assigned"),
    "grid.cover": _l("Cover arranged"),
    "grid.unassign": _l("Assignment ended"),
    "policy.update": _l("Visit policy changed"),
    "street.silence_hours": _l("Street's hours of silence set"),
    "channel.create": _l("Notification channel added"),
    "channel.remove": _l("Notification channel removed"),
    "household.create": _l("Household added"),
    "household.update": _l("Household changed"),
    "household.move": _l("Household moved to another grid"),
    "household.close": _l("Household closed"),
    "household.view": _l("Household page opened"),
    "household.silence_hours": _l("Household's hours of silence set"),
    "device.add": _l("Device added"),
    "device.remove": _l("Device removed"),
    "elder.create": _l("Elder added"),
    "elder.update": _l("Elder's record changed"),
    "elder.move": _l("Elder moved to another household"),
    "elder.close": _l("Record closed"),
    "elder.reopen": _l("Record reopened"),
    "elder.view": _l("Elder's record opened"),
    "elder.pause": _l("Visits paused"),
    "elder.resume": _l("Visits resumed"),
    "elder.interval": _l("Visit interval set"),
    "menu.add": _l("Service added to the menu"),
    "menu.end": _l("Service taken off the menu"),
    "family.invite": _l("Family invite made"),
    "family.accept": _l("Family member linked"),
    "family.revoke": _l("Family link ended"),
    "selfcheck.enrol": _l("Daily check-in started"),
    "selfcheck.hour": _l("Daily check-in hour changed"),
    "selfcheck.renew": _l("Daily check-in link renewed"),
    "selfcheck.stop": _l("Daily check-in stopped"),
    "selfcheck.card": _l("Fridge card printed"),
    "visit.create": _l("Visit recorded"),
    "visit.phone": _l("Phone check-in"),
    "visit.correct": _l("Visit corrected"),
    "visit.void": _l("Visit voided"),
    "followup.create": _l("Follow-up added"),
    "followup.done": _l("Follow-up done"),
    "request.create": _l("Request raised"),
    "request.status": _l("Request status changed"),
    "request.class": _l("Request reclassed"),
    "register.import": _l("Register imported"),
    "register.mapping": _l("Import mapping kept"),
    "register.export": _l("Register exported"),
    "export": _l("Exported"),
    "report": _l("Monthly report downloaded"),
    "print.create": _l("Door cards ordered"),
    "print.download": _l("Door cards downloaded"),
    "doorcode.rotate": _l("New door cards issued"),
    "service.create": _l("Service added to the catalogue"),
    "service.retire": _l("Service retired"),
    "service.restore": _l("Service brought back"),
    "service.delete": _l("Service deleted"),
    "volunteer.sign_up": _l("Volunteer signed up"),
    "volunteer.profile": _l("Volunteer profile changed"),
    "volunteer.approve": _l("Volunteer approved"),
    "volunteer.decline": _l("Volunteer declined"),
    "roster.save": _l("Roster saved"),
    "roster.apply": _l("Applied to a roster"),
    "roster.approved": _l("Roster place approved"),
    "roster.declined": _l("Roster application declined"),
    "roster.removed": _l("Removed from a roster"),
    "roster.withdraw": _l("Left a roster"),
}


@dataclass(frozen=True)
class Kind:
    """A kind of record to filter by: its word, the events it covers (a condition on
    columns only, so SQLite and PostgreSQL filter alike) and the subject type its record
    ids are of (the elder and household pages' "history" links)."""

    label: object
    subject_type: str | None
    actions: tuple[str, ...] = ()
    subject_types: tuple[str, ...] = ()

    def clause(self) -> ColumnElement[bool]:
        """The events of this kind."""
        return or_(AuditEvent.action.in_(self.actions),
                   AuditEvent.subject_type.in_(self.subject_types))


KINDS = {
    "elder": Kind(_l("Elder"), "elder", subject_types=("elder",)),
    "household": Kind(_l("Household"), "household", subject_types=("household",)),
    "visit": Kind(_l("Visit"), "visit", actions=("visit.create", "visit.phone"),
                  subject_types=("visit",)),
    "request": Kind(_l("Request"), "request", subject_types=("request",)),
    "account": Kind(_l("Account"), "user", actions=("user.create", "user.update", "user.unlock",
                                                   "volunteer.sign_up", "volunteer.profile",
                                                   "volunteer.approve", "volunteer.decline")),
    "signin": Kind(_l("Sign-in"), "user", actions=(
        "auth.login", "auth.logout", "auth.logout_everywhere")),
    "area": Kind(_l("Area"), None, actions=(
        "street.create", "community.save", "grid.save", "grid.assign", "grid.cover",
        "grid.unassign", "policy.update", "street.silence_hours", "channel.create",
        "channel.remove")),
    "import": Kind(_l("Import"), "street", actions=("register.import", "register.mapping")),
    "export": Kind(_l("Export"), None, actions=("export", "register.export", "report")),
    "print": Kind(_l("Door cards"), "print_job", subject_types=("print_job",)),
    "key": Kind(_l("API key"), "api_key", subject_types=("api_key",)),
    "service": Kind(_l("Service catalogue"), "service_item", subject_types=("service_item",)),
    "roster": Kind(_l("Roster"), "roster", subject_types=("roster",)),
}

# What an event is about, by its subject type (for a download without a record: what).
SUBJECTS = {
    "elder": _l("Elder"), "family_visits": _l("Elder"), "household": _l("Household"),
    "visit": _l("Visit"), "request": _l("Request"), "user": _l("Account"),
    "print_job": _l("Door cards"), "api_key": _l("API key"),
    "service_item": _l("Service catalogue"), "roster": _l("Roster"), "street": _l("Street"),
    "community": _l("Community"), "grid": _l("Grid"), "area": _l("Register"),
    "month": _l("Monthly report"), "deliveries": _l("Services delivered"),
    "requests": _l("Requests"), "volunteer-hours": _l("Volunteer hours"),
    "audit_log": _l("Audit log"),
}

FIELDS = {
    "name": _l("Name"), "gender": _l("Gender"), "birth_year": _l("Birth year"),
    "phone": _l("Phone"), "emergency_contacts": _l("Emergency contacts"),
    "living_situation": _l("Living"), "care_level": _l("Care level"),
    "health_notes": _l("Health notes"), "tags": _l("At the door"),
    "closed_reason": _l("Reason for closing"), "closed_on": _l("Closing date"),
    "closed_at": _l("Closed at"), "household": _l("Household"), "number": _l("Household no."),
    "grid": _l("Grid"), "address": _l("Address"), "building": _l("Building"),
    "unit": _l("Unit"), "room": _l("Room"), "hotline": _l("Hotline"), "role": _l("Role"),
    "active": _l("Active"), "password_changed": _l("Password changed"),
    "outcome": _l("Outcome"), "method": _l("How"), "status": _l("Status"),
    "request_class": _l("How big (7123 rule)"), "kind": _l("Kind of device"),
    "code": _l("Device id"), "hours": _l("Hours of silence"), "hour": _l("Check-in hour"),
    "days": _l("Visit every (days)"), "item": _l("Service"),
    "services": _l("Services delivered"), "reason": _l("Reason"), "rows": _l("Rows"),
    "format": _l("Format"), "month": _l("Month"), "file": _l("File"), "counts": _l("Counts"),
    "layout": _l("Layout"), "rotate": _l("New cards (old ones stop working)"),
    "households": _l("Households"), "elders": _l("Elders"), "systolic": _l("Systolic"),
    "diastolic": _l("Diastolic"), "pulse": _l("Pulse"), "mood": _l("Mood"),
    "notes": _l("Notes"), "capacity": _l("Capacity"), "starts_on": _l("From"),
    "ends_on": _l("Until"), "permissions": _l("Permissions"), "scope": _l("Area"),
    "operation": _l("Operation"), "api_key": _l("API key"),
    "phone_counts": _l("Phone calls counted as visits"),
    "resolved_alerts": _l("Alerts resolved"), "closed_elders": _l("Records closed"),
    # A download's filter (the elder list's, this log's).
    "area": _l("Area"), "q": _l("Search"), "who": _l("Who"), "what": _l("What"),
    "record": _l("Record no."), "start": _l("From"), "end": _l("Until"),
    "changes": _l("Changes only (no openings of records)"),
    "other_phones": _l("Further numbers"), "via": _l("Made by"),
    "rows_skipped": _l("Rows with errors not imported"), "mapping": _l("Mapping"),
    "task": _l("Follow-up"), "due_on": _l("For the day"), "important": _l("Important"),
}
# Stored values shown in their words, per field.
VALUES = {
    "closed_reason": labels.CLOSED_REASONS, "care_level": labels.CARE_LEVELS,
    "living_situation": labels.LIVING, "role": labels.ROLES, "outcome": labels.OUTCOMES,
    "method": labels.METHODS, "status": labels.REQUEST_STATUSES,
    "request_class": labels.REQUEST_CLASSES, "kind": labels.DEVICE_KINDS, "mood": labels.MOODS,
    "phone_counts": labels.CARE_LEVELS, "what": {k: kind.label for k, kind in KINDS.items()},
    "changes": {"1": _l("yes")},
    "via": {"import": _l("the register import")},
}
COUNTS = {
    "households_create": _l("households added"), "households_update": _l("households changed"),
    "households_unchanged": _l("households unchanged"), "elders_create": _l("elders added"),
    "elders_update": _l("elders changed"), "elders_close": _l("records closed"),
    "elders_unchanged": _l("elders unchanged"), "devices_add": _l("devices added"),
    "elders_reopen": _l("records reopened"), "held": _l("changes held back"),
}
# Kept for the record, not worth a reader's line: hashes and ids another column shows.
QUIET = frozenset({"sha256", "door_code", "revoked_door_code", "invite_id", "link_id",
                   "followup_id", "visit_id", "user_id", "volunteer_id", "community_id",
                   "street_id"})


def action_label(action: str) -> str:
    """The action in words (as stored when it has none)."""
    return str(ACTIONS.get(action, action))


def subject_label(subject_type: str) -> str:
    """What an event is about, in words (as stored when it has none)."""
    return str(SUBJECTS.get(subject_type, subject_type))


def value_text(field: str, value) -> str:
    """A stored value as a reader reads it: enum values in their words, yes/no, lists and
    contacts spelt out, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list):
        return "、".join(value_text(field, v) for v in value)
    if isinstance(value, dict) and field in ("counts", "phone_counts"):
        words = COUNTS if field == "counts" else VALUES[field]
        return "，".join(f"{words.get(k, k)} {v}" for k, v in value.items() if v) or "—"
    if isinstance(value, dict) and "name" in value:  # an emergency contact
        relation = f"（{value['relation']}）" if value.get("relation") else ""
        return f"{value['name']}{relation} {value.get('phone', '')}".strip()
    if isinstance(value, dict):  # services delivered: name → quantity
        return "，".join(f"{k} ×{v:g}" if isinstance(v, int | float) else f"{k} {v}"
                        for k, v in value.items())
    words = VALUES.get(field)
    if words is not None and isinstance(value, str) and value in words:
        return str(words[value])
    return str(value)


def field_label(field: str) -> str:
    """A field's name in words (as stored when it has none)."""
    return str(FIELDS.get(field, field))


def _is_change(value) -> bool:
    """Whether a detail is an ``[old, new]`` pair."""
    return isinstance(value, list | tuple) and len(value) == 2


def describe(action: str, details: dict) -> list[tuple[str, str]]:
    """An event's details as (label, text) lines: each change as ``old → new``, other
    values as they are; a visit correction's changes per elder."""
    return list(_lines(action, details or {}))


def _lines(action: str, details: dict) -> Iterator[tuple[str, str]]:
    """:func:`describe`'s lines, one by one."""
    before, after = details.get("before"), details.get("after")
    for key, value in details.items():
        if key in QUIET or key in ("before", "after"):
            continue
        if key == "changes" and isinstance(value, dict):
            yield from _changes(value)
        elif value not in (None, "", [], {}):  # nothing resolved, no filter: no line
            yield field_label(key), value_text(key, value)
    if isinstance(before, dict) or isinstance(after, dict):  # an area saved: its fields
        before, after = before or {}, after or {}
        yield from _changes({k: [before.get(k), after.get(k)] for k in {**before, **after}
                             if before.get(k) != after.get(k)})
    elif before is not None or after is not None:  # a request reclassed
        yield from _changes({"request_class": [before, after]})


def _changes(changes: dict, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{field: [old, new]}`` as lines (nested per elder for a visit's correction)."""
    for field, change in changes.items():
        if _is_change(change):
            old, new = change
            yield (prefix + field_label(field),
                   f"{value_text(field, old)} → {value_text(field, new)}")
        elif isinstance(change, dict):  # a visit's correction: per elder, by id
            yield from _changes(change, f"{_l('Elder')} {field} · ")
        else:
            yield prefix + field_label(field), value_text(field, change)

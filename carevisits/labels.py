"""Words shown for stored values (outcomes, moods, care levels, roles), translated lazily."""

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from carevisits.models import (
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    ClosedReason,
    DeviceKind,
    Frequency,
    JobStatus,
    LivingSituation,
    MemberStatus,
    Mood,
    Outcome,
    RequestClass,
    RequestStatus,
    Role,
    ServicePlace,
    SignalKind,
    VolunteerStatus,
)

OUTCOMES = {
    Outcome.MET_WELL: _l("Met, all well"),
    Outcome.MET_CONCERN: _l("Met, concern"),
    Outcome.NOT_AT_HOME: _l("Away (known)"),
    Outcome.NO_ANSWER: _l("No answer"),
    Outcome.REFUSED: _l("Refused"),
}
MOODS = {Mood.GOOD: _l("Good"), Mood.FAIR: _l("Fair"), Mood.LOW: _l("Low")}
CARE_LEVELS = {
    CareLevel.KEY: _l("Key (daily)"),
    CareLevel.FOCUS: _l("Focus (every 3 days)"),
    CareLevel.GENERAL: _l("General (weekly)"),
}
LIVING = {
    LivingSituation.ALONE: _l("Lives alone"),
    LivingSituation.EMPTY_NEST: _l("Empty nest"),
    LivingSituation.WITH_SPOUSE: _l("With spouse"),
    LivingSituation.WITH_FAMILY: _l("With family"),
    LivingSituation.CHILDLESS: _l("Widowed, no children"),
    LivingSituation.OTHER: _l("Other"),
}
CLOSED_REASONS = {
    ClosedReason.DECEASED: _l("Died"),
    ClosedReason.MOVED_AWAY: _l("Moved out of the street"),
    ClosedReason.CARE_HOME: _l("Moved into a care home"),
    ClosedReason.NOT_NEEDED: _l("No longer needs the service"),
}
ROLES = {
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.GRID_WORKER: _l("Grid worker"),
    Role.VOLUNTEER: _l("Volunteer"),
    Role.FAMILY: _l("Family member"),
}
METHODS = {"scanned": _l("Scanned"), "manual": _l("Entered by hand"), "phone": _l("Phone call")}
# A phone call's outcomes, in the words of a call (stored as the door's outcomes).
PHONE_OUTCOMES = {
    Outcome.MET_WELL: _l("Reached, well"),
    Outcome.MET_CONCERN: _l("Reached, concern"),
    Outcome.NO_ANSWER: _l("No answer on the phone"),
}

JOB_STATUSES = {
    JobStatus.QUEUED: _l("Waiting to start"),
    JobStatus.RUNNING: _l("Making the PDF"),
    JobStatus.DONE: _l("Ready"),
    JobStatus.FAILED: _l("Failed"),
}

ALERT_KINDS = {
    AlertKind.OVERDUE: _l("Visit overdue"),
    AlertKind.NO_ANSWER: _l("No answer at the door"),
    AlertKind.ABNORMAL: _l("Abnormal readings"),
    AlertKind.REQUEST_OVERDUE: _l("Request overdue"),
    AlertKind.NO_ACTIVITY: _l("No sign of activity"),
    AlertKind.EMERGENCY: _l("Call for help or fall"),
    AlertKind.MISSED_CHECKIN: _l("Daily check-in missed"),
}
ALERT_LEVELS = {AlertLevel.WARNING: _l("Warning"), AlertLevel.URGENT: _l("Urgent")}
ALERT_STATUSES = {
    AlertStatus.OPEN: _l("Not taken on yet"),
    AlertStatus.ACKNOWLEDGED: _l("Being handled"),
    AlertStatus.RESOLVED: _l("Resolved"),
}

ALERT_ACTIONS = {
    "opened": _l("Opened"),
    "escalated": _l("Escalated to urgent"),
    "acknowledged": _l("Taken on"),
    "step": _l("Ladder step done"),
    "resolved": _l("Resolved"),
    "reopened": _l("Reopened"),
    "note": _l("Note"),
}

FREQUENCIES = {
    Frequency.EVERY_VISIT: _l("every visit"),
    Frequency.WEEKLY: _l("weekly"),
    Frequency.MONTHLY: _l("monthly"),
    Frequency.ON_REQUEST: _l("on request"),
}
REQUEST_CLASSES = {
    RequestClass.SMALL: _l("Small: 1 day"),
    RequestClass.BIGGER: _l("Bigger: 2 days"),
    RequestClass.HARD: _l("Hard: 3 days"),
}
REQUEST_STATUSES = {
    RequestStatus.OPEN: _l("New"),
    RequestStatus.IN_PROGRESS: _l("In progress"),
    # Done and answered, but the office has not yet confirmed it with the elder or family;
    # closed is the end. The words must not read as the same thing.
    RequestStatus.RESOLVED: _l("Answered, awaiting confirmation"),
    RequestStatus.CLOSED: _l("Closed after confirmation"),
    RequestStatus.CANCELLED: _l("Cancelled"),
}
WEEKDAYS = {0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"),
            4: _l("Friday"), 5: _l("Saturday"), 6: _l("Sunday")}
VOLUNTEER_STATUSES = {
    VolunteerStatus.PENDING: _l("Waiting for approval"),
    VolunteerStatus.APPROVED: _l("Approved"),
    VolunteerStatus.DECLINED: _l("Declined"),
}
MEMBER_STATUSES = {
    MemberStatus.APPLIED: _l("Applied"),
    MemberStatus.APPROVED: _l("Member"),
    MemberStatus.DECLINED: _l("Declined"),
    MemberStatus.REMOVED: _l("Removed"),
    MemberStatus.WITHDRAWN: _l("Withdrawn"),
}
DEVICE_KINDS = {
    DeviceKind.WATER_METER: _l("Water meter"),
    DeviceKind.ELECTRICITY_METER: _l("Electricity meter"),
    DeviceKind.DOOR_SENSOR: _l("Door sensor"),
    DeviceKind.SOS_BUTTON: _l("SOS button"),
    DeviceKind.WEARABLE: _l("Wearable"),
}
SIGNAL_KINDS = {
    SignalKind.NO_USAGE: _l("No use"),
    SignalKind.USAGE_BACK: _l("In use again"),
    SignalKind.SOS: _l("Call for help"),
    SignalKind.FALL: _l("Fall"),
    SignalKind.DOOR_NOT_OPENED: _l("Door not opened"),
}
# What was done with a signal (services/signals.py).
SIGNAL_OUTCOMES = {
    "opened": _l("Alert opened"),
    "raised": _l("Added to the open alert"),
    "resolved": _l("Alert resolved"),
    "suppressed": _l("No alert: the elder is away (paused)"),
    "below_threshold": _l("No alert: under the threshold"),
    "recorded": _l("Recorded"),
}

PLACES = {ServicePlace.DOOR: _l("at the door"), ServicePlace.CENTRE: _l("at a service centre")}

JINJA_GLOBALS = {
    "FREQUENCIES": FREQUENCIES,
    "REQUEST_CLASSES": REQUEST_CLASSES,
    "REQUEST_STATUSES": REQUEST_STATUSES,
    "PLACES": PLACES,
    "WEEKDAYS": WEEKDAYS,
    "VOLUNTEER_STATUSES": VOLUNTEER_STATUSES,
    "MEMBER_STATUSES": MEMBER_STATUSES,
    "ALERT_ACTIONS": ALERT_ACTIONS,
    "ALERT_KINDS": ALERT_KINDS,
    "ALERT_LEVELS": ALERT_LEVELS,
    "ALERT_STATUSES": ALERT_STATUSES,
    "JOB_STATUSES": JOB_STATUSES,
    "OUTCOMES": OUTCOMES,
    "MOODS": MOODS,
    "CARE_LEVELS": CARE_LEVELS,
    "LIVING": LIVING,
    "CLOSED_REASONS": CLOSED_REASONS,
    "ROLES": ROLES,
    "METHODS": METHODS,
    "PHONE_OUTCOMES": PHONE_OUTCOMES,
    "DEVICE_KINDS": DEVICE_KINDS,
    "SIGNAL_KINDS": SIGNAL_KINDS,
    "SIGNAL_OUTCOMES": SIGNAL_OUTCOMES,
}


def as_choices(mapping: dict) -> list[SelectChoice]:
    """Form choices from a value → label mapping."""
    return [SelectChoice(value=str(value), label=label) for value, label in mapping.items()]

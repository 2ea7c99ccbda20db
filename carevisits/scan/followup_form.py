"""The door form's follow-ups for one elder (``e<id>-fu-*``): the open ones ticked done, and
a new one — what (a button or free words), when (tomorrow, in N days, on a date), a star."""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from carevisits.paging import record_id
from carevisits.services import followups


@dataclass
class DoorFollowUps:
    """What the form says about one elder's follow-ups."""

    added: followups.FollowUpInput | None = None
    done: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _days(raw: str) -> int:
    """The "in N days" box as a whole number; FollowUpError for anything else."""
    try:
        return int(raw.strip())
    except ValueError:
        raise followups.FollowUpError(_l("Enter the number of days as a whole number.")) \
            from None


def _day(raw: str) -> date:
    """The date box (the browser sends YYYY-MM-DD); FollowUpError for anything else."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise followups.FollowUpError(_l("Choose the day of the follow-up.")) from None


def read(formdata, elder_id: int, today: date) -> DoorFollowUps:
    """The follow-ups of one elder as sent: nothing added unless there are words for it."""
    stem = f"e{elder_id}-fu-"
    found = DoorFollowUps()
    for raw in formdata.getlist(f"{stem}done"):
        try:
            found.done.append(record_id(raw))
        except ValueError:
            continue  # not a follow-up: nothing to mark
    what = (formdata.get(f"{stem}text") or "").strip() or (formdata.get(f"{stem}what") or "")
    if not what.strip():
        return found
    when = formdata.get(f"{stem}when") or "tomorrow"
    try:
        if when == "days":
            day = followups.due_on(today, days=_days(formdata.get(f"{stem}days") or ""))
        elif when == "date":
            day = followups.due_on(today, on=_day(formdata.get(f"{stem}date") or ""))
        else:
            day = followups.due_on(today, days=1)
        found.added = followups.FollowUpInput(what.strip(), day,
                                              important=formdata.get(f"{stem}star") == "1")
        followups.check(found.added, today)
    except followups.FollowUpError as err:
        found.added, found.errors = None, [str(err)]
    return found

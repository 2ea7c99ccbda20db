"""When a visit happened: the server's time, the phone's time at the door (a form that took
long to send, or a visit kept on the phone without signal), or the time a visitor gives for
a visit recorded afterwards — each believed only inside its window."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from carevisits.models import Household

# A form sent a while after it was filled counts from when it was filled, but a phone clock
# can be wrong: its time is believed only inside this window.
CLIENT_TIME_WINDOW = timedelta(hours=48)
# A visit kept on the phone (no signal at the door) and sent later counts from the phone's
# time up to this far back; older, it is refused with a message that stays on the phone.
QUEUED_WINDOW = timedelta(hours=72)
CLIENT_CLOCK_SKEW = timedelta(minutes=5)
# The phone's clock is kept with the visit (for questions later) only when it lies within
# this much of the server's: a clock set to year 1 or 9999 is no information, and could not
# be stored in every zone.
CLIENT_CLOCK_PLAUSIBLE = timedelta(days=366)
# A visit recorded afterwards ("visited earlier": the phone was dead) may say when it was,
# up to this far back.
LATE_ENTRY_WINDOW = timedelta(hours=48)


def plausible_client_time(client_time: datetime, server_time: datetime) -> datetime | None:
    """The phone's clock as kept with a visit (aware), or None when it is further than
    CLIENT_CLOCK_PLAUSIBLE from the server's."""
    return client_time if abs(client_time - server_time) <= CLIENT_CLOCK_PLAUSIBLE else None


def contact_time(server_time: datetime, client_time: datetime | None,
                 window: timedelta = CLIENT_TIME_WINDOW) -> datetime:
    """When the visit happened: the phone's time if inside ``window``, else the server's."""
    if client_time is None:
        return server_time
    if server_time - window <= client_time <= server_time + CLIENT_CLOCK_SKEW:
        return min(client_time, server_time)
    return server_time


def late_entry_error(visited_at: datetime, household: Household, now: datetime) -> str | None:
    """Why a "visited earlier" time cannot be taken, or None if it can."""
    if visited_at > now + CLIENT_CLOCK_SKEW:
        return str(_l("The time of the visit is in the future."))
    if visited_at < now - LATE_ENTRY_WINDOW:
        return str(_l("A visit can be recorded late up to %(n)d hours afterwards.",
                      n=LATE_ENTRY_WINDOW // timedelta(hours=1)))
    if household.created_at is not None and visited_at < household.created_at:
        return str(_l("The household was not on the list yet at that time."))
    return None


def door_time(now: datetime, client_time: datetime | None,
              waited: timedelta | None) -> datetime | None:
    """When a visit kept on the phone happened: ``now`` less how long it waited there by the
    phone's own clock (right even when that clock is set days wrong), else the phone's time
    at the door, else unknown."""
    if waited is not None:
        return now - waited
    return client_time


def queued_error(at_the_door: datetime | None, now: datetime) -> str | None:
    """Why a visit kept on the phone and sent now cannot be taken, or None if it can."""
    if at_the_door is not None and at_the_door < now - QUEUED_WINDOW:
        return str(_l("This visit waited on the phone more than %(n)d hours: it can no longer "
                      "be sent. Record it again as a visit made earlier, or tell your "
                      "coordinator.", n=QUEUED_WINDOW // timedelta(hours=1)))
    return None


def time_error(household: Household, now: datetime, client_time: datetime | None,
               visited_at: datetime | None, queued: bool,
               waited: timedelta | None = None) -> str | None:
    """Why the visit's time cannot be taken (a queued visit too old, a late entry outside
    its window), or None."""
    if queued and (problem := queued_error(door_time(now, client_time, waited), now)):
        return problem
    if visited_at is not None:
        return late_entry_error(visited_at, household, now)
    return None


def occurred_at(now: datetime, client_time: datetime | None, visited_at: datetime | None,
                queued: bool, waited: timedelta | None = None) -> datetime:
    """When the visit happened (its time checked by ``time_error`` first): the time given
    for a visit entered late; for a visit sent from the phone's queue, its time at the door
    (``door_time``, up to QUEUED_WINDOW back); else the phone's time if plausible, else the
    server's."""
    if visited_at is not None:
        return min(visited_at, now)
    if queued and waited is not None:
        return min(door_time(now, client_time, waited), now)
    return contact_time(now, client_time, QUEUED_WINDOW if queued else CLIENT_TIME_WINDOW)

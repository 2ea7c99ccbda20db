"""The elder's own daily check-in (平安打卡): a personal link with one button, 我很好.

An elder takes part with an hour of the local day by which the check-in is expected; the
link's secret is ``Elder.checkin_token`` (256 random bits). Pressing the button is a sign of
life, not a visit: it answers the elder's missed check-in and no-activity alerts and never
moves the visit schedule (last contact, due and overdue times). The scan
(:func:`scan_missed`) opens one low-level alert for the grid worker the same day when the hour
and a grace period have passed without a check-in.

A press without signal waits on the elder's phone (static/selfcheck.js) and is sent when the
network is back, with the page's own key (sent twice, it is one check-in) and how long it
waited: it is dated when it was pressed, up to ``KEPT_WINDOW`` back (:func:`press_time`). The
grace period of the scan gives such a press the time to arrive before anyone is alerted.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import exists

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import Alert, AlertKind, AlertLevel, Elder, SelfCheckin, User
from carevisits.services import alerts, audit, schedule, visit_times

HOURS = range(1, 24)  # by 01:00 … by 23:00; "by 00:00" would be due before the day begins
DEFAULT_HOUR = 10  # offered first: most elders are up and about well before ten
RECENT_DAYS = 7
# Presses closer together than this are one check-in (a trembling finger, a reload).
ONE_PRESS = timedelta(minutes=1)
# A press kept on the phone without signal counts from when it was pressed up to this far
# back, as a visit kept on the phone does; an older one is no news of today and is dropped.
KEPT_WINDOW = visit_times.QUEUED_WINDOW
# The longest grace the scan may give (CAREVISITS_SELF_CHECKIN_GRACE_MINUTES): the last hour
# of the day (by 23:00) plus the grace must end before midnight.
MAX_GRACE = timedelta(minutes=59)


class SelfCheckError(ValueError):
    """A change to the check-in that cannot be made; the message is for the staff member."""


def given_name(name: str) -> str:
    """The elder's given name (名), the only name the check-in page and card show.

    Chinese names are written surname first and most surnames are one character: a name of
    two or three characters gives its last one or two (王芳 → 芳, 李秀英 → 秀英). Compound
    surnames (欧阳, 司马) are too rare to guess at: 欧阳明 gives 阳明. Four characters and more
    (a compound surname, or a name not written the Chinese way) and single characters are
    shown whole, as are names with spaces or Latin letters (Anna Li)."""
    name = name.strip()
    if len(name) in (2, 3) and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name[1:]
    return name


def new_token() -> str:
    """A fresh secret for a personal link: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def local_midnight(now: datetime) -> datetime:
    """The start of ``now``'s local day (Asia/Shanghai), as an aware instant."""
    zone = local_zone()
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)


def first_deadline(hour: int, now: datetime) -> datetime:
    """The first deadline that counts: ``hour`` today, or tomorrow if it has come already."""
    deadline = local_midnight(now) + timedelta(hours=hour)
    return deadline if deadline > now else deadline + timedelta(days=1)


def _check_hour(hour: int) -> None:
    if hour not in HOURS:
        raise SelfCheckError(_l("Choose an hour between %(first)d and %(last)d.",
                                first=HOURS[0], last=HOURS[-1]))


def enrol(elder: Elder, hour: int, *, actor: User, now: datetime) -> None:
    """The elder takes part: check in every day by ``hour`` (local), with a new link. Missed
    check-ins count from the next time that hour comes (not today if it has passed)."""
    _check_hour(hour)
    if not elder.active:
        raise SelfCheckError(_l("This record is closed."))
    elder.checkin_by_hour, elder.checkin_token = hour, new_token()
    elder.checkin_starts_at = first_deadline(hour, now)
    audit.record(actor, "selfcheck.enrol", "elder", elder.id, hour=hour)


def change_hour(elder: Elder, hour: int, *, actor: User, now: datetime) -> None:
    """Another hour of the day; the link stays. The new hour counts from its next coming."""
    _check_hour(hour)
    if elder.checkin_token is None:
        raise SelfCheckError(_l("This elder does not take part in the daily check-in."))
    elder.checkin_by_hour, elder.checkin_starts_at = hour, first_deadline(hour, now)
    audit.record(actor, "selfcheck.hour", "elder", elder.id, hour=hour)


def renew(elder: Elder, *, actor: User) -> None:
    """A new link (a card was lost, a phone changed hands): the old link stops working."""
    if elder.checkin_token is None:
        raise SelfCheckError(_l("This elder does not take part in the daily check-in."))
    elder.checkin_token = new_token()
    audit.record(actor, "selfcheck.renew", "elder", elder.id)


def stop(elder: Elder, *, actor: User) -> None:
    """The elder no longer takes part: no hour, no link, no more missed check-in alerts."""
    elder.checkin_by_hour = elder.checkin_token = elder.checkin_starts_at = None
    audit.record(actor, "selfcheck.stop", "elder", elder.id)


def find(token: str) -> Elder | None:
    """The elder on the register whose live link this is; None for an unknown, renewed or
    stopped link (one statement, the same for all of them)."""
    return db.session.scalar(select(Elder).where(Elder.checkin_token == token, Elder.active))


def press_time(now: datetime, waited: int | None) -> datetime | None:
    """When 我很好 was pressed: ``now`` less the seconds the press ``waited`` on the phone by
    its own clock (right even when that clock is set days wrong; a negative wait is none);
    None when it waited longer than ``KEPT_WINDOW``."""
    if waited is None:
        return now
    at = now - timedelta(seconds=max(waited, 0))
    return at if at >= now - KEPT_WINDOW else None


def check_in(token: str, now: datetime, *, pressed_at: datetime | None = None,
             key: str | None = None) -> Elder | None:
    """The elder pressed 我很好 (at ``pressed_at``, default ``now``; sent at ``now``): keep
    the check-in and answer their sign-of-life alerts. Never touches the visit schedule.
    None for a link that is not live. A press whose ``key`` was taken already, or within a
    minute of a check-in kept, is that check-in."""
    elder = find(token)
    if elder is None:
        return None
    at = min(pressed_at or now, now)
    if _same_press(elder, at, key):
        return elder
    try:
        with db.session.begin_nested():
            db.session.add(SelfCheckin(elder_id=elder.id, at=at, key=key, received_at=now))
    except IntegrityError:  # the same key sent at the same moment by another tab
        return elder
    if elder.last_checkin_at is None or at > elder.last_checkin_at:
        elder.last_checkin_at = at
    _answer_alerts(elder, at, now)
    return elder


def _same_press(elder: Elder, at: datetime, key: str | None) -> bool:
    """Whether this press was kept already: its key, or a check-in within a minute of it."""
    near = (SelfCheckin.at > at - ONE_PRESS) & (SelfCheckin.at < at + ONE_PRESS)
    same = near if key is None else or_(near, SelfCheckin.key == key)
    return db.session.scalar(select(
        exists().where(SelfCheckin.elder_id == elder.id, same))) or False


def _answer_alerts(elder: Elder, at: datetime, now: datetime) -> None:
    """Close the sign-of-life alerts a press at ``at`` answers: those opened at or before it
    and, for a press that arrived late, the missed check-in alerts of its day opened before
    it arrived (the elder did check in: the alert was raised while the press waited)."""
    note = str(_l("Resolved by the elder's own daily check-in."))
    alerts.resolve_by_sign_of_life(elder, alerts.SIGN_OF_LIFE, at, note)
    day_ends = local_midnight(local_midnight(at) + timedelta(hours=36))
    late = db.session.scalars(select(Alert).where(
        Alert.elder_id == elder.id, Alert.kind == AlertKind.MISSED_CHECKIN,
        Alert.status.in_(alerts.UNRESOLVED), Alert.opened_at > at,
        Alert.opened_at < day_ends, Alert.opened_at <= now))
    for alert in late:
        alerts.resolve(alert, actor=None, note=note, at=now)


def done_today(elder: Elder, now: datetime) -> datetime | None:
    """When the elder checked in today (local day), if they did."""
    last = elder.last_checkin_at
    return last if last is not None and last >= local_midnight(now) else None


def recent(elder: Elder, now: datetime, days: int = RECENT_DAYS) -> list[SelfCheckin]:
    """The elder's check-ins of the last ``days`` local days (today included), newest first."""
    since = local_midnight(now) - timedelta(days=days - 1)
    return list(db.session.scalars(select(SelfCheckin).where(
        SelfCheckin.elder_id == elder.id, SelfCheckin.at >= since)
        .order_by(SelfCheckin.at.desc())))


def deadline_today(elder: Elder, now: datetime) -> datetime | None:
    """Today's deadline of a taking-part elder (None when they do not take part)."""
    if elder.checkin_by_hour is None:
        return None
    return local_midnight(now) + timedelta(hours=elder.checkin_by_hour)


def scan_missed(now: datetime, grace: timedelta = timedelta(0)) -> list[int]:
    """Open a missed check-in alert (WARNING) for every elder who takes part, is on the
    register and not paused, whose hour has come today (local) since they took part and
    ``grace`` more has passed (a press kept on a phone without signal may still arrive), and
    who has given no sign today: no check-in and no meeting since local midnight, and no
    alert of this kind opened or resolved since then (a worker who closed today's alert is
    not asked again the same day). One INSERT … SELECT (alerts.open_alerts); returns new ids."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ValueError(f"a grace of {grace} would cross midnight")
    midnight = local_midnight(now)
    minutes = (now - midnight - grace) // timedelta(minutes=1)  # into the day, less grace
    seen_today = exists().where(
        Alert.elder_id == Elder.id, Alert.kind == AlertKind.MISSED_CHECKIN,
        or_(Alert.opened_at >= midnight, Alert.resolved_at >= midnight))
    missed = (select(Elder.id, literal(AlertLevel.WARNING.value))
              .where(Elder.checkin_starts_at <= now - grace,
                     Elder.checkin_by_hour * 60 <= minutes,
                     Elder.active, ~schedule.state_clause(schedule.State.PAUSED, now),
                     or_(Elder.last_checkin_at.is_(None), Elder.last_checkin_at < midnight),
                     or_(Elder.last_contact_at.is_(None), Elder.last_contact_at < midnight),
                     ~seen_today))
    return alerts.open_alerts(AlertKind.MISSED_CHECKIN, missed, now)


def personal_url(base_url: str, token: str) -> str:
    """The personal link printed on the fridge card and shown to family: nothing but the
    token."""
    return f"{base_url}/ok/{token}"


@dataclass
class Overview:
    """The daily check-in as the elder page (staff) and the family page show it."""

    hour: int | None  # None: not taking part
    url: str | None
    done_today: datetime | None
    recent: list[SelfCheckin]


def overview(elder: Elder, now: datetime, base_url: str,
             recent_days: int = RECENT_DAYS) -> Overview:
    """Whether the elder takes part, by which hour, their link, whether they checked in
    today and the check-ins of the last ``recent_days`` days (0: none read)."""
    if elder.checkin_token is None:
        return Overview(None, None, None, [])
    return Overview(elder.checkin_by_hour, personal_url(base_url, elder.checkin_token),
                    done_today(elder, now), recent(elder, now, recent_days) if recent_days else [])

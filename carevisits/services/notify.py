"""Telling people about alerts: in-app counts, the channels each community's alerts go to,
and an outbox of webhook and email messages (who is shown the ones that failed, and sending
one again).

Messages are written in the alert's transaction and sent after it commits, from a
background thread, with retries: a dead receiver never delays or breaks a check-in.
"""

import json
import smtplib
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import cache

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, event, false, func, insert, literal, select, update
from sqlalchemy.orm import Session

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.labels import ALERT_KINDS, ALERT_LEVELS
from carevisits.models import (
    Alert,
    AlertStatus,
    ApiKey,
    ChannelKind,
    Community,
    DeliveryStatus,
    Elder,
    Grid,
    GridAssignment,
    Household,
    Notification,
    NotificationChannel,
    Role,
    Street,
    User,
)
from carevisits.models.base import local_today, utcnow
from carevisits.models.household import format_address
from carevisits.services import audit, signatures, webhooks
from carevisits.services.scope import household_scope, scope_clause, scope_of

RETRY_AFTER = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
               timedelta(hours=1)]  # then give up: the failure shows on the alert board
LEASE = timedelta(minutes=2)  # a sender claims a message for this long
TIMEOUT_SECONDS = 10
PENDING_FLAG = "notifications_pending"


def badge_and_area(user: User) -> tuple[int, str]:
    """What every page says of the signed-in user, in one statement: the unresolved alerts on
    elders in a staff member's area (the nav badge; 0 for others) and that area in words
    (a grid worker's grids in force today, each with its community)."""
    kind, values = scope_of(user)
    area = ("grids" if user.role == Role.GRID_WORKER else "community" if user.community_id
            else "street" if user.street_id else "none")
    values = {**values, "area_user": user.id, "area_today": local_today(),
              "area_community": user.community_id, "area_street": user.street_id}
    rows = db.session.execute(_badge_and_area(kind if user.is_staff else None, area),
                              values).all()
    if area == "grids":
        return (rows[0][0] if rows else 0), " / ".join(f"{c} · {g}" for _, c, g in rows)
    return rows[0][0], rows[0][1] or ""


@cache
def _badge_and_area(kind: str | None, area: str) -> Select:
    """The statement of :func:`badge_and_area` for a kind of scope (None: no badge) and of
    area, built once for each (every page asks it)."""
    count = (select(func.count()).select_from(Alert).join(Elder).join(Household)
             .where(Alert.status != AlertStatus.RESOLVED, scope_clause(kind))
             .scalar_subquery() if kind else literal(0))
    if area == "grids":
        return (select(count, Community.name, Grid.name).select_from(GridAssignment)
                .join(Grid, GridAssignment.grid_id == Grid.id)
                .join(Community, Grid.community_id == Community.id)
                .where(GridAssignment.user_id == bindparam("area_user"),
                       GridAssignment.in_force(bindparam("area_today")))
                .order_by(GridAssignment.starts_on, GridAssignment.id))
    if area == "community":
        name = select(Community.name).where(Community.id == bindparam("area_community"))
    elif area == "street":
        name = select(Street.name).where(Street.id == bindparam("area_street"))
    else:
        name = select(literal(""))
    return select(count, name.scalar_subquery())


def message_texts(rows) -> list[str]:
    """The words sent to a group robot or mailbox for each alert row: what, who, where, and
    the link. Always Chinese; translated once per batch, not once per alert."""
    with force_locale("zh_Hans_CN"):
        template = _("[Care visits] %(level)s · %(kind)s: %(name)s, %(address)s. Details: %(url)s")
        kinds = {k: str(v) for k, v in ALERT_KINDS.items()}
        levels = {k: str(v) for k, v in ALERT_LEVELS.items()}
    base = current_app.config["BASE_URL"]
    return [template % {"level": levels[r.level], "kind": kinds[r.kind], "name": r.name,
                        "address": format_address(r.address, r.building, r.unit, r.room),
                        "url": f"{base}/alerts/{r.id}"} for r in rows]


def enqueue(alert_ids: list[int]) -> int:
    """Write one message per active channel of each alert's community, in the alert's
    transaction. A few set-based statements, however many alerts a scan opened."""
    if not alert_ids:
        return 0
    rows = db.session.execute(
        select(Alert.id, Alert.kind, Alert.level, Elder.name, Household.address,
               Household.building, Household.unit, Household.room, Grid.community_id)
        .join(Elder, Alert.elder_id == Elder.id)
        .join(Household, Elder.household_id == Household.id)
        .join(Grid, Household.grid_id == Grid.id)
        .where(Alert.id.in_(alert_ids))).all()
    channels: dict[int, list[int]] = {}
    for channel_id, community_id in db.session.execute(
            select(NotificationChannel.id, NotificationChannel.community_id).where(
                NotificationChannel.community_id.in_({r.community_id for r in rows}),
                NotificationChannel.active)):
        channels.setdefault(community_id, []).append(channel_id)
    rows = [r for r in rows if r.community_id in channels]
    messages = [{"alert_id": r.id, "channel_id": channel_id, "text": text}
                for r, text in zip(rows, message_texts(rows), strict=True)
                for channel_id in channels[r.community_id]]
    if messages:
        db.session.execute(insert(Notification), messages)
        db.session.info[PENDING_FLAG] = True
    return len(messages)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    """Once messages are committed, send them without holding up the request."""
    if session.info.pop(PENDING_FLAG, False) and has_app_context():
        deliver_in_background(current_app._get_current_object())


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(PENDING_FLAG, None)


def deliver_in_background(app: Flask) -> threading.Thread:
    """Send what is due from a daemon thread with its own session."""
    def work():
        with app.app_context():
            try:
                deliver_due(utcnow())
            except Exception:  # a failed send is recorded on the message; log the rest
                app.logger.exception("notification delivery failed")
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name="notify", daemon=True)
    thread.start()
    return thread


def deliver_due(now: datetime, limit: int = 100) -> tuple[int, int]:
    """Send the messages that are due; returns (sent, failed attempts). Safe to run on
    several hosts at once: each message is claimed with a lease before it is sent."""
    with write_transaction():
        due = list(db.session.scalars(
            select(Notification.id).where(Notification.status == DeliveryStatus.PENDING,
                                          Notification.next_attempt_at <= now)
            .order_by(Notification.id).limit(limit)))
        claimed = []
        for nid in due:
            result = db.session.execute(
                update(Notification).where(Notification.id == nid,
                                           Notification.status == DeliveryStatus.PENDING,
                                           Notification.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE))
            if result.rowcount:
                claimed.append(nid)
        db.session.commit()
    sent = failed = 0
    for nid in claimed:
        note = db.session.get(Notification, nid)
        try:
            _send(note, now)
        except KeyRevoked as err:  # never sent: the integration was cut off
            failed += 1
            _record(nid, error=str(err), now=now, final=True)
        except Exception as err:  # noqa: BLE001 - any failure is recorded and retried
            failed += 1
            _record(nid, error=f"{type(err).__name__}: {err}"[:500], now=now)
        else:
            sent += 1
            _record(nid, error=None, now=now)
    return sent, failed


def _record(nid: int, error: str | None, now: datetime, final: bool = False) -> None:
    with write_transaction():
        note = db.session.get(Notification, nid)
        note.attempts += 1
        if error is None:
            note.status, note.sent_at, note.last_error = DeliveryStatus.SENT, utcnow(), ""
        else:
            note.last_error = error
            if final or note.attempts > len(RETRY_AFTER):
                note.status = DeliveryStatus.FAILED
            else:
                note.next_attempt_at = now + RETRY_AFTER[note.attempts - 1]
        db.session.commit()


class KeyRevoked(RuntimeError):
    """An integration event whose key was revoked (or lost its webhook): never sent."""


def _send(note: Notification, now: datetime) -> None:
    if note.api_key_id is not None:
        post_event(note, now)
    elif note.channel.kind == ChannelKind.WEBHOOK:
        post_webhook(note.channel.target, note.text)
    else:
        send_email(note.channel.target, note.text)


def post_event(note: Notification, now: datetime) -> None:
    """POST an integration event's JSON body to its key's webhook, signed with the key's
    secret (services/signatures.py), under the same address rules as the robots."""
    key = db.session.get(ApiKey, note.api_key_id)
    if key.revoked_at is not None or not key.webhook_url:
        raise KeyRevoked("the key was revoked or has no webhook: not sent")
    body = note.text.encode("utf-8")
    webhooks.post_json(key.webhook_url, body, webhooks.policy(current_app.config),
                       timeout=TIMEOUT_SECONDS, headers={
                           signatures.HEADER: signatures.sign(key.signing_secret, body, now),
                           "X-Carevisits-Event": note.event})


def post_webhook(url: str, text: str) -> None:
    """POST a text message in the format of 企业微信 and 钉钉 group robots, to a public
    address only (services/webhooks.py: vetted at send time, no redirects followed)."""
    body = json.dumps({"msgtype": "text", "text": {"content": text}},
                      ensure_ascii=False).encode("utf-8")
    reply = webhooks.post_json(url, body, webhooks.policy(current_app.config),
                               timeout=TIMEOUT_SECONDS)
    try:
        errcode = json.loads(reply or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        errcode = 0  # a receiver that does not answer JSON: the 2xx status is enough
    if errcode:
        raise RuntimeError(f"robot answered errcode {errcode}")


def send_email(address: str, text: str) -> None:
    """Send the alert by SMTP (CAREVISITS_SMTP_* settings)."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = text.split("。")[0][:80]
    message["From"] = config["SMTP_FROM"]
    message["To"] = address
    message.set_content(text)
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                      timeout=TIMEOUT_SECONDS) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def error_shown_to(user: User, note: Notification) -> str:
    """Why a message failed, as a role may see it: the detail (addresses, ports, replies) for
    admins; for everyone else one generic sentence, so that the board cannot be used to
    probe which addresses and ports answer."""
    if user.role == Role.ADMIN:
        return note.last_error
    return _("The message could not be delivered. An administrator can see why.")


def sees_failed_notifications(user: User) -> bool:
    """Whether the alert board shows a user the messages that could not be delivered: not to
    grid workers, who can neither fix a channel nor send again (coordinators and admins
    keep the channels); they see the alerts themselves."""
    return user.role != Role.GRID_WORKER


def failed_notifications(user: User):
    """SELECT of messages that gave up or are still failing, for elders in the user's scope
    (none for a user who is not shown them: sees_failed_notifications)."""
    shown = household_scope(user) if sees_failed_notifications(user) else false()
    return (select(Notification).join(Alert).join(Elder).join(Household)
            .join(Grid, Household.grid_id == Grid.id).join(Community)
            .where(Notification.last_error != "", Notification.status != DeliveryStatus.SENT,
                   shown)
            .order_by(Notification.id.desc()))


def send_again(note: Notification) -> None:
    """Send a failed message again now: it is due at once, and is sent after the commit."""
    note.status, note.next_attempt_at = DeliveryStatus.PENDING, utcnow()
    db.session.info[PENDING_FLAG] = True


def add_channel(actor: User, community_id: int, kind: ChannelKind,
                target: str) -> NotificationChannel:
    """Send a community's alerts to a group robot or a mailbox from now on (the target is
    vetted by the form: services/webhooks.check_target)."""
    channel = NotificationChannel(community_id=community_id, kind=kind, target=target)
    db.session.add(channel)
    audit.record(actor, "channel.create", "community", community_id)
    return channel


def remove_channel(actor: User, channel: NotificationChannel) -> None:
    """Stop sending to a channel; it stays, inactive, for the messages already sent."""
    channel.active = False
    audit.record(actor, "channel.remove", "community", channel.community_id)

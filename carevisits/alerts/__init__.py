"""The alert board: what needs acting on in my area, and its settings."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from carevisits import labels
from carevisits.access import coordinator_required, staff_required
from carevisits.alerts.forms import (
    AcknowledgeForm,
    ChannelForm,
    NoteForm,
    PolicyForm,
    ResolveForm,
)
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    ChannelKind,
    Grid,
    Household,
    Notification,
    NotificationChannel,
    Role,
    Street,
)
from carevisits.models.base import local_today, utcnow
from carevisits.paging import paginate
from carevisits.services import alerts, contacts, devices, notify, schedule
from carevisits.services.elder_list import workers_of
from carevisits.services.scope import area_options

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
STATUS_FILTERS = {"open": alerts.UNRESOLVED, "resolved": (AlertStatus.RESOLVED,)}


@bp.get("/")
@staff_required
def board():
    """Alerts in my area, the most urgent first, filtered by kind, level and community; it
    only reads: the scheduler's scans open overdue alerts (carevisits/scheduler.py)."""
    args = request.args
    query = alerts.visible_alerts(current_user).where(
        Alert.status.in_(STATUS_FILTERS.get(args.get("status"), alerts.UNRESOLVED)))
    if args.get("kind") in AlertKind.__members__.values():
        query = query.where(Alert.kind == args["kind"])
    if args.get("level") in AlertLevel.__members__.values():
        query = query.where(Alert.level == args["level"])
    communities = {k: v.strip() for k, v in area_options(current_user).items()
                   if k.startswith("c:")}
    if args.get("community") in communities:
        query = query.where(Household.grid_id.in_(select(Grid.id).where(
            Grid.community_id == int(args["community"][2:]))))
    page = paginate(alerts.for_board(query), 50)
    workers = workers_of({a.elder.household.grid_id for a in page.items}, local_today())
    failed = db.session.scalars(notify.failed_notifications(current_user).limit(20)).all()
    errors = {n.id: notify.error_shown_to(current_user, n) for n in failed}
    return render_template("alerts/board.html", page=page, communities=communities,
                           failed=failed, errors=errors, args=args, now=utcnow(),
                           workers=workers, ack_form=AcknowledgeForm())


@bp.post("/acknowledge")
@staff_required
def acknowledge_many():
    """Take on the alerts ticked on the board with one button, then back to the board."""
    form = AcknowledgeForm()
    if form.validate_on_submit():
        chosen = db.session.scalars(alerts.visible_alerts(current_user)
                                    .where(Alert.id.in_(form.alert.data)))
        taken = alerts.acknowledge_all(chosen, current_user)
        db.session.commit()
        flash(ngettext("%(num)d alert taken on.", "%(num)d alerts taken on.", taken), "info")
    else:
        flash(_l("Tick the alerts you are taking on."), "error")
    return redirect(url_for("alerts.board", **request.args))


def _alert_in_scope(alert_id: int) -> Alert:
    alert = db.session.scalar(alerts.visible_alerts(current_user).where(Alert.id == alert_id))
    return alert if alert is not None else abort(404)


@bp.get("/<int:alert_id>")
@staff_required
def detail(alert_id: int):
    """One alert: what, who, the ladder for a door nobody opens or a silent flat, and its
    history."""
    alert = _alert_in_scope(alert_id)
    return render_template("alerts/detail.html", alert=alert, ladder=alerts.ladder(alert.kind),
                           note_form=NoteForm(), resolve_form=ResolveForm())


@bp.post("/<int:alert_id>/acknowledge")
@staff_required
def acknowledge(alert_id: int):
    """I am on it."""
    alerts.acknowledge(_alert_in_scope(alert_id), current_user)
    db.session.commit()
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/step")
@staff_required
def step(alert_id: int):
    """Tick off the next rung of the alert's ladder."""
    alert, form = _alert_in_scope(alert_id), NoteForm()
    if form.validate_on_submit() and alert.status != AlertStatus.RESOLVED:
        alerts.record_step(alert, current_user, form.note.data or "")
        db.session.commit()
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/resolve")
@staff_required
def resolve(alert_id: int):
    """Close the alert, saying how."""
    alert, form = _alert_in_scope(alert_id), ResolveForm()
    if not form.validate_on_submit():
        return render_template("alerts/detail.html", alert=alert, ladder=alerts.ladder(alert.kind),
                               note_form=NoteForm(), resolve_form=form), 422
    alerts.resolve(alert, actor=current_user, note=form.note.data.strip())
    db.session.commit()
    flash(_l("Alert resolved."), "info")
    return redirect(url_for("alerts.board"))


def _channel_form() -> ChannelForm:
    form = ChannelForm(any_host=current_user.role == Role.ADMIN)
    form.community.choices = labels.as_choices(
        {k: v.strip() for k, v in area_options(current_user).items() if k.startswith("c:")})
    return form


def _policy_form(street_id: int) -> PolicyForm:
    form = PolicyForm()
    if not form.is_submitted():
        for level, (interval, grace) in schedule.street_policy(street_id).items():
            form[f"{level.value}_interval"].data = interval
            form[f"{level.value}_grace"].data = grace
        for level, counts in contacts.phone_policy(street_id).items():
            form[f"{level.value}_phone"].data = counts
        form.silence_hours.data = db.session.get(Street, street_id).silence_hours
    return form


def _settings_page(policy_forms=None, channel_form=None, status=200):
    streets = {int(k[2:]): v for k, v in area_options(current_user).items()
               if k.startswith("s:")}
    policy_forms = policy_forms or {}
    forms = {sid: policy_forms.get(sid) or _policy_form(sid) for sid in streets}
    communities = [int(k[2:]) for k in area_options(current_user) if k.startswith("c:")]
    channels = db.session.scalars(select(NotificationChannel).where(
        NotificationChannel.community_id.in_(communities), NotificationChannel.active)
        .order_by(NotificationChannel.community_id, NotificationChannel.id)).all()
    return render_template("alerts/settings.html", streets=streets, policy_forms=forms,
                           channels=channels, channel_form=channel_form or _channel_form(),
                           can_edit_policy=bool(streets)), status


@bp.get("/settings")
@coordinator_required
def settings():
    """Visit policy per street, and where each community's alerts are sent."""
    return _settings_page()


@bp.post("/settings/policy/<int:street_id>")
@coordinator_required
def save_policy(street_id: int):
    """Street coordinators set how often each care level is visited."""
    if f"s:{street_id}" not in area_options(current_user):
        abort(404)
    form = _policy_form(street_id)
    if not form.validate_on_submit():
        return _settings_page(policy_forms={street_id: form}, status=422)
    contacts.save_street_policy(current_user, street_id, form.values(), form.phone_values())
    if form.silence_hours.data is not None:
        devices.set_street_threshold(current_user, db.session.get(Street, street_id),
                                     form.silence_hours.data)
    db.session.commit()
    flash(_l("Visit policy saved; every elder's schedule was updated."), "info")
    return redirect(url_for("alerts.settings"))


@bp.post("/settings/channels")
@coordinator_required
def add_channel():
    """Send a community's alerts to a group robot or a mailbox."""
    form = _channel_form()
    if not form.validate_on_submit():
        return _settings_page(channel_form=form, status=422)
    notify.add_channel(current_user, int(form.community.data[2:]), ChannelKind(form.kind.data),
                       form.target.data)
    db.session.commit()
    flash(_l("Channel added."), "info")
    return redirect(url_for("alerts.settings"))


@bp.post("/settings/channels/<int:channel_id>/remove")
@coordinator_required
def remove_channel(channel_id: int):
    """Stop sending to a channel."""
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None or f"c:{channel.community_id}" not in area_options(current_user):
        abort(404)
    notify.remove_channel(current_user, channel)
    db.session.commit()
    return redirect(url_for("alerts.settings"))


@bp.post("/notifications/<int:notification_id>/retry")
@coordinator_required
def retry_notification(notification_id: int):
    """Send a failed message again now."""
    note = db.session.scalar(notify.failed_notifications(current_user)
                             .where(Notification.id == notification_id))
    if note is None:
        abort(404)
    notify.send_again(note)
    db.session.commit()
    return redirect(url_for("alerts.board"))

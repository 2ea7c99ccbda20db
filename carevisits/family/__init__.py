"""Family members (mobile): their elder's visit log, open alerts, requests; nothing else."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from carevisits import labels
from carevisits.access import roles_required
from carevisits.auth import SignUpForm, signup_limit
from carevisits.auth.throttle import invite_code_limits
from carevisits.database import takes_write_lock
from carevisits.extensions import db
from carevisits.forms import TextForm
from carevisits.i18n import local_zone
from carevisits.models import (
    Alert,
    AlertStatus,
    RequestClass,
    RequestSource,
    Role,
    ServiceRequest,
    Visit,
    VisitRecord,
)
from carevisits.models.base import local_today, utcnow
from carevisits.paging import paginate
from carevisits.responses import spreadsheet
from carevisits.services import audit, charts, exports, family, menus, requests
from carevisits.services.rounds import elder_history

bp = Blueprint("family", __name__, url_prefix="/family")
family_required = roles_required(Role.FAMILY)


class AcceptForm(TextForm):
    """The invite code staff gave the family member."""

    code = StringField(_l("Invite code"), validators=[
        DataRequired(_l("Enter the invite code.")), Length(max=40)])


class MessageForm(TextForm):
    """A few words for the elder's worker."""

    text = TextAreaField(_l("Message"), validators=[
        DataRequired(_l("Write your message.")),
        Length(max=requests.DESCRIPTION_MAX, message=_l("At most %(max)d characters."))])


class HelpForm(TextForm):
    """Asking the community for help: what kind, what is needed. How big it is (the 7123
    rule) is the office's call, made on the request page."""

    kind = SelectField(_l("Kind"), choices=labels.as_choices({k: k for k in requests.KINDS}))
    description = TextAreaField(_l("What is needed"), validators=[
        DataRequired(_l("Describe what is needed.")),
        Length(max=requests.DESCRIPTION_MAX, message=_l("At most %(max)d characters."))])


class FamilySignUpForm(SignUpForm):
    """A family account, made with the invite code staff gave."""

    code = StringField(_l("Invite code"), validators=[
        DataRequired(_l("Enter the invite code.")), Length(max=40)])


@bp.route("/signup", methods=["GET", "POST"])
@signup_limit
def signup():
    """Create a family account with an invite code; the code links it to the elder."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = FamilySignUpForm()
    if not form.is_submitted() and request.args.get("code"):
        form.code.data = request.args["code"][:40]
    error = None
    if form.validate_on_submit():
        try:
            link = family.sign_up(code=form.code.data, username=form.username.data,
                                  display_name=form.display_name.data, phone=form.phone.data,
                                  password=form.password.data)
        except family.FamilyError as err:
            db.session.rollback()  # no valid code, no account
            error = str(err)
        else:
            db.session.commit()
            login_user(link.user)
            flash(_l("You can now follow %(name)s's visits.", name=link.elder.name), "info")
            return redirect(url_for("family.elder", elder_id=link.elder_id))
    return render_template("family/signup.html", form=form, error=error), (
        422 if form.is_submitted() else 200)


@bp.route("/", methods=["GET", "POST"])
@invite_code_limits
@family_required
def index():
    """My elders, and a box for an invite code."""
    form = AcceptForm()
    if not form.is_submitted() and request.args.get("code"):
        form.code.data = request.args["code"][:40]  # from the invite's QR code
    if form.validate_on_submit():
        try:
            link = family.accept(form.code.data, current_user)
        except family.FamilyError as err:
            db.session.rollback()
            form.code.errors = [str(err)]
        else:
            db.session.commit()
            flash(_l("You can now follow %(name)s's visits.", name=link.elder.name), "info")
            return redirect(url_for("family.elder", elder_id=link.elder_id))
    return render_template("family/index.html", links=family.linked_elders(current_user),
                           form=form), (422 if form.is_submitted() else 200)


def _link(elder_id: int):
    link = family.link_for(current_user, elder_id)
    return link if link is not None else abort(404)


@bp.get("/elders/<int:elder_id>")
@family_required
def elder(elder_id: int):
    """The visit log of my elder: when, who, what was seen, services delivered."""
    return _elder_page(_link(elder_id))


def _elder_page(link, help_form: HelpForm | None = None, status: int = 200):
    elder_id, now = link.elder_id, utcnow()
    history = paginate(elder_history(link.elder), current_app.config["PAGE_SIZE"])
    delivered = menus.delivered_at_visits([r.visit_id for r in history.items])
    open_alerts = db.session.scalars(select(Alert).where(
        Alert.elder_id == elder_id, Alert.status != AlertStatus.RESOLVED)).all()
    my_requests = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.elder_id == elder_id).order_by(ServiceRequest.raised_at.desc())
        .limit(20)).all()
    chart = None
    if link.may_see_observations:
        rows = db.session.execute(
            select(Visit.occurred_at, VisitRecord.systolic, VisitRecord.diastolic)
            .join(Visit, VisitRecord.visit_id == Visit.id)
            .where(VisitRecord.elder_id == elder_id, VisitRecord.systolic.is_not(None))
            .order_by(Visit.occurred_at.desc()).limit(30)).all()
        chart = charts.bp_trend([tuple(r) for r in reversed(rows)],
                                str(_l("Blood pressure, last readings")), local_zone())
    ahead = family.outlook(link.elder, now, local_today(), local_zone(),
                           current_app.config["HOTLINE"])
    return render_template("family/elder.html", link=link, history=history, chart=chart,
                           delivered=delivered, alerts=open_alerts, requests=my_requests,
                           form=help_form or HelpForm(), message_form=MessageForm(), now=now,
                           ahead=ahead), status


@bp.get("/elders/<int:elder_id>/visits.<fmt>")
@family_required
@takes_write_lock
def export_visits(elder_id: int, fmt: str):
    """My elder's visit log to keep, as CSV or XLSX."""
    link = _link(elder_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = exports.family_visit_rows(link, local_zone())
    audit.record(current_user, "export", "family_visits", elder_id, rows=len(rows), format=fmt)
    db.session.commit()
    return spreadsheet(header, rows, title="探访记录",
                       filename=f"探访记录-{link.elder.name}.{fmt}")


@bp.post("/elders/<int:elder_id>/requests")
@family_required
def raise_request(elder_id: int):
    """Ask for help for my elder: a small matter (1 day) for their grid worker until the
    office classes it otherwise."""
    link, form = _link(elder_id), HelpForm()
    if not form.validate_on_submit():
        return _elder_page(link, help_form=form, status=422)
    new = requests.raise_request(link.elder, kind=form.kind.data,
                                 description=form.description.data,
                                 request_class=RequestClass.SMALL, source=RequestSource.FAMILY,
                                 actor=current_user)
    db.session.flush()
    audit.record(current_user, "request.create", "request", new.id)
    db.session.commit()
    flash(_l("Your request was sent to the community."), "info")
    return redirect(url_for("family.elder", elder_id=elder_id))


@bp.post("/elders/<int:elder_id>/messages")
@family_required
def send_message(elder_id: int):
    """A message to my elder's worker, answered in writing within a day."""
    link = _link(elder_id)
    form = MessageForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("family.elder", elder_id=elder_id))
    message = requests.raise_request(
        link.elder, kind=requests.MESSAGE_KIND, description=form.text.data,
        request_class=RequestClass.SMALL, source=RequestSource.FAMILY, actor=current_user)
    db.session.flush()
    audit.record(current_user, "request.create", "request", message.id)
    db.session.commit()
    flash(_l("Your message was sent to %(name)s, who will answer here within a day.",
             name=message.owner.display_name if message.owner else _l("the community")), "info")
    return redirect(url_for("family.elder", elder_id=elder_id))

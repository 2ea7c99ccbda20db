"""Family members (mobile): their elder's visit log, open alerts, requests, the daily check-in;
nothing else."""

import segno
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
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from carevisits import labels
from carevisits.access import roles_required
from carevisits.extensions import db
from carevisits.forms import SignUpForm, TextForm
from carevisits.i18n import local_zone
from carevisits.models import RequestClass, RequestSource, Role
from carevisits.models.base import local_today, utcnow
from carevisits.paging import paginate
from carevisits.responses import spreadsheet
from carevisits.services import accounts, family, menus, requests, selfcheck
from carevisits.services.family import FamilyView
from carevisits.throttle import invite_code_limits, signup_limit

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
            user = accounts.sign_up(role=Role.FAMILY, username=form.username.data,
                                    display_name=form.display_name.data, phone=form.phone.data,
                                    password=form.password.data)
            link = family.accept(form.code.data, user)
        except (accounts.AccountError, family.FamilyError) as err:
            db.session.rollback()  # no valid code, no account
            error = str(err)
        else:
            login_user(link.user)  # starts this browser's session: committed with the account
            db.session.commit()
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


def _view(elder_id: int) -> FamilyView:
    """What the signed-in family member may see of this elder; 404 without a live link."""
    view = family.view_for(current_user, elder_id)
    return view if view is not None else abort(404)


@bp.get("/elders/<int:elder_id>")
@family_required
def elder(elder_id: int):
    """The visit log of my elder: when, who, what was seen, services delivered."""
    return _elder_page(_view(elder_id))


def _elder_page(view: FamilyView, help_form: HelpForm | None = None, status: int = 200):
    now = utcnow()
    history = paginate(view.visits(), current_app.config["PAGE_SIZE"])
    ahead = family.outlook(view.elder, now, local_today(), local_zone(),
                           current_app.config["HOTLINE"])
    checkin = selfcheck.overview(view.elder, now, current_app.config["BASE_URL"], recent_days=0)
    return render_template(
        "family/elder.html", view=view, history=history, now=now, ahead=ahead, checkin=checkin,
        checkin_qr=_qr(checkin.url) if checkin.url else None,
        chart=view.chart(local_zone()),
        delivered=menus.delivered_at_visits([r.visit_id for r in history.items]),
        alerts=view.open_alerts(), requests=view.requests(),
        form=help_form or HelpForm(), message_form=MessageForm()), status


def _qr(url: str) -> Markup:
    """A QR code of the URL as inline SVG, to scan from another phone."""
    # segno writes the SVG from the code's modules alone; the URL is not in it as text.
    return Markup(segno.make(url, error="m").svg_inline(scale=5, border=4))  # nosec B704


@bp.get("/elders/<int:elder_id>/visits.<fmt>")
@family_required
def export_visits(elder_id: int, fmt: str):
    """My elder's visit log to keep, as CSV or XLSX."""
    view = _view(elder_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = family.export_visit_log(view, fmt, local_zone())
    db.session.commit()
    return spreadsheet(header, rows, title="探访记录",
                       filename=f"探访记录-{view.elder.name}.{fmt}")


@bp.post("/elders/<int:elder_id>/requests")
@family_required
def raise_request(elder_id: int):
    """Ask for help for my elder: a small matter (1 day) for their grid worker until the
    office classes it otherwise."""
    view, form = _view(elder_id), HelpForm()
    if not form.validate_on_submit():
        return _elder_page(view, help_form=form, status=422)
    requests.file_request(current_user, view.elder, kind=form.kind.data,
                          description=form.description.data,
                          request_class=RequestClass.SMALL, source=RequestSource.FAMILY)
    db.session.commit()
    flash(_l("Your request was sent to the community."), "info")
    return redirect(url_for("family.elder", elder_id=elder_id))


@bp.post("/elders/<int:elder_id>/messages")
@family_required
def send_message(elder_id: int):
    """A message to my elder's worker, answered in writing within a day."""
    view, form = _view(elder_id), MessageForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("family.elder", elder_id=elder_id))
    message = requests.file_request(
        current_user, view.elder, kind=requests.MESSAGE_KIND, description=form.text.data,
        request_class=RequestClass.SMALL, source=RequestSource.FAMILY)
    db.session.commit()
    flash(_l("Your message was sent to %(name)s, who will answer here within a day.",
             name=message.owner.display_name if message.owner else _l("the community")), "info")
    return redirect(url_for("family.elder", elder_id=elder_id))

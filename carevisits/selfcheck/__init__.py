"""The elder's own daily check-in page (平安打卡): opened from the QR on the fridge card or on a
family member's phone, no sign-in, one huge button 我很好. The link's token is the only
credential; the page names nobody but by their given name and links nowhere else. The page's
script (static/selfcheck.js) keeps a press made without signal on the phone and sends it when
the network is back, with its key and how long it waited."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_limiter import RequestLimit
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange, Optional, Regexp

from carevisits.extensions import csrf, db, limiter
from carevisits.forms import TextForm
from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.services import selfcheck

bp = Blueprint("selfcheck", __name__)


class PressForm(TextForm):
    """The button: the CSRF token of the page it was pressed on and, from the page's script,
    the press's own key and the seconds it waited on the phone (both absent without it)."""

    key = StringField(validators=[Optional(), Regexp(r"^[A-Za-z0-9_-]{8,40}$")])
    waited = IntegerField(validators=[Optional(), NumberRange(min=-86_400, max=10**9)])


def _gone():
    """The one answer for an unknown, renewed or stopped link: the same bytes for all."""
    return render_template("selfcheck/gone.html"), 404


def _too_many(_limit: RequestLimit):
    """A press refused by the per-address limit: a page that says to wait, links nowhere."""
    return current_app.make_response((render_template("selfcheck/wait.html"), 429))


@bp.get("/ok/<token>")
def page(token: str):
    """The elder's page: their given name, today's check-in if done, the button."""
    elder = selfcheck.find(token)
    if elder is None:
        return _gone()
    now = utcnow()
    done = selfcheck.done_today(elder, now)
    return render_template("selfcheck/page.html", form=PressForm(), token=token,
                           given_name=selfcheck.given_name(elder.name),
                           done=done.astimezone(local_zone()) if done else None,
                           hour=elder.checkin_by_hour)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


# The form's own check replaces the app-wide one, so that a page whose token went stale (a
# phone's browser that dropped its cookie overnight) shows the button again, not an error.
@bp.post("/ok/<token>")
@csrf.exempt
@limiter.limit(lambda: current_app.config["SELF_CHECKINS_PER_ADDRESS"], on_breach=_too_many)
def press(token: str):
    """我很好 pressed (now, or earlier without signal): keep the check-in (a sign of life,
    not a visit) and show the page; the page's script gets JSON."""
    form = PressForm()
    if not form.validate_on_submit():
        if _wants_json():  # a stale token: the script fetches the page's fresh one
            return jsonify(ok=False, retry="csrf_token" in form.errors), 400
        return redirect(url_for("selfcheck.page", token=token))
    now = utcnow()
    pressed_at = selfcheck.press_time(now, form.waited.data)
    if pressed_at is None:  # waited days on the phone: no news of today, dropped
        return jsonify(ok=False, stale=True), 422
    elder = selfcheck.check_in(token, now, pressed_at=pressed_at, key=form.key.data or None)
    if elder is None:
        return _gone()
    db.session.commit()
    if _wants_json():
        return jsonify(ok=True)
    return redirect(url_for("selfcheck.page", token=token))

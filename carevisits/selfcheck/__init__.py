"""The elder's own daily check-in page (平安打卡): opened from the QR on the fridge card or on a
family member's phone, no sign-in, one huge button 我很好. The link's token is the only
credential; the page names nobody but by their given name and links nowhere else."""

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_limiter import RequestLimit

from carevisits.extensions import csrf, db, limiter
from carevisits.forms import TextForm
from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.services import selfcheck

bp = Blueprint("selfcheck", __name__)


class PressForm(TextForm):
    """The button: nothing but the CSRF token of the page it was pressed on."""


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


# The form's own check replaces the app-wide one, so that a page whose token went stale (a
# phone's browser that dropped its cookie overnight) shows the button again, not an error.
@bp.post("/ok/<token>")
@csrf.exempt
@limiter.limit(lambda: current_app.config["SELF_CHECKINS_PER_ADDRESS"], on_breach=_too_many)
def press(token: str):
    """我很好 pressed: keep the check-in (a sign of life, not a visit) and show the page."""
    if not PressForm().validate_on_submit():
        return redirect(url_for("selfcheck.page", token=token))
    elder = selfcheck.check_in(token, utcnow())
    if elder is None:
        return _gone()
    db.session.commit()
    return redirect(url_for("selfcheck.page", token=token))

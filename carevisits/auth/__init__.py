"""Sign-in, sign-out, the language switch and the site's icon."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from carevisits import throttle
from carevisits.access import NEXT_KEY
from carevisits.extensions import db
from carevisits.forms import TextForm
from carevisits.i18n import LOCALES, remember_language
from carevisits.models import Role
from carevisits.security import this_session
from carevisits.services import accounts

bp = Blueprint("auth", __name__)


class LoginForm(TextForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter your username.")), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Enter your password.")), Length(max=200)])


def safe_next(path: str | None) -> str | None:
    """Accept only a local path as the place to go after sign-in."""
    if not path or not path.startswith("/") or path.startswith("//"):
        return None
    parts = urlsplit(path)
    return path if not parts.scheme and not parts.netloc else None


def home_for(user) -> str:
    """Where each role starts."""
    if user.role == Role.ADMIN:
        return url_for("admin.users")
    if user.role == Role.COORDINATOR:
        return url_for("coordinator.dashboard_page")
    if user.role == Role.GRID_WORKER:
        return url_for("round.index")
    if user.role == Role.FAMILY:
        return url_for("family.index")
    return url_for("volunteer.index")


def _refused_sign_in(refusal):
    """The sign-in page again, status 429, saying how long to wait and how the owner gets in
    now (carevisits/throttle.py)."""
    minutes = throttle.minutes_until(refusal)
    if throttle.is_untrusted():
        flash(_l("Too many failed sign-ins. This browser can try again in %(minutes)d minutes. "
                 "On a phone or computer that has signed in to this account before you can "
                 "sign in now; an admin can also unlock the account.", minutes=minutes), "error")
    else:
        flash(_l("Too many failed sign-ins from this browser. Try again in %(minutes)d minutes, "
                 "or ask an admin to unlock the account.", minutes=minutes), "error")
    page = render_template("auth/login.html", form=LoginForm(), invite_code=_invite_code())
    return make_response(page, 429)


@bp.route("/login", methods=["GET", "POST"])
@throttle.login_limits(on_breach=_refused_sign_in)
def login():
    """Sign in, then go back to the door or page that asked for it."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.sign_in(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            db.session.commit()
            target = safe_next(session.pop(NEXT_KEY, None) or request.args.get("next"))
            return redirect(target or home_for(user))
        throttle.sign_in_failed()
        flash(_l("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form, invite_code=_invite_code())


def _invite_code() -> str:
    """The invite code in the family page that sent here, to carry into the sign-up."""
    parts = urlsplit(session.get(NEXT_KEY) or request.args.get("next") or "")
    if parts.path != url_for("family.index"):
        return ""
    return parse_qs(parts.query).get("code", [""])[0][:40]


def _kept_on_phone() -> int:
    """How many visits the phone's queue said it keeps (static/queue.js fills the sign-out
    form's ``kept``): a number to say so, nothing else."""
    kept = request.form.get("kept", "")
    return min(int(kept), 999) if kept.isascii() and kept.isdigit() else 0


def _signed_out(message) -> None:
    """End this browser's sign-in in Flask too and say what became of it and of the visits
    the phone keeps."""
    logout_user()
    kept = _kept_on_phone()
    session.clear()
    flash(message, "info")
    if kept:
        flash(_l("%(num)d visits could not be sent and are kept on this phone. They are sent "
                 "when you sign in again on this phone with the same account; nobody else "
                 "signing in here sees them.", num=kept), "warn")


@bp.post("/logout")
@login_required
def logout():
    """Sign this browser out: its session (and any copy of its cookie) ends, the account's
    other phones and computers stay signed in."""
    # CSRFProtect has already refused a POST without a valid token.
    accounts.sign_out(current_user, this_session())
    db.session.commit()
    _signed_out(_l("You have signed out."))
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def account():
    """My account: who I am, where I am signed in, and signing out on every device."""
    return render_template("auth/account.html", form=TextForm(),
                           sessions=accounts.session_count(current_user))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """Sign out on every phone and computer (a lost phone, a shared one): every session of
    this account ends, this one too."""
    accounts.sign_out_everywhere(current_user)
    db.session.commit()
    _signed_out(_l("You have signed out on every device."))
    return redirect(url_for("auth.login"))


@bp.get("/")
def index():
    """Send each visitor to their start page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user))


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for at the root (scripts/make_icons.py draws it), for anyone."""
    body = (Path(current_app.static_folder) / "icons" / "favicon.ico").read_bytes()  # 3 KB
    return Response(body, mimetype="image/vnd.microsoft.icon",
                    headers={"Cache-Control": "public, max-age=604800"})


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and return to the page."""
    response = redirect(safe_next(request.args.get("next")) or url_for("auth.index"))
    if code in LOCALES:
        remember_language(response, code)
    return response

"""Check-ins sent in the background by the door page's script (and from the phone's queue of
visits kept without signal): the same views and services, answered in JSON in the user's
language, and a fresh CSRF token for each round of sends."""

from flask import Response, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from carevisits.responses import SIGN_IN_AGAIN, wants_json
from carevisits.scan.blueprint import VISITORS, bp
from carevisits.scan.forms import EVERYONE
from carevisits.services import checkin

CARD_REPLACED = _l("This card has been replaced by a new one: the visit was not recorded.")
NOT_IN_SCOPE = _l("This household is not in your area (any more): the visit was not recorded.")


@bp.before_request
def _signed_in_for_background_sends():
    """A background send without a session is told to sign in again, never shown a page."""
    if wants_json() and not current_user.is_authenticated:
        return sign_in_again()
    return None


def sign_in_again():
    """401: the phone keeps the visit and asks the visitor to sign in, then sends it."""
    return jsonify(ok=False, signin=True, error=str(SIGN_IN_AGAIN)), 401


def refused(message, status: int = 422):
    """The visit was not recorded, for a reason the visitor must read (kept on the phone)."""
    return jsonify(ok=False, error=str(message)), status


def recorded(visit, url: str, created: bool):
    """The visit is on the server (now, or already under this key)."""
    return jsonify(ok=True, visit=visit.id, url=url, created=created,
                   sent_late=visit.sent_late), 201 if created else 200


def already_recorded(is_this_door) -> Response | None:
    """A background resend of a visit the server already has (the phone never heard the
    answer): ok, whatever happened to the card, the household or the visitor's area since.
    ``is_this_door(visit)`` says whether the visit was recorded at the door asked for."""
    if request.method != "POST" or not wants_json():
        return None
    visit = checkin.find_visit(request.form.get("idempotency_key", ""))
    if visit is None or not is_this_door(visit):
        return None
    # A visit recorded for everyone at a door (no round pack for it) has one outcome for all.
    everyone = request.form.get(f"{EVERYONE}-outcome")
    outcomes = {r.elder_id: everyone or request.form.get(f"e{r.elder_id}-outcome")
                for r in visit.records}
    if not checkin.is_resend(visit, current_user, outcomes):
        return None  # answered by the form's own rules (another visitor's key, other answers)
    return recorded(visit, url_for("scan.visit", visit_id=visit.id), False)


def form_errors(form, subforms) -> str:
    """Every error of the visit form and its elders' forms (named), in one line."""
    def flat(f):
        return [str(e) for errors in f.errors.values()
                for e in (errors if isinstance(errors, list) else [errors])]
    return "；".join(flat(form) + [f"{elder.name}：{e}" for elder, sub in subforms
                                   for e in flat(sub)])


@bp.get("/door/session.json")
def session_token():
    """A fresh CSRF token for the phone's queue, or 401 when the session has ended (403 for
    a role that records no visits)."""
    if not current_user.is_authenticated:
        return sign_in_again()
    if current_user.role not in VISITORS:
        return jsonify(ok=False), 403
    return jsonify(csrf=generate_csrf(), user=current_user.id)


"""The rate limits several blueprints share (web level, not a blueprint): throttling that
slows password and invite-code guessing without locking the owner out, and the limit on
self sign-up.

Sign-in follows OWASP's "device cookies": a successful sign-in gives the browser a signed
cookie naming the account (``DEVICE_COOKIE``). Failed sign-ins are then counted two ways:

- from a browser *without* that account's cookie (untrusted): per account and address, per
  account (any address: guessing spread over many addresses) and per address (any account,
  high enough for an office behind one NAT). Over any of these, untrusted browsers are
  refused for that account — even with the right password — until the window moves on;
- from a browser *with* the cookie (trusted): on their own small count per device, which no
  stranger's failures touch. So the owner signs in from a phone or PC used before while the
  account is under attack, and a stolen cookie buys only a few guesses.

An admin's unlock (services/unlocks.py) starts every count of the account afresh. Failed
invite codes are counted per account and per address; self sign-ups per address. Counts live
in the limiter's storage (Redis in production, so every gunicorn worker counts the same
attempts).
"""

import math
import secrets
import time
from collections.abc import Callable

from flask import Flask, after_this_request, current_app, g, has_request_context, request
from flask.typing import ResponseReturnValue
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, user_logged_in
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits.storage import MemoryStorage

from carevisits.extensions import limiter
from carevisits.services import unlocks

DEVICE_COOKIE = "device"
DEVICES_KEPT = 5  # accounts remembered per browser (an office PC several staff share)
_DEVICE_SALT = "carevisits.trusted-device"

View = Callable[..., ResponseReturnValue]
Breach = Callable[[RequestLimit], ResponseReturnValue | None]


def attempted_username() -> str:
    """The account a sign-in form names, as accounts are matched: trimmed, lower case."""
    return request.form.get("username", "").strip().lower()[:40]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _max_age() -> int:
    return current_app.config["TRUSTED_DEVICE_DAYS"] * 24 * 3600


def trusted_accounts() -> dict[str, str]:
    """The accounts this browser has signed in to, username → device id, from its signed
    device cookie; empty when there is none or it is forged or expired."""
    if "trusted_accounts" not in g:
        try:
            data = _serializer().loads(request.cookies.get(DEVICE_COOKIE, ""),
                                       max_age=_max_age())
        except BadSignature:
            data = {}
        g.trusted_accounts = ({str(k): str(v) for k, v in data.items()}
                              if isinstance(data, dict) else {})
    return g.trusted_accounts


def device_id() -> str | None:
    """This browser's device id for the account being signed in to, if it has signed in to
    that account before."""
    return trusted_accounts().get(attempted_username())


def is_untrusted() -> bool:
    """The browser has not signed in to the account it names before."""
    return device_id() is None


def _trust_browser(sender: Flask, user, **_) -> None:
    """On every sign-in (password, or a new account's first), remember the account in the
    browser's device cookie; the account's device id stays the same across sign-ins."""
    if not has_request_context():
        return
    username = user.username.lower()
    known = trusted_accounts()
    devices = {username: known.get(username) or secrets.token_urlsafe(12)}
    devices.update((name, nonce) for name, nonce in known.items() if name != username)
    value = _serializer().dumps(dict(list(devices.items())[:DEVICES_KEPT]))

    @after_this_request
    def _set(response):
        response.set_cookie(DEVICE_COOKIE, value, max_age=_max_age(), httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response


def register_throttle(app: Flask) -> None:
    """Remember browsers that sign in (Flask-Login's signal, whichever view signs in)."""
    user_logged_in.connect(_trust_browser, app)


def _generation(username: str) -> int:
    """How many times an admin has unlocked the account (services/unlocks.py): part of every
    key of its counts."""
    cache = g.setdefault("unlock_generations", {})
    if username not in cache:
        cache[username] = unlocks.generation(username)
    return cache[username]


def _account() -> str:
    username = attempted_username()
    return f"{username}/{_generation(username)}"


def _account_key() -> str:
    return f"account/{_account()}"


def _account_address_key() -> str:
    return f"account-address/{_account()}/{get_remote_address()}"


def _device_key() -> str:
    return f"device/{_account()}/{device_id()}"


def _address_key() -> str:
    return f"address/{get_remote_address()}"


def _sign_in_failed(response) -> bool:
    # Set by the sign-in view when a password was checked and refused: only those count.
    return bool(g.get("sign_in_failed"))


def sign_in_failed() -> None:
    """Count this request as one failed sign-in (after the response is made)."""
    g.sign_in_failed = True


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def login_limits(on_breach: Breach) -> Callable[[View], View]:
    """The sign-in view's limits (failed attempts only); ``on_breach`` makes the refusal."""
    untrusted = [("LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", _account_address_key),
                 ("LOGIN_FAILURES_PER_ACCOUNT", _account_key),
                 ("LOGIN_FAILURES_PER_ADDRESS", _address_key)]

    def decorate(view: View) -> View:
        for name, key in untrusted:
            view = limiter.limit(_setting(name), key_func=key, methods=["POST"],
                                 exempt_when=lambda: not is_untrusted(),
                                 deduct_when=_sign_in_failed, on_breach=on_breach)(view)
        return limiter.limit(_setting("LOGIN_FAILURES_PER_DEVICE"), key_func=_device_key,
                             methods=["POST"], exempt_when=is_untrusted,
                             deduct_when=_sign_in_failed, on_breach=on_breach)(view)
    return decorate


def minutes_until(refusal: RequestLimit) -> int:
    """Whole minutes until the refused client may try again."""
    return max(1, math.ceil((refusal.reset_at - time.time()) / 60))


def _code_refused(response) -> bool:
    # The invite-code form answers 422 when the code (or the form) was refused.
    return response.status_code == 422


def _account_id_key() -> str:
    return f"invite-account/{getattr(current_user, 'id', '')}"


def invite_code_limits(view: View) -> View:
    """Limits on redeeming invite codes: refused codes only, per account and per address."""
    view = limiter.limit(_setting("INVITE_CODE_FAILURES_PER_ACCOUNT"), key_func=_account_id_key,
                         methods=["POST"], exempt_when=lambda: not current_user.is_authenticated,
                         deduct_when=_code_refused)(view)
    return limiter.limit(_setting("INVITE_CODE_FAILURES_PER_ADDRESS"), key_func=_address_key,
                         methods=["POST"], deduct_when=_code_refused)(view)


# Self sign-up is open to anyone: a limit per address keeps scripts from filling the table.
signup_limit = limiter.limit(_setting("SIGNUPS_PER_ADDRESS"), methods=["POST"])


def shared_storage_problem(workers: int) -> str | None:
    """Why these limits would not hold in a server of ``workers`` processes (None: they
    hold): memory:// counts per process, and a shared store must answer."""
    if not limiter.enabled:
        return None
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if workers > 1 and isinstance(limiter.storage, MemoryStorage):
        return (f"REFUSING TO START {workers} workers with rate limits kept in {uri}: each "
                "worker would count failed sign-ins, invite codes and sign-ups alone, so every "
                "limit would be multiplied by the number of workers. Set "
                "CAREVISITS_RATELIMIT_STORAGE_URI=redis://HOST:6379/0 (shared by every worker "
                "and host), or run one worker.")
    if not limiter.storage.check():
        return f"REFUSING TO START: the rate-limit storage {uri} does not answer."
    return None

"""An admin's unlock of an account's failed sign-ins: a count per account, kept in the
limiter's storage, that is part of the key of every failed-sign-in count of the account
(carevisits/throttle.py), so that each unlock starts all of them afresh. Audited."""

from carevisits.extensions import limiter
from carevisits.models import User
from carevisits.services import audit

# An unlock count outlives any sign-in window, so that old counts never come back.
_UNLOCK_SECONDS = 30 * 24 * 3600


def _key(username: str) -> str:
    return f"unlock/{username.strip().lower()}"


def generation(username: str) -> int:
    """How many times an admin has unlocked the account (``username`` as accounts are
    matched: trimmed, lower case)."""
    return limiter.storage.get(_key(username))


def unlock(actor: User, user: User) -> None:
    """Forget every failed sign-in counted against ``user``: from now on its counts start
    from zero in every browser and address. Audited as ``user.unlock``."""
    limiter.storage.incr(_key(user.username), _UNLOCK_SECONDS)
    audit.record(actor, "user.unlock", "user", user.id)

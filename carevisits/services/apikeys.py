"""API keys of integrations (a meter gateway, the 12345 platform): made by admins, shown once,
kept as a SHA-256 hash, scoped to a street or a community (or, for admins' own tools, the
whole city), with permissions; revoked, never deleted. Every creation and revocation is
audited."""

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import ApiKey, ApiPermission, Community, Household, Street, User
from carevisits.models.base import utcnow
from carevisits.services import audit, webhooks
from carevisits.services.scope import scope_clause

KEY_PREFIX = "cvk_"
LIST_PREFIX_LENGTH = 12  # "cvk_" and 8 characters: enough to tell keys apart in a list
NAME_MAX = 60
READ = (ApiPermission.READ_REGISTER, ApiPermission.READ_VISITS, ApiPermission.READ_ALERTS,
        ApiPermission.READ_REQUESTS)
# The words of the command line's --permissions list.
PERMISSION_WORDS: dict[str, tuple[ApiPermission, ...]] = {
    "read": READ,
    "register": (ApiPermission.READ_REGISTER,),
    "visits": (ApiPermission.READ_VISITS,),
    "alerts": (ApiPermission.READ_ALERTS,),
    "requests": (ApiPermission.READ_REQUESTS,),
    "signals": (ApiPermission.WRITE_SIGNALS,),
    "work-orders": (ApiPermission.WRITE_WORK_ORDERS,),
}
WEBHOOK_ERRORS = {
    webhooks.Refusal.MALFORMED: _l("Enter the full address, starting with https://."),
    webhooks.Refusal.SCHEME: _l("Only https:// addresses are allowed."),
    webhooks.Refusal.CREDENTIALS: _l("Enter the address without a user name or password "
                                     "before the host."),
    webhooks.Refusal.NUMERIC: _l("Write an IP address as four numbers separated by dots, or "
                                 "use the host name."),
    webhooks.Refusal.LOCAL: _l("This address is on this server or a private network; "
                               "webhooks can only be sent to public hosts."),
}


class ApiKeyError(ValueError):
    """A key that breaks the rules: ``errors`` holds every message by the field it concerns
    (name, area, permissions, webhook_url), so a form or the command line shows them all."""

    def __init__(self, errors: dict[str, list]):
        self.errors = errors
        super().__init__("; ".join(str(m) for messages in errors.values() for m in messages))


@dataclass
class NewKey:
    """A key just made: ``raw`` and the key's signing secret are shown this once only."""

    key: ApiKey
    raw: str


def hash_key(raw: str) -> str:
    """The stored form of a key: SHA-256 hex (a key is 256 random bits: no slow hash needed)."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def parse_permissions(text: str) -> list[ApiPermission]:
    """A comma list of permission words (``read,signals,work-orders``) or permission values;
    ValueError naming the first unknown word."""
    found: list[ApiPermission] = []
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word in PERMISSION_WORDS:
            found.extend(PERMISSION_WORDS[word])
        elif word in ApiPermission.__members__.values():
            found.append(ApiPermission(word))
        else:
            raise ValueError(word)
    return list(dict.fromkeys(found))


def create(actor: User | None, *, name: str, street: Street | None = None,
           community: Community | None = None, permissions: list[ApiPermission],
           webhook_url: str = "", signature_required: bool = False,
           rules: webhooks.Policy | None = None) -> NewKey:
    """Make a key (flushed, audited as ``apikey.create``): a community narrows a street;
    neither is the whole city. ApiKeyError with every problem at once."""
    name, webhook_url = (name or "").strip(), (webhook_url or "").strip()
    errors = problems(name=name, street=street, community=community, permissions=permissions,
                      webhook_url=webhook_url, rules=rules)
    if errors:
        raise ApiKeyError(errors)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=raw[:LIST_PREFIX_LENGTH], secret_hash=hash_key(raw),
                 street_id=(community.street_id if community else street.id if street else None),
                 community_id=community.id if community else None,
                 permissions=[p.value for p in permissions],
                 signing_secret=secrets.token_urlsafe(32),
                 signature_required=signature_required, webhook_url=webhook_url,
                 created_by_id=actor.id if actor else None, created_at=utcnow())
    db.session.add(key)
    db.session.flush()
    audit.record(actor, "apikey.create", "api_key", key.id, name=name,
                 permissions=key.permissions, scope=scope_label(key))
    return NewKey(key, raw)


def problems(*, name: str, street: Street | None, community: Community | None,
             permissions: list[ApiPermission], webhook_url: str,
             rules: webhooks.Policy | None) -> dict[str, list]:
    """Every rule a new key breaks, by field (empty: none)."""
    name, webhook_url = (name or "").strip(), (webhook_url or "").strip()
    errors: dict[str, list] = {}
    if not name:
        errors["name"] = [_l("Enter a name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_l("At most %(max)d characters.", max=NAME_MAX)]
    elif db.session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        errors["name"] = [_l("A key of that name exists already (revoked keys keep their "
                             "names).")]
    if street is not None and community is not None and community.street_id != street.id:
        errors["area"] = [_l("That community is not in that street.")]
    if not permissions:
        errors["permissions"] = [_l("Choose at least one permission.")]
    if webhook_url:
        try:
            webhooks.check_target(webhook_url, rules or webhooks.Policy(), any_host=True)
        except webhooks.RefusedTarget as refused:
            errors["webhook_url"] = [WEBHOOK_ERRORS.get(refused.reason, WEBHOOK_ERRORS[
                webhooks.Refusal.MALFORMED])]
        if len(webhook_url) > 500:
            errors["webhook_url"] = [_l("At most %(max)d characters.", max=500)]
    return errors


def authenticate(raw: str | None) -> ApiKey | None:
    """The live key ``raw`` is, or None (unknown, malformed or revoked): read on every
    request, so a revocation holds from the next one."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_key(raw)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke(actor: User | None, key: ApiKey) -> bool:
    """Revoke a key from the next request on (audited as ``apikey.revoke``); False when it
    was revoked already (nothing changes)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    audit.record(actor, "apikey.revoke", "api_key", key.id, name=key.name)
    return True


def by_name(name: str) -> ApiKey | None:
    """The key of that name (live or revoked)."""
    return db.session.scalar(select(ApiKey).where(ApiKey.name == name.strip()))


def all_keys() -> list[ApiKey]:
    """Every key, live ones first, newest first."""
    return list(db.session.scalars(select(ApiKey).order_by(
        ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())))


def key_scope(key: ApiKey) -> tuple[str, dict]:
    """The kind of the key's scope and its values, as ``services.scope.scope_clause`` reads
    them: a community, else a street, else everything; nothing once revoked (no webhook goes
    to a revoked key)."""
    if key.revoked_at is not None:
        return "nothing", {}
    if key.community_id is not None:
        return "community", {"scope_community": key.community_id}
    if key.street_id is not None:
        return "street", {"scope_street": key.street_id}
    return "everything", {}


def in_scope(key: ApiKey, household: Household) -> bool:
    """Whether the key may see or act on ``household``."""
    kind, values = key_scope(key)
    found = db.session.scalar(select(Household.id).where(
        Household.id == household.id, scope_clause(kind)), values)
    return found is not None


def scope_label(key: ApiKey) -> str:
    """The key's area in words (for lists and the audit trail)."""
    if key.community is not None:
        return f"{key.community.street.name} {key.community.name}"
    if key.street is not None:
        return key.street.name
    return str(_l("Whole city"))


def record_use(key: ApiKey, operation: str, status: int) -> None:
    """One API request of the key: audited as ``api.request`` with its operation and status,
    and the key's last use noted."""
    key.last_used_at = utcnow()
    audit.record(None, "api.request", "api_key", key.id, operation=operation, status=status)

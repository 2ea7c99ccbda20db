"""API keys of other systems (minimal: the scope rules the signals and work orders need; the
API helper adds creation, authentication and revocation)."""

from carevisits.extensions import db
from carevisits.models import ApiKey, Household
from carevisits.services.scope import _household_in_scope


def key_scope(key: ApiKey) -> tuple[str, dict]:
    """The kind of a key's scope and its values, usable with ``scope.scope_clause(kind)``:
    a community, a street, or (neither) the whole city; nothing once revoked."""
    if key.revoked_at is not None:
        return "nothing", {}
    if key.community_id is not None:
        return "community", {"scope_community": key.community_id}
    if key.street_id is not None:
        return "street", {"scope_street": key.street_id}
    return "everything", {}


def in_scope(key: ApiKey, household: Household) -> bool:
    """Whether the household lies in the key's area."""
    kind, values = key_scope(key)
    return db.session.scalar(_household_in_scope(kind),
                             {"household": household.id, **values}) is not None


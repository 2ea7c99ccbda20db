"""The audit trail of access to and changes of sensitive records."""

from carevisits.extensions import db
from carevisits.models import AuditEvent, User


def record(actor: User | None, action: str, subject_type: str, subject_id: int | None,
           **details) -> AuditEvent:
    """Add one audit event; it is committed with the rest of the request."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
    )
    db.session.add(event)
    return event

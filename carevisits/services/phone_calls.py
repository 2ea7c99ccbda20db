"""Phone calls (电话问候): a visit of method phone with one record for the called elder. What
it sets off is services/visit_effects.py's, as for a visit at the door; whether it counts
toward the schedule is the street's policy (services/contacts.py)."""

from flask_babel import lazy_gettext as _l

from carevisits.extensions import db
from carevisits.models import Elder, Outcome, User, Visit, VisitMethod, VisitRecord
from carevisits.models.base import utcnow
from carevisits.services import audit, contacts, visit_effects
from carevisits.services.checkin import NOTES_MAX, CheckInError, find_visit
from carevisits.services.scope import can_see_household


def record_phone_call(*, caller: User, elder: Elder, outcome: Outcome, notes: str,
                      idempotency_key: str) -> tuple[Visit, bool]:
    """Record a phone call to an elder (once per key); returns it and whether it counted
    toward the schedule under the street's policy."""
    existing = find_visit(idempotency_key)
    if existing is not None:
        return existing, visit_effects.counts(VisitMethod.PHONE, elder,
                                              existing.records[0].outcome)
    if not can_see_household(caller, elder.household) or not elder.active:
        raise CheckInError(_l("This household is not in your area."))
    if outcome not in contacts.PHONE_OUTCOMES:
        raise CheckInError(_l("Choose what happened."))
    if len(notes) > NOTES_MAX:
        raise CheckInError(_l("Notes are limited to %(n)d characters.", n=NOTES_MAX))
    now = utcnow()
    visit = Visit(household=elder.household, visitor=caller, method=VisitMethod.PHONE,
                  server_time=now, occurred_at=now, idempotency_key=idempotency_key,
                  records=[VisitRecord(elder_id=elder.id, outcome=outcome,
                                       notes=notes.strip())])
    db.session.add(visit)
    db.session.flush()
    counted = visit_effects.counts(VisitMethod.PHONE, elder, outcome)
    visit_effects.recorded(visit, [elder] if counted else [])
    audit.record(caller, "visit.phone", "elder", elder.id, visit_id=visit.id,
                 outcome=outcome.value)
    return visit, counted

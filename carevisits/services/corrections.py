"""Correcting or voiding a visit: the old values are kept, and what the visit set off follows
the corrected data (services/visit_effects.py)."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    Role,
    User,
    Visit,
    VisitCorrection,
    VisitMethod,
)
from carevisits.models.base import utcnow
from carevisits.services import audit, contacts, visit_effects
from carevisits.services.checkin import (
    REASON_MAX,
    CheckInError,
    ElderRecordInput,
    check_record,
)
from carevisits.services.scope import can_see_household

# The visitor may put their own visit right for this long after recording it; coordinators
# (in their area) at any time.
VISITOR_WINDOW = timedelta(hours=24)
FIELDS = ("outcome", "systolic", "diastolic", "pulse", "mood", "notes")


def can_change(user: User, visit: Visit, now: datetime) -> bool:
    """Whether the user may correct or void this visit now."""
    if visit.voided_at is not None or not can_see_household(user, visit.household):
        return False
    if user.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    return visit.visitor_id == user.id and now - visit.server_time <= VISITOR_WINDOW


def correct_visit(visit: Visit, actor: User, records: list[ElderRecordInput],
                  reason: str) -> VisitCorrection | None:
    """Replace the records (and services delivered) of a visit, keeping the old values in a
    correction; None when nothing changed."""
    if len(reason) > REASON_MAX:
        raise CheckInError(_l("The reason is limited to %(n)d characters.", n=REASON_MAX))
    by_elder = {r.elder_id: r for r in visit.records}
    if {r.elder_id for r in records} != set(by_elder) or len(records) != len(by_elder):
        raise CheckInError(_l("Record an outcome for every elder of this household."))
    changes, before = {}, {}
    for new in records:
        new.notes = new.notes.strip()
        _check(visit, new)
        rec = by_elder[new.elder_id]
        diff = {f: [_plain(getattr(rec, f)), _plain(getattr(new, f))] for f in FIELDS
                if _plain(getattr(rec, f)) != _plain(getattr(new, f))}
        try:
            services = visit_effects.replace_deliveries(visit, rec.elder, new.deliveries)
        except visit_effects.GivenError as err:
            raise CheckInError(str(err)) from None
        if services is not None:
            diff["services"] = list(services)
        if diff:
            changes[str(rec.elder_id)] = diff
            before[rec.elder_id] = (rec.outcome, (rec.systolic, rec.diastolic, rec.pulse))
            for f in FIELDS:
                setattr(rec, f, getattr(new, f))
    if not changes:
        return None
    correction = _keep(visit, actor, "correct", reason, changes)
    visit.corrected_at = correction.at
    visit_effects.changed(visit, actor, before, str(_l("Visit corrected by %(name)s.",
                                                       name=actor.display_name)))
    audit.record(actor, "visit.correct", "visit", visit.id, changes=changes)
    return correction


def void_visit(visit: Visit, actor: User, reason: str) -> VisitCorrection:
    """Void a wrong visit with a reason: it stays in histories, counts for nothing, and its
    services delivered are taken back (kept in the voiding record)."""
    reason = reason.strip()
    if not reason:
        raise CheckInError(_l("Say why the visit is voided."))
    if len(reason) > REASON_MAX:
        raise CheckInError(_l("The reason is limited to %(n)d characters.", n=REASON_MAX))
    changes = {}
    for rec in visit.records:
        if (services := visit_effects.replace_deliveries(visit, rec.elder, [])) is not None:
            changes[str(rec.elder_id)] = {"services": list(services)}
    correction = _keep(visit, actor, "void", reason, changes)
    visit.voided_at, visit.voided_by, visit.void_reason = correction.at, actor, reason
    note = str(_l("Visit voided by %(name)s: %(reason)s", name=actor.display_name,
                  reason=reason))
    visit_effects.changed(visit, actor, {
        r.elder_id: (r.outcome, (r.systolic, r.diastolic, r.pulse)) for r in visit.records}, note)
    audit.record(actor, "visit.void", "visit", visit.id, reason=reason, changes=changes)
    return correction


def _check(visit: Visit, new: ElderRecordInput) -> None:
    """The rules of the door form, and of the phone form for a phone call."""
    check_record(new)
    if new.deliveries and new.outcome not in MET_OUTCOMES:
        raise CheckInError(_l("Services can only be delivered to an elder who was met."))
    if visit.method == VisitMethod.PHONE and (
            new.outcome not in contacts.PHONE_OUTCOMES or new.deliveries
            or new.systolic is not None or new.pulse is not None):
        raise CheckInError(_l("A phone call records only whether the elder was reached."))
    if visit.roster is not None and not visit.roster.allow_observations and (
            new.systolic is not None or new.pulse is not None):
        raise CheckInError(_l("Health readings are not recorded on this roster."))


def _plain(value):
    return value.value if hasattr(value, "value") else (value or None)


def _keep(visit: Visit, actor: User, action: str, reason: str,
          changes: dict) -> VisitCorrection:
    correction = VisitCorrection(visit=visit, actor=actor, action=action,
                                 reason=reason.strip(), changes=changes, at=utcnow())
    db.session.add(correction)
    return correction

"""Contacts that count for the schedule: the last one recounted from the visit history, and
phone calls (电话问候), which count only where the street's policy says so (recorded by
services/phone_calls.py)."""

from sqlalchemy import Select, case, false, func, or_, select, true, update

from carevisits.extensions import db
from carevisits.models import (
    MET_OUTCOMES,
    CareLevel,
    CarePolicy,
    Community,
    Elder,
    Grid,
    Household,
    Outcome,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.services import audit, schedule

# Whether a call that reached the elder resets the schedule, when a street has not said:
# a weekly elder may be phoned between visits; a daily or 3-day elder must be seen.
DEFAULT_PHONE_COUNTS = {CareLevel.KEY: False, CareLevel.FOCUS: False, CareLevel.GENERAL: True}
PHONE_OUTCOMES = (Outcome.MET_WELL, Outcome.MET_CONCERN, Outcome.NO_ANSWER)


def phone_policy(street_id: int) -> dict[CareLevel, bool]:
    """Whether a phone call counts as a contact, per care level, for one street."""
    return phone_policies([street_id])[street_id]


def phone_policies(street_ids: list[int]) -> dict[int, dict[CareLevel, bool]]:
    """:func:`phone_policy` of several streets, in one statement."""
    policies = {street_id: dict(DEFAULT_PHONE_COUNTS) for street_id in street_ids}
    for street_id, level, counts in db.session.execute(
            select(CarePolicy.street_id, CarePolicy.care_level, CarePolicy.phone_counts)
            .where(CarePolicy.street_id.in_(street_ids))):
        if counts is not None:
            policies[street_id][level] = counts
    return policies


def set_phone_policy(street_id: int, counts: dict[CareLevel, bool]) -> bool:
    """Change whether phone calls count, per care level of a street; when that changes, the
    street's last contacts are recounted and its schedules follow. True if anything changed."""
    before = phone_policy(street_id)
    for level, value in counts.items():
        row = db.session.scalar(select(CarePolicy).where(CarePolicy.street_id == street_id,
                                                         CarePolicy.care_level == level))
        if row is None:
            interval, grace = schedule.DEFAULT_POLICY[level]
            row = CarePolicy(street_id=street_id, care_level=level, interval_days=interval,
                             grace_hours=grace)
            db.session.add(row)
        row.phone_counts = value
    if {**before, **counts} == before:
        return False
    db.session.flush()
    recount(select(Elder.id).join(Household, Elder.household_id == Household.id)
            .join(Grid, Household.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id)
            .where(Community.street_id == street_id))
    schedule.refresh_street(street_id)
    return True


def save_street_policy(actor: User, street_id: int, visits: dict[CareLevel, tuple[int, int]],
                       phone_counts: dict[CareLevel, bool]) -> None:
    """A street's visit policy as its coordinator saves it: (interval days, grace hours) and
    whether a call counts, per care level; every elder's schedule follows. Audited as
    ``policy.update``."""
    for level, (interval, grace) in visits.items():
        schedule.set_policy(street_id, level, interval, grace)
    set_phone_policy(street_id, phone_counts)
    audit.record(actor, "policy.update", "street", street_id,
                 phone_counts={k.value: v for k, v in phone_counts.items()})


def _phone_counts_for_elder():
    """SQL: whether a phone call counts for the elder of the enclosing statement."""
    street = (select(Community.street_id).join(Grid, Grid.community_id == Community.id)
              .join(Household, Household.grid_id == Grid.id)
              .where(Household.id == Elder.household_id).correlate(Elder).scalar_subquery())
    stored = (select(CarePolicy.phone_counts)
              .where(CarePolicy.street_id == street, CarePolicy.care_level == Elder.care_level)
              .correlate(Elder).scalar_subquery())
    default = case(*[(Elder.care_level == level.value, true() if counts else false())
                     for level, counts in DEFAULT_PHONE_COUNTS.items()], else_=false())
    return func.coalesce(stored, default)


def recount(elder_ids: list[int] | Select) -> None:
    """Set each elder's last contact to their latest visit that counts: not voided, the elder
    met, and a phone call only where the policy counts it. One UPDATE for all of them
    (``elder_ids``: a list, or a SELECT of ids)."""
    if isinstance(elder_ids, list) and not elder_ids:
        return
    latest = (select(func.max(Visit.occurred_at))
              .join(VisitRecord, VisitRecord.visit_id == Visit.id)
              .where(VisitRecord.elder_id == Elder.id, VisitRecord.outcome.in_(MET_OUTCOMES),
                     Visit.voided_at.is_(None),
                     or_(Visit.method != VisitMethod.PHONE, _phone_counts_for_elder()))
              .scalar_subquery())
    if isinstance(elder_ids, Select):
        elder_ids = elder_ids.correlate(None)  # its own elder table, not the updated one
    db.session.execute(update(Elder).where(Elder.id.in_(elder_ids))
                       .values(last_contact_at=latest)
                       .execution_options(synchronize_session=False))
    for elder in [o for o in db.session.identity_map.values() if isinstance(o, Elder)]:
        db.session.expire(elder, ["last_contact_at"])


def recount_and_refresh(elders: list[Elder]) -> None:
    """Recount the elders' last contacts, then move their schedules to follow (a closed
    elder has no schedule to move: it is set again when the record is reopened)."""
    db.session.flush()
    recount([e.id for e in elders])
    schedule.refresh([e for e in elders if e.active])

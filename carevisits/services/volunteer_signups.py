"""Volunteer sign-ups: the profile that says which community a volunteer helps and when, and
a coordinator's approval of it. The account itself is made by
:func:`carevisits.services.accounts.sign_up`, the one self-sign-up path."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from carevisits.extensions import db
from carevisits.models import Community, User, VolunteerProfile, VolunteerStatus
from carevisits.models.base import utcnow
from carevisits.services import audit, rosters
from carevisits.services.scope import community_scope

AVAILABILITY_MAX = 200


class SignUpError(ValueError):
    """A sign-up or profile that breaks a rule; the message is for the user."""


def start_profile(user: User, community: Community, availability: str) -> VolunteerProfile:
    """The sign-up of a volunteer account: pending until a coordinator of the community
    approves it."""
    _check_availability(availability)
    profile = VolunteerProfile(user=user, community=community, availability=availability.strip())
    db.session.add(profile)
    db.session.flush()
    audit.record(user, "volunteer.sign_up", "user", user.id, community_id=community.id)
    return profile


def _check_availability(text: str) -> None:
    if len(text.strip()) > AVAILABILITY_MAX:
        raise SignUpError(_l("Availability is limited to %(n)d characters.",
                             n=AVAILABILITY_MAX))


def profile_of(user: User) -> VolunteerProfile | None:
    """The volunteer's sign-up, whatever its status (None: not finished yet)."""
    return db.session.get(VolunteerProfile, user.id)


def update_profile(user: User, *, phone: str, availability: str) -> None:
    """The volunteer's own phone number and the times they can help."""
    if not phone.strip():
        raise SignUpError(_l("Enter a phone number the coordinator can call."))
    _check_availability(availability)
    user.phone = phone.strip()[:30]
    profile_of(user).availability = availability.strip()
    audit.record(user, "volunteer.profile", "user", user.id)


def signups(actor: User) -> Select:
    """SELECT of the volunteer profiles of the communities the actor manages, newest first."""
    return (select(VolunteerProfile).join(Community)
            .where(community_scope(actor))
            .order_by(VolunteerProfile.applied_at.desc()))


def managed_profile(actor: User, user_id: int) -> VolunteerProfile | None:
    """A volunteer's profile, if it is in a community the actor manages."""
    return db.session.scalar(signups(actor).where(VolunteerProfile.user_id == user_id))


def review(profile: VolunteerProfile, *, approve: bool, actor: User, note: str = "") -> None:
    """Approve or decline a sign-up; declining also ends the volunteer's roster places."""
    profile.status = VolunteerStatus.APPROVED if approve else VolunteerStatus.DECLINED
    profile.reviewed_at, profile.reviewed_by = utcnow(), actor
    profile.review_note = note.strip()[:200]
    if not approve:
        rosters.end_places(profile.user_id, actor)
    audit.record(actor, "volunteer.approve" if approve else "volunteer.decline", "user",
                 profile.user_id)

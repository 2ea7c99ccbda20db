"""Typed SQLAlchemy models, one module per aggregate."""

from carevisits.models.alert import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CarePolicy,
    ElderPause,
)
from carevisits.models.area import Community, Grid, Street
from carevisits.models.audit import AuditEvent
from carevisits.models.family import FamilyInvite, FamilyLink
from carevisits.models.household import CareLevel, DoorCode, Elder, Household, LivingSituation
from carevisits.models.notify import (
    ChannelKind,
    DeliveryStatus,
    Notification,
    NotificationChannel,
)
from carevisits.models.printjob import JobStatus, PrintJob, PrintJobHousehold
from carevisits.models.service import (
    OPEN_REQUEST_STATUSES,
    Delivery,
    Frequency,
    MenuEntry,
    RequestClass,
    RequestEvent,
    RequestSource,
    RequestStatus,
    ServiceItem,
    ServicePlace,
    ServiceRequest,
)
from carevisits.models.user import STAFF_ROLES, Role, User
from carevisits.models.visit import MET_OUTCOMES, Mood, Outcome, Visit, VisitMethod, VisitRecord
from carevisits.models.volunteer import (
    LIVE_MEMBER_STATUSES,
    MemberStatus,
    Roster,
    RosterHousehold,
    RosterMember,
    VolunteerProfile,
    VolunteerStatus,
)

__all__ = [
    "OPEN_REQUEST_STATUSES",
    "Delivery",
    "Frequency",
    "MenuEntry",
    "RequestClass",
    "RequestEvent",
    "RequestSource",
    "RequestStatus",
    "ServiceItem",
    "ServicePlace",
    "ServiceRequest",
    "Alert",
    "AlertEvent",
    "AlertKind",
    "AlertLevel",
    "AlertStatus",
    "CarePolicy",
    "ChannelKind",
    "DeliveryStatus",
    "ElderPause",
    "FamilyInvite",
    "FamilyLink",
    "Notification",
    "NotificationChannel",
    "MET_OUTCOMES",
    "STAFF_ROLES",
    "AuditEvent",
    "CareLevel",
    "Community",
    "DoorCode",
    "Elder",
    "Grid",
    "Household",
    "JobStatus",
    "LivingSituation",
    "Mood",
    "Outcome",
    "PrintJob",
    "PrintJobHousehold",
    "Role",
    "Street",
    "User",
    "Visit",
    "VisitMethod",
    "VisitRecord",
    "LIVE_MEMBER_STATUSES",
    "MemberStatus",
    "Roster",
    "RosterHousehold",
    "RosterMember",
    "VolunteerProfile",
    "VolunteerStatus",
]

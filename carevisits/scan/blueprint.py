"""The door's blueprint, shared by its page modules: who may record visits."""

from flask import Blueprint

from carevisits.access import roles_required
from carevisits.models import STAFF_ROLES, Role

bp = Blueprint("scan", __name__)
VISITORS = frozenset(STAFF_ROLES | {Role.VOLUNTEER})
visitor_required = roles_required(*VISITORS)

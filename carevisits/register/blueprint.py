"""The register blueprint (台账): areas, households, elders and spreadsheet imports, shared
by its page modules."""

from flask import Blueprint

from carevisits.access import roles_required
from carevisits.models import Role

bp = Blueprint("register", __name__, url_prefix="/register")
coordinator_required = roles_required(Role.ADMIN, Role.COORDINATOR)

"""The admins' blueprint, shared by its page modules (who may open them:
carevisits.access.admin_required)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

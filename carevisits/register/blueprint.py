"""The register blueprint (台账): areas, households, elders and spreadsheet imports, shared
by its page modules (who may open them: carevisits.access.coordinator_required)."""

from flask import Blueprint

bp = Blueprint("register", __name__, url_prefix="/register")

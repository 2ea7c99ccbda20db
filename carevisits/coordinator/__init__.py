"""Coordinators' pages: the dashboard (their home), the office (catalogue, figures,
exports) and volunteers (sign-ups, rosters, hours). Importing the page modules registers
their routes on the blueprint."""

from carevisits.coordinator import dashboard, office, volunteer_pages
from carevisits.coordinator.blueprint import bp

__all__ = ["bp", "dashboard", "office", "volunteer_pages"]

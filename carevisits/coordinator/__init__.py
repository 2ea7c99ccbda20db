"""Coordinators' pages: the dashboard (their home), the office (catalogue, figures,
exports), volunteers (sign-ups, rosters, hours) and the audit log (admins' too). Importing
the page modules registers their routes on the blueprint."""

from carevisits.coordinator import audit_pages, dashboard, office, volunteer_pages
from carevisits.coordinator.blueprint import bp

__all__ = ["audit_pages", "bp", "dashboard", "office", "volunteer_pages"]

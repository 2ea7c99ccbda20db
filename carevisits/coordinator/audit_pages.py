"""The audit log as a page: admins read every event, coordinators those of their area and
their own (services/audit_log.py says which), filtered by who, what, record and dates; newest
first, page by page; downloadable as XLSX. Read only: no route here, or anywhere, changes or
deletes an event."""

from flask import current_app, render_template, request
from flask_login import current_user

from carevisits.access import coordinator_required
from carevisits.coordinator.blueprint import bad_parameter, bp
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import Role
from carevisits.models.base import local_today
from carevisits.responses import spreadsheet
from carevisits.services import audit_log
from carevisits.services.audit_words import KINDS

# The page a record of each subject type opens on: (endpoint, its id argument). An account
# opens on an admin page: linked for admins only.
RECORD_PAGES = {
    "elder": ("elders.detail", "elder_id"),
    "family_visits": ("elders.detail", "elder_id"),
    "household": ("register.household", "household_id"),
    "visit": ("scan.visit", "visit_id"),
    "request": ("requests.detail", "request_id"),
    "print_job": ("printing.job", "job_id"),
    "grid": ("register.grid_page", "grid_id"),
    "roster": ("coordinator.roster", "roster_id"),
    "user": ("admin.edit_user", "user_id"),
}
ADMIN_PAGES = frozenset({"user"})


def _read(reader, text):
    """A query-string value read by ``reader``; 400 with the reason if it cannot be."""
    try:
        return reader(text)
    except audit_log.AuditFilterError as err:
        bad_parameter(str(err))


@bp.get("/audit")
@coordinator_required
def audit_page():
    """Who did what and when: the audit log of the user's area, newest first."""
    chosen = _read(audit_log.AuditFilter.from_args, request.args)
    before = _read(audit_log.number_arg, request.args.get("before", ""))
    found = audit_log.page(current_user, chosen, local_zone(), before=before,
                           size=current_app.config["PAGE_SIZE"])
    pages = {k: v for k, v in RECORD_PAGES.items()
             if current_user.role == Role.ADMIN or k not in ADMIN_PAGES}
    return render_template("coordinator/audit.html", page=found, chosen=chosen, kinds=KINDS,
                           record_pages=pages, first=before is None)


@bp.get("/audit.xlsx")
@coordinator_required
def audit_download():
    """The filtered log as a spreadsheet (the newest events first); the download is audited."""
    chosen = _read(audit_log.AuditFilter.from_args, request.args)
    header, rows = audit_log.export(current_user, chosen, local_zone())
    db.session.commit()
    return spreadsheet(header, rows, title="审计日志",
                       filename=f"审计日志-{local_today().isoformat()}.xlsx")

"""The coordinator's home: the dashboard of a month, a worker's month, the monthly report."""

from flask import abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import coordinator_required
from carevisits.coordinator.blueprint import bad_parameter, bp, month_param
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models.base import utcnow
from carevisits.responses import download
from carevisits.services import coverage, dashboard, followups, monthly_report, worker_page
from carevisits.services.charts import share_trend
from carevisits.services.exports import Month

# ?sort= of the drill-down tables → the row's value; lagging first by default (rows with
# nobody to visit, and so no rate, after the others).
SORTS = {"name": lambda r: (r.parent, r.name), "elders": lambda r: r.elders,
         "rate": lambda r: (r.rate is None, r.rate or 0),
         "on_schedule": lambda r: (r.on_schedule_share is None, r.on_schedule_share or 0),
         "late": lambda r: r.late, "never": lambda r: r.never}


def _this_month() -> Month:
    return Month.of(utcnow(), local_zone())


def _sorted(rows: list, key: str, descending: bool) -> list:
    return sorted(rows, key=SORTS[key], reverse=descending)


@bp.get("/")
@coordinator_required
def dashboard_page():
    """Are we keeping up? This month's visit rate, who is on schedule, the drill-down from
    street to worker, alerts, requests, volunteers and twelve weeks of trends."""
    month = month_param(latest=_this_month())
    sort, descending = request.args.get("sort", "rate"), request.args.get("desc") == "1"
    if sort not in SORTS or request.args.get("desc", "0") not in ("0", "1"):
        bad_parameter(_l("Sort by one of the table's columns."))
    try:
        board = dashboard.build(current_user, month, utcnow(), local_zone(),
                                request.args.get("area", ""))
    except ValueError:
        bad_parameter(_l("That area is not one of yours."))
    charts = {name: share_trend([f"{w.start.month}月{w.start.day}日" for w in weeks],
                                [("rate", [w.rate for w in weeks]),
                                 ("on_schedule", [w.on_schedule_share for w in weeks])],
                                str(_l("%(community)s: weekly visit rate and on-schedule share",
                                       community=name)))
              for name, weeks in board.trends.items()}
    return render_template(
        "coordinator/dashboard.html", board=board, month=month, sort=sort, desc=descending,
        charts=charts,
        rows=_sorted(board.rows, sort, descending), grids=_sorted(board.grids, sort, descending),
        workers=_sorted(board.workers, sort, descending), current=board.reckoning.current,
        followups=followups.overdue_in_scope(current_user, board.reckoning.now_day),
        today=board.reckoning.now_day)


@bp.get("/workers/<int:user_id>")
@coordinator_required
def worker(user_id: int):
    """A grid worker's month: visits per day, elders due and overdue, no-answer share and
    the requests they own."""
    month = month_param(latest=_this_month())
    r = coverage.Reckoning.of(month, utcnow(), local_zone())
    found = worker_page.managed_worker(current_user, user_id, r) or abort(404)
    return render_template("coordinator/worker.html", worker=found, month=month, r=r,
                           figures=worker_page.worker_month(current_user, found, r),
                           followups=followups.overdue_for_worker(current_user, found,
                                                                  r.now_day))


@bp.get("/report.<fmt>")
@coordinator_required
def report(fmt: str):
    """The monthly report 月度工作报表 of a month (this one to date, or a past one) as XLSX
    or A4 PDF, in the coordinator's scope; audited."""
    if fmt not in monthly_report.FORMATS:
        abort(404)
    month = month_param(latest=_this_month())
    body, filename = monthly_report.report(current_user, month, utcnow(), local_zone(), fmt)
    db.session.commit()
    return download(body, filename, mimetype=monthly_report.FORMATS[fmt])

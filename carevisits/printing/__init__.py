"""Door cards for coordinators: choose households, print or reprint, download again."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits import labels, responses
from carevisits.access import coordinator_required
from carevisits.extensions import db
from carevisits.models import Grid, Household, JobStatus, PrintJob
from carevisits.models.base import utcnow
from carevisits.models.household import format_building
from carevisits.paging import paginate
from carevisits.printing.forms import AreaPrintForm, HouseholdPrintForm
from carevisits.services import printjobs
from carevisits.services.scope import area_households, area_options, scoped_households

bp = Blueprint("printing", __name__, url_prefix="/printing")


@bp.route("/", methods=["GET", "POST"])
@coordinator_required
def index():
    """Print the cards of a whole area, and the list of earlier print jobs."""
    form = AreaPrintForm()
    options = area_options(current_user)
    form.area.choices = labels.as_choices(options)
    if form.validate_on_submit():
        query = area_households(current_user, form.area.data)
        households = list(db.session.scalars(printjobs.print_order(query)))
        done = _queue(form, households, options[form.area.data].strip())
        if done:
            return done
    page = paginate(printjobs.visible_jobs(current_user), 20)
    grids = [(value[2:], label.strip()) for value, label in options.items()
             if value.startswith("g:")]
    return render_template("printing/index.html", form=form, jobs=page, grids=grids,
                           plan=printjobs.configured_qr_plan()), (
        422 if form.is_submitted() else 200)


@bp.route("/grids/<int:grid_id>", methods=["GET", "POST"])
@coordinator_required
def grid(grid_id: int):
    """Tick buildings or households of one grid and print their cards."""
    grid = db.session.get(Grid, grid_id)
    query = printjobs.print_order(scoped_households(current_user)
                                  .where(Household.grid_id == grid_id))
    households = list(db.session.scalars(query))
    if grid is None or not households:
        abort(404)
    buildings: dict[str, list[Household]] = {}
    for h in households:
        buildings.setdefault(f"{h.address}|{h.building}", []).append(h)
    form = HouseholdPrintForm()
    building_labels = {key: format_building(hs[0].address, hs[0].building)
                       for key, hs in buildings.items()}
    form.buildings.choices = labels.as_choices(building_labels)
    form.households.choices = labels.as_choices({h.id: h.full_address for h in households})
    if form.is_submitted():
        valid = form.validate()  # every error at once: the choice below as well
        picked = set(form.households.data or [])
        chosen = [h for h in households
                  if h.id in picked or f"{h.address}|{h.building}" in (form.buildings.data or [])]
        if not chosen:
            form.households.errors = [*form.households.errors, _l("No households chosen.")]
        elif valid and (done := _queue(form, chosen, grid.label)):
            return done
    return render_template("printing/grid.html", form=form, grid=grid, buildings=buildings,
                           building_labels=building_labels,
                           plan=printjobs.configured_qr_plan()), (
        422 if form.is_submitted() else 200)


def _queue(form, households, label):
    """Create the job and start it, or say why not; returns a redirect or None."""
    try:
        job = printjobs.create_job(actor=current_user, households=households,
                                   layout=form.layout.data, rotate=form.mode.data == "new",
                                   scope_label=label)
    except printjobs.PrintError as err:
        db.session.rollback()
        flash(str(err), "error")
        return None
    db.session.commit()
    printjobs.start_job(current_app._get_current_object(), job.id)
    return redirect(url_for("printing.job", job_id=job.id))


def _visible_job(job_id: int) -> PrintJob:
    job = db.session.scalar(printjobs.visible_jobs(current_user).where(PrintJob.id == job_id))
    return job if job is not None else abort(404)


@bp.get("/jobs/<int:job_id>")
@coordinator_required
def job(job_id: int):
    """A job's progress, then its download."""
    job = _visible_job(job_id)
    return render_template("printing/job.html", job=job,
                           stalled=printjobs.is_stalled(job, utcnow()))


@bp.get("/jobs/<int:job_id>/cards.pdf")
@coordinator_required
def download(job_id: int):
    """The job's PDF; every download is audited."""
    job = _visible_job(job_id)
    if job.status != JobStatus.DONE:
        abort(404)
    pdf = printjobs.download(current_user, job)
    db.session.commit()
    return responses.download(pdf, f"门卡-{job.scope_label}-{job.id}.pdf",
                              mimetype="application/pdf")


@bp.post("/jobs/<int:job_id>/retry")
@coordinator_required
def retry(job_id: int):
    """Start a failed or stalled job again; codes already rotated are not rotated twice."""
    job = _visible_job(job_id)
    if printjobs.requeue(job, utcnow()):
        db.session.commit()
        printjobs.start_job(current_app._get_current_object(), job.id)
        flash(_l("The job was started again."), "info")
    return redirect(url_for("printing.job", job_id=job.id))

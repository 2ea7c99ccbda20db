"""Area pages: streets (admins), communities and grids (coordinators within their scope),
and who works each grid — its own worker and colleagues covering for a span of dates."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from carevisits.access import admin_required, coordinator_required
from carevisits.extensions import db
from carevisits.models import Community, Grid, GridAssignment, Role, Street, User
from carevisits.models.base import local_today
from carevisits.register.area_forms import (
    CommunityForm,
    CoverForm,
    GridForm,
    StreetForm,
    WorkerForm,
)
from carevisits.register.blueprint import bp
from carevisits.services import areas
from carevisits.services.scope import community_scope


def _streets() -> list[Street]:
    """The streets whose communities the user manages (admins: all)."""
    query = select(Street).order_by(Street.name)
    if current_user.role != Role.ADMIN:
        query = query.where(Street.id.in_(select(Community.street_id)
                                          .where(community_scope(current_user))))
    return list(db.session.scalars(query))


def _may_add_communities(street: Street) -> bool:
    return current_user.role == Role.ADMIN or (
        current_user.street_id == street.id and current_user.community_id is None)


@bp.get("/")
@coordinator_required
def areas_page(failed: tuple[str, object] | None = None):
    """The area tree of my scope: communities with their hotlines, grids and workers.
    ``failed`` is a refused form and the key of the place it was sent from (``street``,
    ``community:new-1``, ``community:2``, ``grid:new-2``), shown there with its errors."""
    today = local_today()
    streets = _streets()
    communities = set(db.session.scalars(select(Community.id).where(
        community_scope(current_user))))
    workers = {g.id: areas.assignments_in_force(g, today)
               for s in streets for c in s.communities for g in c.grids}
    return render_template(
        "register/areas.html", streets=streets, communities=communities, workers=workers,
        may_add=_may_add_communities, failed=dict([failed]) if failed else {},
        ), 422 if failed else 200


@bp.post("/streets")
@admin_required
def add_street():
    """Admins create a street office."""
    form = StreetForm()
    if form.validate_on_submit():
        try:
            areas.create_street(form.name.data, actor=current_user)
        except areas.AreaError as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            flash(_l("Street created."), "info")
            return redirect(url_for("register.areas_page"))
    return areas_page(failed=("street", form))


@bp.post("/streets/<int:street_id>/communities")
@coordinator_required
def add_community(street_id: int):
    """A new community of a street (admins, street coordinators)."""
    street = db.session.get(Street, street_id)
    if street is None or not _may_add_communities(street):
        abort(404)
    return _save_community(None, street)


def _community_in_scope(community_id: int) -> Community:
    community = db.session.scalar(select(Community).where(
        Community.id == community_id, community_scope(current_user)))
    if community is None:
        abort(404)
    return community


@bp.post("/communities/<int:community_id>")
@coordinator_required
def edit_community(community_id: int):
    """Rename a community or change its hotline."""
    community = _community_in_scope(community_id)
    return _save_community(community, community.street)


def _save_community(community, street):
    form = CommunityForm()
    if form.validate_on_submit():
        try:
            saved = areas.save_community(community, street=street, name=form.name.data,
                                         hotline=form.hotline.data or "", actor=current_user)
        except areas.AreaError as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            flash(_l("Community saved."), "info")
            return redirect(url_for("register.areas_page", _anchor=f"community-{saved.id}"))
    key = f"community:{community.id}" if community else f"community:new-{street.id}"
    return areas_page(failed=(key, form))


@bp.post("/communities/<int:community_id>/grids")
@coordinator_required
def add_grid(community_id: int):
    """A new grid of a community."""
    community = _community_in_scope(community_id)
    form = GridForm()
    if form.validate_on_submit():
        try:
            grid = areas.save_grid(None, community=community, name=form.name.data,
                                   actor=current_user)
        except areas.AreaError as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            return redirect(url_for("register.grid_page", grid_id=grid.id))
    return areas_page(failed=(f"grid:new-{community.id}", form))


def _grid_in_scope(grid_id: int) -> Grid:
    grid = db.session.get(Grid, grid_id)
    if grid is None:
        abort(404)
    _community_in_scope(grid.community_id)
    return grid


def _worker_choices(form) -> None:
    """Active grid workers of my area, or without any grid yet, by name."""
    today = local_today()
    mine = select(GridAssignment.user_id).join(Grid).join(Community).where(
        community_scope(current_user), GridAssignment.in_force(today))
    placed = select(GridAssignment.user_id).where(GridAssignment.in_force(today))
    workers = db.session.scalars(select(User).where(
        User.role == Role.GRID_WORKER, User.active,
        User.id.in_(mine) | User.id.not_in(placed)).order_by(User.display_name))
    form.worker.choices = [(w.id, f"{w.display_name}（{w.username}）") for w in workers]


@bp.get("/grids/<int:grid_id>")
@coordinator_required
def grid_page(grid_id: int, name_form=None, worker_form=None, cover_form=None, status=200):
    """A grid: its name, its own worker, covers past and planned, and the forms to change
    them."""
    grid = _grid_in_scope(grid_id)
    worker_form, cover_form = worker_form or WorkerForm(), cover_form or CoverForm()
    _worker_choices(worker_form)
    _worker_choices(cover_form)
    history = db.session.scalars(select(GridAssignment).where(GridAssignment.grid_id == grid.id)
                                 .order_by(GridAssignment.starts_on.desc(),
                                           GridAssignment.id.desc())).all()
    return render_template(
        "register/grid.html", grid=grid, today=local_today(), history=history,
        in_force=areas.assignments_in_force(grid, local_today()),
        name_form=name_form or GridForm(name=grid.name), worker_form=worker_form,
        cover_form=cover_form), status


@bp.post("/grids/<int:grid_id>")
@coordinator_required
def rename_grid(grid_id: int):
    """Rename a grid."""
    grid, form = _grid_in_scope(grid_id), GridForm()
    if form.validate_on_submit():
        try:
            areas.save_grid(grid, community=grid.community, name=form.name.data,
                            actor=current_user)
        except areas.AreaError as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            flash(_l("Grid saved."), "info")
            return redirect(url_for("register.grid_page", grid_id=grid.id))
    return grid_page(grid.id, name_form=form, status=422)


@bp.post("/grids/<int:grid_id>/worker")
@coordinator_required
def reassign(grid_id: int):
    """Give the grid to another grid worker from today, in one action, or add one beside its
    worker."""
    grid, form = _grid_in_scope(grid_id), WorkerForm()
    _worker_choices(form)
    if form.validate_on_submit():
        handover = form.handover.data == "handover"
        try:
            areas.assign_worker(grid, db.session.get(User, form.worker.data),
                                today=local_today(), actor=current_user, handover=handover)
        except areas.AreaError as error:
            form.worker.errors = [str(error)]
        else:
            db.session.commit()
            flash(_l("The grid has a new worker from today.") if handover else
                  _l("From today the grid has one more worker."), "info")
            return redirect(url_for("register.grid_page", grid_id=grid.id))
    return grid_page(grid.id, worker_form=form, status=422)


@bp.post("/grids/<int:grid_id>/covers")
@coordinator_required
def add_cover(grid_id: int):
    """A colleague covers the grid from one date to another."""
    grid, form = _grid_in_scope(grid_id), CoverForm()
    _worker_choices(form)
    if form.validate_on_submit():
        try:
            areas.add_cover(grid, db.session.get(User, form.worker.data),
                            starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                            today=local_today(), actor=current_user)
        except areas.AreaError as error:
            getattr(form, error.field or "ends_on").errors = [str(error)]
        else:
            db.session.commit()
            flash(_l("Cover saved."), "info")
            return redirect(url_for("register.grid_page", grid_id=grid.id))
    return grid_page(grid.id, cover_form=form, status=422)


@bp.post("/assignments/<int:assignment_id>/end")
@coordinator_required
def end_assignment(assignment_id: int):
    """End a worker's charge of a grid now (a cover cut short, a worker leaving)."""
    assignment = db.session.get(GridAssignment, assignment_id)
    if assignment is None:
        abort(404)
    _grid_in_scope(assignment.grid_id)
    try:
        areas.end_assignment(assignment, today=local_today(), actor=current_user)
    except areas.AreaError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_l("Assignment ended."), "info")
    return redirect(url_for("register.grid_page", grid_id=assignment.grid_id))

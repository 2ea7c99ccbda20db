"""Administration of accounts: roles, scopes, unlocking sign-in."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carevisits.access import admin_required
from carevisits.admin.blueprint import bp
from carevisits.admin.forms import UserForm, area_choices, area_value, parse_area
from carevisits.extensions import db
from carevisits.models import Role, User
from carevisits.models.base import local_today
from carevisits.paging import paginate
from carevisits.services import accounts, areas, unlocks


@bp.get("/users")
@admin_required
def users():
    """All accounts with role, every area they hold today (each grid, covers marked), status."""
    page = paginate(select(User).order_by(User.role, User.username)
                    .options(selectinload(User.assignments)),
                    current_app.config["PAGE_SIZE"] * 5)
    return render_template("admin/users.html", page=page, today=local_today())


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create an account with a role and an area; for a grid that has a worker already, ask
    whether to add a second worker or hand the grid over."""
    form = UserForm()
    form.area.choices = area_choices(current_user)
    if form.is_submitted():
        choice = form.handover.data or None
        done = _submit(form, lambda role: accounts.account_problems(
            role=role, scope=parse_area(form.area.data), password=form.password.data or "",
            username=form.username.data or "", grid_choice=choice),
            lambda role: accounts.create_user(
            actor=current_user, username=form.username.data, display_name=form.display_name.data,
            password=form.password.data, role=role, scope=parse_area(form.area.data),
            phone=form.phone.data or "", grid_choice=choice), _l("Account created."))
        if done:
            return done
    return _form_page(form, None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Change role, area, status or password; any such change ends the user's sessions."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    form.area.choices = area_choices(current_user)
    del form.username  # usernames stay as created
    if not form.is_submitted():
        form.area.data = area_value(user)
    else:
        choice = form.handover.data or None
        done = _submit(form, lambda role: accounts.account_problems(
            role=role, scope=parse_area(form.area.data), password=form.password.data or "",
            user=user, actor=current_user, active=form.active.data, grid_choice=choice),
            lambda role: accounts.update_user(
            actor=current_user, user=user, display_name=form.display_name.data,
            phone=form.phone.data or "", role=role, scope=parse_area(form.area.data),
            active=form.active.data, new_password=form.password.data or "",
            grid_choice=choice) or user, _l("Account saved."))
        if done:
            return done
    return _form_page(form, user)


@bp.post("/users/<int:user_id>/unlock")
@admin_required
def unlock_user(user_id: int):
    """Forget the account's failed sign-ins, so that it can sign in from any browser again
    (the owner's way in when guessing has locked new browsers out: carevisits/throttle.py,
    services/unlocks.py)."""
    user = db.session.get(User, user_id) or abort(404)
    unlocks.unlock(current_user, user)
    db.session.commit()
    flash(_l("Failed sign-ins of %(username)s are forgotten: the account can sign in from "
             "any browser again.", username=user.username), "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


def _submit(form, problems, save, message):
    """Check the form and the account rules together, so that every error shows at once at
    its field; then save and go back to the list (None: the form is shown again)."""
    valid = form.validate()
    role = Role(form.role.data) if form.role.data in Role.__members__.values() else None
    try:
        found = problems(role)
        if valid and not found:
            saved = save(role)
    except accounts.AccountError as err:
        found = err.errors
    for name, messages in found.items():
        form[name].errors = [*form[name].errors, *messages]
    if not valid or found:
        db.session.rollback()
        return None
    db.session.commit()
    flash(_with_grid(message, saved), "info")
    return redirect(url_for("admin.users"))


def _with_grid(message, user: User):
    """The message, and for a grid worker who works their grid now: never a silent handover."""
    grid = user.grid if user.role == Role.GRID_WORKER else None
    if grid is None:
        return message
    names = "、".join(a.user.display_name for a in areas.assignments_in_force(grid, local_today()))
    return _l("%(done)s %(grid)s is worked by: %(names)s.", done=message, grid=grid.label,
              names=names)


def _form_page(form, user):
    status = 422 if form.is_submitted() else 200
    return render_template("admin/user_form.html", form=form, user=user), status

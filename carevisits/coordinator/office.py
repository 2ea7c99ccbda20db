"""Coordinators' office pages: the service catalogue, monthly figures and exports."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from carevisits import labels
from carevisits.access import coordinator_required
from carevisits.coordinator.blueprint import bp, month_param
from carevisits.extensions import db
from carevisits.forms import TextForm
from carevisits.i18n import local_zone
from carevisits.models import ServiceItem, ServicePlace
from carevisits.responses import spreadsheet
from carevisits.services import exports, menus
from carevisits.services.monthly_exports import EXPORTS, monthly_export


class ItemForm(TextForm):
    """A new service for the catalogue."""

    name = StringField(_l("Service name"), validators=[
        DataRequired(_l("Enter the service's name.")), Length(max=40)])
    category = StringField(_l("Category"), validators=[DataRequired(_l("Enter a category.")),
                                                       Length(max=40)])
    unit = StringField(_l("Unit"), default="次", validators=[
        DataRequired(_l("Enter how it is counted, e.g. 次, 份 or 小时.")), Length(max=10)])
    place = SelectField(_l("Where"), choices=labels.as_choices(labels.PLACES))


@bp.route("/services", methods=["GET", "POST"])
@coordinator_required
def services():
    """The service catalogue: the shared services and the street's own; admins keep the
    shared ones, street coordinators their street's (add, retire, bring back)."""
    form = ItemForm()
    if form.is_submitted() and not menus.may_add(current_user):
        abort(403)
    if form.validate_on_submit():
        try:
            menus.add_item(current_user, name=form.name.data, category=form.category.data,
                           unit=form.unit.data, place=ServicePlace(form.place.data))
        except menus.MenuError as err:
            db.session.rollback()
            form.name.errors = [str(err)]
        else:
            db.session.commit()
            flash(_l("Service added."), "info")
            return redirect(url_for("coordinator.services"))
    return render_template("coordinator/services.html", items=menus.catalogue(current_user),
                           form=form, may_add=menus.may_add(current_user),
                           may_change=menus.may_change), (422 if form.is_submitted() else 200)


@bp.post("/services/<int:item_id>/retire")
@coordinator_required
def retire(item_id: int):
    """Retire a service (or bring it back); one never used is deleted instead. Another
    street's service is not found; a shared one is for admins only."""
    item = db.session.scalar(select(ServiceItem).where(
        ServiceItem.id == item_id, menus.catalogue_scope(current_user))) or abort(404)
    try:
        menus.retire_or_delete(current_user, item)
    except menus.MenuError:
        abort(403)
    db.session.commit()
    return redirect(url_for("coordinator.services"))


@bp.get("/summary")
@coordinator_required
def summary():
    """The month's deliveries per community and elder, and its requests."""
    month = month_param()
    figures = exports.monthly_summary(current_user, month, local_zone())
    return render_template("coordinator/summary.html", month=month, **figures)


@bp.get("/exports/<what>.<fmt>")
@coordinator_required
def export(what: str, fmt: str):
    """Deliveries or requests of a month as CSV or XLSX, Chinese headers, in scope only."""
    if what not in EXPORTS or fmt not in ("csv", "xlsx"):
        abort(404)
    month = month_param()
    header, rows, title = monthly_export(current_user, what, month, local_zone(), fmt)
    db.session.commit()
    return spreadsheet(header, rows, title=title, filename=f"{title}-{month}.{fmt}")

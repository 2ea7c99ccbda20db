"""Admins' forms: accounts and API keys."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from carevisits import labels
from carevisits.extensions import db
from carevisits.forms import TextForm, username_field
from carevisits.models import ApiPermission, Community, Grid, Role, Street
from carevisits.paging import record_id
from carevisits.services.accounts import (
    HAND_OVER_GRID,
    MIN_PASSWORD_LENGTH,
    SHARE_GRID,
    Scope,
)
from carevisits.services.scope import area_options


def area_choices(admin) -> list[SelectChoice]:
    """Every street, community and grid as one indented list: s:1, c:2, g:3."""
    return labels.as_choices({"": "—", **area_options(admin)})


def parse_area(value: str) -> Scope:
    """Turn an area choice back into a Scope."""
    kind, _, ident = (value or "").partition(":")
    model = {"s": Street, "c": Community, "g": Grid}.get(kind)
    try:
        number = record_id(ident)
    except ValueError:
        return Scope()
    if model is None:
        return Scope()
    obj = db.session.get(model, number)
    return Scope(**{{"s": "street", "c": "community", "g": "grid"}[kind]: obj})


def area_value(user) -> str:
    """The area choice matching a user's scope."""
    if user.grid_id:
        return f"g:{user.grid_id}"
    if user.community_id:
        return f"c:{user.community_id}"
    if user.street_id:
        return f"s:{user.street_id}"
    return ""


class UserForm(TextForm):
    """Create or edit an account."""

    username = username_field()
    display_name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name.")), Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    # Grid workers are most of the accounts; an admin account is made on purpose.
    role = SelectField(_l("Role"), choices=labels.as_choices(labels.ROLES),
                       default=Role.GRID_WORKER.value)
    area = SelectField(_l("Area"), validate_choice=True)
    # Asked (services/accounts.account_problems) when the grid has a worker already.
    handover = RadioField(_l("The grid already has a worker"), validators=[Optional()],
                          choices=labels.as_choices({
                              SHARE_GRID: _l("Add as another worker of the grid"),
                              HAND_OVER_GRID: _l("Hand the grid over: from today the other "
                                                 "worker no longer has it")}))
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"), validators=[
        Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=_l("At least %(min)d characters."))])


API_PERMISSIONS = {
    ApiPermission.READ_REGISTER: _l("Read the register (elders)"),
    ApiPermission.READ_VISITS: _l("Read visits"),
    ApiPermission.READ_ALERTS: _l("Read alerts"),
    ApiPermission.READ_REQUESTS: _l("Read requests"),
    ApiPermission.WRITE_SIGNALS: _l("Send device signals"),
    ApiPermission.WRITE_WORK_ORDERS: _l("Send work orders"),
}


def key_area_choices() -> list[SelectChoice]:
    """Every street and community (a key covers one of them), then the whole city."""
    options: dict[str, str] = {"": "—"}
    for street in db.session.scalars(select(Street).order_by(Street.name)):
        options[f"s:{street.id}"] = street.name
        for community in street.communities:
            options[f"c:{community.id}"] = f"　{street.name} · {community.name}"
    options["city"] = str(_l("Whole city (admins' own tools only)"))
    return labels.as_choices(options)


class ApiKeyForm(TextForm):
    """A new API key of an integration."""

    name = StringField(_l("Key name"), validators=[
        DataRequired(_l("Enter a name.")), Length(max=60)])
    area = SelectField(_l("Area"), validate_choice=True,
                       validators=[DataRequired(_l("Choose a street, a community or the "
                                                   "whole city."))])
    permissions = SelectMultipleField(
        _l("Permissions"), choices=labels.as_choices(API_PERMISSIONS),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one permission."))])
    webhook_url = StringField(_l("Webhook address (optional)"), validators=[
        Optional(), Length(max=500)])
    signature_required = BooleanField(_l("Bodies must be signed (X-Carevisits-Signature)"))

    def chosen_area(self) -> Scope:
        """The street or community chosen (an empty Scope: the whole city)."""
        return parse_area(self.area.data) if self.area.data != "city" else Scope()

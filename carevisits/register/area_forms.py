"""Forms of the area pages: streets, communities, grids and who works them."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from carevisits import labels
from carevisits.forms import TextForm
from carevisits.services.register_fields import plain

# DataRequired, not InputRequired: a name of spaces is no name.
NAME = [DataRequired(_l("Enter the name.")), Length(max=80)]


class StreetForm(TextForm):
    """A new street office."""

    name = StringField(_l("Street name"), validators=NAME)


class CommunityForm(TextForm):
    """A community's name and the hotline printed on its cards."""

    name = StringField(_l("Community name"), validators=NAME)
    hotline = StringField(_l("Community hotline"), filters=[plain], validators=[
        Optional(), Length(max=40),
        Regexp(r"^[0-9 ()+\-]+$", message=_l("Digits, spaces and dashes only."))])


class GridForm(TextForm):
    """A grid's name."""

    name = StringField(_l("Grid name"), validators=NAME)


class WorkerForm(TextForm):
    """A grid worker who takes the grid over from today, or works it beside its worker."""

    worker = SelectField(_l("Grid worker"), coerce=int,
                         validators=[DataRequired(_l("Choose a grid worker."))])
    handover = RadioField(_l("How"), default="handover", choices=labels.as_choices({
        "handover": _l("Hand the grid over: from today the other worker no longer has it"),
        "share": _l("Add as another worker of the grid")}))


class CoverForm(TextForm):
    """A colleague who covers the grid from one date to another."""

    worker = SelectField(_l("Colleague who covers"), coerce=int,
                         validators=[DataRequired(_l("Choose a grid worker."))])
    starts_on = DateField(_l("First day"), validators=[DataRequired(_l("Enter a date."))])
    ends_on = DateField(_l("Last day"), validators=[DataRequired(_l("Enter a date."))])

"""Forms of the area pages: streets, communities, grids and who works them."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

# DataRequired, not InputRequired: a name of spaces is no name.
NAME = [DataRequired(_l("Enter the name.")), Length(max=80)]


def strip(value):
    """Spaces around a typed name are not part of it."""
    return value.strip() if isinstance(value, str) else value


class StreetForm(FlaskForm):
    """A new street office."""

    name = StringField(_l("Street name"), validators=NAME, filters=[strip])


class CommunityForm(FlaskForm):
    """A community's name and the hotline printed on its cards."""

    name = StringField(_l("Community name"), validators=NAME, filters=[strip])
    hotline = StringField(_l("Community hotline"), filters=[strip], validators=[
        Optional(), Length(max=40),
        Regexp(r"^[0-9 ()+\-]+$", message=_l("Digits, spaces and dashes only."))])


class GridForm(FlaskForm):
    """A grid's name."""

    name = StringField(_l("Grid name"), validators=NAME, filters=[strip])


class WorkerForm(FlaskForm):
    """The grid worker who takes the grid over from today."""

    worker = SelectField(_l("Grid worker"), coerce=int,
                         validators=[DataRequired(_l("Choose a grid worker."))])


class CoverForm(FlaskForm):
    """A colleague who covers the grid from one date to another."""

    worker = SelectField(_l("Colleague who covers"), coerce=int,
                         validators=[DataRequired(_l("Choose a grid worker."))])
    starts_on = DateField(_l("First day"), validators=[DataRequired(_l("Enter a date."))])
    ends_on = DateField(_l("Last day"), validators=[DataRequired(_l("Enter a date."))])

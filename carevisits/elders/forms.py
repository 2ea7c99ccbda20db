"""Forms on the elder page: pauses, the elder's own visit interval, the service menu."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from carevisits import labels


class PauseForm(FlaskForm):
    """Why visits stop, and until when."""

    reason = StringField(_l("Why (e.g. in hospital, staying with children)"), validators=[
        InputRequired(_l("Say why visits are paused.")), Length(max=200)])
    until = DateField(_l("Expected back on"), validators=[
        InputRequired(_l("Enter the expected date of return."))])


class IntervalForm(FlaskForm):
    """Days between visits for this elder; empty to follow the care level."""

    days = IntegerField(_l("Visit every … days"), validators=[
        Optional(), NumberRange(1, 60, _l("Between %(min)d and %(max)d."))])


class MenuForm(FlaskForm):
    """Put a service on the elder's menu."""

    item = SelectField(_l("Service"), coerce=int)
    frequency = SelectField(_l("How often"), choices=labels.as_choices(labels.FREQUENCIES))
    notes = StringField(_l("Notes"), validators=[Length(max=200)])
    starts_on = DateField(_l("From"), validators=[InputRequired(_l("Enter a start date."))])
    ends_on = DateField(_l("Until"), validators=[Optional()])


class InviteForm(FlaskForm):
    """An invite for a family member."""

    relation = StringField(_l("Relation (e.g. son, daughter)"), validators=[
        InputRequired(_l("Say how the family member is related.")), Length(max=20)])
    may_see_observations = BooleanField(_l("May see blood pressure and pulse"))

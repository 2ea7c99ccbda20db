"""Forms on the elder page: pauses, the elder's own visit interval, the service menu, phone
calls, the daily check-in's hour."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from carevisits import labels
from carevisits.forms import TextForm, WholeNumberField
from carevisits.services.checkin import NOTES_MAX
from carevisits.services.selfcheck import HOURS


class PauseForm(TextForm):
    """Why visits stop, and until when."""

    reason = StringField(_l("Why (e.g. in hospital, staying with children)"), validators=[
        InputRequired(_l("Say why visits are paused.")), Length(max=200)])
    until = DateField(_l("Expected back on"), validators=[
        InputRequired(_l("Enter the expected date of return."))])


class IntervalForm(TextForm):
    """Days between visits for this elder; empty to follow the care level."""

    days = WholeNumberField(_l("Visit every … days"), validators=[
        Optional(), NumberRange(1, 60, _l("Between %(min)d and %(max)d."))])


class MenuForm(TextForm):
    """Put a service on the elder's menu."""

    item = SelectField(_l("Service"), coerce=int)
    frequency = SelectField(_l("How often"), choices=labels.as_choices(labels.FREQUENCIES))
    notes = StringField(_l("Notes"), validators=[Length(max=200)])
    starts_on = DateField(_l("From"), validators=[InputRequired(_l("Enter a start date."))])
    ends_on = DateField(_l("Until"), validators=[Optional()])


class InviteForm(TextForm):
    """An invite for a family member."""

    relation = StringField(_l("Relation (e.g. son, daughter)"), validators=[
        InputRequired(_l("Say how the family member is related.")), Length(max=20)])
    may_see_observations = BooleanField(_l("May see blood pressure and pulse"))


class CheckinHourForm(TextForm):
    """The hour of the day by which the elder presses 我很好 on their own check-in page."""

    hour = SelectField(_l("Check in every day by"), coerce=int, choices=labels.as_choices(
        {h: f"{h:02d}:00" for h in HOURS}), validators=[InputRequired(_l("Choose an hour."))])


class PhoneForm(TextForm):
    """A phone call to the elder (电话问候): whether they were reached, and notes."""

    idempotency_key = HiddenField(validators=[
        InputRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    outcome = RadioField(_l("The call"), choices=labels.as_choices(labels.PHONE_OUTCOMES),
                         validators=[InputRequired(_l("Choose what happened."))])
    notes = TextAreaField(_l("Notes"), validators=[
        Length(max=NOTES_MAX, message=_l("At most %(max)d characters.", max=NOTES_MAX))])

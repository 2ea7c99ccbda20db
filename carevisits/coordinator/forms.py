"""Coordinators' forms for volunteers and rosters."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from carevisits import labels
from carevisits.forms import TextForm, WholeNumberField
from carevisits.models import MemberStatus
from carevisits.services.checkin import VISIT_MINUTES_RANGE
from carevisits.services.rosters import CAPACITY_RANGE, RosterInput


class ReviewForm(TextForm):
    """Approve or decline a volunteer's sign-up."""

    decision = StringField(validators=[AnyOf(["approve", "decline"])])
    note = StringField(_l("Note to the volunteer"), validators=[Length(max=200)])


class MemberDecisionForm(TextForm):
    """Approve, decline or remove a roster member."""

    decision = StringField(validators=[AnyOf([MemberStatus.APPROVED, MemberStatus.DECLINED,
                                              MemberStatus.REMOVED])])


class RosterForm(TextForm):
    """A roster's name, time, size, rules and households."""

    name = StringField(_l("Roster name"), validators=[DataRequired(_l("Enter a name.")),
                                                      Length(max=40)])
    weekday = SelectField(_l("Weekday"), choices=labels.as_choices(labels.WEEKDAYS))
    start_time = TimeField(_l("Starts at"), validators=[
        InputRequired(_l("Enter a time such as 09:30."))])
    visit_minutes = WholeNumberField(_l("Minutes counted per visit"), default=30, validators=[
        InputRequired(_l("Enter a whole number.")),
        NumberRange(*VISIT_MINUTES_RANGE, message=_l("Between %(min)d and %(max)d."))])
    capacity = WholeNumberField(_l("Volunteers (capacity)"), default=4, validators=[
        InputRequired(_l("Enter a whole number.")),
        NumberRange(*CAPACITY_RANGE, message=_l("Between %(min)d and %(max)d."))])
    # A new roster's page has no leader field (no members yet): nothing sent is no leader.
    leader = SelectField(_l("Leader"), coerce=str, default="", validate_choice=True)
    allow_observations = BooleanField(_l("Volunteers may record blood pressure and pulse"))
    open = BooleanField(_l("Open: takes applications and visits"), default=True)
    households = SelectMultipleField(_l("Households"), coerce=int,
                                     widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput())

    def to_input(self, community) -> RosterInput:
        return RosterInput(
            name=self.name.data, community=community, weekday=int(self.weekday.data),
            start_time=self.start_time.data, visit_minutes=self.visit_minutes.data,
            capacity=self.capacity.data, allow_observations=self.allow_observations.data,
            open=self.open.data, household_ids=self.households.data or [],
            leader_id=int(self.leader.data) if self.leader.data else None)

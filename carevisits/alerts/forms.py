"""Forms of the alert board and its settings."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Email, InputRequired, Length, NumberRange

from carevisits import labels
from carevisits.forms import TextForm
from carevisits.models import CareLevel, ChannelKind

NOTE_MAX = 1000


class NoteForm(TextForm):
    """A ladder step or anything else worth writing down."""

    note = TextAreaField(_l("What happened"), validators=[
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters."))])


class AcknowledgeForm(TextForm):
    """The alerts of the board ticked to be taken on with one button."""

    alert = SelectMultipleField(coerce=int, validate_choice=False, validators=[
        DataRequired(_l("Tick the alerts you are taking on."))])


class ResolveForm(TextForm):
    """Closing an alert needs a word on how."""

    note = TextAreaField(_l("How was it resolved?"), filters=[lambda v: (v or "").strip()],
                         validators=[
        DataRequired(_l("Say how the alert was resolved.")),
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters."))])


def _days():
    return IntegerField(validators=[InputRequired(_l("Enter a number of days.")),
                                    NumberRange(1, 60, _l("Between %(min)d and %(max)d."))])


def _hours():
    return IntegerField(validators=[InputRequired(_l("Enter a number of hours.")),
                                    NumberRange(0, 168, _l("Between %(min)d and %(max)d."))])


class PolicyForm(TextForm):
    """Visit interval (days), grace (hours) and whether a phone call counts, for each care
    level of one street."""

    key_interval, key_grace = _days(), _hours()
    focus_interval, focus_grace = _days(), _hours()
    general_interval, general_grace = _days(), _hours()
    # Whether a phone call that reached the elder resets the schedule, per care level.
    key_phone, focus_phone, general_phone = BooleanField(), BooleanField(), BooleanField()

    def values(self) -> dict[CareLevel, tuple[int, int]]:
        return {level: (self[f"{level.value}_interval"].data, self[f"{level.value}_grace"].data)
                for level in CareLevel}

    def phone_values(self) -> dict[CareLevel, bool]:
        return {level: self[f"{level.value}_phone"].data for level in CareLevel}


class ChannelForm(TextForm):
    """Where a community's alerts are sent."""

    community = SelectField(_l("Community"), validators=[InputRequired()])
    kind = SelectField(_l("Channel"), choices=labels.as_choices({
        ChannelKind.WEBHOOK: _l("Group robot webhook (WeCom / DingTalk)"),
        ChannelKind.EMAIL: _l("Email")}))
    target = StringField(_l("Webhook address or email"), validators=[
        InputRequired(_l("Enter an address.")), Length(max=500)])

    def validate_target(self, field):
        """A webhook needs an http(s) URL, an email channel an email address."""
        check = (URL(require_tld=False, message=_l("Enter a full http:// or https:// address."))
                 if self.kind.data == ChannelKind.WEBHOOK else
                 Email(message=_l("Enter a valid email address.")))
        check(self, field)

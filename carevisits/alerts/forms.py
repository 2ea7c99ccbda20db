"""Forms of the alert board and its settings."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from carevisits import labels
from carevisits.forms import TextForm, WholeNumberField
from carevisits.models import CareLevel, ChannelKind
from carevisits.paging import record_id
from carevisits.services import webhooks
from carevisits.services.webhooks import Refusal

NOTE_MAX = 1000


class NoteForm(TextForm):
    """A ladder step or anything else worth writing down."""

    note = TextAreaField(_l("What happened"), validators=[
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters."))])


class AcknowledgeForm(TextForm):
    """The alerts of the board ticked to be taken on with one button."""

    alert = SelectMultipleField(coerce=record_id, validate_choice=False, validators=[
        DataRequired(_l("Tick the alerts you are taking on."))])


class ResolveForm(TextForm):
    """Closing an alert needs a word on how."""

    note = TextAreaField(_l("How was it resolved?"), filters=[lambda v: (v or "").strip()],
                         validators=[
        DataRequired(_l("Say how the alert was resolved.")),
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters."))])


def _days():
    return WholeNumberField(validators=[InputRequired(_l("Enter a number of days.")),
                                        NumberRange(1, 60, _l("Between %(min)d and %(max)d."))])


def _hours():
    return WholeNumberField(validators=[InputRequired(_l("Enter a number of hours.")),
                                        NumberRange(0, 168, _l("Between %(min)d and %(max)d."))])


class PolicyForm(TextForm):
    """Visit interval (days), grace (hours) and whether a phone call counts, for each care
    level of one street."""

    key_interval, key_grace = _days(), _hours()
    focus_interval, focus_grace = _days(), _hours()
    general_interval, general_grace = _days(), _hours()
    # Whether a phone call that reached the elder resets the schedule, per care level.
    key_phone, focus_phone, general_phone = BooleanField(), BooleanField(), BooleanField()
    # Hours without water, power or door movement that raise a no-activity alert (blank:
    # unchanged); a household may have its own (register page).
    silence_hours = WholeNumberField(
        _l("Hours without activity before an alert"),
        validators=[Optional(), NumberRange(1, 168, _l("Between %(min)d and %(max)d."))])

    def values(self) -> dict[CareLevel, tuple[int, int]]:
        return {level: (self[f"{level.value}_interval"].data, self[f"{level.value}_grace"].data)
                for level in CareLevel}

    def phone_values(self) -> dict[CareLevel, bool]:
        return {level: self[f"{level.value}_phone"].data for level in CareLevel}


TARGET_ERRORS = {
    Refusal.MALFORMED: _l("Enter the full address of the robot, starting with https://."),
    Refusal.SCHEME: _l("Only https:// addresses are allowed."),
    Refusal.CREDENTIALS: _l("Enter the address without a user name or password before the "
                            "host."),
    Refusal.NUMERIC: _l("Write an IP address as four numbers separated by dots, or use the "
                        "host name."),
    Refusal.LOCAL: _l("This address is on this server or a private network; alerts can only "
                      "be sent to public hosts."),
}


class ChannelForm(TextForm):
    """Where a community's alerts are sent. A webhook must be a public address the sender
    accepts (services/webhooks.py); unless ``any_host`` (admins), its host must be on the
    approved list of robot hosts."""

    community = SelectField(_l("Community"), validators=[InputRequired()])
    kind = SelectField(_l("Channel"), choices=labels.as_choices({
        ChannelKind.WEBHOOK: _l("Group robot webhook (WeCom / DingTalk)"),
        ChannelKind.EMAIL: _l("Email")}))
    target = StringField(_l("Webhook address or email"), validators=[
        InputRequired(_l("Enter an address.")), Length(max=500)])

    def __init__(self, *args, any_host: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules, self.any_host = webhooks.policy(current_app.config), any_host

    def validate_target(self, field):
        """A webhook needs an allowed URL, an email channel an email address."""
        if self.kind.data != ChannelKind.WEBHOOK:
            Email(message=_l("Enter a valid email address."))(self, field)
            return
        try:
            webhooks.check_target(field.data, self.rules, any_host=self.any_host)
        except webhooks.RefusedTarget as refused:
            if refused.reason == Refusal.NOT_APPROVED:
                raise ValidationError(_l(
                    "Coordinators can add group robots on these hosts only: %(hosts)s. Ask "
                    "an administrator for any other address.",
                    hosts=", ".join(self.rules.approved_hosts))) from None
            if refused.reason == Refusal.SCHEME and self.rules.allow_http:
                raise ValidationError(_l("Enter a full http:// or https:// address.")) from None
            raise ValidationError(TARGET_ERRORS[refused.reason]) from None

"""The check-in form: visit-level fields plus one sub-form per elder."""

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from carevisits import labels
from carevisits.models import RequestClass
from carevisits.services import checkin, menus
from carevisits.services.checkin import (
    DIASTOLIC_RANGE,
    NOTES_MAX,
    PULSE_RANGE,
    REASON_MAX,
    SYSTOLIC_RANGE,
)


class WholeNumberField(IntegerField):
    """An integer field that says what is wrong in the user's language."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                self.data = None
                raise ValueError(_l("Enter a whole number.")) from None
        else:
            self.data = None

    def raw_data_is_text(self) -> bool:
        """Whether something that is not a number was typed (reported by the field itself)."""
        return bool(self.raw_data and self.raw_data[0].strip()) and self.data is None


def _range(bounds: tuple[int, int], what):
    return NumberRange(*bounds, message=_l("%(what)s must be between %(min)d and %(max)d.",
                                           what=what, min=bounds[0], max=bounds[1]))


class ElderRecordForm(FlaskForm):
    """What was seen of one elder; prefixed with the elder's id inside a visit form."""

    class Meta:
        csrf = False  # the enclosing VisitForm carries the token

    outcome = RadioField(_l("Outcome"), choices=labels.as_choices(labels.OUTCOMES),
                         validators=[InputRequired(_l("Choose what happened."))])
    systolic = WholeNumberField(_l("Blood pressure, upper"),
                                validators=[Optional(), _range(SYSTOLIC_RANGE, _l("Upper"))])
    diastolic = WholeNumberField(_l("Blood pressure, lower"),
                                 validators=[Optional(), _range(DIASTOLIC_RANGE, _l("Lower"))])
    pulse = WholeNumberField(_l("Pulse"), validators=[Optional(), _range(PULSE_RANGE, _l("Pulse"))])
    mood = RadioField(_l("Mood"), choices=labels.as_choices(labels.MOODS), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[
        Length(max=NOTES_MAX, message=_l("At most %(max)d characters.", max=NOTES_MAX))])

    def validate_systolic(self, field):
        """An upper number needs its lower number."""
        if self.diastolic.data is None and not self.diastolic.raw_data_is_text():
            raise ValidationError(_l("Enter both blood pressure numbers, or neither."))

    def validate_diastolic(self, field):
        """A lower number needs its upper number, and lies below it."""
        upper, lower = self.systolic.data, field.data
        if upper is None and not self.systolic.raw_data_is_text():
            raise ValidationError(_l("Enter both blood pressure numbers, or neither."))
        if upper is not None and upper <= lower:
            raise ValidationError(_l("The upper blood pressure must be above the lower."))


class VisitForm(FlaskForm):
    """The visit itself: a client-made idempotency key, the phone's clock, and a reason."""

    idempotency_key = HiddenField(validators=[
        InputRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    client_time = HiddenField(validators=[Optional(), Length(max=40)])
    reason = StringField(_l("Why was the card not scanned?"), validators=[
        Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX))])
    # Volunteers only: how long the visit took, for their hours.
    minutes = WholeNumberField(_l("Minutes spent"), validators=[
        Optional(), _range(checkin.VISIT_MINUTES_RANGE, _l("Minutes"))])

    def client_datetime(self) -> datetime | None:
        """The phone's clock at submit time, if it sent a readable one."""
        try:
            value = datetime.fromisoformat(self.client_time.data or "")
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_services(formdata, elder_id: int, offered: set[int]) -> tuple[list, list[str]]:
    """The services ticked for one elder (``e<id>-svc``) with their quantities."""
    given, errors = [], []
    for raw in formdata.getlist(f"e{elder_id}-svc"):
        if not (raw.isascii() and raw.isdigit()) or int(raw) not in offered:
            errors.append(str(_l("Unknown service.")))
            continue
        quantity = (formdata.get(f"e{elder_id}-qty-{raw}") or "1").strip()
        try:
            amount = float(quantity)
        except ValueError:
            errors.append(str(_l("Enter the quantity as a number.")))
            continue
        given.append(menus.DeliveryInput(int(raw), amount))
    return given, errors


def read_request(formdata, elder_id: int) -> tuple[checkin.RequestInput | None, list[str]]:
    """A request raised for one elder at the door (``e<id>-req-*``), if any was written."""
    description = (formdata.get(f"e{elder_id}-req-desc") or "").strip()
    if not description:
        return None, []
    kind = formdata.get(f"e{elder_id}-req-kind") or ""
    try:
        request_class = RequestClass(formdata.get(f"e{elder_id}-req-class") or "")
    except ValueError:
        return None, [str(_l("Choose how big the matter is (1, 2 or 3 days)."))]
    return checkin.RequestInput(kind, description, request_class), []

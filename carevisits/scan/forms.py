"""The check-in form: visit-level fields plus one sub-form per elder."""

import re
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateTimeLocalField,
    Field,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from carevisits import labels
from carevisits.forms import TextForm, WholeNumberField
from carevisits.i18n import local_zone
from carevisits.models import MET_OUTCOMES, RequestClass
from carevisits.models.base import utcnow
from carevisits.paging import record_id
from carevisits.services import checkin, doorcodes, menus, visit_times
from carevisits.services.checkin import (
    DIASTOLIC_RANGE,
    NOTES_MAX,
    PULSE_RANGE,
    REASON_MAX,
    SYSTOLIC_RANGE,
)


def _range(bounds: tuple[int, int], what):
    return NumberRange(*bounds, message=_l("%(what)s must be between %(min)d and %(max)d.",
                                           what=what, min=bounds[0], max=bounds[1]))


class ServicesField(Field):
    """The services ticked for one elder (``e<id>-svc``), each with its quantity
    (``e<id>-qty-<item id>``); ``offered`` (item id → name) is what the form shows.
    ``data`` is a list of DeliveryInput once validated."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=list, **kwargs)
        self.offered: dict[int, str] = {}
        self.quantities: dict[str, str] = {}

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, extra_filters=extra_filters)
        self.raw_data = self.raw_data or []  # a form sent empty has no formdata at all
        if formdata is not None:
            stem = self.name[:-len(self.short_name)]
            self.quantities = {raw: formdata.get(f"{stem}qty-{raw}") or "1"
                               for raw in self.raw_data}

    def process_formdata(self, valuelist):
        self.data = []  # read in pre_validate, where every problem can be reported

    def pre_validate(self, form):
        for raw in self.raw_data:
            try:
                item_id = record_id(raw)
            except ValueError:
                item_id = None
            if item_id not in self.offered:
                self.errors.append(str(_l("Unknown service.")))
                continue
            name = self.offered[item_id]
            try:
                amount = float(self.quantities[raw].strip())
            except ValueError:
                self.errors.append(str(_l("Enter the quantity as a number.")))
                continue
            if not 0 < amount <= menus.QUANTITY_MAX:  # NaN fails too
                self.errors.append(str(_l(
                    "The quantity of %(name)s must be more than 0 and at most %(max)d.",
                    name=name, max=menus.QUANTITY_MAX)))
                continue
            self.data.append(menus.DeliveryInput(item_id, amount))

    def names(self) -> str:
        """The ticked services' names, for a message."""
        return "、".join(self.offered[d.item_id] for d in self.data)


class ElderRecordForm(TextForm):
    """What was seen of one elder; prefixed with the elder's id inside a visit form.

    ``elder_name`` names the elder in the messages; ``offered`` (item id → name) are the
    services the form shows for them."""

    class Meta:
        csrf = False  # the enclosing VisitForm carries the token

    def __init__(self, *args, elder_name: str = "", offered: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.elder_name = elder_name
        self.svc.offered = offered or {}

    outcome = RadioField(_l("Outcome"), choices=labels.as_choices(labels.OUTCOMES),
                         validators=[InputRequired(_l("Choose what happened."))])
    systolic = WholeNumberField(_l("Blood pressure, upper"),
                                validators=[Optional(), _range(SYSTOLIC_RANGE, _l("Upper"))])
    diastolic = WholeNumberField(_l("Blood pressure, lower"),
                                 validators=[Optional(), _range(DIASTOLIC_RANGE, _l("Lower"))])
    pulse = WholeNumberField(_l("Pulse"), validators=[Optional(), _range(PULSE_RANGE, _l("Pulse"))])
    # Nothing chosen is no mood; anything else must be one of the buttons (spaces too).
    mood = RadioField(_l("Mood"), choices=labels.as_choices(labels.MOODS),
                      validators=[Optional(strip_whitespace=False)],
                      invalid_choice_message=_l("Choose the mood from the list."))
    notes = TextAreaField(_l("Notes"), validators=[
        Length(max=NOTES_MAX, message=_l("At most %(max)d characters.", max=NOTES_MAX))])
    svc = ServicesField(_l("Services delivered"))

    def validate_systolic(self, field):
        """An upper number needs its lower number."""
        if self.diastolic.data is None and not self.diastolic.raw_data_is_text():
            raise ValidationError(_l("Enter both blood pressure numbers, or neither."))

    def validate_diastolic(self, field):
        """A lower number needs its upper number, and lies below it."""
        upper, lower = self.systolic.data, field.data
        if upper is None and not self.systolic.raw_data_is_text():
            raise ValidationError(_l("Enter both blood pressure numbers, or neither."))
        if upper is not None and lower is not None and upper <= lower:
            raise ValidationError(_l("The upper blood pressure must be above the lower."))

    def validate(self, extra_validators=None) -> bool:
        """Every field's own rules; then, for an elder not met, no services, readings or mood,
        each refused at its own box with the elder's name."""
        valid = super().validate(extra_validators)
        if not self.outcome.data or self.outcome.data in MET_OUTCOMES:
            return valid
        if self.svc.data:
            self.svc.errors.append(str(_l(
                "%(name)s: services are recorded only for an elder who was met. Untick "
                "%(services)s, or change the outcome.",
                name=self.elder_name, services=self.svc.names())))
        for f in (self.systolic, self.pulse, self.mood):
            if f.data is not None and f.data != "":
                f.errors.append(str(_l(
                    "%(name)s: readings and mood are recorded only for an elder who was met.",
                    name=self.elder_name)))
        return valid and not (self.svc.errors or self.systolic.errors or self.pulse.errors
                              or self.mood.errors)


class VisitForm(TextForm):
    """The visit itself: a client-made idempotency key, the phone's clock, and a reason
    (required when ``manual``: the household number was typed in)."""

    def __init__(self, *args, manual: bool = False, household=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.manual = manual
        self.household = household  # for the limits of a "visited earlier" time

    idempotency_key = HiddenField(validators=[
        InputRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    client_time = HiddenField(validators=[Optional(), Length(max=40)])
    reason = StringField(_l("Why was the card not scanned?"), validators=[
        Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX))])
    # Volunteers only: how long the visit took, for their hours.
    minutes = WholeNumberField(_l("Minutes spent"), validators=[
        Optional(), _range(checkin.VISIT_MINUTES_RANGE, _l("Minutes"))])

    def validate_reason(self, field):
        """A visit without a scan says why."""
        if self.manual and not (field.data or "").strip():
            raise ValidationError(_l("Say why the card was not scanned."))

    # Recorded afterwards (the phone was dead): when the visit really was, local time.
    visited_at = DateTimeLocalField(_l("Visited earlier, at"), format="%Y-%m-%dT%H:%M",
                                    validators=[Optional()])

    def visited_datetime(self) -> datetime | None:
        """The "visited earlier" time as an aware datetime in the users' zone, if given."""
        value = self.visited_at.data
        return value.replace(tzinfo=local_zone()) if value is not None else None

    def validate_visited_at(self, field):
        """Not in the future, not too long ago, not before the household was on the list."""
        when = self.visited_datetime()
        if when is not None and self.household is not None and (
                problem := visit_times.late_entry_error(when, self.household, utcnow())):
            raise ValidationError(problem)

    # Sent from the phone's queue (kept there without signal): "1", and how many seconds it
    # waited there by the phone's own clock.
    queued = HiddenField(validators=[Optional(), AnyOf(["1"])])
    queued_age = WholeNumberField(validators=[Optional(), NumberRange(min=0)])

    def waited(self) -> timedelta | None:
        """How long a visit sent from the phone's queue waited there, when it says."""
        seconds = self.queued_age.data
        return None if seconds is None or seconds < 0 else timedelta(seconds=seconds)

    def client_datetime(self) -> datetime | None:
        """The phone's clock at submit time, if it sent a readable and plausible one."""
        try:
            value = datetime.fromisoformat(self.client_time.data or "")
        except ValueError:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return visit_times.plausible_client_time(aware, utcnow())


class NumberForm(TextForm):
    """The household number typed in when a card will not scan (sent with GET)."""

    number = StringField(_l("Household no."), validators=[
        InputRequired(_l("Type the number printed on the card."))])

    def validate_number(self, field):
        """Eight digits whose last one checks the others (spaces and dashes allowed)."""
        digits = doorcodes.normalise_household_number(field.data)
        if len(digits) != 8:
            raise ValidationError(_l("A household number has 8 digits; %(n)d were typed.",
                                     n=len(digits)))
        if not doorcodes.is_valid_household_number(digits):
            raise ValidationError(_l("The last digit does not match the others (it is a "
                                     "check digit): a digit was mistyped. Compare with the "
                                     "card."))


# The prefix of the one record a phone sends for a household it has no round pack for (the
# card or number is not in the pack, issue 26 §6): it knows no elder, so it asks one outcome
# and one note "for everyone registered at this door".
EVERYONE = "everyone"
_ELDER_FIELD = re.compile(r"^(?:e\d+|everyone)-")


def for_everyone(formdata, elder_ids: list[int]) -> MultiDict:
    """The form of a visit recorded for everyone at a door (``everyone-outcome`` and
    ``everyone-notes``), as the household's own form would have sent it: that outcome and note
    for each elder on the register. Any per-elder field sent with it is dropped, so nothing
    is recorded that the visitor did not choose for everyone."""
    data = MultiDict([(k, v) for k, v in formdata.items(multi=True)
                      if not _ELDER_FIELD.match(k)])
    for elder_id in elder_ids:
        for name in ("outcome", "notes"):
            if (value := formdata.get(f"{EVERYONE}-{name}")) is not None:
                data.add(f"e{elder_id}-{name}", value)
    return data


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


class CorrectionForm(TextForm):
    """Correcting a visit: the records come as ElderRecordForms; a word on what was wrong."""

    reason = StringField(_l("What was wrong (optional)"), validators=[
        Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX))])


class VoidForm(TextForm):
    """Voiding a visit needs a reason; the visit stays in histories, struck through."""

    reason = StringField(_l("Why is this visit void?"), filters=[lambda v: (v or "").strip()],
                         validators=[
        DataRequired(_l("Say why the visit is voided.")),
        Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX))])

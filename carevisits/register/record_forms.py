"""Forms of the register's household and elder pages; every rule is checked on the server
and every error shown at its field at once."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from carevisits import labels
from carevisits.forms import TextForm, TextSubForm, WholeNumberField
from carevisits.models import CareLevel, LivingSituation
from carevisits.models.base import local_today
from carevisits.services import devices
from carevisits.services import register_fields as fields

CONTACT_ROWS = 3  # empty rows the form offers
# The most contacts one elder may have: an imported cell may hold more than the form's empty
# rows (one contact per number), and editing the elder must not drop any of them.
CONTACTS_MAX = 10


def _birth_year(text: str) -> int:
    """A year of birth as typed in the form (a year, not an age)."""
    if not re.fullmatch(r"\s*\d{4}\s*", fields.plain(text)):
        raise fields.FieldError(_l("Birth year not understood"))
    return fields.birth_year(text, local_today())


def register_rule(parse, message=None):
    """A validator that applies a register field rule (services/register_fields, shared with
    the spreadsheet import) to the typed text; ``message`` replaces the rule's own words
    where the form can say more. The value is parsed again when the form is saved."""
    def validate(form, field):
        if (field.data or "").strip():
            try:
                parse(field.data)
            except fields.FieldError as error:
                raise ValidationError(message or str(error)) from None
    return validate


_phone = register_rule(fields.phone, _l("Enter a mobile number (11 digits) or a landline such "
                                         "as 0531-86123456."))


class HouseholdForm(TextForm):
    """A household's address: building, unit and room only when the address has them (a
    平房 or a courtyard is its road and number alone)."""

    address = StringField(_l("Road and number (e.g. 芙蓉街37号院)"), validators=[
        DataRequired(_l("Enter the road and number.")), Length(max=120)])
    building = StringField(_l("Building"), validators=[Optional(), Length(max=20)])
    unit = StringField(_l("Entrance (unit)"), validators=[Optional(), Length(max=20)])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=20)])

    def address_values(self) -> dict:
        """The address fields as the household service takes them."""
        return {f: getattr(self, f).data or "" for f in ("address", "building", "unit", "room")}


class NewHouseholdForm(HouseholdForm):
    """A new household: its grid and address."""

    grid = SelectField(_l("Grid"), coerce=int, validators=[
        InputRequired(_l("Choose a grid."))])


class GridForm(TextForm):
    """Move a household to another grid."""

    grid = SelectField(_l("Move to grid"), coerce=int, validators=[
        InputRequired(_l("Choose a grid."))])


class CloseForm(TextForm):
    """Close a record with a reason and a date that has passed."""

    reason = SelectField(_l("Why"), validators=[InputRequired(_l("Choose a reason."))])
    closed_on = DateField(_l("Since"), validators=[InputRequired(_l("Enter the date."))])

    def __init__(self, *args, reason_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        blank = [] if reason_required else labels.as_choices({"": "—"})
        self.reason.choices = blank + labels.as_choices(labels.CLOSED_REASONS)
        if not reason_required:
            self.reason.validators = [Optional()]
        if self.closed_on.data is None and not self.is_submitted():
            self.closed_on.data = local_today()

    def validate_closed_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("The date cannot be in the future."))


class ContactForm(TextSubForm):
    """One emergency contact: a name or a phone (an imported contact may have only one of
    them, and the record must stay editable); a blank row is ignored."""

    name = StringField(_l("Name"), validators=[Length(max=40)])
    relation = StringField(_l("Relation"), validators=[Length(max=20)])
    phone = StringField(_l("Phone"), validators=[_phone])

    def validate_name(self, field):
        if not (field.data or "").strip() and not self.phone.data and self.relation.data:
            raise ValidationError(_l("Enter the contact's name or phone."))


class ElderForm(TextForm):
    """Every field of an elder's record."""

    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the elder's name.")), Length(max=40)])
    gender = RadioField(_l("Gender"), choices=labels.as_choices(
        {"男": _l("Male"), "女": _l("Female")}), validators=[
        InputRequired(_l("Choose the gender."))])
    birth_year = StringField(_l("Year of birth"), validators=[
        DataRequired(_l("Enter the year of birth."))])
    phone = StringField(_l("Phone"), validators=[_phone])
    other_phones = StringField(_l("Further phone numbers"), validators=[Length(max=200)])
    contacts = FieldList(FormField(ContactForm), min_entries=CONTACT_ROWS,
                         max_entries=CONTACTS_MAX)
    living_situation = SelectField(_l("Living"), choices=labels.as_choices(labels.LIVING))
    care_level = SelectField(_l("Care level"), choices=labels.as_choices(labels.CARE_LEVELS))
    health_notes = TextAreaField(_l("Health notes"), validators=[Length(max=2000)])
    tags = StringField(_l("At the door (short words, separated by 、)"), validators=[
        Length(max=200)])
    notes = TextAreaField(_l("Notes for the visitor"), validators=[Length(max=2000)])
    confirm = BooleanField(_l("This is another person: save anyway"))

    def validate_other_phones(self, field):
        unread = fields.phones(field.data or "")[1]
        if unread:
            raise ValidationError(_l("Could not read %(text)s as a phone number",
                                     text="、".join(unread)))

    def validate_birth_year(self, field):
        register_rule(_birth_year, _l(
            "Enter a year of birth such as 1942 (age %(min)d to %(max)d).",
            min=fields.MIN_AGE, max=fields.MAX_AGE))(self, field)

    def validate_tags(self, field):
        register_rule(fields.tags)(self, field)

    def fill(self, elder) -> None:
        """Show an elder's record in the form."""
        for name in ("name", "gender", "phone", "health_notes", "notes"):
            getattr(self, name).data = getattr(elder, name)
        self.other_phones.data = "、".join(elder.other_phones)
        self.birth_year.data = str(elder.birth_year)
        self.living_situation.data = elder.living_situation.value
        self.care_level.data = elder.care_level.value
        self.tags.data = "、".join(elder.tags)
        while len(self.contacts) < min(len(elder.emergency_contacts), CONTACTS_MAX):
            self.contacts.append_entry()
        for row, contact in zip(self.contacts, elder.emergency_contacts, strict=False):
            row.form.name.data, row.form.relation.data, row.form.phone.data = (
                contact.get("name", ""), contact.get("relation", ""), contact.get("phone", ""))

    def values(self) -> dict:
        """The fields as the elder service takes them (blank contact rows left out)."""
        contacts = [{"name": fields.name(row.form.name.data),
                     "relation": (row.form.relation.data or "").strip(),
                     "phone": fields.phone(row.form.phone.data)}
                    for row in self.contacts
                    if (row.form.name.data or "").strip() or row.form.phone.data]
        phone = fields.phone(self.phone.data)
        return {"name": fields.name(self.name.data), "gender": self.gender.data,
                "birth_year": _birth_year(self.birth_year.data),
                "phone": phone,
                "other_phones": [n for n in fields.phones(self.other_phones.data or "")[0]
                                 if n != phone],
                "emergency_contacts": contacts,
                "living_situation": LivingSituation(self.living_situation.data),
                "care_level": CareLevel(self.care_level.data),
                "health_notes": (self.health_notes.data or "").strip(),
                "tags": fields.tags(self.tags.data),
                "notes": (self.notes.data or "").strip()}


class MoveElderForm(TextForm):
    """Move an elder to another household, found by its household number."""

    number = StringField(_l("Household number of the new home"), validators=[
        DataRequired(_l("Enter the household number."))])


class DeviceForm(TextForm):
    """Register a device to the household."""

    kind = SelectField(_l("Kind of device"), choices=labels.as_choices(labels.DEVICE_KINDS),
                       validators=[InputRequired()])
    code = StringField(_l("Device id"), validators=[DataRequired(), Length(max=64)])


class SilenceForm(TextForm):
    """The household's own threshold; empty: the street's."""

    silence_hours = WholeNumberField(
        _l("Hours without activity before an alert"),
        validators=[Optional(), NumberRange(*devices.SILENCE_RANGE)])


class RemoveForm(FlaskForm):
    """A button that removes one device."""

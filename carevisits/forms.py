"""The base of the app's forms: every free-text field is cleaned as the register import cleans
a cell (services/register_fields.clean: control and format characters such as NUL or a
zero-width space dropped, spaces around stripped) before it is validated, so a value of
spaces or invisible characters is a missing value (DataRequired) and none of them reaches
the database. Text keeps its full-width punctuation (点错了：老人去女儿家了); the rules of
fields that have a form of their own (phones, numbers, names, addresses) fold full-width
digits and letters themselves (register_fields.plain). Passwords and hidden fields are left
as sent.

Numbers typed into a box are WholeNumberFields: a few digits, checked as text before any
arithmetic, so that no value of hundreds of digits reaches a range check or the database.

This module is also the one home of the fields and forms several blueprints share (the
username and phone fields, the self sign-up form, the raise-a-request form of the elder
page): blueprints import them from here, never from each other."""

import re
from functools import cache

from babel.support import Translations
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Regexp, StopValidation

from carevisits import labels
from carevisits.models import RequestClass
from carevisits.services import requests
from carevisits.services.accounts import MIN_PASSWORD_LENGTH
from carevisits.services.register_fields import clean, plain

# Enough for any count, reading or minutes a form asks for (and far inside 32 bits).
DIGITS_MAX = 9
WHOLE_NUMBER = re.compile(r"[+-]?([0-9]+)")


def _clean_line(value):
    return clean(value, lines=False, fold=False) if isinstance(value, str) else value


def _clean_lines(value):
    return clean(value, fold=False) if isinstance(value, str) else value


class CleanTextMeta:
    """Form meta that puts the cleaning filter first on each free-text field."""

    def bind_field(self, form, unbound_field, options):
        kind = unbound_field.field_class
        if issubclass(kind, StringField) and not issubclass(kind, PasswordField | HiddenField):
            first = _clean_lines if issubclass(kind, TextAreaField) else _clean_line
            options["filters"] = (first, *unbound_field.kwargs.get("filters", ()),
                                  *options.get("filters", ()))
        return super().bind_field(form, unbound_field, options)


@cache
def _wtforms_messages(locale: str) -> Translations:
    """WTForms' own messages in one language, read from its catalogue once per process."""
    return Translations.load(messages_path(), [locale], domain="wtforms")


class TextForm(FlaskForm):
    """A form (with CSRF) whose free-text fields are cleaned."""

    class Meta(CleanTextMeta):
        def get_translations(self, form):
            """WTForms' messages in the user's language (Flask-WTF reads its catalogue
            file again at every request; this reads it once per language)."""
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_messages(str(get_locale()))


class TextSubForm(Form):
    """A form inside a form (FormField) whose free-text fields are cleaned."""

    Meta = type("Meta", (CleanTextMeta,), {})


class WholeNumberField(IntegerField):
    """An integer box that says what is wrong in the user's language: digits (full-width
    ones too) with an optional sign, at most DIGITS_MAX of them. A value it refuses is
    reported once, at the box: its range and the form's own checks are not run on it."""

    def process_formdata(self, valuelist):
        self.data = None
        text = plain(valuelist[0]).strip() if valuelist else ""
        if not text:
            return
        number = WHOLE_NUMBER.fullmatch(text)
        if number is None:
            raise ValueError(_l("Enter a whole number."))
        if len(number.group(1).lstrip("0")) > DIGITS_MAX:
            raise ValueError(_l("This number is too long: at most %(n)d digits.", n=DIGITS_MAX))
        self.data = int(text)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()

    def raw_data_is_text(self) -> bool:
        """Whether something that is not a number was typed (reported by the field itself)."""
        return bool(self.raw_data and self.raw_data[0].strip()) and self.data is None


def username_field() -> StringField:
    """A new account's username: what people type to sign in."""
    return StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username.")),
        Regexp(r"^[A-Za-z0-9_.-]{3,40}$",
               message=_l("3 to 40 letters, digits, dots, dashes or underscores."))])


def phone_field() -> StringField:
    """A phone number the community can call, required."""
    return StringField(_l("Phone"), validators=[
        DataRequired(_l("Enter a phone number the coordinator can call.")),
        Regexp(r"^[0-9+ -]{5,30}$", message=_l("Enter a phone number in digits."))])


class SignUpForm(TextForm):
    """A new account of one's own: the fields volunteers and family members share."""

    username = username_field()
    display_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter a name.")), Length(max=40)])
    phone = phone_field()
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Choose a password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=200,
               message=_l("At least %(min)d characters."))])
    confirm = PasswordField(_l("Password again"), validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


class RaiseForm(TextForm):
    """A request raised on the elder page: its kind, its size by the 7123 rule, and what is
    needed (recorded by services/requests.file_request)."""

    kind = SelectField(_l("Kind"), choices=labels.as_choices({k: k for k in requests.KINDS}))
    request_class = RadioField(_l("How big (7123 rule)"),
                               choices=labels.as_choices(labels.REQUEST_CLASSES),
                               default=RequestClass.SMALL.value)
    description = TextAreaField(_l("What is needed"), validators=[
        DataRequired(_l("Describe what is needed.")),
        Length(max=requests.DESCRIPTION_MAX, message=_l("At most %(max)d characters."))])

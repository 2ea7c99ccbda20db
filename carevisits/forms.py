"""The base of the app's forms: every free-text field is cleaned as the register import cleans
a cell (services/register_fields.clean: control and format characters such as NUL or a
zero-width space dropped, spaces around stripped) before it is validated, so a value of
spaces or invisible characters is a missing value (DataRequired) and none of them reaches
the database. Text keeps its full-width punctuation (点错了：老人去女儿家了); the rules of
fields that have a form of their own (phones, numbers, names, addresses) fold full-width
digits and letters themselves (register_fields.plain). Passwords and hidden fields are left
as sent.

Numbers typed into a box are WholeNumberFields: a few digits, checked as text before any
arithmetic, so that no value of hundreds of digits reaches a range check or the database."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

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


class TextForm(FlaskForm):
    """A form (with CSRF) whose free-text fields are cleaned."""

    Meta = type("Meta", (CleanTextMeta,), {})


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

"""The base of the app's forms: every free-text field is cleaned as the register import cleans
a cell (services/register_fields.clean: control and format characters such as NUL or a
zero-width space dropped, spaces around stripped) before it is validated, so a value of
spaces or invisible characters is a missing value (DataRequired) and none of them reaches
the database. Text keeps its full-width punctuation (点错了：老人去女儿家了); the rules of
fields that have a form of their own (phones, numbers, names, addresses) fold full-width
digits and letters themselves (register_fields.plain). Passwords and hidden fields are left
as sent."""

from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, PasswordField, StringField, TextAreaField

from carevisits.services.register_fields import clean


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

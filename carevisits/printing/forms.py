"""Forms for printing door cards."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, ValidationError

from carevisits import labels
from carevisits.forms import TextForm
from carevisits.services import cards

# The safe reprint first and chosen; new cards invalidate the ones on the doors.
MODES = {
    "reprint": _l("Reprint the same cards: nothing changes on the doors"),
    "new": _l("Print new cards: the old cards of these households stop working"),
}
DEFAULT_LAYOUT = "a4-8up"  # the office printer's A4 sheet


def layout_choices():
    """The layouts in printables/, titled in Chinese (the cards themselves are Chinese)."""
    return labels.as_choices({key: layout.title for key, layout in cards.layouts().items()})


class CardsForm(TextForm):
    """Layout and mode: what every print request needs."""

    layout = RadioField(_l("Layout"), validators=[InputRequired(_l("Choose a layout."))])
    mode = RadioField(_l("Cards"), choices=labels.as_choices(MODES), default="reprint",
                      validators=[InputRequired(_l("Choose new cards or a reprint."))])
    confirm_new = BooleanField(_l("Yes, the old cards of these households stop working now"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout.choices = layout_choices()
        if not self.is_submitted():
            keys = [c.value for c in self.layout.choices]
            self.layout.data = DEFAULT_LAYOUT if DEFAULT_LAYOUT in keys else next(iter(keys), None)

    def validate_confirm_new(self, field):
        """New cards revoke the old ones: only with the box ticked, checked here."""
        if self.mode.data == "new" and not field.data:
            raise ValidationError(_l("New cards make the old ones stop working: tick the box "
                                     "to confirm, or choose a reprint."))


class AreaPrintForm(CardsForm):
    """Every household of a street, community or grid."""

    area = SelectField(_l("Area"), validators=[InputRequired(_l("Choose an area."))])


class HouseholdPrintForm(CardsForm):
    """Chosen buildings and households of one grid."""

    buildings = SelectMultipleField(_l("Buildings"))
    households = SelectMultipleField(_l("Households"), coerce=int)

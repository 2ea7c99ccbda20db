"""Forms for printing door cards."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired

from carevisits import labels
from carevisits.services import cards

MODES = {
    "new": _l("Print new cards: the old cards of these households stop working"),
    "reprint": _l("Reprint the same cards: nothing changes on the doors"),
}


def layout_choices():
    """The layouts in printables/, titled in Chinese (the cards themselves are Chinese)."""
    return labels.as_choices({key: layout.title for key, layout in cards.layouts().items()})


class CardsForm(FlaskForm):
    """Layout and mode: what every print request needs."""

    layout = RadioField(_l("Layout"), validators=[InputRequired(_l("Choose a layout."))])
    mode = RadioField(_l("Cards"), choices=labels.as_choices(MODES),
                      validators=[InputRequired(_l("Choose new cards or a reprint."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout.choices = layout_choices()


class AreaPrintForm(CardsForm):
    """Every household of a street, community or grid."""

    area = SelectField(_l("Area"), validators=[InputRequired(_l("Choose an area."))])


class HouseholdPrintForm(CardsForm):
    """Chosen buildings and households of one grid."""

    buildings = SelectMultipleField(_l("Buildings"))
    households = SelectMultipleField(_l("Households"), coerce=int)

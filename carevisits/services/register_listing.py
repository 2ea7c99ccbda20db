"""The preview's list of what an import would do, row by row: every household and elder to
be created, changed, closed or reopened, with the values read and, for changes, each field's
old and new value — in the spreadsheet's own words (its headers, its list words)."""

from dataclasses import dataclass, field

from carevisits.models import CareLevel, ClosedReason, LivingSituation
from carevisits.services import register_fields as fields
from carevisits.services.register_mapping import COLUMNS

# Stored field → the template column that gives it.
FIELD_COLUMNS = {
    "grid_id": "grid", "address": "address", "building": "building", "unit": "unit",
    "room": "room", "gender": "gender", "birth_year": "birth", "phone": "phone",
    "other_phones": "other_phones", "living_situation": "living", "care_level": "care",
    "health_notes": "health", "notes": "notes", "tags": "tags",
    "emergency_contacts": "c1_name", "closed_reason": "status", "closed_on": "closed_on"}
ACTIONS = ("elder_create", "elder_update", "elder_close", "elder_reopen", "household_create",
           "household_update")


def column_of(name: str) -> str:
    """The spreadsheet header of a stored field (紧急联系人 for the contacts)."""
    return COLUMNS[FIELD_COLUMNS.get(name, name)][0] if name in FIELD_COLUMNS else name


def word(name: str, value, grids: dict[int, str] | None = None) -> str:
    """A stored value as the spreadsheet writes it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, LivingSituation):
        return fields.word_of(fields.LIVING_WORDS, value)
    if isinstance(value, CareLevel):
        return fields.word_of(fields.CARE_WORDS, value)
    if isinstance(value, ClosedReason):
        return fields.word_of(fields.STATUS_WORDS, value)
    if name == "grid_id" and grids is not None:
        return grids.get(value, str(value))
    if name == "emergency_contacts":
        return "；".join(" ".join(p for p in (c.get("relation"), c.get("name"), c.get("phone"))
                                 if p) for c in value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass
class Entry:
    """One record a row creates or changes: (header, value) pairs, or (header, old, new)."""

    action: str
    line: int
    record: str
    values: list[tuple[str, ...]] = field(default_factory=list)


class Listing:
    """Collects the entries of a preview (register_plan.Listing)."""

    def __init__(self, grids: dict[int, str]):
        self.grids = grids  # grid id → 社区 网格, to show a grid by its name
        self.entries: list[Entry] = []

    def add(self, action: str, line: int, record: str, values: dict, old: dict | None) -> None:
        """Note what a row does to one record."""
        if old is None:
            pairs = [(column_of(k), word(k, v, self.grids)) for k, v in values.items()
                     if k not in ("name",) and v not in (None, "", [])]
        else:
            pairs = [(column_of(k), word(k, old.get(k), self.grids), word(k, v, self.grids))
                     for k, v in values.items()]
        self.entries.append(Entry(action, line, record or values.get("name", ""), pairs))

    def counts(self) -> dict[str, int]:
        """Entries per action, every action present."""
        found = dict.fromkeys(ACTIONS, 0)
        for entry in self.entries:
            found[entry.action] += 1
        return found

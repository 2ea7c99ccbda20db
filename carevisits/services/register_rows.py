"""The rows of a register import: the street as stored (loaded once, set-based) and the
check of one row into household and elder values with its errors.

Matching: a household by its household number when the row has one, otherwise by its
address (address, building, unit, room) anywhere in the street — a known address in another
grid of the importer's area is a move. A blank cell, or a column the file lacks, leaves the
stored value as it is (a new elder gets the defaults: 独居, 一般)."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import Community, Device, Elder, Grid, Household
from carevisits.models.household import format_address
from carevisits.services import register_fields as fields
from carevisits.services.audit_log import app_changes
from carevisits.services.doorcodes import is_valid_household_number, normalise_household_number
from carevisits.services.register_mapping import COLUMNS, LIST_KEYS

ELDER_FIELDS = ("gender", "birth_year", "phone", "other_phones", "living_situation",
                "care_level", "health_notes", "notes", "tags", "emergency_contacts")
HOUSEHOLD_FIELDS = ("grid_id", "address", "building", "unit", "room")
KEEP = object()  # the cell was blank: the stored value stays


@dataclass
class RowError:
    """One problem of one row: row number as Excel shows it, column header, value, message."""

    line: int
    column: str
    value: str
    message: str


class Register:
    """The street as it is stored, loaded once with a few set-based queries."""

    def __init__(self, street_id: int, community_ids: set[int] | None,
                 exported_at: datetime | None = None):
        self.allowed = community_ids
        self.communities = {c.name: c.id for c in db.session.scalars(
            select(Community).where(Community.street_id == street_id))}
        self.grids: dict[tuple[int, str], int] = {}
        self.grid_community: dict[int, int] = {}
        for grid_id, community_id, name in db.session.execute(
                select(Grid.id, Grid.community_id, Grid.name).join(Community)
                .where(Community.street_id == street_id)):
            self.grids[(community_id, name)] = grid_id
            self.grid_community[grid_id] = community_id
        self.by_number: dict[str, dict] = {}
        self.by_address: dict[tuple, dict] = {}
        self.shared: set[tuple] = set()  # addresses of more than one open household
        for row in db.session.execute(
                select(Household.id, Household.number, Household.closed_at,
                       *(getattr(Household, f) for f in HOUSEHOLD_FIELDS))
                .where(Household.grid_id.in_(self.grid_community))).mappings():
            household = dict(row)
            self.by_number[household["number"]] = household
            if household["closed_at"] is None:
                key = address_key(household)
                if key in self.by_address:
                    self.shared.add(key)  # an old register may have two at one address
                self.by_address.setdefault(key, household)
        self.elders: dict[int, list[dict]] = defaultdict(list)
        self.active: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for row in db.session.execute(
                select(Elder.id, Elder.household_id, Elder.name, Elder.closed_reason,
                       Elder.closed_on, *(getattr(Elder, f) for f in ELDER_FIELDS))
                .join(Household).where(Household.grid_id.in_(self.grid_community))).mappings():
            elder = dict(row)
            self.elders[elder["household_id"]].append(elder)
            if elder["closed_reason"] is None:
                self.active[(elder["name"], elder["birth_year"])].append(elder)
        self.households_by_id = {h["id"]: h for h in self.by_number.values()}
        self.app_changes = app_changes(list(self.grid_community), exported_at)
        # The street's devices registered now: code → household id.
        self.devices: dict[str, int | None] = {code: household_id for code, household_id in (
            db.session.execute(select(Device.code, Device.household_id).join(Household).where(
                Device.removed_at.is_(None), Household.grid_id.in_(self.grid_community))))}

    def grid_names(self) -> dict[int, str]:
        """Grid id → 社区 网格, as the preview names a household's grid."""
        community_names = {cid: name for name, cid in self.communities.items()}
        return {gid: f"{community_names.get(cid, '')} {name}"
                for (cid, name), gid in self.grids.items()}

    def device_owner(self, code: str) -> int | None:
        """The household a device id is registered to now (0: one outside the street)."""
        if code not in self.devices:  # asked only for an id the street does not have
            elsewhere = db.session.scalar(select(Device.household_id).where(
                Device.code == code, Device.removed_at.is_(None)))
            self.devices[code] = 0 if elsewhere is not None else None
        return self.devices[code]

    def in_area(self, community_id: int) -> bool:
        """Whether the importer may write to this community."""
        return self.allowed is None or community_id in self.allowed


def address_key(values: dict) -> tuple[str, str, str, str]:
    """A household's address as a dictionary key."""
    return (values["address"], values["building"], values["unit"], values["room"])


def header_of(key: str) -> str:
    """The template's header of a column key (what the error table names)."""
    return COLUMNS[key][0]


class RowCheck:
    """Reads one row into household and elder values, collecting its errors."""

    def __init__(self, line: int, values: dict[str, str], register: Register, today: date,
                 names: dict[str, str]):
        self.line, self.values, self.register, self.today = line, values, register, today
        self.names = names  # column key → the header the file gives it
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []  # what was imported, but not all of it
        self.unknown: list[tuple[str, str]] = []  # (list field, word) not in its list

    def header(self, key: str) -> str:
        """The column's header as the file writes it (the template's when it has none)."""
        return self.names.get(key) or header_of(key)

    def error(self, key: str, message) -> None:
        """Note an error in the column ``key``."""
        self.errors.append(RowError(self.line, self.header(key), self.values.get(key, ""),
                                    message))

    def warn(self, key: str, message, value: str | None = None) -> None:
        """Note a warning in the column ``key``: the row is imported, not all of this cell."""
        self.warnings.append(RowError(self.line, self.header(key),
                                      self.values.get(key, "") if value is None else value,
                                      message))

    def cell(self, key: str, parse, blank=KEEP):
        """A parsed cell, ``blank`` when it is empty or absent, None after an error."""
        text = self.values.get(key, "")
        if not text:
            return blank
        try:
            return parse(text)
        except fields.FieldError as err:
            self.errors.append(RowError(self.line, self.header(key), text, err.args[0]))
            if key in LIST_KEYS:
                self.unknown.append((key, text))
            return None

    def household(self) -> dict | None:
        """The row's household: an existing one (``id``) or the columns of a new one."""
        number = normalise_household_number(self.values.get("number", ""))
        existing = None
        if self.values.get("number"):
            existing = self.register.by_number.get(number)
            if not is_valid_household_number(number):
                return self.error("number", _l("Malformed household number")) or None
            if existing is None:
                return self.error("number", _l("No such household number in this street"))
            if existing["closed_at"] is not None:
                return self.error("number", _l("This household has been closed"))
        grid_id = self.grid(existing)
        place = self.place(existing)
        if grid_id is None or place is None:
            return None
        if existing is None:
            key = address_key(place)
            if key in self.register.shared:
                return self.error("number", _l("Several households live at %(address)s: fill "
                                               "in the household number",
                                               address=format_address(*key)))
            existing = self.register.by_address.get(key)
        if existing is not None and not self.register.in_area(
                self.register.grid_community[existing["grid_id"]]):
            return self.error("address", _l("This household belongs to a community outside "
                                            "your area"))
        return {"id": existing["id"] if existing else None, "grid_id": grid_id, **place}

    def grid(self, existing: dict | None) -> int | None:
        """The grid named by 社区 and 网格 (or the household's own when both are blank)."""
        community_name, grid_name = self.values.get("community"), self.values.get("grid")
        if not community_name and not grid_name and existing is not None:
            return existing["grid_id"]
        community_id = self.register.communities.get(community_name) if community_name else None
        if community_name and community_id is None:
            return self.error("community", _l("No such community in this street"))
        if community_id is not None and not self.register.in_area(community_id):
            return self.error("community", _l("This community is outside your area"))
        if not grid_name:
            return self.error("grid", _l("Grid missing"))
        candidates = [gid for (cid, name), gid in self.register.grids.items()
                      if name == grid_name and (community_id is None or cid == community_id)
                      and self.register.in_area(cid)]
        if len(candidates) != 1:
            return self.error("grid", _l("No such grid in this community") if candidates == []
                              else _l("Several grids have this name: fill in the community"))
        return candidates[0]

    def place(self, existing: dict | None) -> dict | None:
        """Address, building, unit and room: from their own columns (building, unit and room
        may be blank) or, when those are all blank, split from the address cell
        (register_fields.address_parts: a cell that names no building, unit or room is an
        address of its own, such as a 平房)."""
        address = self.values.get("address", "")
        building, unit, room = (self.values.get(k, "") for k in ("building", "unit", "room"))
        if not address and existing is not None and not (building or unit or room):
            return {k: existing[k] for k in ("address", "building", "unit", "room")}
        if not address:
            return self.error("address", _l("Address missing"))
        parts = fields.address_parts(
            {"address": address, "building": building, "unit": unit, "room": room})
        for key, limit in (("address", 120), ("building", 20), ("unit", 20), ("room", 20)):
            if len(parts[key]) > limit:
                return self.error(key, _l("Too long"))
        return parts

    def elder(self) -> dict:
        """The elder's values from the row; KEEP for blank cells."""
        name = self.cell("name", fields.name, blank="")
        if name == "":
            self.error("name", _l("Name missing"))
        values = {
            "name": name,
            "gender": self.cell("gender", fields.gender),
            "birth_year": self.birth_year(),
            **self.phones(),
            "living_situation": self.cell("living", fields.living),
            "care_level": self.cell("care", fields.care_level),
            "health_notes": self.cell("health", str),
            "notes": self.cell("notes", str),
            "tags": self.cell("tags", fields.tags),
            "status": self.cell("status", fields.status),
            "closed_on": self.cell("closed_on", lambda t: fields.closed_on(t, self.today)),
            "emergency_contacts": self.contacts(),
            "devices": self.cell("devices", fields.devices, blank=[]),
        }
        self.id_card(values)
        return values

    def birth_year(self):
        """出生年份 (or a date), else 年龄 — used only when no birth date is given."""
        year = self.cell("birth", lambda t: fields.birth_year(t, self.today))
        if year is KEEP:
            year = self.cell("age", lambda t: fields.birth_year(t, self.today, is_age=True))
        return year

    def id_card(self, values: dict) -> None:
        """身份证号 gives the birth year and gender when the row has none (it is never
        kept); one that disagrees with them, or cannot be read, is a warning."""
        text = self.values.get("id_card", "")
        if not text:
            return
        masked = mask_id(text)
        try:
            born, gender = fields.id_card(text)
        except fields.FieldError as err:
            return self.warn("id_card", _l("%(problem)s: not used", problem=err.args[0]),
                             masked)
        for key, column, value in (("birth_year", "birth", born.year), ("gender", "gender",
                                                                          gender)):
            if values[key] is KEEP:
                values[key] = value
            elif values[key] is not None and values[key] != value:
                self.warn(column, _l("The ID number says %(value)s: kept what the column "
                                     "says", value=value))

    def phones(self) -> dict:
        """联系电话 and further numbers: the first mobile is the phone, every other number
        is kept as a further number; what is not a number is a warning (an error when the
        cell holds no number at all)."""
        numbers: list[str] = []
        given = [k for k in ("phone", "other_phones") if self.values.get(k)]
        for key in given:
            found, unread = fields.phones(self.values[key])
            if not found:
                self.error(key, _l("Neither a mobile number nor a landline"))
            for part in unread if found else ():
                self.warn(key, _l("Not a phone number, not kept: %(part)s", part=part))
            numbers += found
        if not numbers:
            return {"phone": KEEP, "other_phones": KEEP}
        phone, others = fields.main_phone(list(dict.fromkeys(numbers)))
        keep_others = others or "other_phones" in self.names
        return {"phone": phone, "other_phones": others if keep_others else KEEP}

    def contacts(self):
        """Emergency contacts from a 紧急联系人及电话 cell and from the contact columns (a
        name cell may hold the whole contact: 女儿 王芳 139…); KEEP when all are blank. What
        could not be fully used (a contact without a phone) is a warning."""
        found: list[dict] = []
        if self.values.get("contacts"):
            found += self.parse_contacts("contacts", self.values["contacts"])
        for n in ("1", "2"):
            relation = self.values.get(f"c{n}_relation", "")
            numbers, unread = self.cell(f"c{n}_phone", self.numbers, blank=([], [])) or ([], [])
            for part in unread:
                self.warn(f"c{n}_phone", _l("Not a phone number, not kept: %(part)s",
                                            part=part))
            if re.search(r"\d", self.values.get(f"c{n}_name", "")):  # the whole contact
                people = self.parse_contacts(f"c{n}_name", self.values[f"c{n}_name"])
                for person in people[:1]:
                    person["relation"] = person["relation"] or relation
                found += people
                numbers = [p for p in numbers if p not in {c["phone"] for c in people}]
                found += [{"name": people[0]["name"] if people else "", "relation": relation,
                           "phone": number} for number in numbers]
                continue
            name = self.cell(f"c{n}_name", fields.name, blank="") or ""
            if not (name or relation or numbers):
                continue
            if not numbers:
                self.warn(f"c{n}_name", _l("Contact %(name)s has no phone number",
                                           name=name or relation))
            found += [{"name": name, "relation": relation, "phone": number}
                      for number in numbers or [""]]
        return found or KEEP

    def numbers(self, text: str) -> tuple[list[str], list[str]]:
        """The numbers of a phone cell (FieldError when it holds none); the rest a warning."""
        found, unread = fields.phones(text)
        if not found:
            raise fields.FieldError(_l("Neither a mobile number nor a landline"))
        return found, unread

    def parse_contacts(self, key: str, text: str) -> list[dict]:
        """The contacts of one cell; what could not be fully used is a warning."""
        people, warnings = fields.contacts(text)
        for message in warnings:
            self.warn(key, message)
        return people


def mask_id(text: str) -> str:
    """An ID number as the preview may show it: the first 4 and last 2 characters."""
    compact = re.sub(r"\s+", "", text)
    return compact[:4] + "*" * max(len(compact) - 6, 0) + compact[-2:] if len(compact) > 6 \
        else "*" * len(compact)


def describe(household: dict) -> str:
    """An existing household for a warning: its number and address."""
    return f"{household['number']} {format_address(*address_key(household))}"

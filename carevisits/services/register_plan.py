"""Planning a register import row by row: each checked row against the rows before it (the
same person twice, two rows that disagree about one household) and against the stored
register (which elder it is, what differs). The planner keeps one small key per household and
per person of the file, never the rows: what a row changes goes to a writer as it comes (the
apply), or is only counted (the preview)."""

from collections import Counter
from datetime import date
from typing import NamedTuple, Protocol

from flask_babel import lazy_gettext as _l

from carevisits.models.household import format_address
from carevisits.services.register_rows import (
    ELDER_FIELDS,
    HOUSEHOLD_FIELDS,
    KEEP,
    Register,
    RowCheck,
    address_key,
    describe,
)

# What a plan counts (all present, zero or not, in the preview and the audit event).
COUNTS = ("households_create", "households_update", "households_unchanged", "elders_create",
          "elders_update", "elders_close", "elders_unchanged", "devices_add")


class Writer(Protocol):
    """Where the planned changes go, row by row (register_write.Writer makes them)."""

    def new_household(self, key: tuple, values: dict) -> None: ...
    def change_household(self, household_id: int, changes: dict) -> None: ...
    def new_elder(self, household, values: dict) -> None: ...
    def new_device(self, household, kind, code: str) -> None: ...
    def change_elder(self, elder_id: int, changes: dict) -> None: ...


class Seen(NamedTuple):
    """A household of the file as its first row gives it."""

    grid_id: int
    key: tuple
    line: int


class Planner:
    """Checks rows against each other and against the stored register; counts the changes
    and hands them to the writer, if any."""

    def __init__(self, register: Register, today: date, writer: Writer | None = None):
        self.register, self.today, self.writer = register, today, writer
        self.counts: Counter = Counter(dict.fromkeys(COUNTS, 0))
        self.warnings: list[str] = []
        self.households: dict[object, Seen] = {}  # household id, or address key of a new one
        self.addresses: dict[tuple, object] = {}  # address key → household id or key
        self.people: dict[tuple, int] = {}  # (household, name, birth year) → row
        self.devices: dict[str, tuple] = {}  # device id → (household, row) of the file

    def add(self, check: RowCheck, household: dict, elder: dict) -> None:
        """Plan one checked row, unless it contradicts another row or the register."""
        ref = self.household_ref(check, household)
        if ref is None:
            return
        existing, year = self.match_elder(check, ref, elder)
        if check.errors:
            return
        person = (ref, elder["name"], year)
        if person in self.people:
            return check.error("name", _l("The same person as row %(line)s",
                                          line=self.people[person]))
        if existing is None and not self.may_create(check, elder):
            return
        if not self.devices_free(check, ref, elder["devices"]):
            return
        self.people[person] = check.line
        if ref not in self.households:
            key = address_key(household)
            self.households[ref] = Seen(household["grid_id"], key, check.line)
            self.addresses[key] = ref
            self.plan_household(ref, household)
        if existing is None:
            self.new_elder(check, ref, elder)
        else:
            self.change_elder(existing, elder)
        self.plan_devices(check, ref, elder["devices"])

    def devices_free(self, check: RowCheck, ref, devices: list) -> bool:
        """Whether the row's devices are this household's or nobody's, in the file and in
        the register (an id is registered to one household at a time)."""
        for _kind, code in devices or []:
            seen = self.devices.get(code)
            owner = self.register.device_owner(code)
            if seen is not None and seen[0] != ref:
                check.error("devices", _l("Row %(line)s gives device %(code)s to another "
                                          "household", line=seen[1], code=code))
            elif owner is not None and owner != ref:
                check.error("devices", _l("Device %(code)s is registered to another "
                                          "household", code=code))
        return not check.errors

    def plan_devices(self, check: RowCheck, ref, devices: list) -> None:
        """Plan the row's devices not yet registered to the household (none is removed)."""
        for kind, code in devices or []:
            if code in self.devices or self.register.device_owner(code) == ref:
                continue
            self.devices[code] = (ref, check.line)
            self.counts["devices_add"] += 1
            if self.writer:
                self.writer.new_device(ref, kind, code)

    def household_ref(self, check: RowCheck, household: dict):
        """The household's id, or its address key when it is new; None after an error."""
        key = address_key(household)
        ref = household["id"] if household["id"] is not None else key
        seen = self.households.get(ref)
        if seen is not None and (seen.grid_id, seen.key) != (household["grid_id"], key):
            return check.error("grid", _l("Row %(line)s gives this household another grid or "
                                          "address", line=seen.line))
        if household["id"] is not None and address_key(
                self.register.households_by_id[ref]) == key:
            return ref  # matched by its own number at its own address: no clash to look for
        owner = self.addresses.get(key, ref)
        if owner != ref:
            return check.error("address", _l("Row %(line)s gives %(address)s to another "
                                             "household", line=self.households[owner].line,
                                             address=format_address(*key)))
        stored = self.register.by_address.get(key)
        if stored is not None and stored["id"] != ref:
            return check.error("address", _l("%(address)s is household %(number)s's",
                                             address=format_address(*key),
                                             number=stored["number"]))
        return owner  # the first row's key: later rows keep no copy of it

    def match_elder(self, check: RowCheck, ref, elder: dict):
        """The stored elder of this household and name (and birth year), and the year."""
        year = elder["birth_year"]
        candidates = [e for e in self.register.elders.get(ref, []) if e["name"] == elder["name"]]
        if len(candidates) > 1 and year is not KEEP:
            candidates = [e for e in candidates if e["birth_year"] == year] or candidates
        if len(candidates) > 1:
            check.error("birth", _l("Two elders of this name live here: give the birth year"))
            return None, None
        existing = candidates[0] if candidates else None
        return existing, (existing["birth_year"] if year is KEEP and existing else year)

    def may_create(self, check: RowCheck, elder: dict) -> bool:
        """Whether the row can make a new elder (it needs a birth year and no closing)."""
        if elder["birth_year"] is KEEP:
            check.error("birth", _l("Birth year missing"))
            return False
        if elder["status"] not in (KEEP, None):
            check.error("status", _l("Not on the register yet, so it cannot be closed"))
            return False
        return True

    def plan_household(self, ref, household: dict) -> None:
        """Plan a household at its first row: new, or the differences from the stored one."""
        values = {k: household[k] for k in HOUSEHOLD_FIELDS}
        if not isinstance(ref, int):
            self.counts["households_create"] += 1
            if self.writer:
                self.writer.new_household(ref, values)
            return
        stored = self.register.households_by_id[ref]
        changes = {k: v for k, v in values.items() if v != stored[k]}
        self.counts["households_update" if changes else "households_unchanged"] += 1
        if changes and self.writer:
            self.writer.change_household(ref, changes)

    def new_elder(self, check: RowCheck, ref, elder: dict) -> None:
        """Plan a new elder (warn of a namesake elsewhere in the street)."""
        self.counts["elders_create"] += 1
        if self.writer:
            values = {k: v for k, v in elder.items() if k in ELDER_FIELDS and v is not KEEP}
            self.writer.new_elder(ref, {"name": elder["name"], **values})
        for other in self.register.active.get((elder["name"], elder["birth_year"]), []):
            if other["household_id"] != ref:
                home = describe(self.register.households_by_id[other["household_id"]])
                self.warnings.append(str(_l(
                    "Row %(line)s: %(name)s (born %(year)s) is already on the register, "
                    "household %(home)s", line=check.line, name=elder["name"],
                    year=elder["birth_year"], home=home)))

    def change_elder(self, existing: dict, elder: dict) -> None:
        """Plan the differences between a stored elder and the row."""
        changes = {}
        for name in ELDER_FIELDS:
            value = elder[name]
            if value is KEEP:
                continue
            if name == "emergency_contacts":
                stored = existing[name] or []
                if [_contact(c) for c in stored[:2]] == value:
                    continue
                value = value + stored[2:]
            if value != existing[name]:
                changes[name] = value
        closing = self.lifecycle(existing, elder, changes)
        if changes and self.writer:
            self.writer.change_elder(existing["id"], changes)
        kind = "close" if closing else "update" if changes else "unchanged"
        self.counts[f"elders_{kind}"] += 1

    def lifecycle(self, existing: dict, elder: dict, changes: dict) -> bool:
        """Add a reopening, closing or new closing date to ``changes``; True when it closes."""
        status = elder["status"]
        if status is None and existing["closed_reason"] is not None:
            changes.update(closed_reason=None, closed_on=None)
        elif status not in (KEEP, None):
            on = elder["closed_on"] if elder["closed_on"] is not KEEP else (
                existing["closed_on"] or self.today)
            if (status, on) != (existing["closed_reason"], existing["closed_on"]):
                changes.update(closed_reason=status, closed_on=on)
                return existing["closed_reason"] is None
        return False


def _contact(contact: dict) -> dict:
    """A stored contact as the row's columns give one."""
    return {k: str(contact.get(k) or "") for k in ("name", "relation", "phone")}

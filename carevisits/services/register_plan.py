"""Planning a register import row by row: each checked row against the rows before it (the
same person twice, two rows that disagree about one household) and against the stored
register (which elder it is, what differs). The planner keeps one small key per household and
per person of the file, never the rows: what a row changes goes to a writer as it comes (the
apply), or is counted and listed (the preview, register_listing).

No silent undo: reopening a closed elder, and overwriting a value changed in the app after
the file was exported (Register.app_changes), are held back unless chosen (Choices)."""

from collections import Counter
from dataclasses import dataclass, field
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
          "elders_update", "elders_close", "elders_reopen", "elders_unchanged", "held",
          "devices_add")


LIFECYCLE = ("closed_reason", "closed_on")  # a reopening, chosen as one


@dataclass
class Choices:
    """What the importer chose to apply of what is held back: True for all, or the keys of
    the conflicts (e123: elder 123, h45: household 45)."""

    reopen: bool | set[str] = False
    overwrite: bool | set[str] = False

    def allows(self, kind: str, key: str) -> bool:
        """Whether a held change of this kind and record is chosen."""
        chosen = self.reopen if kind == "reopen" else self.overwrite
        return chosen is True or (isinstance(chosen, set) and key in chosen)


@dataclass
class Conflict:
    """A change held back: a reopening, or values changed in the app after the export."""

    kind: str  # reopen | newer
    key: str  # e123 / h45
    line: int
    label: str  # the elder's name, or the household's address
    changes: dict = field(default_factory=dict)  # field → (old, new)
    since: dict = field(default_factory=dict)  # field → when it was changed in the app


class Writer(Protocol):
    """Where the planned changes go, row by row (register_write.Writer makes them)."""

    def new_household(self, key: tuple, values: dict) -> None: ...
    def change_household(self, household_id: int, changes: dict) -> None: ...
    def new_elder(self, household, values: dict) -> None: ...
    def new_device(self, household, kind, code: str) -> None: ...
    def change_elder(self, elder_id: int, changes: dict) -> None: ...


class Listing(Protocol):
    """Where the preview lists what each row would do (register_listing.Listing)."""

    def add(self, action: str, line: int, record: str, values: dict, old: dict | None) -> None:
        ...


class Seen(NamedTuple):
    """A household of the file as its first row gives it."""

    grid_id: int
    key: tuple
    line: int


class Planner:
    """Checks rows against each other and against the stored register; counts the changes
    and hands them to the writer, if any."""

    def __init__(self, register: Register, today: date, writer: Writer | None = None,
                 choices: Choices | None = None, listing: Listing | None = None):
        self.register, self.today, self.writer = register, today, writer
        self.choices, self.listing = choices or Choices(), listing
        self.counts: Counter = Counter(dict.fromkeys(COUNTS, 0))
        self.warnings: list[str] = []
        self.conflicts: list[Conflict] = []
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
            self.plan_household(check, ref, household)
        if existing is None:
            self.new_elder(check, ref, elder)
        else:
            self.change_elder(check, existing, elder)
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

    def plan_household(self, check: RowCheck, ref, household: dict) -> None:
        """Plan a household at its first row: new, or the differences from the stored one."""
        values = {k: household[k] for k in HOUSEHOLD_FIELDS}
        if not isinstance(ref, int):
            self.counts["households_create"] += 1
            self.list("household_create", check.line, format_address(*ref), values)
            if self.writer:
                self.writer.new_household(ref, values)
            return
        stored = self.register.households_by_id[ref]
        changes = {k: v for k, v in values.items() if v != stored[k]}
        changes = self.newer(check, f"h{ref}", describe(stored), stored, changes)
        self.counts["households_update" if changes else "households_unchanged"] += 1
        if changes:
            self.list("household_update", check.line, describe(stored), changes, stored)
            if self.writer:
                self.writer.change_household(ref, changes)

    def new_elder(self, check: RowCheck, ref, elder: dict) -> None:
        """Plan a new elder (warn of a namesake elsewhere in the street)."""
        self.counts["elders_create"] += 1
        values = {k: v for k, v in elder.items() if k in ELDER_FIELDS and v is not KEEP}
        self.list("elder_create", check.line, elder["name"], values)
        if self.writer:
            self.writer.new_elder(ref, {"name": elder["name"], **values})
        for other in self.register.active.get((elder["name"], elder["birth_year"]), []):
            if other["household_id"] != ref:
                home = describe(self.register.households_by_id[other["household_id"]])
                self.warnings.append(str(_l(
                    "Row %(line)s: %(name)s (born %(year)s) is already on the register, "
                    "household %(home)s", line=check.line, name=elder["name"],
                    year=elder["birth_year"], home=home)))

    def change_elder(self, check: RowCheck, existing: dict, elder: dict) -> None:
        """Plan the differences between a stored elder and the row; a reopening and values
        changed in the app since the export are held back unless chosen."""
        changes = {}
        for name in ELDER_FIELDS:
            value = elder[name]
            if value is KEEP:
                continue
            if name == "emergency_contacts":
                stored = existing[name] or []  # contacts beyond the file's are kept
                if [_contact(c) for c in stored[:len(value)]] == [_contact(c) for c in value]:
                    continue
                value = value + stored[len(value):]
            if value != existing[name]:
                changes[name] = value
        closing = self.lifecycle(existing, elder, changes)
        key = f"e{existing['id']}"
        reopening = "closed_reason" in changes and changes["closed_reason"] is None
        if reopening and not self.choices.allows("reopen", key):
            self.hold("reopen", check, key, existing["name"], existing, changes, {})
            return
        lifecycle = {f: changes.pop(f) for f in LIFECYCLE if reopening and f in changes}
        changes = self.newer(check, key, existing["name"], existing, changes) | lifecycle
        closing = closing and "closed_reason" in changes
        if changes and self.writer:
            self.writer.change_elder(existing["id"], changes)
        kind = ("reopen" if reopening else "close" if closing else "update" if changes
                else "unchanged")
        self.counts[f"elders_{kind}"] += 1
        if changes:
            self.list(f"elder_{kind}", check.line, existing["name"], changes, existing)

    def newer(self, check: RowCheck, key: str, label: str, stored: dict,
              changes: dict) -> dict:
        """The changes without those of values changed in the app after the file was
        exported (held back, unless chosen)."""
        since = self.register.app_changes.get(key, {})
        held = {f: v for f, v in changes.items() if f in since}
        if not held or self.choices.allows("newer", key):
            return changes
        self.hold("newer", check, key, label, stored, held, since)
        return {f: v for f, v in changes.items() if f not in held}

    def hold(self, kind: str, check: RowCheck, key: str, label: str, stored: dict,
             changes: dict, since: dict) -> None:
        """Keep a conflict for the preview, its changes not applied."""
        self.counts["held"] += 1
        self.conflicts.append(Conflict(
            kind, key, check.line, label, {f: (stored.get(f), v) for f, v in changes.items()},
            {f: since[f] for f in changes if f in since}))

    def list(self, action: str, line: int, record: str | None, values: dict,
             old: dict | None = None) -> None:
        """Tell the listing, if any, what a row does."""
        if self.listing is not None:
            self.listing.add(action, line, record or "", values, old)

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
    """A contact as the row's columns give one."""
    return {k: str(contact.get(k) or "") for k in ("name", "relation", "phone")}

"""Writing a planned register import in batches: new households (with numbers and door
codes) and new elders (with their first schedule) by set-based INSERTs, the few changes of
stored records through the ORM and the elder services (lifecycle, alerts, audit). Between
batches it keeps only the ids of the households it created."""

import secrets
from datetime import date, timedelta

from sqlalchemy import insert, select

from carevisits.extensions import db
from carevisits.models import Device, DoorCode, Elder, Household, User
from carevisits.models.base import utcnow
from carevisits.services import audit, doorcodes, elders, schedule

BATCH = 1000  # planned records written per batch
CHUNK = 500  # ids per IN (…) when loading rows to change


class Writer:
    """Takes the planned changes row by row (register_plan) and writes them in batches."""

    def __init__(self, street_id: int, actor: User | None, today: date):
        self.actor, self.today = actor, today
        self.now = utcnow()
        self.grace = {level: timedelta(hours=grace)
                      for level, (_, grace) in schedule.street_policy(street_id).items()}
        self.ids: dict[tuple, int] = {}  # address key of a household made here → its id
        self.households: dict[tuple, dict] = {}
        self.elders: list[tuple[object, dict]] = []
        self.household_changes: dict[int, dict] = {}
        self.elder_changes: dict[int, dict] = {}
        self.devices: list[dict] = []

    def new_household(self, key: tuple, values: dict) -> None:
        """A household to create (its first row's columns)."""
        self.households[key] = values
        self._maybe_flush()

    def change_household(self, household_id: int, changes: dict) -> None:
        """New values for a stored household."""
        self.household_changes[household_id] = changes
        self._maybe_flush()

    def new_elder(self, household, values: dict) -> None:
        """An elder to create in a stored household (its id) or a new one (its key)."""
        self.elders.append((household, values))
        self._maybe_flush()

    def change_elder(self, elder_id: int, changes: dict) -> None:
        """New values for a stored elder, closing or reopening included."""
        self.elder_changes[elder_id] = changes
        self._maybe_flush()

    def new_device(self, household, kind, code: str) -> None:
        """A device to register to a stored household (its id) or a new one (its key)."""
        self.devices.append({"household": household, "kind": kind, "code": code})
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        """Write a batch once enough is pending."""
        pending = (len(self.households) + len(self.elders) + len(self.household_changes)
                   + len(self.elder_changes) + len(self.devices))
        if pending >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what is pending (the caller flushes once more after the last row)."""
        self._insert_households()
        self._insert_elders()
        self._insert_devices()
        self._change_households()
        self._change_elders()
        self.households, self.elders, self.devices = {}, [], []
        self.household_changes, self.elder_changes = {}, {}
        db.session.flush()

    def _insert_households(self) -> None:
        """INSERT … RETURNING the new households, then one door code each (what
        doorcodes.issue_code does, for many households that have no code yet)."""
        if not self.households:
            return
        keys = dict(zip(_fresh_numbers(len(self.households)), self.households, strict=True))
        rows = db.session.execute(
            insert(Household).returning(Household.id, Household.number),
            [{"number": number, **self.households[key]} for number, key in keys.items()])
        made = {keys[number]: household_id for household_id, number in rows}
        self.ids.update(made)
        db.session.execute(insert(DoorCode), [
            {"household_id": household_id, "token": doorcodes.new_token()}
            for household_id in made.values()])

    def _insert_elders(self) -> None:
        """INSERT the new elders, due a first visit at once (as schedule.refresh has it for
        an elder never seen: due when created, overdue after the street's grace period)."""
        if not self.elders:
            return
        rows = []
        for household, values in self.elders:
            row = {name: _default(name) for name in _ELDER_DEFAULTS} | values
            rows.append(row | {
                "household_id": self.ids.get(household, household), "created_at": self.now,
                "due_at": self.now, "overdue_at": self.now + self.grace[row["care_level"]]})
        db.session.execute(insert(Elder), rows)

    def _insert_devices(self) -> None:
        """INSERT the new devices (what services/devices.add does, audited with the import)."""
        if self.devices:
            db.session.execute(insert(Device), [
                {"household_id": self.ids.get(d["household"], d["household"]),
                 "kind": d["kind"], "code": d["code"], "added_at": self.now,
                 "added_by_id": self.actor.id if self.actor else None} for d in self.devices])

    def _change_households(self) -> None:
        """Set the new values of stored households (audited via the import)."""
        for household in _load(Household, self.household_changes):
            changes = self.household_changes[household.id]
            audit.record(self.actor, "household.update", "household", household.id,
                         via="import", changes={name: [getattr(household, name), value]
                                                for name, value in changes.items()})
            for name, value in changes.items():
                setattr(household, name, value)

    def _change_elders(self) -> None:
        """Set the new values of stored elders (audited as ``elder.update`` via the import);
        a new care level moves the schedule."""
        moved = []
        for elder in _load(Elder, self.elder_changes):
            changes = dict(self.elder_changes[elder.id])
            lifecycle = (changes.pop("closed_reason"), changes.pop("closed_on")) \
                if "closed_reason" in changes else None
            if changes:
                plain = elders.audit_value
                audit.record(self.actor, "elder.update", "elder", elder.id, via="import",
                             changes={name: [plain(getattr(elder, name)), plain(value)]
                                      for name, value in changes.items()})
            for name, value in changes.items():
                setattr(elder, name, value)
            if "care_level" in changes:
                moved.append(elder)
            if lifecycle is not None:
                self._lifecycle(elder, *lifecycle)
        schedule.refresh(moved)

    def _lifecycle(self, elder: Elder, reason, on: date | None) -> None:
        """Close, reopen or re-date a record through the elder services (alerts, audit)."""
        if elder.active and reason is not None:
            elders.close_elder(elder, reason=reason, on=on, actor=self.actor, today=self.today,
                               via="import")
            return
        if not elder.active:
            elders.reopen_elder(elder, actor=self.actor, via="import")
        if reason is not None:  # closed already, for another reason or date: record it anew
            elders.close_elder(elder, reason=reason, on=on, actor=self.actor, today=self.today,
                               via="import")


# The columns a row may leave blank, filled with the model's defaults (独居, 一般, "" …)
_ELDER_DEFAULTS = ("gender", "phone", "other_phones", "emergency_contacts", "living_situation",
                   "care_level", "health_notes", "notes", "tags")


def _default(name: str):
    """The model's Python default of an elder column (a fresh list for the JSON ones)."""
    default = Elder.__table__.c[name].default
    return default.arg(None) if default.is_callable else default.arg


def _fresh_numbers(n: int) -> list[str]:
    """``n`` unused household numbers (as doorcodes.new_household_number), checked in bulk."""
    found: set[str] = set()
    while len(found) < n:
        wanted = {_number() for _ in range(n - len(found))} - found
        for chunk in _chunks(sorted(wanted)):
            taken = set(db.session.scalars(select(Household.number)
                                           .where(Household.number.in_(chunk))))
            found.update(set(chunk) - taken)
    return sorted(found)[:n]


def _number() -> str:
    """A random household number with its check digit (not yet checked for use)."""
    body = f"{secrets.randbelow(10**7):07d}"
    return body + doorcodes.luhn_digit(body)


def _chunks(items: list) -> list[list]:
    """The items in lists of at most CHUNK."""
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _load(model, changes: dict[int, dict]) -> list:
    """The rows of ``model`` to change, loaded in chunks of ids."""
    rows = []
    for chunk in _chunks(sorted(changes)):
        rows.extend(db.session.scalars(select(model).where(model.id.in_(chunk))))
    return rows


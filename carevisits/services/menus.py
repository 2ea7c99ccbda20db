"""Service menus: the catalogue, each elder's menu, what is due at a visit, deliveries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    bindparam,
    exists,
    false,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.orm import contains_eager, joinedload

from carevisits.extensions import db
from carevisits.models import (
    Community,
    Delivery,
    Elder,
    Frequency,
    Grid,
    Household,
    MenuEntry,
    Role,
    ServiceItem,
    ServicePlace,
    User,
    Visit,
)
from carevisits.models.base import utcnow
from carevisits.services import audit

PERIOD = {Frequency.WEEKLY: timedelta(days=7), Frequency.MONTHLY: timedelta(days=30)}
QUANTITY_MAX = 100
# The catalogue every installation starts with: name → (category, unit, place).
SEED_CATALOGUE = {
    "助餐": ("生活照料", "份", ServicePlace.CENTRE),
    "助浴": ("生活照料", "次", ServicePlace.CENTRE),
    "助洁": ("生活照料", "小时", ServicePlace.DOOR),
    "助医": ("医疗健康", "次", ServicePlace.DOOR),
    "助行": ("出行", "次", ServicePlace.DOOR),
    "助急": ("应急", "次", ServicePlace.DOOR),
    "代买药": ("医疗健康", "次", ServicePlace.DOOR),
    "量血压": ("医疗健康", "次", ServicePlace.DOOR),
    "理发": ("生活照料", "次", ServicePlace.CENTRE),
    "洗衣": ("生活照料", "次", ServicePlace.DOOR),
    "代购生活用品": ("生活照料", "次", ServicePlace.DOOR),
    "读书读报": ("精神慰藉", "次", ServicePlace.DOOR),
    "谈心疏导": ("精神慰藉", "次", ServicePlace.DOOR),
    "康复运动": ("医疗健康", "次", ServicePlace.CENTRE),
}


# A service whose name says it measures one of these is the taking of a health reading
# (量血压, 测血糖 …): offered only to visitors who may record readings. Read from the name,
# as the catalogue has no column for it (a new service named so is covered at once).
READING_WORDS = ("血压", "血糖", "脉搏", "心率", "体温", "血氧")


def takes_readings(item: ServiceItem) -> bool:
    """Whether delivering the service means taking a health reading."""
    return any(word in item.name for word in READING_WORDS)


def any_takes_readings(item_ids: list[int]) -> bool:
    """Whether any of these services takes a health reading."""
    return bool(item_ids) and any(takes_readings(item) for item in db.session.scalars(
        select(ServiceItem).where(ServiceItem.id.in_(item_ids))))


class MenuError(ValueError):
    """A menu or delivery that breaks a rule; the message is for the person at the form."""


@dataclass
class DueService:
    """A menu entry as the visit form shows it."""

    entry: MenuEntry
    last: datetime | None
    due: bool  # pre-ticked on the form


@dataclass
class DeliveryInput:
    item_id: int
    quantity: float = 1
    notes: str = ""


# --- the catalogue: shared services, kept by admins, and each street's own ----------------

def elder_street(elder: Elder) -> ScalarSelect[int]:
    """The id of the elder's street, as a subquery (no lazy loads of household and grid)."""
    return (select(Community.street_id).join(Grid, Grid.community_id == Community.id)
            .join(Household, Household.grid_id == Grid.id)
            .where(Household.id == elder.household_id).scalar_subquery())


def shared_or_of(street) -> ColumnElement[bool]:
    """A WHERE clause on ServiceItem rows: the shared services and the street's own."""
    return ServiceItem.street_id.is_(None) | (ServiceItem.street_id == street)


def offered_to(elder: Elder) -> ColumnElement[bool]:
    """A WHERE clause on ServiceItem rows an elder may receive: the shared services and their
    own street's (never another street's)."""
    return shared_or_of(elder_street(elder))


def coordinator_street(user: User) -> int | None:
    """The street whose catalogue a coordinator uses: their street, or their community's."""
    if user.role != Role.COORDINATOR:
        return None
    return user.street_id or (user.community.street_id if user.community else None)


def catalogue_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ServiceItem rows a user's catalogue page shows: every service for an
    admin; the shared ones and their street's own for a coordinator; none for anyone else."""
    if user.role == Role.ADMIN:
        return true()
    street_id = coordinator_street(user)
    return false() if street_id is None else shared_or_of(street_id)


def catalogue(user: User) -> list[ServiceItem]:
    """The services a user's catalogue page lists: in use first, then by category and name."""
    return list(db.session.scalars(
        select(ServiceItem).where(catalogue_scope(user)).options(joinedload(ServiceItem.street))
        .order_by(ServiceItem.retired, ServiceItem.category, ServiceItem.name)))


def offered_items(elder: Elder) -> list[ServiceItem]:
    """The services that may go on an elder's menu: in use, shared or their street's, by name."""
    return list(db.session.scalars(select(ServiceItem).where(~ServiceItem.retired,
                                                             offered_to(elder))
                                   .order_by(ServiceItem.name)))


def keeps_catalogue_of(user: User) -> int | None:
    """The street whose own services a user adds and changes: a street coordinator's street.
    None for admins (they keep the shared services) and for everyone else (see may_add)."""
    return user.street_id if user.role == Role.COORDINATOR else None


def may_add(user: User) -> bool:
    """Whether a user adds services: admins (shared ones) and street coordinators (their
    street's). A community's coordinator uses the catalogue but does not change it: a
    service retired there would drop off the menus of the street's other communities."""
    return user.role == Role.ADMIN or keeps_catalogue_of(user) is not None


def may_change(user: User, item: ServiceItem) -> bool:
    """Whether a user may retire, bring back or delete the service: admins any service, a
    street coordinator their street's own (never a shared one, never another street's)."""
    if user.role == Role.ADMIN:
        return True
    return item.street_id is not None and item.street_id == keeps_catalogue_of(user)


def add_item(actor: User, *, name: str, category: str, unit: str,
             place: ServicePlace) -> ServiceItem:
    """Add a service to the actor's catalogue (admins: a shared one; a street coordinator:
    their street's own). A name may appear once among what any elder can be offered.
    Audited as ``service.create``."""
    if not may_add(actor):
        raise MenuError(_l("Only administrators and street coordinators add services."))
    street_id, name = keeps_catalogue_of(actor), name.strip()
    clash = ServiceItem.name == name
    if street_id is not None:  # a shared service, or the street's own, of this name
        clash &= shared_or_of(street_id)
    if db.session.scalar(select(exists().where(clash))):
        raise MenuError(_l("This service is already in the catalogue."))
    item = ServiceItem(street_id=street_id, name=name, category=category.strip(),
                       unit=unit.strip(), place=place)
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "service.create", "service_item", item.id, name=item.name,
                 street_id=item.street_id)
    return item


def retire_or_delete(actor: User, item: ServiceItem) -> str:
    """Retire a service (or bring it back); one never used is deleted instead (it is on no
    menu and in no delivery, so nothing is lost). Returns what was done — delete, retire or
    restore —, audited as ``service.<done>``. Who may: may_change."""
    if not may_change(actor, item):
        raise MenuError(_l("Only administrators change the shared services; a street "
                           "coordinator changes the street's own."))
    item_id = item.id
    if not item.retired and not item_used(item):
        db.session.delete(item)
        done = "delete"
    else:
        item.retired = not item.retired
        done = "retire" if item.retired else "restore"
    audit.record(actor, f"service.{done}", "service_item", item_id)
    return done


def seed_catalogue() -> int:
    """Add the standard services that are missing; returns how many were added."""
    have = set(db.session.scalars(select(ServiceItem.name)))
    added = [ServiceItem(name=n, category=c, unit=u, place=p)
             for n, (c, u, p) in SEED_CATALOGUE.items() if n not in have]
    db.session.add_all(added)
    return len(added)


def item_used(item: ServiceItem) -> bool:
    """Whether any menu or delivery refers to the item (then it can only be retired)."""
    return db.session.scalar(select(
        exists().where(MenuEntry.item_id == item.id) | exists().where(Delivery.item_id == item.id)))


def current_menu(elder: Elder, today: date) -> list[MenuEntry]:
    """The elder's menu entries in force today (a retired service drops off the menu, and so
    does another street's: an elder whose household moved to another street)."""
    return current_menus([elder], today)[elder.id]


def current_menus(elders: list[Elder], today: date) -> dict[int, list[MenuEntry]]:
    """Elder id → their menu entries in force today (see ``current_menu``), in one query."""
    found: dict[int, list[MenuEntry]] = {e.id: [] for e in elders}
    for entry in db.session.scalars(_menus_in_force(), {"elders": list(found), "today": today}):
        found[entry.elder_id].append(entry)
    return found


@cache
def _menus_in_force(last: bool = False) -> Select:
    """SELECT of elders' menu entries in force on a day (elder ids bound as ``elders``, the
    day as ``today``), items loaded, in menu order; with ``last``, each entry with when it
    was last delivered (an index seek per entry). Built once: the door form asks it."""
    street = (select(Community.street_id).join(Grid, Grid.community_id == Community.id)
              .join(Household, Household.grid_id == Grid.id)
              .join(Elder, Elder.household_id == Household.id)
              .where(Elder.id == MenuEntry.elder_id).scalar_subquery())
    today = bindparam("today")
    query = (select(MenuEntry).join(ServiceItem).options(contains_eager(MenuEntry.item))
             .where(MenuEntry.elder_id.in_(bindparam("elders", expanding=True)),
                    MenuEntry.ended_at.is_(None), ~ServiceItem.retired, shared_or_of(street),
                    MenuEntry.starts_on <= today,
                    (MenuEntry.ends_on.is_(None)) | (MenuEntry.ends_on >= today))
             .order_by(ServiceItem.category, ServiceItem.name))
    if not last:
        return query
    return query.add_columns(
        select(func.max(Delivery.delivered_at))
        .where(Delivery.elder_id == MenuEntry.elder_id, Delivery.item_id == MenuEntry.item_id)
        .correlate(MenuEntry).scalar_subquery())


def last_deliveries(elder_ids: list[int]) -> dict[tuple[int, int], datetime]:
    """(elder, item) → when it was last delivered, in one grouped query."""
    rows = db.session.execute(
        select(Delivery.elder_id, Delivery.item_id, func.max(Delivery.delivered_at))
        .where(Delivery.elder_id.in_(elder_ids))
        .group_by(Delivery.elder_id, Delivery.item_id))
    return {(e, i): at for e, i, at in rows}


def due_services(elder: Elder, now: datetime, today: date, *,
                 readings: bool = True) -> list[DueService]:
    """The elder's menu with what falls due on a visit now (every visit, or its period
    since the last delivery has passed); without ``readings`` (a roster whose volunteers
    record none), services that take a health reading are not offered at all."""
    return due_services_of([elder], now, today, readings=lambda _elder: readings)[elder.id]


def due_services_of(elders: list[Elder], now: datetime, today: date, *,
                     readings=lambda elder: True) -> dict[int, list[DueService]]:
    """Elder id → ``due_services`` of each, in one query whatever their number;
    ``readings(elder)`` says whether readings are taken at that elder's door."""
    by_id = {elder.id: elder for elder in elders}
    result: dict[int, list[DueService]] = {elder.id: [] for elder in elders}
    for entry, at in db.session.execute(_menus_in_force(last=True),
                                        {"elders": list(by_id), "today": today}):
        if readings(by_id[entry.elder_id]) or not takes_readings(entry.item):
            result[entry.elder_id].append(DueService(entry, at, _is_due(entry, at, now)))
    return result


def _is_due(entry: MenuEntry, last: datetime | None, now: datetime) -> bool:
    """Every visit, or its period since the last delivery has passed."""
    if entry.frequency == Frequency.EVERY_VISIT:
        return True
    if entry.frequency in PERIOD:
        return last is None or now - last >= PERIOD[entry.frequency]
    return False


def delivered_at_visits(visit_ids: list[int]) -> dict[tuple[int, int], list[Delivery]]:
    """(visit id, elder id) → the services delivered there, items loaded, in one query: what
    every visit line shows (confirmation, staff and family histories)."""
    found: dict[tuple[int, int], list[Delivery]] = {}
    if visit_ids:
        for d in db.session.scalars(select(Delivery).where(Delivery.visit_id.in_(visit_ids))
                                    .options(joinedload(Delivery.item)).order_by(Delivery.id)):
            found.setdefault((d.visit_id, d.elder_id), []).append(d)
    return found


def next_due(entry: MenuEntry, last: datetime | None) -> datetime | None:
    """When a periodic service is next due (None: every visit or on request)."""
    if entry.frequency not in PERIOD:
        return None
    return (last + PERIOD[entry.frequency]) if last else None


def add_to_menu(elder: Elder, *, item: ServiceItem, frequency: Frequency, notes: str,
                starts_on: date, ends_on: date | None, actor: User) -> MenuEntry:
    """Put a service on the elder's menu (replacing the entry for it, if any). Audited as
    ``menu.add``."""
    if item.retired:
        raise MenuError(_l("This service is retired."))
    if not db.session.scalar(select(exists().where(ServiceItem.id == item.id,
                                                   offered_to(elder)))):
        raise MenuError(_l("This service belongs to another street's catalogue."))
    if ends_on is not None and ends_on < starts_on:
        raise MenuError(_l("The end date is before the start date."))
    for old in db.session.scalars(select(MenuEntry).where(
            MenuEntry.elder_id == elder.id, MenuEntry.item_id == item.id,
            MenuEntry.ended_at.is_(None))):
        _close(old, actor)  # replaced: the new entry's menu.add says so
    entry = MenuEntry(elder=elder, item=item, frequency=frequency, notes=notes.strip(),
                      starts_on=starts_on, ends_on=ends_on, created_by=actor)
    db.session.add(entry)
    audit.record(actor, "menu.add", "elder", elder.id, item=item.name)
    return entry


def end_entry(entry: MenuEntry, actor: User) -> None:
    """Take a service off the menu; the entry stays as history. Audited as ``menu.end``."""
    _close(entry, actor)
    audit.record(actor, "menu.end", "elder", entry.elder_id, item=entry.item.name)


def _close(entry: MenuEntry, actor: User) -> None:
    entry.ended_at, entry.ended_by = utcnow(), actor


def record_deliveries(visit: Visit, elder: Elder, given: list[DeliveryInput]) -> None:
    """Record what was delivered to an elder at a visit, after checking every line."""
    # Another street's service is unknown here, like one that does not exist.
    items = {i.id: i for i in db.session.scalars(select(ServiceItem).where(
        ServiceItem.id.in_([g.item_id for g in given]), offered_to(elder)))}
    seen, rows = set(), []
    for g in given:
        item = items.get(g.item_id)
        if item is None:
            raise MenuError(_l("Unknown service."))
        if item.retired:
            raise MenuError(_l("%(name)s is retired and can no longer be delivered.",
                               name=item.name))
        if not 0 < g.quantity <= QUANTITY_MAX:
            raise MenuError(_l("The quantity of %(name)s must be more than 0 and at most "
                               "%(max)d.", name=item.name, max=QUANTITY_MAX))
        if g.item_id in seen:
            raise MenuError(_l("%(name)s is listed twice.", name=item.name))
        seen.add(g.item_id)
        rows.append({"visit_id": visit.id, "elder_id": elder.id, "item_id": item.id,
                     "quantity": g.quantity, "notes": g.notes.strip()[:200],
                     "delivered_at": visit.occurred_at})
    db.session.execute(insert(Delivery), rows)  # one statement, however many services

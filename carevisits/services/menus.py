"""Service menus: the catalogue, each elder's menu, what is due at a visit, deliveries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from carevisits.extensions import db
from carevisits.models import (
    Delivery,
    Elder,
    Frequency,
    MenuEntry,
    ServiceItem,
    ServicePlace,
    User,
    Visit,
)
from carevisits.models.base import utcnow

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
    """The elder's menu entries in force today (a retired service drops off the menu)."""
    return list(db.session.scalars(
        select(MenuEntry).join(ServiceItem)
        .where(MenuEntry.elder_id == elder.id, MenuEntry.ended_at.is_(None), ~ServiceItem.retired,
               MenuEntry.starts_on <= today,
               (MenuEntry.ends_on.is_(None)) | (MenuEntry.ends_on >= today))
        .order_by(ServiceItem.category, ServiceItem.name)))


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
    menu = [e for e in current_menu(elder, today) if readings or not takes_readings(e.item)]
    last = last_deliveries([elder.id])
    result = []
    for entry in menu:
        at = last.get((elder.id, entry.item_id))
        if entry.frequency == Frequency.EVERY_VISIT:
            due = True
        elif entry.frequency in PERIOD:
            due = at is None or now - at >= PERIOD[entry.frequency]
        else:
            due = False
        result.append(DueService(entry, at, due))
    return result


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
    """Put a service on the elder's menu (replacing the entry for it, if any)."""
    if item.retired:
        raise MenuError(_l("This service is retired."))
    if ends_on is not None and ends_on < starts_on:
        raise MenuError(_l("The end date is before the start date."))
    for old in db.session.scalars(select(MenuEntry).where(
            MenuEntry.elder_id == elder.id, MenuEntry.item_id == item.id,
            MenuEntry.ended_at.is_(None))):
        end_entry(old, actor)
    entry = MenuEntry(elder=elder, item=item, frequency=frequency, notes=notes.strip(),
                      starts_on=starts_on, ends_on=ends_on, created_by=actor)
    db.session.add(entry)
    return entry


def end_entry(entry: MenuEntry, actor: User) -> None:
    """Take a service off the menu; the entry stays as history."""
    entry.ended_at, entry.ended_by = utcnow(), actor


def record_deliveries(visit: Visit, elder: Elder, given: list[DeliveryInput]) -> None:
    """Record what was delivered to an elder at a visit, after checking every line."""
    items = {i.id: i for i in db.session.scalars(
        select(ServiceItem).where(ServiceItem.id.in_([g.item_id for g in given])))}
    seen = set()
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
        db.session.add(Delivery(visit_id=visit.id, elder_id=elder.id, item_id=item.id,
                                quantity=g.quantity, notes=g.notes.strip()[:200],
                                delivered_at=visit.occurred_at))

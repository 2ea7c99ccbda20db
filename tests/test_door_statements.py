"""The door's work per request does not grow with the data (issue 16, item 2).

A door request sends a small, fixed number of SQL statements whatever the number of elders
in the area, the services on the household's menus, the deliveries and visits behind them
and the alerts open in the worker's area; and nothing is loaded lazily while the form is
built and rendered (one statement per service item from the template was measured once).
The form GET is the same for one elder at the door or two; the check-in writes a record
for each elder met (one or two live in a household), a fixed few statements each."""

import re
import secrets
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    CareLevel,
    Frequency,
    Outcome,
    ServiceItem,
    VisitMethod,
)
from carevisits.models.base import local_today
from carevisits.services import alerts, checkin, menus
from tests import factories
from tests.conftest import login

# The most statements a door request may send (the signed-in form GET, the check-in POST).
GET_STATEMENTS = 7
POST_STATEMENTS = 25


@contextmanager
def watched():
    """The SQL statements sent meanwhile, and every lazy load of a relationship."""
    sent, lazy = [], []

    def statement(conn, cursor, text, parameters, context, executemany):
        sent.append(text)

    def orm(state):
        if state.is_select and state.lazy_loaded_from is not None:
            lazy.append(str(state.statement))

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(Session, "do_orm_execute", orm)
    try:
        yield sent, lazy
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(Session, "do_orm_execute", orm)


def a_household(world, elders: int, services: int, history: int, open_alerts: int):
    """A household of the worker's grid with ``elders`` elders, ``services`` services on each
    one's menu, ``history`` earlier visits with deliveries, and ``open_alerts`` other
    households in the grid with an open alert."""
    grid = world.h1.grid
    household = factories.household(grid, elders=elders, care_level=CareLevel.KEY)
    db.session.flush()
    items = list(db.session.scalars(select(ServiceItem).order_by(ServiceItem.id)))[:services]
    for elder in household.elders:
        for item in items:
            menus.add_to_menu(elder, item=item, frequency=Frequency.WEEKLY, notes="",
                              starts_on=local_today(), ends_on=None, actor=world.admin)
    for n in range(history):
        checkin.record_visit(
            visitor=world.worker, household=household, method=VisitMethod.SCANNED,
            door_code=household.code, idempotency_key=f"history-{household.id}-{n:04d}",
            records=[checkin.ElderRecordInput(
                e.id, Outcome.MET_WELL, deliveries=[menus.DeliveryInput(i.id, 1) for i in items])
                for e in household.elders])
    for _ in range(open_alerts):
        other = factories.household(grid)
        db.session.flush()
        alerts.raise_alert(other.elders[0], AlertKind.ABNORMAL, AlertLevel.WARNING, {})
    db.session.commit()
    return household, [i.id for i in items]


def door_requests(client, household, items) -> tuple[list, list, list, list]:
    """The statements and lazy loads of the form GET and of the check-in POST (each after a
    first request of its kind: whatever a worker's first request does once)."""
    path = f"/c/{household.code.token}"
    client.get(path)
    with watched() as (get_sent, get_lazy):
        page = client.get(path)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and household.elders[0].name in body
    for elder in household.elders:  # the form as the worker sees it: every outcome button
        for value, words in (("met_well", "见到，一切正常"), ("no_answer", "敲门无应答")):
            assert re.search(rf'<label class="choice choice-{value}"><input id="e{elder.id}-'
                             rf'outcome-\d" name="e{elder.id}-outcome" required type="radio" '
                             rf'value="{value}"><span>{words}</span></label>', body)

    def post():
        return client.post(path, headers={"Accept": "application/json"}, data={
            "idempotency_key": secrets.token_urlsafe(18),
            **{f"e{e.id}-outcome": "met_well" for e in household.elders},
            **{f"e{e.id}-svc": [str(i) for i in items] for e in household.elders}})

    assert post().status_code == 201
    with watched() as (post_sent, post_lazy):
        answer = post()
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return get_sent, get_lazy, post_sent, post_lazy


@pytest.fixture
def catalogue(app):
    menus.seed_catalogue()
    db.session.commit()


def test_a_door_request_sends_the_same_statements_however_much_there_is(
        client, world, catalogue):
    login(client, world.worker)
    one = a_household(world, elders=1, services=1, history=1, open_alerts=0)
    small = a_household(world, elders=2, services=1, history=1, open_alerts=0)
    big = a_household(world, elders=2, services=6, history=12, open_alerts=5)
    one_get, one_get_lazy, one_post, _ = door_requests(client, *one)
    small_get, small_get_lazy, small_post, small_post_lazy = door_requests(client, *small)
    big_get, big_get_lazy, big_post, big_post_lazy = door_requests(client, *big)

    assert one_get_lazy == small_get_lazy == big_get_lazy == [], "the form loads lazily"
    assert small_post_lazy == big_post_lazy == [], "the check-in loads something lazily"
    assert len(one_get) == len(small_get) == len(big_get) <= GET_STATEMENTS, listed(big_get)
    assert len(one_post) < len(small_post) == len(big_post) <= POST_STATEMENTS, listed(big_post)


def listed(statements: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:160] for s in statements)

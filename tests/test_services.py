"""Service menus, deliveries at the door, requests (诉求) by the 7123 rule, their overdue
alerts, monthly figures and the street office's exports — through the pages a worker or
coordinator uses, on the scope each of them has."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from carevisits import labels
from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertStatus,
    AuditEvent,
    Delivery,
    Frequency,
    MenuEntry,
    Outcome,
    RequestClass,
    RequestSource,
    RequestStatus,
    ServiceItem,
    ServiceRequest,
    Visit,
    VisitMethod,
)
from carevisits.models.base import utcnow
from carevisits.services import checkin, menus, requests
from tests.conftest import count, latest, login

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTHING_SAVED_ZH = "未保存"
DELIVERY_HEADER_ZH = ["时间", "社区", "户号", "地址", "老人", "服务", "类别", "数量", "单位",
                      "服务人员", "备注"]
REQUEST_HEADER_ZH = ["提出时间", "社区", "户号", "老人", "类型", "描述", "7123分类", "办结时限",
                     "状态", "办结时间", "处理结果"]


@pytest.fixture
def catalogue(app):
    """The standard catalogue (the tests empty every table, the seeded one too)."""
    menus.seed_catalogue()
    db.session.commit()
    return {i.name: i for i in db.session.scalars(select(ServiceItem))}


# --- helpers ---------------------------------------------------------------------------

def item_id(name: str) -> int:
    return db.session.scalar(select(ServiceItem.id).where(ServiceItem.name == name))


def local_today():
    return utcnow().astimezone(SHANGHAI).date()


def this_month() -> str:
    return utcnow().astimezone(SHANGHAI).strftime("%Y-%m")


def put_on_menu(client, elder_id, name, frequency, **extra):
    return client.post(f"/elders/{elder_id}/menu", data={
        "item": str(item_id(name)), "frequency": frequency, "notes": extra.pop("notes", ""),
        "starts_on": local_today().isoformat(), **extra})


def outcomes(household, outcome="met_well"):
    return {f"e{e.id}-outcome": outcome for e in household.elders}


def check_in(client, household, key, **fields):
    data = {"idempotency_key": key, **outcomes(household)}
    data.update(fields)
    return client.post(f"/c/{household.code.token}", data=data)


def menu_table(page: str) -> str:
    """The elder page's service menu table."""
    start = page.index("<h2>服务菜单</h2>")
    return page[start:page.index("</table>", start)]


def due(body: str, elder_id: int, iid: int) -> bool:
    """Whether the check-in form shows the service as due (never ticked: issue 26)."""
    match = re.search(rf'<label class="pick service( due)?">\s*<input type="checkbox" '
                      rf'name="e{elder_id}-svc" value="{iid}"( checked)?>', body)
    assert match, f"service {iid} is not on the form of elder {elder_id}"
    assert match.group(2) is None, f"service {iid} is ticked before anyone chose it"
    return match.group(1) is not None


def raise_for(elder, *, description="需要帮忙换灯泡", request_class=RequestClass.SMALL,
              at=None, actor=None, kind="生活照料", source=RequestSource.PHONE):
    """A request taken by phone, through the service, committed."""
    r = requests.raise_request(elder, kind=kind, description=description,
                               request_class=request_class, source=source, actor=actor, at=at)
    db.session.commit()
    return r


def deliver(household, visitor, deliveries_by_elder, key):
    """A visit with deliveries through the check-in service, committed."""
    records = [checkin.ElderRecordInput(elder_id=e.id, outcome=Outcome.MET_WELL,
                                        deliveries=deliveries_by_elder.get(e.id, []))
               for e in household.elders]
    visit, _ = checkin.record_visit(visitor=visitor, household=household, records=records,
                                    idempotency_key=key, method=VisitMethod.SCANNED,
                                    door_code=household.code)
    db.session.commit()
    return visit


def request_overdue_alerts(elder_id=None):
    db.session.rollback()
    query = select(Alert).where(Alert.kind == AlertKind.REQUEST_OVERDUE)
    if elder_id is not None:
        query = query.where(Alert.elder_id == elder_id)
    return db.session.scalars(query).all()


def set_status(client, request_id, status, note=""):
    return client.post(f"/requests/{request_id}", data={"status": status, "note": note})


# --- 1. menu → visit → delivery → summary ------------------------------------------------

def test_menu_visit_delivery_and_monthly_summary(client, world, catalogue):
    elder, other = world.h1.elders
    login(client, world.worker)
    bp, meal = item_id("量血压"), item_id("助餐")
    for name, freq in (("量血压", "weekly"), ("助餐", "every_visit")):
        response = put_on_menu(client, elder.id, name, freq)
        assert response.status_code == 302, response.get_data(as_text=True)
    assert count(MenuEntry, MenuEntry.elder_id == elder.id) == 2
    menu = menu_table(client.get(f"/elders/{elder.id}").get_data(as_text=True))
    assert "量血压" in menu and "助餐" in menu and "每周" in menu and "每次探访" in menu

    # The form shows both services due (not ticked): nothing delivered yet.
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert due(form, elder.id, bp) and due(form, elder.id, meal)
    assert f'name="e{other.id}-svc"' not in form  # the other elder has no menu

    yesterday = utcnow() - timedelta(hours=26)
    response = check_in(client, world.h1, "svc-visit-000000001",
                        client_time=yesterday.isoformat(),
                        **{f"e{elder.id}-svc": [str(bp), str(meal)],
                           f"e{elder.id}-qty-{bp}": "1", f"e{elder.id}-qty-{meal}": "2"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    rows = db.session.scalars(select(Delivery).order_by(Delivery.item_id)).all()
    assert {(d.elder_id, d.item_id, d.quantity) for d in rows} == {
        (elder.id, bp, 1.0), (elder.id, meal, 2.0)}
    visit1 = latest(Visit)
    assert all(d.delivered_at == visit1.occurred_at for d in rows)
    assert abs(visit1.occurred_at - yesterday) < timedelta(seconds=1)

    # The elder page: last delivered (local time) and next due a week later for 量血压.
    page = menu_table(client.get(f"/elders/{elder.id}").get_data(as_text=True))
    assert "上次服务" in page
    last_local = visit1.occurred_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    next_local = (visit1.occurred_at + timedelta(days=7)).astimezone(SHANGHAI).strftime(
        "%Y-%m-%d %H:%M")
    assert last_local in page and next_local in page

    # The next day: 量血压 (weekly, given yesterday) is not due, 助餐 is.
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert not due(form, elder.id, bp)
    assert due(form, elder.id, meal)
    response = check_in(client, world.h1, "svc-visit-000000002",
                        **{f"e{elder.id}-svc": [str(meal)], f"e{elder.id}-qty-{meal}": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert count(Delivery) == 3 and count(Visit) == 2
    # The same form sent again (a resend from a phone) records nothing more.
    response = check_in(client, world.h1, "svc-visit-000000002",
                        **{f"e{elder.id}-svc": [str(meal)], f"e{elder.id}-qty-{meal}": "1"})
    assert response.status_code == 302
    assert count(Delivery) == 3 and count(Visit) == 2

    # The summary of each month the visits fell in counts them per community and elder.
    expected: dict[str, dict[str, list]] = {}
    for at, given in ((visit1.occurred_at, {"量血压": 1.0, "助餐": 2.0}),
                      (latest(Visit).occurred_at, {"助餐": 1.0})):
        month = at.astimezone(SHANGHAI).strftime("%Y-%m")
        for name, qty in given.items():
            n_q = expected.setdefault(month, {}).setdefault(name, [0, 0.0])
            n_q[0] += 1
            n_q[1] += qty
    assert this_month() in expected
    login(client, world.community_coordinator)
    for month, per_service in expected.items():
        response = client.get(f"/coordinator/summary?month={month}")
        assert response.status_code == 200
        body = re.sub(r"\s+", "", response.get_data(as_text=True))
        for name, (n, qty) in per_service.items():
            # community · service · times · quantity · elders
            assert re.search(rf"<td>甲社区</td><td>{name}</td><td>{n}</td>"
                             rf"<td>{int(qty)}(\.0)?</td><td>1</td>", body), (month, name)
            assert f'<td><ahref="/elders/{elder.id}">{elder.name}</a></td><td>{name}</td>' \
                   f"<td>{n}</td>" in body, (month, name)


# --- 2. menu changes are history ---------------------------------------------------------

def test_changing_or_removing_a_menu_entry_keeps_it_as_history(client, world, catalogue):
    elder = world.h1.elders[0]
    login(client, world.worker)
    assert put_on_menu(client, elder.id, "量血压", "weekly").status_code == 302
    first = latest(MenuEntry)
    assert put_on_menu(client, elder.id, "量血压", "monthly", notes="改为每月").status_code == 302
    db.session.rollback()
    entries = db.session.scalars(select(MenuEntry).where(MenuEntry.elder_id == elder.id)
                                 .order_by(MenuEntry.id)).all()
    assert [e.frequency for e in entries] == [Frequency.WEEKLY, Frequency.MONTHLY]
    assert entries[0].id == first.id and entries[0].ended_at is not None
    assert entries[0].ended_by_id == world.worker.id
    assert entries[1].ended_at is None and entries[1].notes == "改为每月"
    menu = menu_table(client.get(f"/elders/{elder.id}").get_data(as_text=True))
    assert "每月" in menu and "改为每月" in menu and "每周" not in menu
    assert menu.count("<tr>") == 2  # the header and one service

    response = client.post(f"/elders/{elder.id}/menu/{entries[1].id}/end")
    assert response.status_code == 302
    db.session.rollback()
    kept = db.session.scalars(select(MenuEntry).where(MenuEntry.elder_id == elder.id)).all()
    assert len(kept) == 2 and all(e.ended_at is not None for e in kept)
    assert menus.current_menu(db.session.get(type(elder), elder.id), local_today()) == []
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-svc"' not in form
    assert "尚未约定服务。" in menu_table(client.get(f"/elders/{elder.id}").get_data(as_text=True))


def test_ending_an_entry_of_another_elder_is_404(client, world, catalogue):
    elder, other = world.h1.elders
    login(client, world.worker)
    put_on_menu(client, elder.id, "助餐", "every_visit")
    entry = latest(MenuEntry)
    assert client.post(f"/elders/{other.id}/menu/{entry.id}/end").status_code == 404
    assert latest(MenuEntry).ended_at is None


# --- 3. catalogue ------------------------------------------------------------------------

def test_coordinators_keep_the_catalogue(client, world, catalogue):
    assert len(catalogue) == 14
    login(client, world.coordinator)
    response = client.post("/coordinator/services", data={
        "name": "陪同散步", "category": "精神慰藉", "unit": "次", "place": "door"})
    assert response.status_code == 302
    added = latest(ServiceItem)
    assert added.name == "陪同散步" and not added.retired
    assert "陪同散步" in client.get("/coordinator/services").get_data(as_text=True)
    # The same name twice is refused.
    response = client.post("/coordinator/services", data={
        "name": "陪同散步", "category": "精神慰藉", "unit": "次", "place": "door"})
    assert response.status_code == 422
    assert count(ServiceItem, ServiceItem.name == "陪同散步") == 1

    # Unused: retiring deletes it.
    assert client.post(f"/coordinator/services/{added.id}/retire").status_code == 302
    assert count(ServiceItem, ServiceItem.name == "陪同散步") == 0


def test_a_used_service_is_retired_not_deleted_and_cannot_be_used_again(client, world,
                                                                        catalogue):
    elder = world.h1.elders[0]
    bp = item_id("量血压")
    login(client, world.worker)
    assert put_on_menu(client, elder.id, "量血压", "every_visit").status_code == 302
    login(client, world.admin)  # a shared service: the admins keep it
    assert client.post(f"/coordinator/services/{bp}/retire").status_code == 302
    db.session.rollback()
    item = db.session.get(ServiceItem, bp)
    assert item is not None and item.retired

    login(client, world.worker)
    entries = count(MenuEntry)
    response = put_on_menu(client, world.h1.elders[1].id, "量血压", "weekly")
    assert response.status_code == 422
    assert "不是有效的选择" in response.get_data(as_text=True)
    assert count(MenuEntry) == entries
    # …nor through the service.
    with pytest.raises(menus.MenuError) as err:
        menus.add_to_menu(world.h1.elders[1], item=item, frequency=Frequency.WEEKLY, notes="",
                          starts_on=local_today(), ends_on=None, actor=world.worker)
    assert str(err.value) == "此服务已停用。"
    db.session.rollback()

    # It drops off the elder's menu: the form no longer offers it (a ticked box would make
    # every visit to this elder fail)…
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-svc" value="{bp}"' not in form
    # …and a forged tick cannot deliver it.
    response = check_in(client, world.h1, "svc-retired-0000001",
                        **{f"e{elder.id}-svc": [str(bp)]})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "没有这项服务。" in body and NOTHING_SAVED_ZH in body
    assert count(Visit) == 0 and count(Delivery) == 0
    # The service layer refuses it too, for any caller that skips the form.
    with pytest.raises(menus.MenuError) as refused:
        menus.record_deliveries(latest_visit_stub(world.h1), elder, [menus.DeliveryInput(bp)])
    assert str(refused.value) == "量血压已停用，不能再记录。"


def latest_visit_stub(household) -> Visit:
    """An unsaved visit to pass to the service layer directly."""
    return Visit(id=0, household_id=household.id, occurred_at=utcnow())


def test_workers_cannot_touch_the_catalogue(client, world, catalogue):
    login(client, world.worker)
    assert client.get("/coordinator/services").status_code == 403
    assert client.post("/coordinator/services", data={
        "name": "X", "category": "Y", "unit": "次", "place": "door"}).status_code == 403
    assert client.post(f"/coordinator/services/{item_id('理发')}/retire").status_code == 403
    assert count(ServiceItem) == 14
    db.session.rollback()
    assert not db.session.get(ServiceItem, item_id("理发")).retired


# --- 4. requests: where they come from, deadlines, owner, lifecycle, lists ---------------

def test_a_request_raised_at_the_door(client, world, catalogue):
    elder = world.h1.elders[0]
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert f'name="e{elder.id}-req-desc"' in form
    response = check_in(client, world.h1, "svc-request-0000001", **{
        f"e{elder.id}-req-desc": "厨房水管漏水", f"e{elder.id}-req-kind": "房屋维修",
        f"e{elder.id}-req-class": "bigger"})
    assert response.status_code == 302, response.get_data(as_text=True)
    r, visit = latest(ServiceRequest), latest(Visit)
    assert count(ServiceRequest) == 1
    assert (r.elder_id, r.kind, r.description, r.request_class, r.source, r.status) == (
        elder.id, "房屋维修", "厨房水管漏水", RequestClass.BIGGER, RequestSource.VISIT,
        RequestStatus.OPEN)
    assert r.visit_id == visit.id and r.raised_at == visit.occurred_at
    assert r.deadline == visit.occurred_at + timedelta(days=2)
    assert r.owner_id == world.worker.id and r.raised_by_id == world.worker.id


def test_a_request_raised_on_the_elder_page(client, world):
    elder = world.h2.elders[0]
    login(client, world.community_coordinator)
    before = utcnow()
    response = client.post(f"/requests/elders/{elder.id}", data={
        "kind": "医疗健康", "request_class": "hard", "description": "  需要陪同去医院复查  "})
    assert response.status_code == 302
    r = latest(ServiceRequest)
    assert response.headers["Location"].endswith(f"/requests/{r.id}")
    assert r.description == "需要陪同去医院复查" and r.source == RequestSource.ELDER_PAGE
    assert before <= r.raised_at <= utcnow()
    assert r.deadline - r.raised_at == timedelta(days=3)
    # The owner is the grid worker of the elder's grid, not the coordinator who raised it.
    assert r.owner_id == world.other_worker.id
    assert r.raised_by_id == world.community_coordinator.id
    page = client.get(f"/requests/{r.id}").get_data(as_text=True)
    assert "需要陪同去医院复查" in page
    assert r.deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in page
    assert "需要陪同去医院复查" in client.get(f"/elders/{elder.id}").get_data(as_text=True)


def test_a_request_taken_by_phone_for_an_elder_of_a_grid_without_worker(app, world):
    r = raise_for(world.h3.elders[0], actor=world.coordinator)
    assert r.source == RequestSource.PHONE
    assert r.owner_id == world.coordinator.id  # nobody works the grid: whoever took it


@pytest.mark.parametrize("raised_local, request_class, deadline_local, deadline_utc", [
    ("2026-11-30 23:50", RequestClass.SMALL, "2026-12-01 23:50", "2026-12-01 15:50"),
    ("2026-12-31 22:00", RequestClass.HARD, "2027-01-03 22:00", "2027-01-03 14:00"),
    ("2026-02-28 23:59", RequestClass.BIGGER, "2026-03-02 23:59", "2026-03-02 15:59"),
    ("2028-02-28 00:10", RequestClass.SMALL, "2028-02-29 00:10", "2028-02-28 16:10"),
    ("2026-11-30 00:30", RequestClass.SMALL, "2026-12-01 00:30", "2026-11-30 16:30"),
])
def test_7123_deadlines_around_midnight_and_month_ends(client, world, raised_local,
                                                       request_class, deadline_local,
                                                       deadline_utc):
    fmt = "%Y-%m-%d %H:%M"
    at = datetime.strptime(raised_local, fmt).replace(tzinfo=SHANGHAI)
    r = raise_for(world.h1.elders[0], request_class=request_class, at=at, actor=world.worker)
    stored = latest(ServiceRequest)  # as read back from the database
    assert stored.id == r.id
    assert stored.deadline.astimezone(SHANGHAI).strftime(fmt) == deadline_local
    assert stored.deadline.astimezone(UTC).strftime(fmt) == deadline_utc
    assert stored.deadline == at + timedelta(days=request_class.days)
    login(client, world.worker)
    page = client.get(f"/requests/{r.id}").get_data(as_text=True)
    assert deadline_local in page


def test_request_lifecycle(client, world):
    elder = world.h1.elders[0]
    r = raise_for(elder, actor=world.worker)
    login(client, world.worker)

    response = set_status(client, r.id, "closed")  # open → closed skips a step
    assert response.status_code == 422
    assert "诉求不能从当前状态转到该状态。" in response.get_data(as_text=True)
    assert latest(ServiceRequest).status == RequestStatus.OPEN

    assert set_status(client, r.id, "in_progress").status_code == 302
    assert latest(ServiceRequest).status == RequestStatus.IN_PROGRESS

    response = set_status(client, r.id, "resolved")  # no note
    assert response.status_code == 422
    assert "请说明处理结果或撤销原因。" in response.get_data(as_text=True)
    assert latest(ServiceRequest).status == RequestStatus.IN_PROGRESS

    assert set_status(client, r.id, "resolved", "已联系物业更换").status_code == 302
    done = latest(ServiceRequest)
    assert done.status == RequestStatus.RESOLVED and done.resolution == "已联系物业更换"
    assert done.finished_at is not None

    assert set_status(client, r.id, "closed").status_code == 302
    closed = latest(ServiceRequest)
    assert closed.status == RequestStatus.CLOSED
    assert [e.status for e in closed.events] == [
        RequestStatus.OPEN, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED,
        RequestStatus.CLOSED]
    response = set_status(client, r.id, "in_progress")  # closed is the end
    assert response.status_code == 422
    assert "诉求不能从当前状态转到该状态。" in response.get_data(as_text=True)
    assert "已办结" in response.get_data(as_text=True)

    # Cancelling needs a reason.
    other = raise_for(elder, description="想办理高龄补贴", kind="政策咨询", actor=world.worker)
    response = set_status(client, other.id, "cancelled")
    assert response.status_code == 422
    assert "请说明处理结果或撤销原因。" in response.get_data(as_text=True)
    assert db.session.get(ServiceRequest, other.id).status == RequestStatus.OPEN
    assert set_status(client, other.id, "cancelled", "家属已代办").status_code == 302
    db.session.rollback()
    cancelled = db.session.get(ServiceRequest, other.id)
    assert cancelled.status == RequestStatus.CANCELLED and cancelled.resolution == "家属已代办"


def test_request_lists_by_scope_overdue_first(client, world):
    now = utcnow()
    g1_elder, g2_elder, c2_elder = (world.h1.elders[0], world.h2.elders[0],
                                    world.h3.elders[0])
    done = raise_for(g1_elder, description="甲-早已办结", at=now - timedelta(days=9))
    raise_for(g1_elder, description="甲-已超期", at=now - timedelta(days=2))
    raise_for(g1_elder, description="甲-刚提出", at=now - timedelta(hours=1))
    raise_for(g2_elder, description="乙网格的诉求")
    raise_for(c2_elder, description="乙社区的诉求")
    done.status = RequestStatus.CLOSED
    db.session.commit()

    login(client, world.worker)
    body = client.get("/requests/").get_data(as_text=True)
    assert "甲-已超期" in body and "甲-刚提出" in body
    assert "乙网格的诉求" not in body and "乙社区的诉求" not in body
    assert "甲-早已办结" not in body  # open ones only by default
    assert body.index("甲-已超期") < body.index("甲-刚提出")
    assert "已超期" in body[:body.index("甲-已超期")]  # marked overdue
    # With closed ones too: the overdue one still comes first, before an older closed one.
    body = client.get("/requests/?all=1").get_data(as_text=True)
    assert body.index("甲-已超期") < body.index("甲-早已办结")
    assert body.index("甲-已超期") < body.index("甲-刚提出")
    # "Mine": the worker owns the requests of their grid.
    body = client.get("/requests/?mine=1").get_data(as_text=True)
    assert "甲-已超期" in body and "甲-刚提出" in body and "乙网格的诉求" not in body

    login(client, world.community_coordinator)  # 甲社区: grids one and two
    body = client.get("/requests/").get_data(as_text=True)
    assert "甲-已超期" in body and "乙网格的诉求" in body and "乙社区的诉求" not in body
    assert body.index("甲-已超期") < body.index("甲-刚提出")
    assert body.index("甲-已超期") < body.index("乙网格的诉求")


def test_a_worker_gets_404_for_a_request_of_another_grid(client, world):
    theirs = raise_for(world.h2.elders[0], description="别的网格")
    login(client, world.worker)
    assert client.get(f"/requests/{theirs.id}").status_code == 404
    assert set_status(client, theirs.id, "in_progress").status_code == 404
    assert latest(ServiceRequest).status == RequestStatus.OPEN
    # Nor can they raise one for an elder of another grid.
    response = client.post(f"/requests/elders/{world.h2.elders[0].id}", data={
        "kind": "其他", "request_class": "small", "description": "越权"})
    assert response.status_code == 404
    assert count(ServiceRequest) == 1


# --- 5. overdue requests raise one alert; closing the last resolves it --------------------

def test_an_overdue_request_raises_one_alert_until_the_last_is_closed(client, runner, world):
    elder = world.h1.elders[0]
    now = utcnow()
    first = raise_for(elder, description="第一件", at=now - timedelta(days=3))
    second = raise_for(elder, description="第二件", at=now - timedelta(days=2))
    assert request_overdue_alerts() == []

    # Before the deadline: nothing.
    before = (first.deadline - timedelta(minutes=1)).isoformat()
    result = runner.invoke(args=["alerts", "scan", "--at", before])
    assert result.exit_code == 0, result.output
    assert request_overdue_alerts() == []

    at = now.isoformat()
    for _ in range(2):
        result = runner.invoke(args=["alerts", "scan", "--at", at])
        assert result.exit_code == 0, result.output
    alerts_now = request_overdue_alerts()
    assert len(alerts_now) == 1 and alerts_now[0].elder_id == elder.id
    assert alerts_now[0].status == AlertStatus.OPEN
    # …and the service is idempotent too.
    assert requests.scan_overdue_requests(utcnow()) == []
    db.session.commit()
    assert len(request_overdue_alerts()) == 1

    login(client, world.worker)
    assert "诉求超期" in client.get("/alerts/").get_data(as_text=True)

    # Closing one while the other is still overdue keeps the alert open.
    assert set_status(client, first.id, "resolved", "已处理").status_code == 302
    assert set_status(client, first.id, "closed").status_code == 302
    (alert,) = request_overdue_alerts()
    assert alert.status != AlertStatus.RESOLVED

    # Closing the last resolves it; a new scan does not bring it back.
    assert set_status(client, second.id, "cancelled", "老人已自行解决").status_code == 302
    (alert,) = request_overdue_alerts()
    assert alert.status == AlertStatus.RESOLVED
    runner.invoke(args=["alerts", "scan", "--at", at])
    assert [a.status for a in request_overdue_alerts()] == [AlertStatus.RESOLVED]


def test_a_request_not_yet_overdue_raises_nothing(app, world):
    raise_for(world.h1.elders[0], request_class=RequestClass.HARD)
    assert requests.scan_overdue_requests(utcnow()) == []
    db.session.commit()
    assert request_overdue_alerts() == []


# --- 6. bad input: a clear Chinese message and nothing stored ----------------------------

BAD_DOOR_INPUT = {
    "unknown service": (lambda e, bp: {f"e{e}-svc": ["999999"]}, "没有这项服务。"),
    "digit-like service id": (lambda e, bp: {f"e{e}-svc": ["²"]}, "没有这项服务。"),
    "service not on the menu": (lambda e, bp: {f"e{e}-svc": [str(item_id("理发"))]},
                                "没有这项服务。"),
    "negative quantity": (lambda e, bp: {f"e{e}-svc": [str(bp)], f"e{e}-qty-{bp}": "-1"},
                          "量血压的数量应大于0且不超过100。"),
    "zero quantity": (lambda e, bp: {f"e{e}-svc": [str(bp)], f"e{e}-qty-{bp}": "0"},
                      "量血压的数量应大于0且不超过100。"),
    "huge quantity": (lambda e, bp: {f"e{e}-svc": [str(bp)], f"e{e}-qty-{bp}": "1000"},
                      "量血压的数量应大于0且不超过100。"),
    "non-numeric quantity": (lambda e, bp: {f"e{e}-svc": [str(bp)], f"e{e}-qty-{bp}": "两"},
                             "数量请填数字。"),
    "NaN quantity": (lambda e, bp: {f"e{e}-svc": [str(bp)], f"e{e}-qty-{bp}": "nan"},
                     "量血压的数量应大于0且不超过100。"),
    "3000-character request": (lambda e, bp: {f"e{e}-req-desc": "漏" * 3000,
                                              f"e{e}-req-kind": "房屋维修",
                                              f"e{e}-req-class": "small"}, "描述最多2000字。"),
    "unknown request class": (lambda e, bp: {f"e{e}-req-desc": "漏水",
                                             f"e{e}-req-kind": "房屋维修",
                                             f"e{e}-req-class": "huge"},
                              "请选择事项大小（1、2或3天）。"),
    "unknown request kind": (lambda e, bp: {f"e{e}-req-desc": "漏水",
                                            f"e{e}-req-kind": "<script>",
                                            f"e{e}-req-class": "small"}, "请选择诉求类型。"),
    "services for an elder not met": (lambda e, bp: {f"e{e}-outcome": "no_answer",
                                                     f"e{e}-svc": [str(bp)]},
                                      "只有见到老人时才能记录服务。"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOOR_INPUT))
def test_bad_door_input_is_refused_in_chinese_and_stores_nothing(client, world, catalogue,
                                                                 case):
    elder = world.h1.elders[0]
    login(client, world.worker)
    assert put_on_menu(client, elder.id, "量血压", "every_visit").status_code == 302
    make, expected = BAD_DOOR_INPUT[case]
    response = check_in(client, world.h1, "svc-bad-input-00001", **make(elder.id,
                                                                        item_id("量血压")))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert expected in body and NOTHING_SAVED_ZH in body
    assert count(Visit) == 0 and count(Delivery) == 0 and count(ServiceRequest) == 0


def test_a_service_listed_twice_is_refused_by_the_service(app, world, catalogue):
    elder = world.h1.elders[0]
    bp = item_id("量血压")
    with pytest.raises(checkin.CheckInError) as err:
        deliver(world.h1, world.worker, {elder.id: [menus.DeliveryInput(bp, 1),
                                                    menus.DeliveryInput(bp, 2)]},
                "svc-twice-00000001")
    assert "量血压重复了。" in str(err.value)
    db.session.rollback()
    assert count(Visit) == 0 and count(Delivery) == 0


BAD_PAGE_REQUESTS = {
    "empty description": ({"description": "   "}, "请描述需要什么帮助。"),
    "missing description": ({"description": None}, "请描述需要什么帮助。"),
    "3000-character description": ({"description": "修" * 3000}, "最多2000个字符。"),
    "unknown class": ({"request_class": "enormous"}, "不是有效的选择。"),
    "unknown kind": ({"kind": "抢银行"}, "不是有效的选择。"),
}


@pytest.mark.parametrize("case", sorted(BAD_PAGE_REQUESTS))
def test_bad_requests_on_the_elder_page_are_refused(client, world, case):
    elder = world.h1.elders[0]
    login(client, world.worker)
    fields, expected = BAD_PAGE_REQUESTS[case]
    data = {"kind": "其他", "request_class": "small", "description": "帮忙"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(f"/requests/elders/{elder.id}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/elders/{elder.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert expected in page
    assert count(ServiceRequest) == 0


# --- 7 & 8. exports: scope, CSV and XLSX, neutralised cells, bad months ------------------

@pytest.fixture
def exported(world, catalogue):
    """Deliveries and requests this month in 甲社区 (grid one) and 乙社区 (grid three)."""
    e1, e3 = world.h1.elders[0], world.h3.elders[0]
    deliver(world.h1, world.worker, {e1.id: [menus.DeliveryInput(item_id("助餐"), 2,
                                                                 "=HYPERLINK(\"x\")")]},
            "svc-export-0000001")
    deliver(world.h3, world.coordinator, {e3.id: [menus.DeliveryInput(item_id("洗衣"), 1)]},
            "svc-export-0000002")
    for text in ("=1+1", "+86 138", "-负数开头", "@SUM(A1)"):
        raise_for(e1, description=text)
    raise_for(e3, description="乙社区的诉求")
    return world


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(response, title) -> list[list]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert sheet.title == title
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_deliveries_export_in_scope(client, exported):
    month = this_month()
    login(client, exported.community_coordinator)
    rows = read_csv(client.get(f"/coordinator/exports/deliveries.csv?month={month}"))
    assert rows[0] == DELIVERY_HEADER_ZH
    assert ",".join(rows[0]).startswith("时间,社区,户号")
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["社区"] == "甲社区" and row["服务"] == "助餐" and row["户号"] == exported.h1.number
    assert row["老人"] == exported.h1.elders[0].name and float(row["数量"]) == 2
    assert row["单位"] == "份" and row["服务人员"] == exported.worker.display_name
    assert row["备注"] == "'=HYPERLINK(\"x\")"
    assert all("乙社区" not in cell for r in rows for cell in r)

    sheet = read_xlsx(client.get(f"/coordinator/exports/deliveries.xlsx?month={month}"),
                      "服务记录")
    assert sheet[0] == DELIVERY_HEADER_ZH and len(sheet) == 2
    assert sheet[1][1] == "甲社区" and sheet[1][5] == "助餐" and sheet[1][7] == 2
    assert sheet[1][10] == "'=HYPERLINK(\"x\")"

    login(client, exported.coordinator)  # the street: both communities
    rows = read_csv(client.get(f"/coordinator/exports/deliveries.csv?month={month}"))
    assert sorted(r[1] for r in rows[1:]) == ["乙社区", "甲社区"]


def test_requests_export_neutralises_formulas(client, exported):
    month = this_month()
    login(client, exported.community_coordinator)
    rows = read_csv(client.get(f"/coordinator/exports/requests.csv?month={month}"))
    assert rows[0] == REQUEST_HEADER_ZH
    descriptions = sorted(r[5] for r in rows[1:])
    assert descriptions == sorted(["'=1+1", "'+86 138", "'-负数开头", "'@SUM(A1)"])
    assert {r[1] for r in rows[1:]} == {"甲社区"}
    assert {r[6] for r in rows[1:]} == {"小事：1天内"} and {r[8] for r in rows[1:]} == {"新诉求"}

    sheet = read_xlsx(client.get(f"/coordinator/exports/requests.xlsx?month={month}"),
                      "诉求记录")
    assert sheet[0] == REQUEST_HEADER_ZH
    assert sorted(r[5] for r in sheet[1:]) == descriptions
    assert all(r[1] == "甲社区" for r in sheet[1:])
    # No cell anywhere is stored as a formula.
    workbook = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/coordinator/exports/requests.xlsx?month={month}").data))
    assert all(c.data_type != "f" for r in workbook.active.iter_rows() for c in r)

    login(client, exported.coordinator)
    rows = read_csv(client.get(f"/coordinator/exports/requests.csv?month={month}"))
    assert "乙社区的诉求" in [r[5] for r in rows[1:]] and len(rows) == 6


def test_an_export_of_another_month_is_empty(client, exported):
    login(client, exported.coordinator)
    rows = read_csv(client.get("/coordinator/exports/deliveries.csv?month=2001-01"))
    assert rows == [DELIVERY_HEADER_ZH]


def test_requests_are_exported_by_their_local_month(client, world):
    elder = world.h1.elders[0]
    # 2026-11-30 23:50 in Shanghai is still November there (15:50 UTC).
    raise_for(elder, description="十一月最后十分钟",
              at=datetime(2026, 11, 30, 23, 50, tzinfo=SHANGHAI))
    raise_for(elder, description="十二月第一分钟",
              at=datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI))
    login(client, world.coordinator)
    nov = read_csv(client.get("/coordinator/exports/requests.csv?month=2026-11"))
    dec = read_csv(client.get("/coordinator/exports/requests.csv?month=2026-12"))
    assert [r[5] for r in nov[1:]] == ["十一月最后十分钟"]
    assert nov[1][0] == "2026-11-30 23:50" and nov[1][7] == "2026-12-01 23:50"
    assert [r[5] for r in dec[1:]] == ["十二月第一分钟"]


@pytest.mark.parametrize("path", ["/coordinator/exports/deliveries.csv",
                                  "/coordinator/exports/requests.xlsx",
                                  "/coordinator/summary"])
@pytest.mark.parametrize("month", ["2026-13", "2026-00", "abc", "2026", "1999-12",
                                   "2026-1a"])
def test_a_bad_month_is_400(client, world, path, month):
    login(client, world.coordinator)
    assert client.get(f"{path}?month={month}").status_code == 400


def test_workers_cannot_export_or_see_the_summary(client, exported):
    login(client, exported.worker)
    for what in ("deliveries", "requests"):
        for fmt in ("csv", "xlsx"):
            assert client.get(f"/coordinator/exports/{what}.{fmt}").status_code == 403
    assert client.get("/coordinator/summary").status_code == 403


def test_an_unknown_export_is_404(client, world):
    login(client, world.coordinator)
    assert client.get("/coordinator/exports/elders.csv").status_code == 404
    assert client.get("/coordinator/exports/deliveries.pdf").status_code == 404


def test_a_reopened_request_is_no_longer_finished(client, world):
    r = raise_for(world.h1.elders[0], actor=world.worker)
    login(client, world.worker)
    assert set_status(client, r.id, "resolved", "已处理").status_code == 302
    assert latest(ServiceRequest).finished_at is not None
    assert set_status(client, r.id, "in_progress", "老人说还没修好").status_code == 302
    reopened = latest(ServiceRequest)
    assert reopened.status == RequestStatus.IN_PROGRESS
    assert reopened.finished_at is None  # the export's 办结时间 must stay empty
    login(client, world.coordinator)
    rows = read_csv(client.get(f"/coordinator/exports/requests.csv?month={this_month()}"))
    assert rows[1][8] == "办理中" and rows[1][9] == ""


# --- words a coordinator reads ---------------------------------------------------------------

def test_the_new_service_form_asks_for_a_service_name_and_says_every_error(client, world):
    login(client, world.coordinator)
    page = client.get("/coordinator/services").get_data(as_text=True)
    assert '<label for="name">服务名称</label>' in page and ">姓名<" not in page
    refused = client.post("/coordinator/services", data={"name": "", "category": "",
                                                         "unit": "", "place": "door"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for message in ("请填写服务名称。", "请输入类别。", "请填写计量单位"):
        assert message in body, message


def test_a_requests_answer_and_statuses_read_as_what_they_are(client, world):
    r = raise_for(world.h1.elders[0], actor=world.worker)
    login(client, world.worker)
    set_status(client, r.id, "resolved", "已联系物业更换")
    page = client.get(f"/requests/{r.id}").get_data(as_text=True)
    assert "<dt>书面答复</dt><dd>已联系物业更换</dd>" in page and "探访情况" not in page
    resolved, closed = (str(labels.REQUEST_STATUSES[s])
                        for s in (RequestStatus.RESOLVED, RequestStatus.CLOSED))
    assert resolved == "已答复，待确认" and closed == "已办结（已确认）"
    assert f"<dd>{resolved}</dd>" in page


def test_exports_have_chinese_file_names(client, exported):
    month = this_month()
    login(client, exported.coordinator)
    for what, name in (("deliveries", "服务记录"), ("requests", "诉求记录")):
        for fmt in ("csv", "xlsx"):
            response = client.get(f"/coordinator/exports/{what}.{fmt}?month={month}")
            disposition = response.headers["Content-Disposition"]
            assert f"filename*=UTF-8''{quote(f'{name}-{month}.{fmt}')}" in disposition


# --- what each change writes to the audit log ----------------------------------------------

def audit_trail(after: int = 0) -> list[tuple]:
    """(action, subject type, subject id, actor id) of the audit events after an id, in order."""
    return [(e.action, e.subject_type, e.subject_id, e.actor_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id))]


def last_audit_id() -> int:
    """The newest audit event's id, as committed by the requests so far."""
    db.session.rollback()  # end this session's snapshot
    return db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def test_each_catalogue_change_writes_one_audit_event(client, world, catalogue):
    login(client, world.coordinator)
    start = last_audit_id()
    walk = {"name": "陪同散步", "category": "精神慰藉", "unit": "次", "place": "door"}
    assert client.post("/coordinator/services", data=walk).status_code == 302
    added = latest(ServiceItem).id
    refused = client.post("/coordinator/services", data=walk)
    assert refused.status_code == 422  # nothing recorded for a refused name
    assert client.post(f"/coordinator/services/{added}/retire").status_code == 302  # unused
    assert client.post(f"/coordinator/services/{item_id('理发')}/retire").status_code == 403
    db.session.rollback()
    assert audit_trail(start) == [
        ("service.create", "service_item", added, world.coordinator.id),
        ("service.delete", "service_item", added, world.coordinator.id)]

    login(client, world.worker)
    assert put_on_menu(client, world.h1.elders[0].id, "量血压", "every_visit").status_code == 302
    login(client, world.admin)
    start = last_audit_id()
    for _ in range(2):
        assert client.post(f"/coordinator/services/{item_id('量血压')}/retire").status_code == 302
    db.session.rollback()
    assert audit_trail(start) == [
        ("service.retire", "service_item", item_id("量血压"), world.admin.id),
        ("service.restore", "service_item", item_id("量血压"), world.admin.id)]


def test_each_menu_change_writes_one_audit_event(client, world, catalogue):
    elder = world.h1.elders[0]
    login(client, world.worker)
    start = last_audit_id()
    assert put_on_menu(client, elder.id, "助餐", "every_visit").status_code == 302
    assert put_on_menu(client, elder.id, "助餐", "weekly").status_code == 302  # replaces it
    entry = latest(MenuEntry)
    assert client.post(f"/elders/{elder.id}/menu/{entry.id}/end").status_code == 302
    db.session.rollback()
    assert audit_trail(start) == [("menu.add", "elder", elder.id, world.worker.id)] * 2 + [
        ("menu.end", "elder", elder.id, world.worker.id)]


def test_each_request_change_writes_one_audit_event(client, world):
    elder = world.h1.elders[0]
    login(client, world.worker)
    start = last_audit_id()
    refused = client.post(f"/requests/elders/{elder.id}", data={
        "kind": "生活照料", "request_class": "small", "description": "   "})
    assert refused.status_code == 302 and count(ServiceRequest) == 0
    assert client.post(f"/requests/elders/{elder.id}", data={
        "kind": "生活照料", "request_class": "small", "description": "换灯泡"}).status_code == 302
    r = latest(ServiceRequest)
    assert set_status(client, r.id, "closed").status_code == 422  # not from open
    assert set_status(client, r.id, "resolved", "已换好").status_code == 302
    db.session.rollback()
    assert audit_trail(start) == [("request.create", "request", r.id, world.worker.id),
                                  ("request.status", "request", r.id, world.worker.id)]
    assert latest(AuditEvent).details == {"status": "resolved"}


def test_each_office_export_writes_one_audit_event(client, world):
    login(client, world.coordinator)
    start = last_audit_id()
    month = this_month()
    for what in ("deliveries", "requests", "volunteer-hours"):
        assert client.get(f"/coordinator/exports/{what}.csv?month={month}").status_code == 200
    assert client.get(f"/coordinator/exports/visits.csv?month={month}").status_code == 404
    db.session.rollback()
    assert audit_trail(start) == [("export", what, None, world.coordinator.id)
                                  for what in ("deliveries", "requests", "volunteer-hours")]
    assert latest(AuditEvent).details == {"month": month, "rows": 0, "format": "csv"}


"""Family links: single-use expiring invites, revocation that ends access at once, and a
family member who sees their own elder and nobody else."""

import csv
import io
import re
from datetime import datetime, timedelta
from urllib.parse import quote

import openpyxl

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import (
    FamilyInvite,
    FamilyLink,
    GridAssignment,
    Outcome,
    RequestClass,
    RequestSource,
    Role,
    ServiceRequest,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import family
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import count, latest, login

# A CSRF token as a page carries it; its middle part is the time it was signed.
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]*"')

INVALID_ZH = "邀请码无效，请向社区重新索取。"


def invite_code(client, elder, *, readings=False) -> str:
    data = {"relation": "女儿"} | ({"may_see_observations": "y"} if readings else {})
    response = client.post(f"/elders/{elder.id}/invites", data=data)
    assert response.status_code == 200
    return re.search(r'<p class="code">(\w{5} \w{5})</p>', response.get_data(as_text=True)).group(1)


def test_invite_is_single_use_and_links_the_family_member(app, world):
    staff, relative, second = app.test_client(), app.test_client(), app.test_client()
    login(staff, world.worker)
    elder = world.h1.elders[0]
    code = invite_code(staff, elder)
    login(relative, world.family)
    accepted = relative.post("/family/", data={"code": code.lower()})  # typed any case
    assert accepted.status_code == 302 and accepted.location.endswith(f"/family/elders/{elder.id}")
    assert elder.name in relative.get(accepted.location).get_data(as_text=True)
    db.session.rollback()  # the test's own writes start after the requests'
    stranger = factories.user(Role.FAMILY, username="stranger")  # a second family account
    db.session.commit()
    login(second, stranger)
    reused = second.post("/family/", data={"code": code})
    assert reused.status_code == 422 and INVALID_ZH in reused.get_data(as_text=True)
    assert count(FamilyLink) == 1


def test_expired_or_unknown_codes_are_refused_alike(client, world):
    invite = family.create_invite(world.h1.elders[0], relation="儿子",
                                  may_see_observations=False, actor=world.worker,
                                  now=utcnow() - timedelta(days=family.INVITE_DAYS, minutes=1))
    db.session.commit()
    login(client, world.family)
    for code in (invite.code, "NOSUCHCODE"):
        response = client.post("/family/", data={"code": code})
        assert response.status_code == 422 and INVALID_ZH in response.get_data(as_text=True)
    assert count(FamilyLink) == 0


def test_revoking_ends_access_at_once(app, world):
    staff, relative = app.test_client(), app.test_client()
    login(staff, world.worker)
    elder = world.h1.elders[0]
    login(relative, world.family)
    relative.post("/family/", data={"code": invite_code(staff, elder)})
    assert relative.get(f"/family/elders/{elder.id}").status_code == 200
    link = latest(FamilyLink)
    assert staff.post(f"/elders/{elder.id}/family/{link.id}/revoke").status_code == 302
    assert relative.get(f"/family/elders/{elder.id}").status_code == 404
    assert elder.name not in relative.get("/family/").get_data(as_text=True)


def _linked(world, elder, readings=False):
    db.session.add(FamilyLink(user=world.family, elder=elder, relation="女儿",
                              may_see_observations=readings))
    record_visit(visitor=world.worker, household=elder.household, method=VisitMethod.SCANNED,
                 idempotency_key=f"family-visit-{elder.id:08d}",
                 records=[ElderRecordInput(e.id, Outcome.MET_WELL, systolic=142, diastolic=88)
                          for e in elder.household.elders])
    db.session.commit()


def test_family_sees_only_their_elder_and_readings_only_if_allowed(client, world):
    mine, theirs = world.h1.elders[0], world.h2.elders[0]
    _linked(world, mine)
    login(client, world.family)
    page = client.get(f"/family/elders/{mine.id}").get_data(as_text=True)
    assert mine.name in page and world.worker.display_name in page and "见到，一切正常" in page
    assert "142/88" not in page  # readings not allowed on this link
    assert client.get(f"/family/elders/{theirs.id}").status_code == 404
    assert client.get(f"/elders/{mine.id}").status_code == 403  # staff pages stay closed
    db.session.rollback()
    latest(FamilyLink).may_see_observations = True
    db.session.commit()
    assert "142/88" in client.get(f"/family/elders/{mine.id}").get_data(as_text=True)


def test_family_can_raise_a_request_only_for_their_own_elder(client, world):
    mine, theirs = world.h1.elders[0], world.h2.elders[0]
    _linked(world, mine)
    login(client, world.family)
    data = {"kind": "生活照料", "request_class": "small", "description": "妈妈家暖气不热"}
    assert client.post(f"/family/elders/{theirs.id}/requests", data=data).status_code == 404
    assert count(ServiceRequest) == 0
    assert client.post(f"/family/elders/{mine.id}/requests", data=data).status_code == 302
    request = latest(ServiceRequest)
    assert (request.elder_id, request.source, request.owner_id) == (
        mine.id, RequestSource.FAMILY, world.worker.id)
    assert request.deadline - request.raised_at == timedelta(days=1)
    empty = client.post(f"/family/elders/{mine.id}/requests", data={**data, "description": ""},
                        follow_redirects=True)
    assert "请描述需要什么帮助。" in empty.get_data(as_text=True)
    assert count(ServiceRequest) == 1


def test_a_message_reaches_the_worker_and_the_answer_comes_back(app, world):
    elder, other = world.h1.elders[0], world.h2.elders[0]
    _linked(world, elder)
    relative, worker = app.test_client(), app.test_client()
    login(relative, world.family)
    text = {"text": "下周六我回来看妈妈，请不用上门"}
    assert relative.post(f"/family/elders/{other.id}/messages", data=text).status_code == 404
    empty = relative.post(f"/family/elders/{elder.id}/messages", data={"text": " "},
                          follow_redirects=True)
    assert "请写下留言内容。" in empty.get_data(as_text=True) and count(ServiceRequest) == 0
    sent = relative.post(f"/family/elders/{elder.id}/messages", data=text, follow_redirects=True)
    assert world.worker.display_name in sent.get_data(as_text=True)
    message = latest(ServiceRequest)
    assert (message.kind, message.owner_id, message.source) == (
        "家属留言", world.worker.id, RequestSource.FAMILY)
    assert message.deadline - message.raised_at == timedelta(days=1)
    login(worker, world.worker)
    assert text["text"] in worker.get("/requests/").get_data(as_text=True)
    answer = "好的，周六由您陪伴，我们周日再上门"
    assert worker.post(f"/requests/{message.id}",
                       data={"status": "resolved", "note": answer}).status_code == 302
    assert answer in relative.get(f"/family/elders/{elder.id}").get_data(as_text=True)


def test_the_visit_log_download_has_readings_only_if_allowed(client, world):
    elder = world.h1.elders[0]
    _linked(world, elder)
    login(client, world.family)
    plain = client.get(f"/family/elders/{elder.id}/visits.csv")
    assert plain.status_code == 200 and plain.mimetype == "text/csv"
    header, *rows = csv.reader(io.StringIO(plain.get_data().decode("utf-8-sig")))
    assert header == ["时间", "上门人员", "身份", "情况", "精神状态", "服务"]
    assert rows and all(r[1] == world.worker.display_name and r[2] == "网格员" for r in rows)
    assert "142/88" not in plain.get_data().decode("utf-8-sig")
    db.session.rollback()
    latest(FamilyLink).may_see_observations = True
    db.session.commit()
    sheet = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/family/elders/{elder.id}/visits.xlsx").get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][4:6] == ("血压", "脉搏") and values[1][4] == "142/88"


def test_another_elder_is_the_same_not_found_on_every_family_page(client, world):
    mine, theirs = world.h1.elders[0], world.h2.elders[0]
    _linked(world, mine)
    login(client, world.family)
    pages = [("GET", "/family/elders/{}"), ("GET", "/family/elders/{}/visits.csv"),
             ("GET", "/family/elders/{}/visits.xlsx"), ("POST", "/family/elders/{}/requests"),
             ("POST", "/family/elders/{}/messages")]
    for method, page in pages:
        answers = [client.open(page.format(elder_id), method=method)
                   for elder_id in (theirs.id, 999999)]
        assert [a.status_code for a in answers] == [404, 404], page
        # The same page, but for the address itself in the language links and the
        # sign-out form's CSRF token (signed with the second it was made in).
        bodies = [CSRF_VALUE.sub("", a.get_data(as_text=True).replace(page.format(elder_id), ""))
                  for a, elder_id in zip(answers, (theirs.id, 999999), strict=True)]
        assert bodies[0] == bodies[1], page
    assert count(ServiceRequest) == 0


def test_the_invite_qr_code_opens_the_family_page_with_the_code(client, world):
    login(client, world.worker)
    page = client.post(f"/elders/{world.h1.elders[0].id}/invites",
                       data={"relation": "儿子"}).get_data(as_text=True)
    code = re.search(r'<p class="code">(\w{5}) (\w{5})</p>', page).groups()
    matrix = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'class="segno"' in matrix
    invite = latest(FamilyInvite)
    assert "".join(code) == invite.code
    client.post("/logout")
    login(client, world.family)
    prefilled = client.get(f"/family/?code={invite.code}").get_data(as_text=True)
    assert f'value="{invite.code}"' in prefilled


def test_blood_pressure_trend_only_where_readings_are_allowed(client, world):
    mine = world.h1.elders[0]
    _linked(world, mine)
    record_visit(visitor=world.worker, household=mine.household, method=VisitMethod.SCANNED,
                 idempotency_key="family-visit-second-01", client_time=utcnow(),
                 records=[ElderRecordInput(e.id, Outcome.MET_WELL, systolic=150, diastolic=95)
                          for e in mine.household.elders])
    db.session.commit()
    login(client, world.family)
    assert "<svg" not in client.get(f"/family/elders/{mine.id}").get_data(as_text=True)
    db.session.rollback()
    latest(FamilyLink).may_see_observations = True
    db.session.commit()
    page = client.get(f"/family/elders/{mine.id}").get_data(as_text=True)
    chart = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    assert chart.count("<polyline") == 2 and "血压" in page


def test_the_family_sees_the_next_visit_the_worker_of_today_and_can_call_the_community(
        client, world):
    elder = world.h1.elders[0]
    _linked(world, elder)  # met now; weekly (一般): the next visit within seven days
    db.session.add(GridAssignment(grid=world.grids[0], user=world.other_worker, cover=True,
                                  starts_on=local_today(), ends_on=local_today()))
    db.session.commit()
    login(client, world.family)
    page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    due = (utcnow() + timedelta(days=7)).astimezone(local_zone()).date()
    day = f"{due.year}年{due.month}月{due.day}日"
    assert re.search(rf"<dt>下次探访</dt><dd>{day}星期.前</dd>", page)
    assert f"<dt>今天负责的网格员</dt><dd>{world.other_worker.display_name}</dd>" in page
    assert 'href="tel:0531-1234567"' in page and "打电话给社区" in page

    db.session.rollback()
    paused = db.session.get(type(elder), elder.id)
    paused.paused_until = local_today() + timedelta(days=10)
    db.session.commit()
    page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    assert "暂停探访至" in page


def test_the_family_asks_for_help_without_the_7123_rule_and_the_office_classes_it(
        app, client, world):
    elder = world.h1.elders[0]
    _linked(world, elder)
    login(client, world.family)
    page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    assert 'name="request_class"' not in page and "7123" not in page
    empty = client.post(f"/family/elders/{elder.id}/requests",
                        data={"kind": "生活照料", "description": " "})
    assert empty.status_code == 422
    assert re.search(r'<details id="ask" open>.*请描述需要什么帮助。', empty.get_data(as_text=True),
                     re.S)
    sent = client.post(f"/family/elders/{elder.id}/requests", data={
        "kind": "房屋维修", "description": "厨房漏水", "request_class": "hard"})
    assert sent.status_code == 302
    request = latest(ServiceRequest)
    assert (request.request_class, request.deadline - request.raised_at) == (
        RequestClass.SMALL, timedelta(days=1))  # the family does not choose

    staff = app.test_client()
    login(staff, world.worker)
    detail = staff.get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'name="request_class"' in detail and "修改" in detail
    assert staff.post(f"/requests/{request.id}/class",
                      data={"request_class": "hard"}).status_code == 302
    request = latest(ServiceRequest)
    assert (request.request_class, request.deadline - request.raised_at) == (
        RequestClass.HARD, timedelta(days=3))
    assert "事项大小改为" in staff.get(f"/requests/{request.id}").get_data(as_text=True)
    assert staff.post(f"/requests/{request.id}",
                      data={"status": "resolved", "note": "已修好"}).status_code == 302
    refused = staff.post(f"/requests/{request.id}/class", data={"request_class": "small"})
    assert refused.status_code == 422
    assert latest(ServiceRequest).request_class == RequestClass.HARD


def test_the_blood_pressure_chart_has_dates_on_its_axis(client, world, clock):
    elder = world.h1.elders[0]
    clock.set(datetime(2026, 11, 9, 9, 30, tzinfo=SHANGHAI))
    _linked(world, elder, readings=True)
    clock.set(datetime(2026, 11, 18, 23, 30, tzinfo=SHANGHAI))  # 15:30 UTC: still the 18th here
    record_visit(visitor=world.worker, household=elder.household, method=VisitMethod.SCANNED,
                 idempotency_key="family-visit-later-01",
                 records=[ElderRecordInput(e.id, Outcome.MET_WELL, systolic=150, diastolic=95)
                          for e in elder.household.elders])
    db.session.commit()
    login(client, world.family)
    page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    chart = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    dates = re.findall(r'<text class="date"[^>]*>([^<]+)</text>', chart)
    assert dates[0] == "11月9日" and dates[-1] == "11月18日" and len(dates) == 4


def test_the_visit_log_download_has_a_chinese_name(client, world):
    elder = world.h1.elders[0]
    _linked(world, elder)
    login(client, world.family)
    response = client.get(f"/family/elders/{elder.id}/visits.xlsx")
    assert f"filename*=UTF-8''{quote(f'探访记录-{elder.name}.xlsx')}" in response.headers[
        "Content-Disposition"]

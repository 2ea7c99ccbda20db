"""Worker at the door (issue 11, items 1–5, 8, 9): the check-in form, its confirmation page,
the typed household number, services delivered in the histories, and the check-in rules
behind the alerts (boundaries, queued visits)."""

import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    Delivery,
    Elder,
    FamilyLink,
    Frequency,
    Outcome,
    ServiceItem,
    Visit,
    VisitMethod,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import checkin, menus
from carevisits.services.doorcodes import luhn_digit
from tests import factories
from tests.conftest import count, latest, login

NOTHING_SAVED_ZH = "未保存"


# --- helpers ---------------------------------------------------------------------------

@pytest.fixture
def catalogue(app):
    """The standard service catalogue (every table is emptied between tests)."""
    menus.seed_catalogue()
    db.session.commit()
    return {i.name: i.id for i in db.session.scalars(select(ServiceItem))}


def on_menu(elder, item_id, actor, frequency=Frequency.EVERY_VISIT):
    menus.add_to_menu(elder, item=db.session.get(ServiceItem, item_id), frequency=frequency,
                      notes="", starts_on=local_today(), ends_on=None, actor=actor)
    db.session.commit()


def post_visit(client, household, outcomes: dict, path=None, **fields):
    """Post the door form: ``outcomes`` maps each elder to an outcome."""
    data = {"idempotency_key": secrets.token_urlsafe(18),
            **{f"e{e.id}-outcome": o for e, o in outcomes.items()}, **fields}
    return client.post(path or f"/c/{household.code.token}", data=data)


def elder_part(body: str, elder) -> str:
    """The part of the door form that belongs to one elder (their fieldset)."""
    start = body.index(f'<span class="elder-name">{elder.name}')
    end = body.find('<fieldset class="elder', start)
    return body[start:end if end != -1 else len(body)]


def banner(body: str) -> str:
    """The messages above the form (before its first field)."""
    return body[:body.index('id="checkin"')]


def raised_part(page: str) -> str:
    """The confirmation page's "alert raised" sections."""
    start = page.index('class="card alert-raised')
    return page[start:page.index('<h1>', start)]


def visit(household, visitor, outcome=Outcome.MET_WELL, at=None, **readings) -> Visit:
    """A visit through the check-in service (``at``: the phone's clock), committed."""
    records = [checkin.ElderRecordInput(elder_id=e.id, outcome=outcome, **readings)
               for e in household.elders]
    recorded, created = checkin.record_visit(
        visitor=visitor, household=household, records=records, client_time=at,
        idempotency_key=secrets.token_urlsafe(18), method=VisitMethod.SCANNED,
        door_code=household.code)
    assert created
    db.session.commit()
    return recorded


def one_elder_household(world, care_level=CareLevel.GENERAL):
    h = factories.household(world.grids[0], care_level=care_level)
    db.session.commit()
    return h, h.elders[0]


def alerts_of(elder, kind):
    db.session.rollback()
    return db.session.scalars(select(Alert).where(Alert.elder_id == elder.id,
                                                  Alert.kind == kind)).all()


# --- item 1: services follow the outcome; errors at the field, naming the elder ------------

def test_a_two_elder_household_is_saved_with_one_elder_away(client, world, catalogue):
    met, away = world.h1.elders
    meal = catalogue["助餐"]
    on_menu(met, meal, world.worker)
    on_menu(away, meal, world.worker)
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    # Both services are shown due, not ticked, in a part of the form that follows the outcome.
    for elder in (met, away):
        assert re.search(rf'class="services met-only[^"]*"[^>]*>.*?<label class="pick service '
                         rf'due">\s*<input type="checkbox" name="e{elder.id}-svc" '
                         rf'value="{meal}">', elder_part(form, elder), re.S)

    response = post_visit(client, world.h1, {met: "met_well", away: "not_at_home"},
                          **{f"e{met.id}-svc": [str(meal)]})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.rollback()
    assert [(d.elder_id, d.item_id) for d in db.session.scalars(select(Delivery))] == [
        (met.id, meal)]


def test_a_service_ticked_for_an_elder_not_met_is_named_at_its_box(client, world, catalogue):
    met, away = world.h1.elders
    meal, bp = catalogue["助餐"], catalogue["量血压"]
    on_menu(met, meal, world.worker)
    on_menu(away, meal, world.worker)
    on_menu(away, bp, world.worker)
    login(client, world.worker)
    response = post_visit(client, world.h1, {met: "met_well", away: "not_at_home"},
                          **{f"e{met.id}-svc": [str(meal)],
                             f"e{away.id}-svc": [str(meal), str(bp)],
                             f"e{away.id}-systolic": "150", f"e{away.id}-diastolic": "90"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert NOTHING_SAVED_ZH in banner(body)
    assert "只有见到老人" not in banner(body)  # the banner only says where to look
    part = elder_part(body, away)
    services = part[part.index('class="services'):part.index("</fieldset>", part.index(
        'class="services'))]
    assert "has-error" in services
    error = re.search(r'<p class="error" role="alert">([^<]*)</p>', services).group(1)
    assert away.name in error and "助餐" in error and "量血压" in error
    assert "只有见到老人时才能记录服务。" in error
    readings = part[part.index(f'name="e{away.id}-systolic"') - 400:]
    assert f"{away.name}：只有见到老人时才能记录" in readings
    assert "has-error" not in elder_part(body, met)
    assert count(Visit) == 0 and count(Delivery) == 0


# --- item 2: abnormal readings are flagged on the form and named on the confirmation ------

def test_the_form_carries_the_alert_thresholds_from_the_config(client, world, app,
                                                                monkeypatch):
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "systolic_high", 150)
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    normal = re.search(r"data-normal='([^']*)'", form).group(1)
    assert '"systolic": [91, 149]' in normal and '"diastolic": [0, 99]' in normal
    assert '"pulse": [50, 120]' in normal


def test_the_confirmation_says_an_abnormal_reading_alert_was_raised_and_for_whom(client,
                                                                                 world):
    first, second = world.h1.elders
    login(client, world.worker)
    response = post_visit(client, world.h1, {first: "met_well", second: "met_well"},
                          **{f"e{first.id}-systolic": "178", f"e{first.id}-diastolic": "104"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    raised = raised_part(page)
    assert "体征异常" in raised and first.name in raised and "178/104" in raised
    assert second.name not in raised


# --- item 3: after a no-answer, the alert, the ladder's next step and phones to call -------

def test_after_a_no_answer_the_confirmation_shows_the_next_step_and_phones(client, world):
    household, elder = one_elder_household(world, CareLevel.KEY)
    login(client, world.worker)
    response = post_visit(client, household, {elder: "no_answer"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    raised = raised_part(page)
    assert "敲门无应答" in raised and elder.name in raised and "紧急" in raised
    assert "再次敲门并询问邻居" in raised  # the ladder's first rung is next
    assert f'href="tel:{elder.phone}"' in raised
    assert f'href="tel:{elder.emergency_contacts[0]["phone"]}"' in raised
    alert = alerts_of(elder, AlertKind.NO_ANSWER)[0]
    assert f"/alerts/{alert.id}" in raised


def test_a_met_visit_shows_no_alert_on_its_confirmation(client, world):
    login(client, world.worker)
    response = post_visit(client, world.h1, {e: "met_well" for e in world.h1.elders})
    assert "alert-raised" not in client.get(response.location).get_data(as_text=True)


# --- item 4: the door form says who is behind the door -----------------------------------

def test_the_door_form_shows_what_the_visitor_must_know(client, world):
    elder = world.h1.elders[0]
    elder.tags = ["听力差", "行动不便"]
    db.session.commit()
    visit(world.h1, world.coordinator, Outcome.NO_ANSWER, at=utcnow() - timedelta(hours=3))
    login(client, world.worker)
    part = elder_part(client.get(f"/c/{world.h1.code.token}").get_data(as_text=True), elder)
    assert "一般（每周）" in part  # care level
    assert "听力差" in part and "行动不便" in part and "高血压" in part  # tags, health notes
    assert world.coordinator.display_name in part and "敲门无应答" in part  # last visit
    assert 'class="badge' in part  # the schedule state (the shared ``unseen`` badge)
    assert f'href="tel:{elder.phone}"' in part
    assert f'href="tel:{elder.emergency_contacts[0]["phone"]}"' in part


# --- item 5: a mistyped household number keeps the box ----------------------------------

def test_a_wrong_check_digit_says_so_and_keeps_the_number(client, world):
    login(client, world.worker)
    n = world.h1.number
    wrong = n[:-1] + str((int(n[-1]) + 1) % 10)
    response = client.get(f"/visit?number={wrong[:4]}+{wrong[4:]}")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'value="{wrong[:4]} {wrong[4:]}"' in body and "校验" in body
    assert 'action="/visit"' in body


@pytest.mark.parametrize("which", ["unknown", "other grid"])
def test_a_number_not_in_scope_keeps_the_box_and_reveals_nothing(client, world, which):
    login(client, world.worker)
    body = "1234567" + luhn_digit("1234567") if which == "unknown" else world.h2.number
    response = client.get(f"/visit?number={body}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert f'value="{body}"' in page and "没有找到" in page and 'action="/visit"' in page
    assert world.h2.address + world.h2.building not in page


# --- item 8: services delivered are shown where the visit is shown ------------------------

def test_services_delivered_show_on_the_confirmation_and_in_both_histories(client, world,
                                                                           catalogue):
    elder = world.h1.elders[0]
    meal = catalogue["助餐"]
    on_menu(elder, meal, world.worker)
    db.session.add(FamilyLink(user=world.family, elder=elder, relation="女儿"))
    db.session.commit()
    login(client, world.worker)
    response = post_visit(client, world.h1, {e: "met_well" for e in world.h1.elders},
                          **{f"e{elder.id}-svc": [str(meal)], f"e{elder.id}-qty-{meal}": "2"})
    assert response.status_code == 302
    delivered = "助餐 2份"
    assert delivered in client.get(response.location).get_data(as_text=True)
    history = client.get(f"/elders/{elder.id}").get_data(as_text=True)
    assert delivered in history[history.index('class="history visits"'):]
    login(client, world.family)
    family_page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    assert delivered in family_page[family_page.index('class="history visits"'):]


# --- item 9: the manual-entry reason is flagged at its field --------------------------------

def test_a_missing_manual_reason_is_flagged_at_its_field(client, world):
    login(client, world.worker)
    response = post_visit(client, world.h1, {e: "met_well" for e in world.h1.elders},
                          path=f"/visit/{world.h1.number}")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    field = re.search(r'<div class="field [^"]*has-error">\s*<label for="reason".*?</div>',
                      body, re.S)
    assert field and "请说明未扫码的原因。" in field.group(0)
    assert count(Visit) == 0


# --- the rules behind the alerts ---------------------------------------------------------

@pytest.mark.parametrize("readings, abnormal", [
    ({"systolic": 140, "diastolic": 100}, ["diastolic"]),
    ({"systolic": 140, "diastolic": 99}, []),
    ({"systolic": 160, "diastolic": 80}, ["systolic"]),
    ({"systolic": 159, "diastolic": 80}, []),
    ({"systolic": 90, "diastolic": 60}, ["systolic"]),
    ({"systolic": 91, "diastolic": 60}, []),
    ({"pulse": 50}, []), ({"pulse": 49}, ["pulse"]),
    ({"pulse": 120}, []), ({"pulse": 121}, ["pulse"]),
])
def test_reading_thresholds_at_their_boundaries(app, world, readings, abnormal):
    household, elder = one_elder_household(world)
    visit(household, world.worker, **readings)
    found = alerts_of(elder, AlertKind.ABNORMAL)
    assert [a.details["abnormal"] for a in found] == ([abnormal] if abnormal else [])


def test_no_answers_are_counted_only_since_the_last_contact(app, world):
    household, elder = one_elder_household(world)
    now = utcnow()
    visit(household, world.worker, Outcome.NO_ANSWER, at=now - timedelta(hours=30))
    visit(household, world.worker, Outcome.NO_ANSWER, at=now - timedelta(hours=28))
    visit(household, world.worker, at=now - timedelta(hours=20))  # met: the alert ends
    assert alerts_of(elder, AlertKind.NO_ANSWER)[0].status == AlertStatus.RESOLVED
    visit(household, world.worker, Outcome.NO_ANSWER)
    alert = [a for a in alerts_of(elder, AlertKind.NO_ANSWER)
             if a.status != AlertStatus.RESOLVED][0]
    assert alert.details["in_a_row"] == 1 and alert.level == AlertLevel.WARNING


def test_an_abnormal_alert_is_not_closed_by_an_older_queued_normal_visit(app, world):
    household, elder = one_elder_household(world)
    now = utcnow()
    visit(household, world.worker, at=now - timedelta(hours=1), systolic=180, diastolic=95)
    visit(household, world.worker,
          at=now - timedelta(hours=3), systolic=125, diastolic=80)
    assert [a.status for a in alerts_of(elder, AlertKind.ABNORMAL)] == [AlertStatus.OPEN]


def test_a_queued_older_visit_never_moves_last_contact_backwards(app, world):
    household, elder = one_elder_household(world)
    recent = visit(household, world.worker, at=utcnow() - timedelta(hours=1))
    db.session.rollback()
    due_at = db.session.get(Elder, elder.id).due_at
    visit(household, world.worker, at=utcnow() - timedelta(hours=5))
    db.session.rollback()
    fresh = db.session.get(Elder, elder.id)
    assert fresh.last_contact_at == recent.occurred_at and fresh.due_at == due_at
    assert latest(Visit).occurred_at < recent.occurred_at


# --- a household nobody on the register lives in any more --------------------------------

CLOSED_HOUSEHOLD_ZH = "已注销"
NOBODY_ZH = "没有在册的老人"


def test_a_closed_household_takes_no_visit_by_number_or_old_card(client, world):
    from carevisits.models import ClosedReason
    from carevisits.services import households

    h = world.h1
    token = h.code.token
    households.close_household(h, reason=ClosedReason.MOVED_AWAY, on=local_today(),
                               actor=world.coordinator, today=local_today())
    db.session.commit()
    login(client, world.worker)
    before = count(Visit)
    for path in (f"/visit/{h.number}", f"/c/{token}"):
        page = client.get(path).get_data(as_text=True)
        assert CLOSED_HOUSEHOLD_ZH in page, path
        assert 'id="checkin"' not in page and f'href="/visit/{h.number}"' not in page, path
    assert CLOSED_HOUSEHOLD_ZH in client.get(f"/visit?number={h.number}",
                                             follow_redirects=True).get_data(as_text=True)
    response = client.post(f"/visit/{h.number}", data={
        "idempotency_key": secrets.token_urlsafe(18), "reason": "门卡丢了"})
    assert response.status_code == 409 and count(Visit) == before
    with pytest.raises(checkin.CheckInError):
        checkin.record_visit(visitor=world.worker, household=h, records=[],
                             idempotency_key=secrets.token_urlsafe(18),
                             method=VisitMethod.MANUAL, manual_reason="门卡丢了")


def test_a_household_whose_elders_are_all_closed_says_so_and_saves_nothing(client, world):
    from carevisits.models import ClosedReason
    from carevisits.services import elders

    h = world.h1
    for elder in h.elders:
        elders.close_elder(elder, reason=ClosedReason.DECEASED, on=local_today(),
                           actor=world.coordinator, today=local_today())
    db.session.commit()
    login(client, world.worker)
    page = client.get(f"/visit/{h.number}").get_data(as_text=True)
    assert NOBODY_ZH in page and 'id="checkin"' not in page and "保存探访记录" not in page
    before = count(Visit)
    response = client.post(f"/visit/{h.number}", data={
        "idempotency_key": secrets.token_urlsafe(18), "reason": "门卡丢了"})
    assert response.status_code == 422 and count(Visit) == before
    assert NOBODY_ZH in response.get_data(as_text=True)
    with (pytest.raises(checkin.CheckInError, match=NOBODY_ZH),
          client.application.test_request_context(headers={"Accept-Language": "zh"})):
        checkin.record_visit(visitor=world.worker, household=h, records=[],
                             idempotency_key=secrets.token_urlsafe(18),
                             method=VisitMethod.MANUAL, manual_reason="门卡丢了")

"""Crisis readings (issue 26, item 2): a blood pressure of systolic ≥ 180 or diastolic ≥ 110
(settings beside the other reading thresholds) makes the abnormal-readings alert 紧急, and
the door form and the confirmation say what to ask and when to call 120, with numbers to
call; the family's page says it calmly."""

import re
import secrets
from datetime import datetime

import pytest

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    AlertStatus,
    FamilyLink,
    Outcome,
    VisitMethod,
)
from carevisits.services import checkin, corrections
from tests.clock import SHANGHAI
from tests.conftest import login
from tests.test_door import alerts_of, one_elder_household, post_visit, raised_part, visit

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)
ADVICE_ZH = ("胸痛", "头痛", "视物模糊", "乏力", "120", "家庭医生")


@pytest.fixture(autouse=True)
def wednesday(clock):
    """Every test here runs on an ordinary Wednesday morning in Shanghai."""
    clock.set(WEDNESDAY)


@pytest.mark.parametrize("systolic, diastolic, level", [
    (182, 108, AlertLevel.URGENT),   # the trial's reading
    (180, 90, AlertLevel.URGENT),    # systolic at the crisis line
    (179, 109, AlertLevel.WARNING),  # just under both lines: abnormal, not a crisis
    (150, 110, AlertLevel.URGENT),   # diastolic at the crisis line
    (140, 90, None),                 # no alert at all
])
def test_a_crisis_reading_makes_the_abnormal_alert_urgent(app, world, systolic, diastolic,
                                                          level):
    household, elder = one_elder_household(world)
    visit(household, world.worker, systolic=systolic, diastolic=diastolic)
    found = alerts_of(elder, AlertKind.ABNORMAL)
    assert [a.level for a in found] == ([level] if level else [])
    if level:
        assert found[0].details["crisis"] is (level == AlertLevel.URGENT)


def test_the_crisis_lines_are_settings(app, world, monkeypatch):
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "systolic_crisis", 170)
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "diastolic_crisis", 105)
    first, second = (one_elder_household(world) for _ in range(2))
    visit(first[0], world.worker, systolic=172, diastolic=90)
    visit(second[0], world.worker, systolic=150, diastolic=105)
    assert [a.level for a in alerts_of(first[1], AlertKind.ABNORMAL)] == [AlertLevel.URGENT]
    assert [a.level for a in alerts_of(second[1], AlertKind.ABNORMAL)] == [AlertLevel.URGENT]


def test_a_warning_open_becomes_urgent_at_a_crisis_reading_later(app, world, clock):
    household, elder = one_elder_household(world)
    visit(household, world.worker, systolic=165, diastolic=95)
    assert [a.level for a in alerts_of(elder, AlertKind.ABNORMAL)] == [AlertLevel.WARNING]
    clock.advance(hours=2)
    visit(household, world.worker, systolic=184, diastolic=112)
    (alert,) = alerts_of(elder, AlertKind.ABNORMAL)
    assert alert.level == AlertLevel.URGENT and alert.status == AlertStatus.OPEN
    assert [e.action for e in alert.events] == ["opened", "escalated"]


def test_a_reading_corrected_to_a_crisis_makes_the_alert_urgent(app, world):
    household, elder = one_elder_household(world)
    recorded = visit(household, world.worker, systolic=150, diastolic=95)
    assert alerts_of(elder, AlertKind.ABNORMAL) == []
    recorded = db.session.merge(recorded)
    corrections.correct_visit(recorded, world.worker, [checkin.ElderRecordInput(
        elder_id=elder.id, outcome=Outcome.MET_CONCERN, systolic=182, diastolic=108)],
        reason="typed wrong")
    db.session.commit()
    assert [a.level for a in alerts_of(elder, AlertKind.ABNORMAL)] == [AlertLevel.URGENT]


def test_the_form_carries_the_crisis_lines_and_the_advice(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config["ALERT_THRESHOLDS"], "diastolic_crisis", 115)
    elder = world.h1.elders[0]
    login(client, world.worker)
    form = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    crisis = re.search(r"data-crisis='([^']*)'", form).group(1)
    assert crisis == '{"diastolic": 115, "systolic": 180}'
    advice = re.search(r'<div class="[^"]*crisis-advice[^"]*"[^>]*hidden>(.*?)</div>',
                       form[form.index(f'name="e{elder.id}-systolic"'):], re.S)
    assert advice, "no hidden crisis advice after the elder's readings"
    assert all(word in advice.group(1) for word in ADVICE_ZH)
    assert 'href="tel:120"' in advice.group(1)
    assert f'href="tel:{elder.emergency_contacts[0]["phone"]}"' in advice.group(1)


def test_the_confirmation_of_182_108_says_urgent_with_the_advice_and_numbers(client, world):
    household, elder = one_elder_household(world)
    login(client, world.worker)
    response = post_visit(client, household, {elder: "met_concern"},
                          **{f"e{elder.id}-systolic": "182", f"e{elder.id}-diastolic": "108"})
    assert response.status_code == 302, response.get_data(as_text=True)
    raised = raised_part(client.get(response.location).get_data(as_text=True))
    assert "体征异常" in raised and "紧急" in raised and "182/108" in raised
    assert all(word in raised for word in ADVICE_ZH)
    assert 'href="tel:120"' in raised and f'href="tel:{elder.phone}"' in raised
    assert f'href="tel:{elder.emergency_contacts[0]["phone"]}"' in raised


def test_an_abnormal_reading_below_the_crisis_lines_gives_no_crisis_advice(client, world):
    household, elder = one_elder_household(world)
    login(client, world.worker)
    response = post_visit(client, household, {elder: "met_concern"},
                          **{f"e{elder.id}-systolic": "170", f"e{elder.id}-diastolic": "100"})
    raised = raised_part(client.get(response.location).get_data(as_text=True))
    assert "提醒" in raised and "tel:120" not in raised and "家庭医生" not in raised


@pytest.mark.parametrize("readings_allowed", [True, False])
def test_the_family_page_says_it_calmly(client, world, readings_allowed):
    household, elder = one_elder_household(world)
    db.session.add(FamilyLink(user=world.family, elder=elder, relation="女儿",
                              may_see_observations=readings_allowed))
    db.session.commit()
    checkin.record_visit(
        visitor=world.worker, household=household, method=VisitMethod.SCANNED,
        door_code=household.code, idempotency_key=secrets.token_urlsafe(18),
        records=[checkin.ElderRecordInput(elder.id, Outcome.MET_CONCERN, systolic=182,
                                          diastolic=108)])
    db.session.commit()
    login(client, world.family)
    page = client.get(f"/family/elders/{elder.id}").get_data(as_text=True)
    note = re.search(r'<p class="flash info alert-calm">(.*?)</p>', page, re.S)
    assert note, "the family page does not explain the alert"
    said = note.group(1)
    assert "已提示探访人员" in said and "120" in said and "家庭医生" in said
    assert "紧急" not in said and "危" not in said
    assert ("182/108" in said) is readings_allowed
    assert "flash error" not in page[:page.index('id="daily-checkin"')
                                     if 'id="daily-checkin"' in page else len(page)]

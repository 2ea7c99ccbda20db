"""Issue 26 item 3: what a visit sets off lives in one place (services/visit_effects.py), so
that a corrected or voided visit leaves the elder, the schedule and every alert where a fresh
recording of the final values (or no visit at all) would put them."""

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    FamilyLink,
    Role,
)
from tests import factories
from tests.conftest import login
from tests.test_corrections import correct, fresh, scene, signed_in, visit

ABNORMAL_ZH = "体征异常"


def test_a_reading_corrected_to_normal_closes_the_abnormal_alert_the_family_saw(app, clock):
    w = scene()
    relative = factories.user(Role.FAMILY, username="relative")
    db.session.add(FamilyLink(user=relative, elder=w.elder, relation="女儿"))
    db.session.commit()
    visit_id = visit(w, systolic=182, diastolic=108)
    alert_id = db.session.scalar(select(Alert.id).where(Alert.kind == AlertKind.ABNORMAL))
    family = app.test_client()
    assert login(family, relative).status_code == 302
    assert ABNORMAL_ZH in family.get(f"/family/elders/{w.elder.id}").get_data(as_text=True)

    response = correct(signed_in(app, w.worker), visit_id, w.elder, systolic=150, diastolic=95)
    assert response.status_code == 302, response.get_data(as_text=True)
    alert = fresh(Alert, alert_id)
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by_visit_id == visit_id
    resolved = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert_id,
                                                          AlertEvent.action == "resolved"))
    assert "更正" in resolved.note and "182/108 → 150/95" in resolved.note, resolved.note
    assert ABNORMAL_ZH not in family.get(f"/family/elders/{w.elder.id}").get_data(as_text=True)

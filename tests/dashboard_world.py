"""A hand-built street for the dashboard's tests (a fixture every test module may use):
known answers at the month's edges, a cover, paused and closed elders, a phone call, a
voided visit, a no-answer, and a second street out of the coordinators' scope."""

import secrets
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from carevisits.extensions import db
from carevisits.models import (
    CareLevel,
    ClosedReason,
    Elder,
    ElderPause,
    GridAssignment,
    Household,
    Outcome,
    Role,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.services import contacts, schedule
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=SH)


def at(month, day, hour=10, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def _elder(household, name, level, created=None):
    e = Elder(name=name, birth_year=1940, care_level=level, created_at=created or at(9, 1))
    household.elders.append(e)
    db.session.add(e)
    return e


def _visit(elder, visitor, when, outcome=Outcome.MET_WELL, method=VisitMethod.SCANNED,
           voided=False):
    v = Visit(household=elder.household, visitor=visitor, method=method, occurred_at=when,
              server_time=when, idempotency_key=secrets.token_urlsafe(12),
              voided_at=when + timedelta(hours=1) if voided else None,
              records=[VisitRecord(elder=elder, outcome=outcome)])
    db.session.add(v)
    return v


@pytest.fixture
def street(app, clock):
    """One street: communities 甲 (grids 一, 二) and 乙 (grid 三), a worker each; 二's worker
    covers 一 from 11-10 to 11-14. Elders at the month's edges, paused, closed, phoned,
    voided, unanswered, new; a second street that no coordinator of the first sees."""
    clock.set(NOW)
    s, other = factories.street("测试街道"), factories.street("别的街道")
    ca, cb, cx = (factories.community(s, "甲社区"), factories.community(s, "乙社区"),
                  factories.community(other, "外社区"))
    g1, g2, g3, gx = (factories.grid(ca, "一网格"), factories.grid(ca, "二网格"),
                      factories.grid(cb, "三网格"), factories.grid(cx, "外网格"))
    w1 = factories.user(Role.GRID_WORKER, username="w1", grid=g1)
    w2 = factories.user(Role.GRID_WORKER, username="w2", grid=g2)
    w3 = factories.user(Role.GRID_WORKER, username="w3", grid=g3)
    wx = factories.user(Role.GRID_WORKER, username="wx", grid=gx)
    db.session.add(GridAssignment(grid=g1, user=w2, starts_on=date(2026, 11, 10),
                                  ends_on=date(2026, 11, 14), cover=True))
    homes = {}
    for g in (g1, g2, g3, gx):
        homes[g.id] = Household(grid=g, number=f"9{g.id:07d}", address="测试路", building="1",
                                room=str(g.id), created_at=at(9, 1))
        db.session.add(homes[g.id])
    e = SimpleNamespace(
        edge_in=_elder(homes[g1.id], "月初", CareLevel.GENERAL),
        edge_out=_elder(homes[g1.id], "月末", CareLevel.GENERAL),
        paused=_elder(homes[g1.id], "住院", CareLevel.KEY),
        closed=_elder(homes[g1.id], "已故", CareLevel.FOCUS),
        covered=_elder(homes[g1.id], "代班", CareLevel.GENERAL),
        no_answer=_elder(homes[g2.id], "无人应", CareLevel.FOCUS),
        phoned=_elder(homes[g2.id], "电话一般", CareLevel.GENERAL),
        phoned_focus=_elder(homes[g2.id], "电话关注", CareLevel.FOCUS),
        voided=_elder(homes[g3.id], "作废", CareLevel.KEY),
        new=_elder(homes[g3.id], "新登记", CareLevel.GENERAL, created=at(11, 17)),
        today=_elder(homes[g3.id], "今天", CareLevel.GENERAL),
        outside=_elder(homes[gx.id], "外街", CareLevel.GENERAL),
    )
    db.session.flush()
    _visit(e.edge_in, w1, at(11, 1, 0, 10))
    _visit(e.edge_in, w1, at(10, 20))
    _visit(e.edge_out, w1, at(10, 31, 23, 30))
    _visit(e.paused, w1, at(11, 14))
    _visit(e.closed, w1, at(10, 30))
    _visit(e.covered, w2, at(11, 12))
    _visit(e.covered, w1, at(10, 2))
    _visit(e.no_answer, w2, at(10, 20))
    _visit(e.no_answer, w2, at(11, 16), Outcome.NO_ANSWER)
    _visit(e.phoned, w2, at(11, 17), method=VisitMethod.PHONE)
    _visit(e.phoned_focus, w2, at(11, 17), method=VisitMethod.PHONE)
    _visit(e.phoned_focus, w2, at(10, 13))
    _visit(e.voided, w3, at(11, 17), voided=True)
    _visit(e.voided, w3, at(10, 31, 9))
    _visit(e.today, w3, at(11, 18, 9))
    _visit(e.outside, wx, at(11, 5))
    e.closed.closed_reason, e.closed.closed_on = ClosedReason.DECEASED, date(2026, 11, 5)
    db.session.add(ElderPause(elder=e.paused, reason="住院", starts_on=date(2026, 11, 15),
                              expected_end=date(2026, 11, 25)))
    e.paused.paused_until = date(2026, 11, 25)
    db.session.flush()
    everyone = list(vars(e).values())
    contacts.recount([x.id for x in everyone])
    schedule.refresh(everyone)
    coordinator = factories.user(Role.COORDINATOR, username="sc", street=s)
    community_coordinator = factories.user(Role.COORDINATOR, username="cc", community=ca)
    db.session.commit()
    return SimpleNamespace(street=s, communities=(ca, cb), grids=(g1, g2, g3), gx=gx,
                           workers=(w1, w2, w3), e=e, coordinator=coordinator,
                           community_coordinator=community_coordinator)

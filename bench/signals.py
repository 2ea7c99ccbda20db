"""Simulation: a month of water-meter readings for 1,000 households, replayed through the API.

    .venv/bin/python bench/signals.py [--households 1000] [--days 30] [--seed 17]

A synthetic street: every household has one elder living alone and one water meter. Each
elder's day is drawn at random (waking ~06:30, bed ~21:30, usage through the day, the odd
flush at night); some stay with their family for a few days (most of those stays are
recorded by the grid worker as a pause, the rest are not); a few have an emergency at a
known moment, after which the meter stays still. A gateway turns the hourly readings into
signals the way city platforms do — no use under V litres for W hours (Shanghai and
Shenzhen: 10 L in 12 h; Ningbo: 8 L in 24 h) — sends ``no_usage`` with the hours of
silence (again every 4 hours while it lasts) and ``usage_back`` when water runs again, each
as ``POST /api/v1/signals`` with an API key, at the simulated hour.

For the default thresholds and two alternatives it prints the alerts raised, how many were
true (an emergency) and false, the stays suppressed by a pause, and the time from each
emergency to its alert; the default's figures are the baseline the others are compared with.
Figures in docs/PERFORMANCE.md.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import distinct, func, select  # noqa: E402

from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.models import (  # noqa: E402
    Alert,
    AlertKind,
    ApiPermission,
    Community,
    Device,
    DeviceKind,
    Elder,
    Grid,
    Household,
    Role,
    Signal,
    Street,
    User,
)
from carevisits.services import apikeys, elders, signals  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 1, tzinfo=ZONE).astimezone(UTC)  # a month from local midnight
REPEAT_HOURS = 4  # the gateway repeats no_usage this often while the silence lasts


@dataclass(frozen=True)
class Rule:
    """A city's rule: alert when under ``litres`` were used in ``hours``."""

    name: str
    hours: int
    litres: float


RULES = [Rule("12 h < 10 L (Shanghai, Shenzhen; default)", 12, 10.0),
         Rule("24 h < 8 L (Ningbo)", 24, 8.0),
         Rule("8 h < 10 L (stricter)", 8, 10.0)]


@dataclass
class Home:
    """One household's month: hourly litres, a stay away, an emergency."""

    number: str
    litres: list[float]
    away: tuple[int, int] | None = None  # [first hour, last hour) away
    paused: bool = False  # the worker recorded the stay as a pause
    emergency: int | None = None  # the hour from which the meter stays still
    events: list[tuple[int, str, float]] = field(default_factory=list)


def month_of(rng: random.Random, hours: int, number: str) -> Home:
    """Hourly water use of an elder living alone (about 80–150 L a day)."""
    litres = [0.0] * hours
    days = hours // 24
    for day in range(days):
        wake = max(4, min(9, round(rng.gauss(6.5, 0.8))))
        bed = max(19, min(23, round(rng.gauss(21.5, 0.9))))
        for hour in range(24):
            at = day * 24 + hour
            if hour in (wake, bed):  # washing on getting up and before bed
                litres[at] = rng.uniform(10, 20)
            elif wake < hour < bed:
                meal = hour in (7, 11, 12, 17, 18)
                if rng.random() < (0.9 if meal else 0.55):
                    litres[at] = rng.lognormvariate(2.0, 0.6)
            elif rng.random() < 0.08:  # a flush at night
                litres[at] = 6.0
    home = Home(number, litres)
    if rng.random() < 0.15:  # a stay with the family: one to six days
        first = rng.randrange(24, hours - 7 * 24) // 24 * 24 + rng.randrange(8, 11)
        last = first + rng.randrange(1, 7) * 24
        home.away, home.paused = (first, last), rng.random() < 0.75
        for at in range(first, last):
            litres[at] = 0.0
    return home


def place_emergencies(rng: random.Random, homes: list[Home], count: int, hours: int) -> None:
    """A few elders fall ill at a known moment (in the day, not while away): the meter stops."""
    for home in rng.sample([h for h in homes if h.away is None], count):
        day = rng.randrange(1, hours // 24 - 3)
        home.emergency = day * 24 + rng.randrange(8, 20)
        for at in range(home.emergency, hours):
            home.litres[at] = 0.0


def gateway_events(home: Home, rule: Rule) -> list[tuple[int, str, float]]:
    """What a gateway applying ``rule`` sends: (hour, kind, hours silent). The silence is
    the trailing span of hours that used less than the rule's litres in all."""
    events, reported, total = [], 0, 0.0
    window: deque[float] = deque()
    for at, used in enumerate(home.litres):
        window.append(used)
        total += used
        while window and total >= rule.litres:
            total -= window.popleft()
        silent = len(window)
        if silent < rule.hours:
            if reported:
                events.append((at, "usage_back", 0.0))
                reported = 0
        elif not reported or silent >= reported + REPEAT_HOURS:
            events.append((at, "no_usage", float(silent)))
            reported = silent
    return events


def build_street(app, homes: list[Home], rule: Rule) -> str:
    """One street, one community, ten grids; a household, an elder and a meter per home;
    an API key allowed to send signals. Returns the key."""
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        street = Street(name="模拟街道", silence_hours=rule.hours)
        community = Community(street=street, name="模拟社区")
        grids = [Grid(community=community, name=f"第{i + 1}网格") for i in range(10)]
        admin = User(username="admin", display_name="管理员", password_hash="-", role=Role.ADMIN)
        db.session.add_all([street, community, *grids, admin])
        for i, home in enumerate(homes):
            household = Household(grid=grids[i % 10], number=home.number, address="模拟路1号",
                                  building=str(i // 100 + 1), room=str(100 + i % 100))
            db.session.add_all([household,
                                Elder(household=household, name=f"居民{i}", birth_year=1940),
                                Device(code=f"WM-{home.number}", household=household,
                                       kind=DeviceKind.WATER_METER)])
        db.session.flush()
        new = apikeys.create(admin, name="水表网关", street=street,
                             permissions=[ApiPermission.WRITE_SIGNALS])
        db.session.commit()
        return new.raw


def replay(app, homes: list[Home], rule: Rule, raw_key: str, clock) -> dict:
    """Send every home's events at their hour, recording and ending pauses as the worker
    would; returns the alerts as (home number, opened at)."""
    timeline: dict[int, list] = {}
    for home in homes:
        for at, kind, value in gateway_events(home, rule):
            timeline.setdefault(at, []).append(("signal", home, kind, value))
        if home.away and home.paused:  # until the day of return, as workers record it
            timeline.setdefault(home.away[0], []).insert(0, ("pause", home, None, None))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw_key}"}
    sent = refused = 0
    started = time.perf_counter()
    for at in sorted(timeline):
        clock.now = START + timedelta(hours=at + 1)
        for action, home, kind, value in timeline[at]:
            if action == "signal":
                answer = client.post("/api/v1/signals", headers=headers, json={
                    "event_id": f"{home.number}-{at}-{kind}", "device_id": f"WM-{home.number}",
                    "kind": kind, "occurred_at": clock.now.isoformat(), "value": value})
                sent += 1
                refused += answer.status_code >= 400
            else:
                _pause(app, home, clock.now)
    seconds = time.perf_counter() - started
    with app.app_context():
        rows = db.session.execute(
            select(Household.number, Alert.opened_at).join(Elder, Alert.elder_id == Elder.id)
            .join(Household, Elder.household_id == Household.id)
            .where(Alert.kind == AlertKind.NO_ACTIVITY)).all()
        suppressed = db.session.scalar(
            select(func.count(distinct(Device.household_id))).select_from(Signal)
            .join(Device, Signal.device_id == Device.id)
            .where(Signal.outcome == signals.SUPPRESSED))
    return {"alerts": rows, "sent": sent, "refused": refused, "seconds": seconds,
            "suppressed": suppressed}


def _pause(app, home: Home, now: datetime) -> None:
    """The worker records the stay as a pause until the day of return (it lapses then)."""
    with app.app_context():
        elder = db.session.scalar(select(Elder).join(Household)
                                  .where(Household.number == home.number))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        back = (START + timedelta(hours=home.away[1])).astimezone(ZONE).date()
        elders.pause_visits(elder, reason="去女儿家小住", until=back, actor=admin,
                            today=now.astimezone(ZONE).date())
        db.session.commit()


class Clock:
    """The app's clock, moved by the replay."""

    def __init__(self):
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def judge(homes: list[Home], result: dict) -> dict:
    """True and false alarms, and hours from each emergency to its first alert."""
    by_number = {h.number: h for h in homes}
    true_alarms, false_alarms, delays = 0, 0, []
    first: dict[str, datetime] = {}
    for number, opened in result["alerts"]:
        home = by_number[number]
        hour = (opened - START) / timedelta(hours=1)
        if home.emergency is not None and hour >= home.emergency:
            true_alarms += 1
            first[number] = min(first.get(number, opened), opened)
        else:
            false_alarms += 1
    for number, opened in first.items():
        delays.append((opened - START) / timedelta(hours=1) - by_number[number].emergency)
    emergencies = sum(h.emergency is not None for h in homes)
    stays = [h for h in homes if h.away]
    unpaused_stays = [h for h in stays if not h.paused]
    stay_alarms = {n for n, _ in result["alerts"]
                   if by_number[n].away and by_number[n].emergency is None}
    return {"true": true_alarms, "false": false_alarms, "found": len(first),
            "emergencies": emergencies, "delays": delays, "stays": len(stays),
            "paused_stays": len(stays) - len(unpaused_stays),
            "paused_alarmed": sum(1 for h in stays if h.paused and h.number in stay_alarms),
            "unpaused_alarmed": sum(1 for h in unpaused_stays if h.number in stay_alarms)}


def run(rule: Rule, homes: list[Home], workdir: Path) -> dict:
    clock = Clock()
    url = f"sqlite:///{workdir / (str(rule.hours) + '.db')}"
    os.environ.setdefault("CAREVISITS_INSTANCE_PATH", str(workdir / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "CLOCK": clock,
                      "SCHEDULER": False, "REQUEST_LOG": False, "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    raw = build_street(app, homes, rule)
    result = replay(app, homes, rule, raw, clock)
    return {**judge(homes, result), "sent": result["sent"], "refused": result["refused"],
            "seconds": result["seconds"], "suppressed": result["suppressed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--emergencies", type=int, default=12)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    hours = args.days * 24
    rng = random.Random(args.seed)
    homes = [month_of(rng, hours, f"{100000 + i}") for i in range(args.households)]
    place_emergencies(rng, homes, args.emergencies, hours)
    print(f"{args.households} households, {args.days} days of hourly readings, seed {args.seed}: "
          f"{sum(h.away is not None for h in homes)} stays away "
          f"({sum(h.paused for h in homes)} recorded as a pause), "
          f"{args.emergencies} emergencies\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rule in RULES:
            rows.append((rule, run(rule, homes, Path(tmp))))
    base = rows[0][1]
    print(f"{'rule':44} {'signals':>8} {'alerts':>7} {'true':>5} {'false':>6} "
          f"{'false/day':>9} {'vs default':>10} {'suppressed':>10} "
          f"{'stays alarmed (paused / not)':>29} "
          f"{'hours to alert: min / median / max':>36} {'found':>6}")
    for rule, r in rows:
        per_day = r["false"] / args.days
        ratio = (r["false"] / base["false"]) if base["false"] else float("nan")
        delays = r["delays"] or [float("nan")]
        print(f"{rule.name:44} {r['sent']:>8} {r['true'] + r['false']:>7} {r['true']:>5} "
              f"{r['false']:>6} {per_day:>9.2f} {ratio:>9.2f}× {r['suppressed']:>10} "
              f"{r['paused_alarmed']:>13} of {r['paused_stays']:<3}/ "
              f"{r['unpaused_alarmed']:>3} of {r['stays'] - r['paused_stays']:<4} "
              f"{min(delays):>14.0f} / {statistics.median(delays):>5.1f} / {max(delays):>5.0f} "
              f"{r['found']:>3}/{r['emergencies']}")
        if r["refused"]:
            print(f"  !! {r['refused']} signals refused")
    print(f"\nReplay: {sum(r['sent'] for _, r in rows)} signals in "
          f"{sum(r['seconds'] for _, r in rows):.0f} s through the API (test client, SQLite).")


if __name__ == "__main__":
    main()

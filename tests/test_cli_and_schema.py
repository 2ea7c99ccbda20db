"""Commands (demo, codes list, users) and the schema the migrations build."""

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import Community, Elder, Grid, Household, Street, User, Visit
from carevisits.services.demo import DEMO_PASSWORD
from tests.conftest import count, login


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_codes_list_prints_one_line_per_household(runner, world):
    result = runner.invoke(args=["codes", "list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 4
    number, address, url = lines[0].split("\t")
    assert re.fullmatch(r"\d{8}", number)
    tokens = {h.code.token for h in (world.h1, world.h2, world.h3, world.h4)}
    assert {line.split("\t")[2].rsplit("/", 1)[1] for line in lines} == tokens
    assert url.startswith("https://cv.example.org/c/")


def test_codes_list_by_grid(runner, world):
    result = runner.invoke(args=["codes", "list", "--grid", "甲社区 一网格"])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1 and world.h1.code.token in result.output
    unknown = runner.invoke(args=["codes", "list", "--grid", "没有这个网格"])
    assert unknown.exit_code != 0 and "no grid" in unknown.output


def test_demo_builds_one_street_once(app, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    counts = {m: count(m) for m in (Street, Community, Grid, Household, Elder, User, Visit)}
    assert counts[Street] == 1 and counts[Community] == 3 and counts[Grid] == 6
    assert 140 <= counts[Household] <= 160 and 160 <= counts[Elder] <= 180
    assert counts[Visit] > 1000
    # 30 days of history, and every elder with a door code to scan.
    oldest = db.session.scalar(select(func.min(Visit.occurred_at)))
    newest = db.session.scalar(select(func.max(Visit.occurred_at)))
    assert (newest - oldest).days >= 28
    second = runner.invoke(args=["demo"])
    assert "nothing added" in second.output
    assert {m: count(m) for m in counts} == counts
    for username in ("admin", "coordinator", "worker", "worker2", "volunteer", "family"):
        assert login(client, username, password=DEMO_PASSWORD).status_code == 302
        client.post("/logout")


def test_demo_workers_cover_grids_of_two_communities(app, runner):
    runner.invoke(args=["demo"])
    worker, worker2 = (db.session.scalar(select(User).where(User.username == n))
                       for n in ("worker", "worker2"))
    assert worker.grid.community_id != worker2.grid.community_id


def test_demo_if_empty_leaves_a_used_database_alone(runner, world):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert "not loaded" in result.output
    assert count(Street) == 2


def test_create_admin_command(runner, app, client):
    result = runner.invoke(args=["users", "create-admin", "boss"],
                           input="long-enough-pw\nlong-enough-pw\n")
    assert result.exit_code == 0, result.output
    assert login(client, "boss", password="long-enough-pw").location.endswith("/admin/users")
    short = runner.invoke(args=["users", "create-admin", "boss2"], input="short\nshort\n")
    assert short.exit_code != 0

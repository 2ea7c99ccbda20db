"""Fixtures: an app per test on SQLite (and PostgreSQL when configured), a small world of
areas, households and accounts, and helpers to sign in."""

import os
import threading
from types import SimpleNamespace

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, make_url, select, text

from carevisits import create_app
from carevisits.extensions import db, limiter
from carevisits.models import Role
from tests import factories
from tests.clock import TestClock

# The browser tests' chromium, live server and phone, and the dashboard's hand-built street
# (fixtures every test module may use).
pytest_plugins = ["tests.browser", "tests.dashboard_world"]

POSTGRES_URL = os.environ.get("CAREVISITS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _worker_database(url: str, suffix: str = "") -> str:
    """Under pytest-xdist, each worker's own database beside the configured one (made
    empty here, dropped at the end); the configured one when the tests run in one process.
    With a ``suffix``, another database of the worker's (or of the one process)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker and not suffix:
        return url
    name = "_".join(part for part in (make_url(url).database, worker, suffix) if part)
    own = make_url(url).set(database=name)
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    server.dispose()
    return own.render_as_string(hide_password=False)


def _drop_worker_database(url: str) -> None:
    if url == POSTGRES_URL:
        return
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    server.dispose()


def _migrated_url(backend: str, tmp_path_factory, suffix: str = "") -> str:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = _worker_database(POSTGRES_URL, suffix)
        engine = create_engine(url)
        with engine.begin() as conn:  # start from an empty schema: migrations run from zero
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "migrations"})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A database upgraded from empty by the Alembic migrations, once per backend."""
    url = _migrated_url(request.param, tmp_path_factory)
    yield url
    if request.param == "postgres":
        _drop_worker_database(url)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps a context pushed for the test's own queries; without this,
    requests would share its ``g`` (and the signed-in user) and its database session.
    """

    def run_wsgi_app(self, environ, buffered=False):
        # Per WSGI call, so that a followed redirect is a request of its own too.
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)


def count(model, *where) -> int:
    """Rows of ``model`` as the database has them now (not the test session's snapshot)."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def latest(model):
    """The newest row of ``model`` as the database has it now."""
    db.session.rollback()
    return db.session.scalar(select(model).order_by(model.id.desc()).limit(1))


def make_app(database_url, tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "https://cv.example.org",
        # Every test runs at a chosen instant, whatever the day and hour it runs on.
        "CLOCK": TestClock(),
        # No scan thread unless a test starts one: tests run the scans they need.
        "SCHEDULER": False,
        # No request log on stderr unless a test asks for one (test_observability.py).
        "REQUEST_LOG": False,
    }
    config.update(overrides)
    os.environ.setdefault("CAREVISITS_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


def _empty_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's fixed cost per table
        # (80 ms for them all, a third of a second on a busy machine) was paid ~1,400 times.
        # The sequences start again at 1, as SQLite's row ids do once a table is empty.
        db.session.connection().exec_driver_sql("; ".join(
            [f'DELETE FROM "{t.name}"' for t in tables]
            + ["SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"]))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def _join_background_threads():
    """Let print jobs and notification senders of this test finish before the next one."""
    for thread in threading.enumerate():
        if thread.name == "notify" or thread.name.startswith("print-job"):
            thread.join(timeout=30)


@pytest.fixture
def app(database_url, tmp_path):
    """The app on a clean database, inside an app context."""
    app = make_app(database_url, tmp_path)
    limiter.reset()
    with app.app_context():
        yield app
        _join_background_threads()
        db.session.remove()
        _empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_client(database_url, tmp_path, world):
    """A client of a second app with CSRF on (the ``app`` fixture's is off), on the same
    database; its engine is disposed at the end, leaving no connection open."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def clock(app) -> TestClock:
    """The app's clock: ``clock.set(instant)``, ``clock.advance(days=2)``."""
    return app.config["CLOCK"]


@pytest.fixture
def loopback_robots(app, monkeypatch):
    """Let webhooks reach test receivers on 127.0.0.0/8 (and nothing else local): plain
    http, 127.0.0.1 an approved host, and the test-only loopback exemption."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOK_HOSTS", [*app.config["WEBHOOK_HOSTS"], "127.0.0.1"])
    monkeypatch.setitem(app.config, "WEBHOOK_TEST_LOOPBACK", True)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def module_app(database_url, tmp_path_factory):
    """An app of the test module's own, on a database of its own (beside the one the
    ``app`` fixture empties after every test), inside an app context for the whole module:
    a world built once and only read by the module's tests."""
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    url = _migrated_url(backend, tmp_path_factory, suffix="module")
    app = make_app(url, tmp_path_factory.mktemp("module"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if backend == "postgres":
        _drop_worker_database(url)


@pytest.fixture
def world(app):
    """Two streets; households in three grids of street one and one grid of street two;
    an account of every role. Every household has a live door code (``.code``)."""
    return build_world()


def build_world() -> SimpleNamespace:
    """The ``world`` fixture's areas, households and accounts, committed."""
    s1, s2 = factories.street("一街道"), factories.street("二街道")
    c1, c2, c3 = (factories.community(s1, "甲社区"), factories.community(s1, "乙社区"),
                  factories.community(s2, "丙社区"))
    g1, g2, g3, g4 = (factories.grid(c1, "一网格"), factories.grid(c1, "二网格"),
                      factories.grid(c2, "三网格"), factories.grid(c3, "四网格"))
    h1 = factories.household(g1, elders=2, building="3")
    h2 = factories.household(g2)
    h3 = factories.household(g3)
    h4 = factories.household(g4)
    w = SimpleNamespace(
        streets=(s1, s2), communities=(c1, c2, c3), grids=(g1, g2, g3, g4),
        h1=h1, h2=h2, h3=h3, h4=h4,
        admin=factories.user(Role.ADMIN, username="admin"),
        coordinator=factories.user(Role.COORDINATOR, username="coord", street=s1),
        community_coordinator=factories.user(Role.COORDINATOR, username="ccoord", community=c1),
        worker=factories.user(Role.GRID_WORKER, username="worker", grid=g1),
        other_worker=factories.user(Role.GRID_WORKER, username="worker2", grid=g2),
        volunteer=factories.user(Role.VOLUNTEER, username="vol"),
        family=factories.user(Role.FAMILY, username="fam"),
    )
    db.session.commit()
    return w


def login(client, user_or_name, password=factories.PASSWORD):
    """Sign in through the form; returns the response (a redirect on success)."""
    username = getattr(user_or_name, "username", user_or_name)
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def as_user(client):
    """Sign the test client in as a user: ``as_user(world.worker)``."""
    def sign_in(user):
        response = login(client, user)
        assert response.status_code == 302, response.data.decode()
        return client
    return sign_in

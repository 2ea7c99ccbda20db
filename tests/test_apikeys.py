"""API keys as admins make them: on the command line and on the admin page, shown once,
refused with clear messages, revoked."""

import re

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import ApiKey, ApiPermission, AuditEvent
from carevisits.services import apikeys
from tests.api_world import bearer
from tests.conftest import count

KEY = re.compile(r"cvk_[A-Za-z0-9_-]{43}")


def test_permission_words_expand_as_the_command_line_documents():
    assert apikeys.parse_permissions("read,signals,work-orders") == list(ApiPermission)
    assert apikeys.parse_permissions("visits, alerts") == [ApiPermission.READ_VISITS,
                                                           ApiPermission.READ_ALERTS]


def test_cli_creates_a_key_shown_once_lists_and_revokes_it(runner, client, world):
    made = runner.invoke(args=["apikeys", "create", "水表网关", "--street", "一街道",
                               "--permissions", "read,signals,work-orders", "--signed"])
    assert made.exit_code == 0, made.output
    raw = KEY.search(made.output).group()
    assert "signing secret" in made.output
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 200

    db.session.rollback()  # the command reads afresh, as in its own process
    listed = runner.invoke(args=["apikeys", "list"])
    assert listed.exit_code == 0
    assert raw[:12] in listed.output and raw not in listed.output
    assert "一街道" in listed.output and "write_work_orders" in listed.output
    assert "live" in listed.output and "last used 20" in listed.output

    revoked = runner.invoke(args=["apikeys", "revoke", "水表网关"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 401
    db.session.rollback()
    assert "revoked 20" in runner.invoke(args=["apikeys", "list"]).output


def test_cli_community_key_and_its_scope(runner, client, world):
    made = runner.invoke(args=["apikeys", "create", "12345", "--street", "一街道",
                               "--community", "甲社区", "--permissions", "register"])
    assert made.exit_code == 0, made.output
    raw = KEY.search(made.output).group()
    seen = {e["household_id"] for e in client.get(
        "/api/v1/elders", headers=bearer(raw)).json["items"]}
    assert seen == {world.h1.id, world.h2.id}


def test_cli_refuses_with_clear_messages_and_a_non_zero_exit(runner, world):
    cases = [
        (["--street", "没有街道", "--permissions", "read"], "no street called"),
        (["--street", "一街道", "--permissions", "read,everything"], "unknown permission"),
        (["--permissions", "read"], "--whole-city"),
        (["--street", "一街道", "--community", "丙社区", "--permissions", "read"],
         "no community called"),
        (["--street", "一街道", "--permissions", "read", "--webhook", "http://10.0.0.1/x"],
         "webhook_url"),
    ]
    for options, message in cases:
        result = runner.invoke(args=["apikeys", "create", "k", *options])
        assert result.exit_code != 0 and message in result.output, (options, result.output)
    assert count(ApiKey) == 0
    missing = runner.invoke(args=["apikeys", "revoke", "nobody"])
    assert missing.exit_code != 0 and "No API key called 'nobody'" in missing.output
    runner.invoke(args=["apikeys", "create", "k", "--street", "一街道", "--permissions", "read"])
    twice = runner.invoke(args=["apikeys", "create", "k", "--whole-city", "--permissions",
                                "read"])
    assert twice.exit_code != 0 and "name" in twice.output


def test_admin_page_makes_a_key_shown_once_and_revokes_it(as_user, world):
    client = as_user(world.admin)
    street = world.streets[0]
    form = client.get("/admin/api-keys/new")
    assert form.status_code == 200 and "一街道" in form.get_data(as_text=True)
    made = client.post("/admin/api-keys/new", data={
        "name": "水表网关", "area": f"s:{street.id}",
        "permissions": ["read_register", "write_signals"], "webhook_url": ""})
    page = made.get_data(as_text=True)
    assert made.status_code == 200
    raw = KEY.search(page).group()
    db.session.rollback()  # read what the request committed
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "水表网关"))
    assert key.signing_secret in page and key.secret_hash == apikeys.hash_key(raw)
    assert key.permissions == ["read_register", "write_signals"] and key.street_id == street.id
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 200

    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert raw[:12] in listing and raw not in listing and key.signing_secret not in listing

    assert client.post(f"/admin/api-keys/{key.id}/revoke").status_code == 302
    assert client.get("/api/v1/elders", headers=bearer(raw)).status_code == 401
    db.session.rollback()
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "api_key", AuditEvent.actor_id == world.admin.id)))
    assert actions == {"apikey.create", "apikey.revoke"}


def test_admin_form_shows_every_error_at_its_field(as_user, world):
    client = as_user(world.admin)
    apikeys.create(world.admin, name="taken", street=world.streets[0],
                   permissions=[ApiPermission.READ_ALERTS])
    db.session.commit()
    refused = client.post("/admin/api-keys/new", data={
        "name": "taken", "area": "", "webhook_url": "https://127.0.0.1/hook"},
        headers={"Accept-Language": "en"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert page.count('class="error"') >= 4  # name, area, permissions, webhook address
    assert KEY.search(page) is None and count(ApiKey) == 1

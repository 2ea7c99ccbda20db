"""Webhooks reach public hosts only: every local or private address form is refused when a
channel is saved, a name that resolves to a loopback address is refused when a message is
sent (before any connection), redirects are never followed, and coordinators only learn that
a message failed, not why. Every test connects to 127.0.0.0/8 at most."""

import socket

import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import (
    AlertKind,
    AlertLevel,
    ChannelKind,
    DeliveryStatus,
    Notification,
    NotificationChannel,
)
from carevisits.models.base import utcnow
from carevisits.services import alerts, notify
from tests.conftest import count, latest, login
from tests.test_alerts import webhook_receiver

LOCAL_ZH = "该地址指向本机或内部网络，告警只能发送到公网地址。"
HTTPS_ONLY_ZH = "只允许 https:// 开头的地址。"
NUMERIC_ZH = "IP 地址请写成以点分隔的四个数字，或改用域名。"
CREDENTIALS_ZH = "地址中的主机名前不能带用户名或密码。"
NOT_APPROVED_ZH = "协调员只能添加以下域名的群机器人"
ANY_HOST_HINT_ZH = "可填写任意公网 https:// 群机器人地址"
APPROVED_HINT_ZH = "群机器人仅限以下域名：qyapi.weixin.qq.com, oapi.dingtalk.com"
GENERIC_ERROR_ZH = "消息未能送达，管理员可查看原因。"
FAILED_HEADING_ZH = "发送失败的通知"

# Every way of writing a local, private or reserved address, as the probe sent them.
LOCAL_TARGETS = [
    "http://127.0.0.1:6379/", "http://2130706433:8080/", "http://localhost:6379/",
    "http://[::1]:8080/", "https://127.0.0.1/", "https://127.1/", "https://0177.0.0.1/",
    "https://0x7f000001/", "https://0x7f.0.0.1/", "https://017700000001/", "https://0/",
    "https://0.0.0.0/", "https://[::]/", "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/", "https://[2002:7f00:1::]/", "https://[64:ff9b::a00:1]/",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/", "https://10.0.0.1/",
    "https://172.16.5.4/", "https://192.168.1.1/", "https://100.64.0.1/", "https://[fc00::1]/",
    "https://224.0.0.251/", "https://[ff02::1]/", "https://240.0.0.1/",
    "https://255.255.255.255/", "https://198.18.0.1/", "https://[2001:db8::1]/",
    "https://LOCALHOST./", "https://robot.localhost/", "https://printer.local/",
    "https://metadata.google.internal/", "https://redis:6379/", "https://router.lan/",
]


def post_channel(client, community, target, kind="webhook"):
    return client.post("/alerts/settings/channels", data={
        "community": f"c:{community.id}", "kind": kind, "target": target})


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def field_errors(body: str) -> str:
    """The text of the channel form's target field, where its errors show."""
    start = body.index('name="target"')
    return body[start:body.index("</div>", start)]


@pytest.mark.parametrize("target", LOCAL_TARGETS)
def test_each_local_address_form_is_refused_on_save(app, world, monkeypatch, target):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)  # the address is the refusal
    admin = signed_in(app, world.admin)  # admins may use any public host, never these
    response = post_channel(admin, world.communities[0], target)
    assert response.status_code == 422
    assert LOCAL_ZH in field_errors(response.get_data(as_text=True))
    assert count(NotificationChannel) == 0


@pytest.mark.parametrize(("target", "error"), [
    ("https://134744072/", NUMERIC_ZH),  # 8.8.8.8, written as one number
    ("https://qyapi.weixin.qq.com@10.0.0.1/", CREDENTIALS_ZH),
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", HTTPS_ONLY_ZH),
])
def test_odd_forms_and_plain_http_are_refused_on_save(app, world, target, error):
    admin = signed_in(app, world.admin)
    response = post_channel(admin, world.communities[0], target)
    assert response.status_code == 422
    assert error in field_errors(response.get_data(as_text=True))
    assert count(NotificationChannel) == 0


def test_plain_http_is_saved_where_the_admin_setting_allows_it(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    admin = signed_in(app, world.admin)
    target = "http://robots.example.org/hook"
    assert post_channel(admin, world.communities[0], target).status_code == 302
    assert latest(NotificationChannel).target == target


def test_coordinators_pick_approved_robot_hosts_and_admins_any_public_host(app, world):
    coordinator = signed_in(app, world.coordinator)
    settings = coordinator.get("/alerts/settings").get_data(as_text=True)
    assert APPROVED_HINT_ZH in settings and ANY_HOST_HINT_ZH not in settings
    community = world.communities[0]
    for robot in ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
                  "https://oapi.dingtalk.com/robot/send?access_token=abc"):
        assert post_channel(coordinator, community, robot).status_code == 302
    assert post_channel(coordinator, community, "jiashequ@example.org",
                        kind="email").status_code == 302

    own_robot = "https://robots.example.org/hook"
    response = post_channel(coordinator, community, own_robot)
    assert response.status_code == 422
    assert NOT_APPROVED_ZH in field_errors(response.get_data(as_text=True))
    assert count(NotificationChannel) == 3

    admin = signed_in(app, world.admin)
    assert ANY_HOST_HINT_ZH in admin.get("/alerts/settings").get_data(as_text=True)
    assert post_channel(admin, community, own_robot).status_code == 302
    assert latest(NotificationChannel).target == own_robot
    assert own_robot in coordinator.get("/alerts/settings").get_data(as_text=True)


# --- at send time ---------------------------------------------------------------------------

def pending_message(world, target) -> Notification:
    """A message waiting for a channel whose target was stored as given (as one saved before
    these rules, or whose name has since moved), with no background sender started."""
    alert = alerts.raise_alert(world.h1.elders[0], AlertKind.NO_ANSWER, AlertLevel.URGENT, {})
    channel = NotificationChannel(community_id=world.communities[0].id,
                                  kind=ChannelKind.WEBHOOK, target=target)
    note = Notification(alert_id=alert.id, channel=channel, text="敲门无应答")
    db.session.add(note)
    db.session.commit()
    return note


def accepted_connection(listener: socket.socket) -> bool:
    """Whether a connection is waiting on a listening socket nobody has accepted from."""
    listener.setblocking(False)
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def test_a_name_that_resolves_to_loopback_is_refused_before_connecting(app, world,
                                                                       monkeypatch):
    assert {info[4][0] for info in socket.getaddrinfo("localhost", 80)} & {"127.0.0.1"}
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        note = pending_message(world, f"http://localhost:{port}/cgi-bin/webhook/send?key=k")
        assert notify.deliver_due(utcnow()) == (0, 1)
        assert not accepted_connection(listener)
        # The check would have seen a connection: one made by the test itself shows.
        with socket.create_connection(("127.0.0.1", port)):
            assert accepted_connection(listener)
    note = latest(Notification)
    assert note.status == DeliveryStatus.PENDING and note.attempts == 1
    assert "127.0.0.1" in note.last_error and "not a public address" in note.last_error


@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/robot",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "{same_host}/other"])
def test_a_redirect_is_never_followed(app, world, loopback_robots, location):
    with socket.create_server(("127.0.0.1", 0)) as elsewhere:
        same_host = f"http://127.0.0.1:{elsewhere.getsockname()[1]}"
        redirect = [("Location", location.format(same_host=same_host))]
        with webhook_receiver(status=302, headers=redirect) as first:
            note = pending_message(world, first.url)
            assert notify.deliver_due(utcnow()) == (0, 1)
            assert first.connections == 1 and len(first.bodies) == 1
        assert not accepted_connection(elsewhere)
    note = db.session.get(Notification, note.id)
    assert note.status == DeliveryStatus.PENDING and "not followed" in note.last_error


def test_the_loopback_exemption_is_for_tests_only(app, world, loopback_robots, monkeypatch):
    monkeypatch.setitem(app.config, "TESTING", False)
    with webhook_receiver() as receiver:
        pending_message(world, receiver.url)
        assert notify.deliver_due(utcnow()) == (0, 1)
        assert receiver.connections == 0
    monkeypatch.setitem(app.config, "TESTING", True)
    with webhook_receiver() as receiver:
        note = pending_message(world, receiver.url)
        assert notify.deliver_due(utcnow()) == (1, 0)  # the refused one waits for its retry
        assert receiver.connections == 1
    assert db.session.get(Notification, note.id).status == DeliveryStatus.SENT


def test_coordinators_see_a_generic_delivery_error_and_admins_the_detail(app, world,
                                                                        loopback_robots):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    pending_message(world, f"http://127.0.0.1:{port}/robot")  # nothing listens there now
    pending_message(world, f"http://[::1]:{port}/robot")  # refused: only 127.0.0.0/8 is exempt
    assert notify.deliver_due(utcnow()) == (0, 2)
    errors = [n.last_error for n in db.session.scalars(select(Notification))]
    assert any("ConnectionRefusedError" in e for e in errors)

    coordinator_board = signed_in(app, world.coordinator).get("/alerts/").get_data(as_text=True)
    assert FAILED_HEADING_ZH in coordinator_board
    assert coordinator_board.count(GENERIC_ERROR_ZH) == 2
    for error in errors:
        assert error not in coordinator_board
    assert "ConnectionRefused" not in coordinator_board and "Errno" not in coordinator_board

    admin_board = signed_in(app, world.admin).get("/alerts/").get_data(as_text=True)
    assert GENERIC_ERROR_ZH not in admin_board
    assert "ConnectionRefusedError" in admin_board and "refused (local): address ::1" in admin_board

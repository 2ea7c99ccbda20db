"""The audit log as a page (issue 25, item 9): a closing, an import and a card print in
Chinese words, each reader's area only, the filters, keyset pages in one statement, the XLSX
download (itself audited), the links from the elder and household pages, and no way to
change or delete an event."""

import ast
import io
import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, ClosedReason, Role
from carevisits.services import audit, elders, printjobs
from tests import factories
from tests.clock import SHANGHAI
from tests.conftest import latest, login
from tests.test_scan import statements_sent

PAGE = "/coordinator/audit"
# Three days of one week; each event happens on its own day.
CLOSED_AT = datetime(2026, 11, 16, 9, 30, tzinfo=SHANGHAI)
IMPORTED_AT = datetime(2026, 11, 17, 15, 0, tzinfo=SHANGHAI)
PRINTED_AT = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)
# A register of one elder in 一街道's 甲社区 一网格, as a street office keeps it.
REGISTER = ("老人姓名,性别,出生日期,手机号,家庭住址,社区,网格,居住情况,等级\n"
            "钱淑芬,女,1941,13805319999,明湖路9号院1号楼1单元101室,甲社区,一网格,独居,重点\n")


@pytest.fixture
def events(app, world, clock, runner, tmp_path):
    """The week's three events of street one: 甲社区's coordinator closes an elder of h1
    (去世), the street's register is imported from the command line, and h1's card is
    printed."""
    clock.set(CLOSED_AT)
    elder = world.h1.elders[0]
    elders.close_elder(elder, reason=ClosedReason.DECEASED, on=date(2026, 11, 15),
                       actor=world.community_coordinator, today=date(2026, 11, 16))
    db.session.commit()
    clock.set(IMPORTED_AT)
    path = tmp_path / "台账.csv"
    path.write_text(REGISTER, encoding="utf-8")
    result = runner.invoke(args=["register", "import", str(path), "--street", "一街道"])
    assert result.exit_code == 0, result.output
    clock.set(PRINTED_AT)
    printjobs.create_job(actor=world.coordinator, households=[world.h1], layout="a6-card",
                         rotate=False, scope_label="甲社区 一网格")
    db.session.commit()
    return elder


def page_of(client, **args) -> str:
    response = client.get(PAGE, query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def rows_of(page: str) -> list[str]:
    """The table rows of the log (each event's cells as text)."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in body.split("<tr>")[1:]]


def coordinator(**scope):
    user = factories.user(Role.COORDINATOR, **scope)
    db.session.commit()
    return user


def test_the_log_shows_a_closing_an_import_and_a_card_print(as_user, world, events):
    page = page_of(as_user(world.coordinator))
    rows = rows_of(page)
    assert "登录" in rows[0]  # the coordinator signing in to read it
    printed, imported, closed = rows[1:]  # newest first
    assert "2026-11-18 10:00" in printed and world.coordinator.display_name in printed
    assert "门卡打印 · 甲社区 一网格" in printed and "住户 1" in printed
    assert "2026-11-17 15:00" in imported and "系统" in imported and "台账.csv" in imported
    assert "新增老人 1" in imported
    assert world.community_coordinator.display_name in closed
    assert f"老人 · {events.name}" in closed
    assert "销档原因 — → 去世" in closed and "销档日期 — → 2026-11-15" in closed
    assert "deceased" not in page
    # The records open on their own pages.
    job = db.session.scalar(select(AuditEvent.subject_id).where(
        AuditEvent.action == "print.create"))
    assert f'href="/printing/jobs/{job}"' in page
    assert f'href="/elders/{events.id}"' in page


def test_the_log_is_in_english_after_the_switch(as_user, world, events):
    client = as_user(world.admin)
    client.get("/lang/en")
    page = page_of(client, what="elder")
    assert "Record closed" in page and "Reason for closing" in page and "Died" in page
    assert "去世" not in page


@pytest.mark.parametrize("scope, sees", [
    ("street one", {"销档", "导入台账", "生成门卡打印任务"}),
    ("甲社区", {"销档", "生成门卡打印任务"}),  # street-wide events are the street's
    ("乙社区", set()),  # the same street, another community
    ("street two", set()),
    ("丙社区", set()),  # a community of street two
])
def test_a_coordinator_sees_the_events_of_their_area_only(client, world, events, scope, sees):
    viewer = {"street one": lambda: world.coordinator,
              "甲社区": lambda: coordinator(community=world.communities[0]),
              "乙社区": lambda: coordinator(community=world.communities[1]),
              "street two": lambda: coordinator(street=world.streets[1]),
              "丙社区": lambda: coordinator(community=world.communities[2])}[scope]()
    login(client, viewer)
    page = page_of(client)
    shown = {w for w in ("销档", "导入台账", "生成门卡打印任务") if w in "".join(rows_of(page))}
    assert shown == sees
    if "销档" not in sees:
        assert events.name not in page and world.h1.number not in page
    if "销档" not in sees:  # not by naming the record either
        assert "去世" not in page_of(client, what="elder", record=events.id)


def test_others_are_kept_out(client, world, events):
    assert "/login" in client.get(PAGE).location
    for user in (world.worker, world.volunteer, world.family):
        login(client, user)
        assert client.get(PAGE).status_code == 403
        assert client.get(PAGE + ".xlsx").status_code == 403


def test_sign_ins_and_keys_are_the_admins_but_account_changes_are_the_area_coordinators(
        client, world, clock):
    clock.set(CLOSED_AT)
    login(client, world.worker)  # a sign-in: no area
    login(client, world.admin)
    assert client.post(f"/admin/users/{world.worker.id}/unlock").status_code == 302
    assert "登录" in "".join(rows_of(page_of(client, what="signin")))
    login(client, world.coordinator)  # the worker's grid is in this street
    rows = "".join(rows_of(page_of(client)))
    assert "解锁登录" in rows and f"账号 · {world.worker.display_name}" in rows
    assert not [r for r in rows_of(page_of(client, what="signin"))
                if world.worker.display_name in r]
    login(client, coordinator(street=world.streets[1]))
    assert "解锁登录" not in page_of(client)


def test_a_coordinator_sees_their_own_events_wherever_they_were(client, world, clock):
    """Downloads have no area: the coordinator who made one sees it, nobody else but admins."""
    clock.set(CLOSED_AT)
    login(client, world.coordinator)
    assert client.get("/coordinator/exports/requests.csv?month=2026-11").status_code == 200
    assert "导出" in "".join(rows_of(page_of(client, what="export")))
    login(client, world.community_coordinator)
    assert rows_of(page_of(client, what="export")) == ["没有符合条件的记录。"]


def test_filters(as_user, world, events):
    client = as_user(world.admin)

    def actions(**args):
        words = ("查看老人档案", "销档", "导入台账", "生成门卡打印任务", "登录")
        return [next((w for w in words if w in r), r)
                for r in rows_of(page_of(client, **args))]

    assert actions(who=world.community_coordinator.username) == ["销档"]
    assert actions(who=world.coordinator.display_name[1:]) == ["生成门卡打印任务"]
    assert actions(what="import") == ["导入台账"]
    assert actions(what="print") == ["生成门卡打印任务"]
    assert actions(what="elder", record=events.id) == ["销档"]
    assert actions(what="elder", record=world.h1.elders[1].id) == ["没有符合条件的记录。"]
    assert actions(start="2026-11-17", end="2026-11-17") == ["导入台账"]
    assert actions(start="2026-11-17") == ["登录", "生成门卡打印任务", "导入台账"]
    assert actions(end="2026-11-16", what="elder") == ["销档"]
    page = page_of(client, what="elder", record=events.id)
    assert 'value="elder" selected' in page and f'value="{events.id}"' in page
    elders.record_view(world.worker, events)  # a worker opens the closed record
    db.session.commit()
    assert actions(what="elder", record=events.id) == ["查看老人档案", "销档"]
    assert actions(what="elder", record=events.id, changes="1") == ["销档"]
    assert 'name="changes" value="1" checked' in page_of(client, changes="1")


@pytest.mark.parametrize("args", [{"start": "2026-13-01"}, {"what": "nothing"},
                                  {"record": "x1"}, {"before": "-3"}])
def test_an_unreadable_filter_is_a_bad_request_saying_why(as_user, world, args):
    response = as_user(world.admin).get(PAGE, query_string=args)
    assert response.status_code == 400


def _views(world, n: int, clock) -> None:
    """``n`` openings of records of every kind shown with a name: elders, households."""
    for i in range(n):
        clock.advance(minutes=1)
        elders.record_view(world.coordinator, world.h1.elders[i % 2])
        audit.record(world.coordinator, "household.view", "household", world.h2.id)
    db.session.commit()


def test_pages_newest_first_without_overlap(as_user, world, clock):
    clock.set(CLOSED_AT)
    _views(world, 13, clock)  # 26 events: a page of 20, a page of 6
    client = as_user(world.admin)
    first = client.get(PAGE).get_data(as_text=True)
    older = re.search(r'href="/coordinator/audit\?before=(\d+)"', first)
    rows = rows_of(first)
    assert len(rows) == 20 and older
    second = page_of(client, before=older[1])
    assert len(rows_of(second)) == 26 + 1 - 20  # and the admin's own sign-in
    assert "before=" not in second.split('class="pager"')[1]
    times = re.findall(r'datetime="([^"]+)"', first + second)
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)


def test_a_page_is_one_statement_however_many_events(as_user, world, clock):
    clock.set(CLOSED_AT)
    client = as_user(world.coordinator)
    _views(world, 1, clock)
    page_of(client)  # what a process reads once
    with statements_sent() as few:
        page_of(client)
    _views(world, 30, clock)
    with statements_sent() as many:
        assert len(rows_of(page_of(client))) == 20
    assert len(many) == len(few)
    assert sum("FROM audit_event" in s for s in many) == 1


def test_the_download_opens_with_its_rows_and_is_audited(as_user, world, events):
    client = as_user(world.coordinator)
    response = client.get(PAGE + ".xlsx", query_string={"start": "2026-11-16"})
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97-2026-11-18.xlsx" in disposition
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, *rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert header[:5] == ["时间", "操作人", "账号", "操作", "对象"]
    # The reader's own sign-in to download it, then the week's three events.
    assert [r[3] for r in rows] == ["登录", "生成门卡打印任务", "导入台账", "销档"]
    assert rows[3][:2] == ["2026-11-16 09:30", world.community_coordinator.display_name]
    assert "销档原因：— → 去世" in rows[3][6]
    event = latest(AuditEvent)
    assert (event.action, event.subject_type, event.actor_id) == (
        "export", "audit_log", world.coordinator.id)
    assert event.details == {"rows": 4, "format": "xlsx", "start": "2026-11-16"}
    shown = rows_of(page_of(client, what="export"))
    assert len(shown) == 1 and "导出 审计日志 行数 4 格式 xlsx 开始 2026-11-16" in shown[0]


def test_the_download_keeps_to_the_area(as_user, world, events):
    client = as_user(coordinator(street=world.streets[1]))
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(PAGE + ".xlsx").data)).active
    assert [row[3].value for row in sheet.iter_rows(min_row=2)] == ["登录"]  # their own


def test_the_elder_and_household_pages_link_to_their_history(as_user, world, events):
    client = as_user(world.coordinator)
    elder_page = client.get(f"/elders/{events.id}").get_data(as_text=True)
    assert 'href="/coordinator/audit">审计日志</a>' in elder_page  # in the menu
    assert f'href="/coordinator/audit?what=elder&amp;record={events.id}"' in elder_page
    household = client.get(f"/register/households/{world.h1.id}").get_data(as_text=True)
    assert f'href="/coordinator/audit?what=household&amp;record={world.h1.id}"' in household
    login(client, world.worker)  # the log is not the worker's: no link
    assert "/coordinator/audit" not in client.get(f"/elders/{world.h1.elders[1].id}").get_data(
        as_text=True)


# --- append only -------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parent.parent / "carevisits"


def test_no_route_can_change_or_delete_an_event(app):
    """The log's own routes only read, and the audit service only adds: its one public
    function is ``record``."""
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule or "audit" in rule.endpoint:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    tree = ast.parse((PACKAGE / "services" / "audit.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert functions == {"record"}


def test_only_the_audit_services_name_the_event_table():
    """Nothing else in the app can write an UPDATE or DELETE of audit events: only the model,
    the service that adds them and the one that reads them name AuditEvent, and the reader
    never calls update() or delete()."""
    allowed = {"models/audit.py", "models/__init__.py", "services/audit.py",
               "services/audit_log.py", "services/audit_words.py"}
    naming = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
              if "AuditEvent" in p.read_text(encoding="utf-8") or "audit_event" in
              p.read_text(encoding="utf-8")}
    assert naming <= allowed
    reader = ast.parse((PACKAGE / "services" / "audit_log.py").read_text(encoding="utf-8"))
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(reader) if isinstance(n, ast.Call)}
    assert not calls & {"update", "delete", "merge"}

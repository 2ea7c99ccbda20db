"""The coordinator's dashboard, a worker's page and the monthly report as a coordinator uses
them: home after sign-in, figures that lead to their lists, files that hold the page's
numbers, scope, and clear refusals of bad addresses."""

import io
import re
from pathlib import Path
from urllib.parse import unquote

import pypdfium2
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from carevisits.extensions import db
from carevisits.models import AuditEvent, Role
from carevisits.services import report_pdf
from tests import factories
from tests.conftest import login
from tests.dashboard_world import NOW, _visit, at
from tests.test_scan import statements_sent


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def signed_in(client, user):
    assert login(client, user).status_code == 302
    return client


def table_rows(html: str, table: str) -> dict[str, list[str]]:
    """A figures table of the page as {first cell text: [the other cells' text]}."""
    body = html.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr data-key[^>]*>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                        row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def tile(html: str, name: str) -> str:
    found = re.search(rf'id="{name}".*?class="big">(.*?)</span>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_coordinator_starts_on_the_dashboard(client, street):
    response = login(client, street.coordinator)
    assert response.location.endswith("/coordinator/")
    html = page(client, "/coordinator/")
    assert tile(html, "visit-rate") == "44.4%"  # 4 of 9 (the known answers)
    assert "4 of 9" in html or "9 位老人中 4 位" in html
    assert 'href="/elders/"' in html  # the elder list stays in the navigation
    unmet = page(client, "/elders/?status=unmet")  # behind the rate: the 9 - 4 not met
    assert all(name in unmet for name in ("月末", "无人应", "电话关注", "作废", "新登记"))
    assert not any(name in unmet for name in ("月初", "代班", "电话一般", "今天", "住院", "已故"))


def test_the_lagging_grid_leads_to_its_overdue_list(client, street):
    html = page(signed_in(client, street.coordinator), "/coordinator/")
    grids = table_rows(html, "grid")
    first = next(iter(grids))  # lagging first: the lowest visit rate
    rates = [float(cells[2].rstrip("%")) for cells in grids.values() if cells[2] != "—"]
    assert float(grids[first][2].rstrip("%")) == min(rates)
    g = next(g for g in street.grids if first.endswith(g.name))
    link = re.search(rf'href="(/elders/\?status=overdue&amp;area=g:{g.id})"', html)
    overdue_list = page(client, link.group(1).replace("&amp;", "&"))
    overdue = int(grids[first][4])
    assert overdue_list.count('class="badge late"') == overdue


def test_sorting_and_drilling_down(client, street):
    client = signed_in(client, street.coordinator)
    by_name = table_rows(page(client, "/coordinator/?sort=name"), "grid")
    assert list(by_name) == sorted(by_name)
    ca, cb = street.communities
    html = page(client, f"/coordinator/?area=c:{ca.id}")
    assert set(table_rows(html, "grid")) == {"甲社区 · 一网格", "甲社区 · 二网格"}
    db.session.rollback()  # the requests' read snapshot, before this test writes
    factories.grid(cb, "空网格")  # nobody to visit yet: no rate
    db.session.commit()
    rates = [cells[2] for cells in table_rows(page(client, "/coordinator/"), "grid").values()]
    assert rates[-1] == "—"  # the lagging grid first, one with nobody to visit last
    assert rates[:-1] == sorted(rates[:-1], key=lambda r: float(r.rstrip("%")))


@pytest.mark.parametrize("query, words", [
    ("month=2026-13", "2026-11"), ("month=abc", "2026-11"), ("month=2027-01", ""),
    ("sort=nonsense", ""), ("desc=yes", ""), ("area=c:99999", ""), ("area=x", "")])
def test_a_bad_address_is_a_clear_refusal(client, street, query, words):
    response = signed_in(client, street.coordinator).get(f"/coordinator/?{query}")
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert client.get(f"/coordinator/report.xlsx?{query}").status_code in (200, 400)


def test_a_community_coordinator_sees_only_their_community(client, street):
    client = signed_in(client, street.community_coordinator)
    html = page(client, "/coordinator/")
    assert "三网格" not in html and "乙社区" not in html
    book = load_workbook(io.BytesIO(client.get("/coordinator/report.xlsx").data))
    assert [row[1] for row in book["各社区"].iter_rows(min_row=2, values_only=True)] == ["甲社区"]
    assert "三网格" not in str(list(book["各网格"].values))


def _summary(book) -> dict:
    return {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}


def test_the_report_holds_the_page_numbers(client, street):
    client = signed_in(client, street.coordinator)
    html = page(client, "/coordinator/")
    grids = table_rows(html, "grid")
    response = client.get("/coordinator/report.xlsx?month=2026-11")
    assert response.status_code == 200
    assert "月度工作报表-测试街道-2026-11.xlsx" in unquote(response.headers["Content-Disposition"])
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["汇总", "各社区", "各网格", "各网格员", "月末逾期老人", "告警",
                               "诉求", "志愿服务时长"]
    summary = _summary(book)
    assert f"{summary['走访率(%)']:.1f}%" == tile(html, "visit-rate")
    assert (summary["应访老人"], summary["本月已见面"], summary["暂停(不计入)"]) == (9, 4, 1)
    for community, grid, elders, met, rate, *_rest in book["各网格"].iter_rows(
            min_row=2, values_only=True):
        cells = grids[f"{community} · {grid}"]
        assert (str(elders), str(met)) == (cells[0], cells[1])
        assert (f"{rate:.1f}%" if rate is not None else "—") == cells[2]
    late_names = [row[4] for row in book["月末逾期老人"].iter_rows(min_row=2, values_only=True)]
    assert len(late_names) == summary["逾期"]
    pdf = client.get("/coordinator/report.pdf?month=2026-11")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(pdf.data)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    document.close()
    assert "月度工作报表" in text and "走访率" in text
    for name in late_names:
        assert name in text
    for cells in grids.values():
        assert cells[2].rstrip("%") in text
    db.session.rollback()  # the requests' commits, not this test's snapshot
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report")).all()
    assert sorted(e.details["format"] for e in events) == ["pdf", "xlsx"]


def test_a_past_months_report(client, street):
    client = signed_in(client, street.coordinator)
    html = page(client, "/coordinator/?month=2026-10")
    book = load_workbook(io.BytesIO(client.get("/coordinator/report.xlsx?month=2026-10").data))
    summary = _summary(book)
    assert summary["应访老人"] == 10  # the closed and the paused elder were still on the list
    assert f"{summary['走访率(%)']:.1f}%" == tile(html, "visit-rate")


def test_a_workers_page(client, street):
    _w1, w2, _w3 = street.workers
    html = page(signed_in(client, street.coordinator), f"/coordinator/workers/{w2.id}")
    # w2: the cover's visit (11-12), the no-answer (11-16), two calls (11-17).
    assert re.search(r'id="visit-total">\s*4\s*<', html)
    assert re.search(r'id="no-answer-share">\s*50\.0%', html)  # 1 of 2 records at the door
    assert "2026-11-17" in html and "2026-11-12" in html
    assert NOW.year == 2026
    assert client.get("/coordinator/workers/999999").status_code == 404


def test_the_pdf_stops_a_long_list_and_says_where_the_rest_is(client, street, monkeypatch):
    monkeypatch.setattr(report_pdf, "PDF_ROWS", 1)
    client = signed_in(client, street.coordinator)
    book = load_workbook(io.BytesIO(client.get("/coordinator/report.xlsx?month=2026-11").data))
    late_names = [row[4] for row in book["月末逾期老人"].iter_rows(min_row=2, values_only=True)]
    assert len(late_names) >= 2
    document = pypdfium2.PdfDocument(client.get("/coordinator/report.pdf?month=2026-11").data)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    document.close()
    assert late_names[0] in text and late_names[-1] not in text
    assert f"另有 {len(late_names) - 1} 行" in text.replace("\r\n", "")


def _statements(client, url) -> int:
    with statements_sent() as sent:
        page(client, url)
    return len(sent)


@pytest.mark.parametrize("month", ["2026-11", "2026-10"])
def test_the_dashboard_runs_as_many_statements_for_a_bigger_street(client, street, month):
    """Set-based: more communities, grids, workers, elders and visits add no statement."""
    client = signed_in(client, street.coordinator)
    url = f"/coordinator/?month={month}"
    page(client, url)  # the first request reads what each process reads once
    before = _statements(client, url)
    db.session.rollback()  # the requests' read snapshot, before this test writes
    for n in range(3):
        community = factories.community(street.street, f"新社区{n}")
        for m in range(2):
            grid = factories.grid(community, f"新网格{n}{m}")
            factories.user(Role.GRID_WORKER, username=f"nw{n}{m}", grid=grid)
            for household in [factories.household(grid, elders=2, room=str(r)) for r in range(3)]:
                for elder in household.elders:
                    _visit(elder, street.workers[0], at(11, 3))
                    _visit(elder, street.workers[0], at(10, 3))
    db.session.commit()
    assert _statements(client, url) == before


def test_a_closed_record_is_called_one_thing_everywhere(client, street):
    """销档, as the elder page, the import and the lists say it; the dashboard and the monthly
    report said 销册 before issue 25."""
    root = Path(__file__).resolve().parent.parent
    other_word = "销" + "册"
    sources = [p for folder in ("carevisits", "templates", "printables")
               for p in (root / folder).rglob("*") if p.suffix in (".py", ".html", ".po", ".toml")]
    assert len(sources) > 100
    assert [p for p in sources if other_word in p.read_text(encoding="utf-8")] == []
    client = signed_in(client, street.coordinator)
    html = page(client, "/coordinator/")
    assert "本月销档" in html and other_word not in html
    book = load_workbook(io.BytesIO(client.get("/coordinator/report.xlsx").data))
    assert "本月销档(不计入)" in _summary(book)
    assert "本月销档" in next(book["各网格"].iter_rows(max_row=1, values_only=True))

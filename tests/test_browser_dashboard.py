"""The coordinator's morning in a real browser at a desktop size (issue 15): the dashboard
is home, the lagging grid leads to its overdue elders, the month's report downloads."""

import io
import re

import openpyxl
import pytest

from tests.browser import page_in_new_context, sign_in
from tests.conftest import make_app
from tests.live_server import serve

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai", "accept_downloads": True,
           "has_touch": True}  # sign_in() taps, as on a phone


@pytest.fixture
def live_server(database_url, tmp_path, street):
    """The app with CSRF on, over the hand-built street (its clock at the street's instant)."""
    with serve(make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)) as base_url:
        yield base_url


@pytest.fixture
def desk(browser):
    with page_in_new_context(browser, DESKTOP) as page:
        yield page


def test_the_coordinator_finds_the_lagging_grid_and_downloads_the_report(
        desk, live_server, street):
    sign_in(desk, live_server, street.coordinator)
    assert desk.url.endswith("/coordinator/")
    rate = desk.locator("#visit-rate .big").inner_text().strip()
    assert rate == "44.4%"
    lagging = desk.locator('table[data-table="grid"] tbody tr').first
    grid_name = lagging.locator("td").first.inner_text().strip()
    overdue = int(lagging.locator("td.late").inner_text())
    assert overdue > 0
    with desk.expect_navigation():
        lagging.locator("td.late a").click()
    assert "status=overdue" in desk.url
    assert desk.locator(".badge.late").count() == overdue
    assert grid_name.split(" · ")[-1] in desk.content()
    desk.go_back()
    with desk.expect_download() as download:
        desk.get_by_role("link", name="XLSX").first.click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"月度工作报表-测试街道-\d{4}-\d{2}\.xlsx", name)
    with open(download.value.path(), "rb") as file:
        book = openpyxl.load_workbook(io.BytesIO(file.read()))
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert f"{summary['走访率(%)']:.1f}%" == rate
    width = desk.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
    desk.set_viewport_size({"width": 390, "height": 844})
    desk.reload()
    assert desk.locator("#visit-rate .big").is_visible()

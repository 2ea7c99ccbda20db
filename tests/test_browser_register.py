"""A real street from nothing, in a real browser (issue 10): an admin creates the street, its
community, grid and accounts; the coordinator imports the register from a spreadsheet (errors
first, then the fixed file) and prints the new households' cards; a grid worker scans one.

Everything goes through the pages but the first admin account, which ``users create-admin``
would make. Playwright drives Debian's chromium as in ``test_browser.py``.
"""

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import openpyxl
import pypdfium2 as pdfium
import pytest
import zxingcpp

from carevisits.extensions import db
from carevisits.models import Role
from tests import factories
from tests.browser import PHONE, TIMEOUT_MS, sign_in
from tests.conftest import make_app
from tests.live_server import serve

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai", "accept_downloads": True,
           "has_touch": True}  # sign_in() taps, as on a phone
PASSWORD = "street-pass-2026"
STREET, COMMUNITY, HOTLINE, GRID = "明湖街道", "百花社区", "0531-8661 2345", "第一网格"
COORDINATOR = SimpleNamespace(username="minghu.coord", display_name="赵主任")
WORKER = SimpleNamespace(username="minghu.w1", display_name="钱网格员")

# The street's own sheet: its own choice of columns, whole addresses in one cell.
HEADER = ["姓名", "性别", "出生年份", "联系电话", "住址", "社区", "网格", "关爱等级", "居住情况"]


def row(name, address, phone="13805319000", grid=GRID, birth=1942, gender="女"):
    return [name, gender, birth, phone, address, COMMUNITY, grid, "关注", "独居"]


GOOD = [  # spreadsheet rows 2-5: three households, two elders in the first
    row("刘德胜", "测试路1号院2号楼1单元101室", "13805319001", gender="男", birth=1939),
    row("刘桂芳", "测试路1号院2号楼1单元101室", "13805319002", birth=1941),
    row("陈玉兰", "测试路1号院2号楼1单元102室", "0531-86012345", birth=1944),
    row("马秀珍", "测试路3号院1号楼2单元201室", "13805319004", birth=1946),
]
BAD = [  # rows 6-8, each with one mistake: (row, column, value, message, the fix)
    (row("", "测试路5号院1号楼1单元301室"), "姓名", "", "缺少姓名", {"姓名": "孙凤英"}),
    (row("吴建国", "测试路5号院1号楼1单元302室", "12345", gender="男"), "联系电话", "12345",
     "电话号码既不是手机号也不是固定电话", {"联系电话": "13805319007"}),
    (row("黄淑英", "测试路5号院1号楼1单元303室", grid="第九网格"), "网格", "第九网格",
     "该社区没有这个网格", {"网格": GRID}),
]


@pytest.fixture
def live_server(app, database_url, tmp_path):
    """The app with CSRF on, served over HTTP on the empty database of ``app``."""
    with serve(make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)) as base_url:
        yield base_url


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (no cookies); every context closes at the end."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()
    yield open_page
    for context in contexts:
        context.close()


def go(page, link_text):
    """Follow a link of the page (the nav bar's first) by its text."""
    with page.expect_navigation():
        page.get_by_role("link", name=link_text, exact=True).first.click()


def submit(page, button):
    with page.expect_navigation():
        button.click()


def flash(page) -> str:
    return page.locator("p.flash").first.inner_text()


def option_value(select, text: str) -> str:
    """The value of the option of ``select`` whose label (indented or not) is ``text``."""
    return select.locator("option").filter(
        has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).get_attribute("value")


def download(page, link, path):
    with page.expect_download() as info:
        link.click()
    info.value.save_as(path)
    return info.value.suggested_filename


def xlsx(path, header, rows):
    book = openpyxl.Workbook()
    book.active.append(header)
    for cells in rows:
        book.active.append(cells)
    book.save(path)
    return path


def table(locator) -> list[list[str]]:
    return [[cell.strip() for cell in r.locator("td").all_inner_texts()]
            for r in locator.locator("tbody tr").all()]


def create_account(page, base_url, who, role: str, area: str):
    page.goto(f"{base_url}/admin/users")
    go(page, "新建账号")
    page.locator("#username").fill(who.username)
    page.locator("#display_name").fill(who.display_name)
    page.locator("#role").select_option(label=role)
    page.locator("#area").select_option(option_value(page.locator("#area"), area))
    page.locator("#password").fill(PASSWORD)
    submit(page, page.get_by_role("button", name="保存"))
    message = flash(page)
    assert message.startswith("账号已创建。"), page.content()
    if role == "网格员":  # who works the grid now: a grid is never taken over silently
        assert message.endswith(f"{area} 现由 {who.display_name} 负责。"), message
    listed = page.locator("tr", has_text=who.username).inner_text()
    assert who.display_name in listed and role in listed


def test_a_street_from_nothing_to_a_scanned_card(app, live_server, new_page, tmp_path):
    admin = factories.user(Role.ADMIN, username="admin")  # as `users create-admin` would
    db.session.commit()

    # 1. The admin creates the street, its community with the hotline, and a grid ...
    desk = new_page(**DESKTOP)
    sign_in(desk, live_server, admin)
    go(desk, "区域")
    assert desk.locator("h1").inner_text() == "区域与网格员"
    assert "还没有街道。" in desk.content()
    desk.locator("summary", has_text="新建街道").click()
    desk.get_by_label("街道名称").fill(STREET)
    submit(desk, desk.get_by_role("button", name="创建"))
    assert flash(desk) == "街道已创建。"
    street = desk.locator("section.card", has=desk.locator("h2", has_text=STREET))
    street.locator("summary", has_text="新建社区").click()
    street.get_by_label("社区名称").fill(COMMUNITY)
    street.get_by_label("社区服务电话").fill(HOTLINE)
    submit(desk, street.get_by_role("button", name="创建"))
    assert flash(desk) == "社区已保存。"
    community = desk.locator("article.area", has_text=COMMUNITY)
    assert HOTLINE in community.locator("h3").inner_text()
    community.locator("summary", has_text="新建网格").click()
    community.get_by_label("网格名称").fill(GRID)
    submit(desk, community.get_by_role("button", name="创建"))
    assert desk.locator("h1").inner_text() == f"{COMMUNITY} · {GRID}"
    assert "无人负责" in desk.locator("main").inner_text()

    # ... then the street's coordinator and the grid's worker, who now has the grid.
    create_account(desk, live_server, COORDINATOR, "协调员", STREET)
    create_account(desk, live_server, WORKER, "网格员", f"{COMMUNITY} · {GRID}")
    desk.goto(f"{live_server}/register/")
    grid_row = desk.locator("article.area", has_text=COMMUNITY).locator("tr", has_text=GRID)
    assert WORKER.display_name in grid_row.inner_text()

    # 2. The coordinator downloads the template: XLSX, Chinese headers, the allowed values.
    desk = new_page(**DESKTOP)
    sign_in(desk, live_server, COORDINATOR, PASSWORD)
    go(desk, "台账")
    assert desk.locator("h1").inner_text() == "导入台账"
    name = download(desk, desk.get_by_role("link", name="下载模板"), tmp_path / "template.xlsx")
    assert name.endswith(".xlsx")
    template = openpyxl.load_workbook(tmp_path / "template.xlsx", read_only=True)
    headers, example = template.worksheets[0].iter_rows(max_row=2, values_only=True)
    assert headers[:11] == ("户号", "社区", "网格", "住址", "楼号", "单元", "房号", "姓名", "性别",
                            "出生年份", "联系电话")
    assert "关爱等级" in headers and example[headers.index("姓名")]  # an example elder
    assert "可选值" in template.sheetnames
    template.close()

    # ... uploads the street's sheet with three bad rows and sees each one, nothing imported.
    desk.set_input_files("#file", xlsx(tmp_path / "台账.xlsx", HEADER,
                                       GOOD + [bad for bad, *_ in BAD]))
    submit(desk, desk.get_by_role("button", name="预览"))
    assert desk.locator("h1").inner_text() == "导入预览 · 台账.xlsx"
    assert "3 行有错误：修正之前无法整体导入" in desk.locator("main").inner_text()
    assert table(desk.locator("table.errors")) == [
        [str(line), column, value, message]
        for line, (_, column, value, message, _) in enumerate(BAD, start=len(GOOD) + 2)]
    assert desk.get_by_role("button", name="确认导入").count() == 0

    # ... downloads the rows with errors, fixes them there, and uploads the good rows with them.
    download(desk, desk.get_by_role("link", name="下载错误行"), tmp_path / "errors.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "errors.xlsx").worksheets[0]
    header, *error_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == HEADER + ["错误"]
    assert len(error_rows) == len(BAD)
    fixed = []
    for cells, (_, _, _, message, fix) in zip(error_rows, BAD, strict=True):
        assert message in cells[-1]
        for column, value in fix.items():
            cells[header.index(column)] = value
        fixed.append(cells)
    go(desk, "上传修正后的文件")
    desk.set_input_files("#file", xlsx(tmp_path / "台账-修正.xlsx", header,
                                       [cells + [""] for cells in GOOD] + fixed))
    submit(desk, desk.get_by_role("button", name="预览"))
    counts = desk.locator("main table.list").first
    assert table(counts) == [["6", "0", "—", "—", "0"], ["7", "0", "0", "0", "0"]]
    assert desk.locator("table.errors").count() == 0

    # ... applies it and is told what was created.
    submit(desk, desk.get_by_role("button", name="确认导入"))
    assert flash(desk) == "已导入：新增 6 户、新增老人 7 位，修改 0 条，销档 0 位。"

    # 3. The coordinator prints the grid's cards and downloads the PDF when it is ready.
    go(desk, "门卡打印")
    desk.locator("#area").select_option(option_value(desk.locator("#area"),
                                                     f"{COMMUNITY} · {GRID}"))
    desk.locator("label.choice-a4-8up").click()
    desk.locator("label.choice-reprint").click()
    submit(desk, desk.get_by_role("button", name="生成 PDF"))
    link = desk.get_by_role("link", name=re.compile("下载 PDF"))
    link.wait_for()  # the job page refreshes itself until the PDF is ready
    download(desk, link, tmp_path / "cards.pdf")

    pdf = pdfium.PdfDocument((tmp_path / "cards.pdf").read_bytes())
    try:
        assert len(pdf) == 1
        page = pdf[0]
        urls = [r.text for r in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
        text = page.get_textpage().get_text_range()
    finally:
        pdf.close()
    assert len(set(urls)) == 6 and all(u.startswith("https://CV.EXAMPLE.ORG/C/") for u in urls)
    # The card carries the number the neutral door page shows, not the community's own.
    assert "服务热线 12345" in text and HOTLINE.replace(" ", "") not in text.replace(" ", "")

    # 4. The grid worker scans a card on their phone, signs in, and records the visit.
    door = live_server + urlsplit(urls[0]).path
    phone = new_page(**PHONE)
    phone.goto(door)
    with phone.expect_navigation():
        phone.get_by_role("link", name="工作人员登录").tap()
    sign_in(phone, live_server, WORKER, PASSWORD)
    assert phone.url == door
    address = phone.locator("h1").inner_text()
    names = sorted(cells[0] for cells in GOOD + fixed if cells[4] == address)
    assert names, f"{address} is not an address of the imported sheet"
    elders = phone.locator("fieldset.elder")
    assert sorted(e.locator("legend").first.inner_text().split()[0]
                  for e in elders.all()) == names
    for elder in elders.all():
        label = elder.locator("label.choice-met_well")
        label.tap()
        assert label.locator("input").is_checked()
    submit(phone, phone.get_by_role("button", name="保存探访记录"))
    assert re.search(r"/visits/\d+$", phone.url), phone.content()
    assert phone.locator("h1").inner_text() == "探访已登记"
    assert address in phone.locator("main").inner_text()
    assert sorted(phone.locator("ul.records li strong").all_inner_texts()) == names

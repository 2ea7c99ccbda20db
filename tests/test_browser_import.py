"""The street's own sheet in a real browser (issue 25): the coordinator uploads the messy
sheet of tests/register_messy.py, sees every column matched, maps the sheet's own care and
living words, imports the valid rows and downloads the one to fix; then an old export of the
register neither reopens a closed record nor overwrites a newer phone until ticked."""

import re

import openpyxl
import pytest
from sqlalchemy import func, select

from carevisits.extensions import db
from carevisits.models import ClosedReason, Elder
from carevisits.models.base import local_today
from carevisits.services import elders as elder_service
from tests import register_messy as messy
from tests.browser import page_in_new_context, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai", "accept_downloads": True, "has_touch": True}


def submit(page, button):
    with page.expect_navigation():
        button.click()


def upload(page, base_url, path):
    page.goto(f"{base_url}/register/import")
    page.set_input_files("#file", path)
    submit(page, page.get_by_role("button", name="预览"))
    assert page.locator("h1").inner_text() == f"导入预览 · {path.name}"


def download(page, link, path):
    with page.expect_download() as info:
        link.click()
    info.value.save_as(path)
    return info.value.suggested_filename


def elders() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Elder))


def test_mapping_words_applying_the_valid_rows_and_downloading_the_rest(
        browser, live_server, world, tmp_path):
    sheet = tmp_path / "台账.xlsx"
    sheet.write_bytes(messy.xlsx())
    before = elders()
    with page_in_new_context(browser, DESKTOP) as desk:
        sign_in(desk, live_server, world.coordinator)
        upload(desk, live_server, sheet)
        # Every column is matched without help and shown with its values.
        for i, header in enumerate(messy.HEADER):
            chosen = desk.locator(f'select[name="col-{i}"] option:checked').inner_text()
            expected = messy.GUESSED[header]
            assert (chosen == "不导入") == (expected is None), (header, chosen)
        assert desk.locator('select[name="col-3"]').input_value() == "姓名"
        contacts = desk.locator('select[name="col-11"] option:checked').inner_text()
        assert contacts == "紧急联系人及电话"
        not_imported = desk.locator("#not-imported").inner_text()
        assert "序号" in not_imported and "内部编码" in not_imported
        assert "身份证号只用于填写出生年份和性别，不会保存" in desk.locator("main").inner_text()
        # The sheet's own words are listed; the coordinator says what they mean.
        words = desk.locator("#values tbody tr")
        assert words.count() == 5
        for values in messy.VALUE_MAPPING.values():
            for word, meaning in values.items():
                row = words.filter(has=desk.locator("td", has_text=re.compile(
                    rf"^{re.escape(word)}$")))
                row.locator("select").select_option(meaning)
        submit(desk, desk.get_by_role("button", name="按此对应关系重新预览"))
        assert desk.locator("#values").count() == 0
        main = desk.locator("main").inner_text()
        assert "1 行有错误：修正之前无法整体导入" in main
        assert "跳过 2 行" in main
        errors = desk.locator("table.errors tbody tr")
        assert errors.count() == 1 and "同一人" in errors.inner_text()
        listing = desk.locator("#listing").inner_text()
        assert "新增老人 59" in listing and "新建住户 57" in listing
        # The rest, downloaded to fix.
        download(desk, desk.get_by_role("link", name="下载错误行"), tmp_path / "rest.xlsx")
        rest = openpyxl.load_workbook(tmp_path / "rest.xlsx")
        rows = list(rest["错误行"].iter_rows(min_row=2, values_only=True))
        assert [r[3] for r in rows] == [messy.people()[0].name]
        # The valid rows, now.
        desk.locator("#skip_invalid").check()
        submit(desk, desk.get_by_role("button", name="导入无误的行"))
        flashes = desk.locator("p.flash").all_inner_texts()
        assert any("新增老人 59 位" in f for f in flashes), flashes
        assert any("1 行有错误，未导入" in f for f in flashes), flashes
    assert elders() == before + 59


def test_an_old_export_is_held_back_until_ticked(browser, live_server, world, tmp_path):
    export_path = tmp_path / "台账导出.xlsx"
    with page_in_new_context(browser, DESKTOP) as desk:
        sign_in(desk, live_server, world.coordinator)
        desk.goto(f"{live_server}/register/import")
        download(desk, desk.get_by_role("link", name="导出台账").first, export_path)
        db.session.rollback()
        closed, changed = world.h1.elders[0], world.h2.elders[0]
        elder_service.close_elder(closed, reason=ClosedReason.DECEASED, on=local_today(),
                                  actor=world.coordinator, today=local_today())
        elder_service.update_elder(changed, actor=world.coordinator, phone="13822223333")
        db.session.commit()
        closed_id, changed_id = closed.id, changed.id

        upload(desk, live_server, export_path)
        held = desk.locator("#held")
        assert "此文件导出于" in held.inner_text()
        reopen = held.locator("li", has_text=closed.name)
        assert "销档（去世），此文件将重新启用" in reopen.inner_text()
        assert "13822223333 →" in held.locator("li", has_text=changed.name).inner_text()
        submit(desk, desk.get_by_role("button", name="确认导入"))
        db.session.rollback()
        assert db.session.get(Elder, closed_id).closed_reason == ClosedReason.DECEASED
        assert db.session.get(Elder, changed_id).phone == "13822223333"

        upload(desk, live_server, export_path)
        desk.locator("#held li", has_text=closed.name).locator("input").check()
        submit(desk, desk.get_by_role("button", name="确认导入"))
        assert "重新启用：1 人。" in desk.locator("p.flash").all_inner_texts()
        db.session.rollback()
        assert db.session.get(Elder, closed_id).closed_reason is None
        assert db.session.get(Elder, changed_id).phone == "13822223333"

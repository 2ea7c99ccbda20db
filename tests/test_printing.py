"""Door cards: every code decodes to its household's door URL, rotation and reprints,
the embedded font, characters it lacks, and who may print."""

import io
import re
import time
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest
import zxingcpp

from carevisits.extensions import db
from carevisits.models import AuditEvent, DoorCode, Household, JobStatus, PrintJob
from carevisits.services import cards, fonts, printjobs
from carevisits.services.doorcodes import live_code
from tests import factories
from tests.conftest import count, latest, login

LAYOUTS = sorted(cards.layouts())


def read_pdf(pdf: bytes, versions: list | None = None) -> tuple[list[list[str]], str]:
    """Decode every QR code (pages rendered at 150 dpi) and extract the text; the QR version
    of each code, as zxing reports it, is added to ``versions`` when given."""
    doc = pdfium.PdfDocument(pdf)
    codes, text = [], []
    try:
        for page in doc:
            bitmap = page.render(scale=150 / 72)
            image = bitmap.to_pil()
            found = zxingcpp.read_barcodes(image)
            codes.append(sorted(r.text for r in found))
            if versions is not None:
                versions.extend(int(r.extra["Version"]) for r in found)
            textpage = page.get_textpage()
            text.append(textpage.get_text_range())
            textpage.close()
            bitmap.close()
            page.close()
    finally:
        doc.close()
    return codes, "\n".join(text)


def make_pdf(world, households, layout, rotate=False) -> bytes:
    db.session.rollback()
    households = [db.session.get(Household, h.id) for h in households]
    job = printjobs.create_job(actor=world.coordinator, households=households, layout=layout,
                               rotate=rotate, scope_label="test")
    db.session.commit()
    return printjobs.run_job(job.id, "https://cv.example.org")


def door_urls(households) -> list[str]:
    """What the households' live cards carry: the compact door address, all in upper case."""
    db.session.rollback()
    tokens = [live_code(db.session.get(Household, h.id)).token for h in households]
    assert all(re.fullmatch(r"[A-Z2-7]{32}", token) for token in tokens)
    return sorted(f"https://CV.EXAMPLE.ORG/C/{token}" for token in tokens)


@pytest.fixture
def many(world):
    """Enough households in grid 一 to fill more than one page of every layout but A6."""
    extra = [factories.household(world.grids[0], building="7", room=f"{700 + i}")
             for i in range(9)]
    db.session.commit()
    return [world.h1, *extra]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_code_decodes_to_its_door_url(world, many, layout):
    chosen = many if layout != "a6-card" else many[:3]
    versions = []
    codes, text = read_pdf(make_pdf(world, chosen, layout), versions)
    per_page = cards.get_layout(layout).per_page
    assert [len(page) for page in codes] == [
        min(per_page, len(chosen) - i) for i in range(0, len(chosen), per_page)]
    assert sorted(c for page in codes for c in page) == door_urls(chosen)
    assert versions == [4] * len(chosen)  # 33×33 modules: larger ones on the same card


def test_card_text_is_chinese_neutral_and_embedded(world, many):
    pdf = make_pdf(world, many, "a4-8up")
    _, text = read_pdf(pdf)
    assert "社区服务码" in text and "服务热线" in text
    assert f"{many[0].number[:4]} {many[0].number[4:]}" in text
    assert many[0].address in text  # on the strip to cut off
    for h in many:
        for elder in h.elders:
            assert elder.name not in text
    assert "独居" not in text and "关爱" not in text and "老人" not in text
    assert b"/FontFile2" in pdf  # the TrueType font is inside the file
    assert b"STSong" not in pdf


def test_rotating_revokes_the_old_codes_and_reprinting_keeps_them(client, world, many):
    before = door_urls(many)
    make_pdf(world, many, "a4-8up")  # a reprint
    assert door_urls(many) == before
    codes, _ = read_pdf(make_pdf(world, many, "a4-8up", rotate=True))
    after = door_urls(many)
    assert not set(after) & set(before)
    assert sorted(c for page in codes for c in page) == after
    old, new = before[0].split("/C/")[1], after[0].split("/C/")[1]
    anonymous = [client.get(f"/C/{t}").data for t in (old, new, "made-up-token-000000000")]
    assert anonymous[0] == anonymous[1] == anonymous[2]
    login(client, world.worker)
    replaced = client.get(f"/C/{old}").get_data(as_text=True)
    assert "此卡已更换" in replaced
    assert "探访情况" in client.get(f"/C/{new}").get_data(as_text=True)
    assert count(DoorCode, DoorCode.revoked_at.is_(None)) == len(many) + 3


def test_a_character_the_font_lacks_is_reported_not_printed(world):
    world.h2.address = "䶮路1号院"
    db.session.commit()
    with pytest.raises(printjobs.PrintError) as err:
        printjobs.create_job(actor=world.coordinator, households=[world.h2], layout="a6-card",
                             rotate=True, scope_label="x")
    assert "䶮" in str(err.value) and world.h2.number in str(err.value)
    db.session.rollback()
    assert count(PrintJob) == 0
    assert live_code(db.session.get(Household, world.h2.id)).token == world.h2.code.token


def test_no_cjk_font_stops_printing_with_a_way_to_fix_it(world, monkeypatch):
    monkeypatch.setenv(fonts.FONT_ENV, "/nonexistent/font.ttf")
    fonts.card_font.cache_clear()
    try:
        with pytest.raises(printjobs.PrintError) as err:
            printjobs.create_job(actor=world.coordinator, households=[world.h1],
                                 layout="a6-card", rotate=False, scope_label="x")
        assert "fonts-wqy-microhei" in str(err.value)
    finally:
        monkeypatch.undo()
        fonts.card_font.cache_clear()


# --- the coordinator's pages -----------------------------------------------------------

def wait_for(job_id: int, timeout: float = 30) -> PrintJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = latest(PrintJob)
        if job.id == job_id and job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError("print job did not finish")


def test_coordinator_prints_a_grid_from_the_browser_and_downloads_it(client, world):
    login(client, world.coordinator)
    page = client.get("/printing/").get_data(as_text=True)
    assert "A4 每页8张" in page
    response = client.post("/printing/", data={"area": f"g:{world.grids[0].id}",
                                               "layout": "a4-8up", "mode": "reprint"})
    assert response.status_code == 302
    job_id = int(response.location.rsplit("/", 1)[1])
    job = wait_for(job_id)
    assert job.status == JobStatus.DONE and job.total == 1 and not job.rotate
    assert "下载" in client.get(response.location).get_data(as_text=True)
    pdf = client.get(f"/printing/jobs/{job_id}/cards.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    codes, _ = read_pdf(pdf.data)
    assert codes == [door_urls([world.h1])]
    assert latest(AuditEvent).action == "print.download"


def test_the_safe_reprint_is_chosen_and_new_cards_must_be_confirmed(client, world):
    login(client, world.coordinator)
    for path in ("/printing/", f"/printing/grids/{world.grids[0].id}"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<input checked[^>]*value="reprint"', page), path
        assert not re.search(r'<input checked[^>]*value="new"', page), path
        assert re.search(r'<input checked[^>]*value="a4-8up"', page), path
        assert 'class="choice choice-new"' in page and "旧卡将立即失效" in page
    unconfirmed = client.post("/printing/", data={"area": f"g:{world.grids[0].id}",
                                                  "layout": "a4-8up", "mode": "new"})
    body = unconfirmed.get_data(as_text=True)
    assert unconfirmed.status_code == 422 and count(PrintJob) == 0
    assert re.search(r'card-mode has-error.*打印新卡会让旧卡立即失效：请勾选确认', body, re.S)
    assert live_code(db.session.get(Household, world.h1.id)).token == world.h1.code.token
    confirmed = client.post("/printing/", data={"area": f"g:{world.grids[0].id}",
                                                "layout": "a4-8up", "mode": "new",
                                                "confirm_new": "y"})
    assert confirmed.status_code == 302
    job = wait_for(int(confirmed.location.rsplit("/", 1)[1]))
    assert job.rotate and job.codes_rotated_at is not None
    assert "1 户 · 新卡" in client.get(confirmed.location).get_data(as_text=True)
    assert "1 户 · <strong>新卡</strong>" in client.get("/printing/").get_data(as_text=True)
    pdf = client.get(f"/printing/jobs/{job.id}/cards.pdf")
    name = quote(f"门卡-{job.scope_label}-{job.id}.pdf")
    assert f"filename*=UTF-8''{name}" in pdf.headers["Content-Disposition"]


def test_the_card_carries_the_number_the_neutral_door_page_shows(app, client, world):
    app.config["HOTLINE"] = "0531-66600000"
    _, text = read_pdf(make_pdf(world, [world.h1, world.h3], "a6-card"))
    neutral = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert "0531-66600000" in neutral and world.communities[0].hotline not in neutral
    assert text.count("服务热线 0531-66600000") == 2  # both communities' cards
    assert world.communities[0].hotline not in text


def test_ticking_a_building_prints_its_households(client, world):
    extra = factories.household(world.grids[0], building="3", room="999")
    db.session.commit()
    login(client, world.community_coordinator)
    key = f"{world.h1.address}|3"
    assert key in client.get(f"/printing/grids/{world.grids[0].id}").get_data(as_text=True)
    response = client.post(f"/printing/grids/{world.grids[0].id}", data={
        "buildings": key, "layout": "a4-labels-3x7", "mode": "new", "confirm_new": "y"})
    job = wait_for(int(response.location.rsplit("/", 1)[1]))
    assert job.total == 2 and job.rotate and job.codes_rotated_at is not None
    assert live_code(db.session.get(Household, extra.id)).token != extra.code.token


def test_a_coordinator_cannot_print_another_streets_households(client, world):
    login(client, world.coordinator)  # street 一
    area = client.post("/printing/", data={"area": f"g:{world.grids[3].id}",
                                           "layout": "a4-8up", "mode": "new"})
    assert area.status_code == 422
    picked = client.post(f"/printing/grids/{world.grids[3].id}", data={
        "households": str(world.h4.id), "layout": "a4-8up", "mode": "new"})
    assert picked.status_code == 404
    assert count(PrintJob) == 0
    assert live_code(db.session.get(Household, world.h4.id)).token == world.h4.code.token


def test_jobs_of_another_area_are_not_listed_or_downloadable(client, world):
    job = printjobs.create_job(actor=world.admin, households=[world.h4], layout="a6-card",
                               rotate=False, scope_label="二街道")
    db.session.commit()
    printjobs.run_job(job.id, "https://cv.example.org")
    login(client, world.coordinator)
    assert "二街道" not in client.get("/printing/").get_data(as_text=True)
    assert client.get(f"/printing/jobs/{job.id}").status_code == 404
    assert client.get(f"/printing/jobs/{job.id}/cards.pdf").status_code == 404


def test_bad_print_requests_are_refused_in_chinese(client, world):
    login(client, world.coordinator)
    response = client.post("/printing/", data={"area": f"g:{world.grids[0].id}",
                                               "layout": "poster", "mode": "new"})
    assert response.status_code == 422 and "有效" in response.get_data(as_text=True)
    nothing = client.post(f"/printing/grids/{world.grids[0].id}", data={
        "layout": "a4-8up", "mode": "new"})
    assert nothing.status_code == 422 and "没有选中任何住户" in nothing.get_data(as_text=True)
    assert count(PrintJob) == 0


def test_cli_prints_a_grid_and_lists_layouts(runner, world, tmp_path):
    listing = runner.invoke(args=["cards", "layouts"])
    assert all(key in listing.output for key in LAYOUTS)
    assert "二维码版本 4（33×33）" in listing.output
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", "print", "--grid", "甲社区 一网格", "--layout",
                                 "a4-8up", "--rotate", "-o", str(out)])
    assert result.exit_code == 0, result.output
    codes, _ = read_pdf(out.read_bytes())
    assert codes == [door_urls([world.h1])]
    assert live_code(db.session.get(Household, world.h1.id)).token != world.h1.code.token
    unknown = runner.invoke(args=["cards", "print", "--grid", "nope", "--layout", "a4-8up",
                                  "-o", str(out)])
    assert unknown.exit_code != 0


def test_a_large_batch_is_encoded_on_every_core_and_still_decodes():
    n = cards.PARALLEL_FROM + 20
    batch = [cards.Card(f"https://CV.EXAMPLE.ORG/C/{i:032d}", f"{i:08d}", "0531-1",
                        "芙蓉街1号院1号楼101室") for i in range(n)]
    layout = cards.get_layout("a4-labels-3x7")
    out = io.BytesIO()
    assert cards.render(batch, layout, out) == n
    doc = pdfium.PdfDocument(out.getvalue())
    try:
        assert len(doc) == -(-n // layout.per_page)
        last = len(doc) - 1
        for index, expected in ((0, batch[:21]), (last, batch[last * 21:])):
            image = doc[index].render(scale=150 / 72).to_pil()
            assert sorted(r.text for r in zxingcpp.read_barcodes(image)) == sorted(
                c.url for c in expected)
    finally:
        doc.close()


def test_cli_prints_one_building_or_one_single_storey_house(runner, world, tmp_path):
    bungalow = factories.household(world.grids[0], building="", unit="", room="",
                                   address="明湖西街74号")
    db.session.commit()
    out = tmp_path / "cards.pdf"
    for building, household in (("明湖西街74号", bungalow), ("测试路1号院3号楼", world.h1)):
        result = runner.invoke(args=["cards", "print", "--building", building, "--layout",
                                     "a4-8up", "-o", str(out)])
        assert result.exit_code == 0, result.output
        codes, _ = read_pdf(out.read_bytes())
        assert codes == [door_urls([household])]

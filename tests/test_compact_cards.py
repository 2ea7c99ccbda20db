"""Compact door cards (issue 18): the card's code carries the door address in upper case,
in QR's alphanumeric mode (version 4 instead of 6 at level Q), and opens the door in either
case; cards printed before keep opening their doors until their households get new cards;
CAREVISITS_QR_COMPACT=0 prints the lower-case address as before."""

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from carevisits.config import load_config
from carevisits.extensions import db
from carevisits.models import Household, Visit
from carevisits.services import printjobs
from carevisits.services.doorcodes import live_code
from tests.conftest import login
from tests.factories import old_card
from tests.test_printing import read_pdf

LONG_BASE = "https://aixinqiaomen.lixia.jinan.gov.cn"  # 39 characters: 32 fit version 4


def printed(world, household, base_url="https://cv.example.org", rotate=False):
    """Print the household's card (a reprint unless ``rotate``); the URL its code decodes
    to, and the QR version zxing reports."""
    db.session.rollback()
    job = printjobs.create_job(actor=world.coordinator, rotate=rotate, scope_label="test",
                               households=[db.session.get(Household, household.id)],
                               layout="a6-card")
    db.session.commit()
    versions = []
    codes, _ = read_pdf(printjobs.run_job(job.id, base_url), versions)
    assert len(codes) == 1 and len(codes[0]) == 1 and len(versions) == 1
    return codes[0][0], versions[0]


def token_of(household) -> str:
    db.session.rollback()
    return live_code(db.session.get(Household, household.id)).token


def upper_host(base_url: str) -> str:
    """The base URL as a compact card writes it: the scheme kept lower case (Android opens
    links by a case-sensitive scheme), the host in upper case."""
    scheme, rest = base_url.split("://")
    return f"{scheme}://{rest.upper()}"


def opens_the_form(client, path, household) -> bool:
    body = client.get(path).get_data(as_text=True)
    return 'name="idempotency_key"' in body and all(e.name in body for e in household.elders)


@pytest.mark.parametrize("base_url", ["https://cv.example.org", "http://127.0.0.1:5000",
                                      "https://care.example.gov.cn"])
def test_the_code_is_the_upper_case_door_address_at_version_4(world, base_url):
    url, version = printed(world, world.h1, base_url)
    assert url == f"{upper_host(base_url)}/C/{token_of(world.h1)}"
    assert re.fullmatch(r"[A-Z2-7]{32}", token_of(world.h1)) and version == 4


def test_a_worker_opens_the_decoded_address_in_upper_and_lower_case(client, world):
    url, _ = printed(world, world.h1)
    door = urlsplit(url).path  # what the phone asks this server for: /C/<TOKEN>
    token = door.removeprefix("/C/")
    assert client.get(door).status_code == 200  # the neutral page, then signing in…
    assert login(client, world.worker).location.endswith(door)  # …returns to the door
    for path in (door, door.lower(), f"/c/{token}", f"/C/{token.lower()}"):
        assert opens_the_form(client, path, world.h1), path
    key = "key-compact-lower-case"
    sent = client.post(door.lower(), data={"idempotency_key": key, **{
        f"e{e.id}-outcome": "met_well" for e in world.h1.elders}})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    db.session.rollback()
    visit = db.session.scalar(select(Visit).where(Visit.idempotency_key == key))
    assert visit.door_code.token == token and visit.household_id == world.h1.id
    assert not opens_the_form(client, f"/C/{token[:-1]}", world.h1)


def test_an_old_card_opens_its_door_until_the_household_gets_a_new_card(client, world):
    old = old_card(world.h1)  # made as cards were before issue 18
    db.session.commit()
    login(client, world.worker)
    assert opens_the_form(client, f"/c/{old}", world.h1)
    assert opens_the_form(client, f"/C/{old}", world.h1)
    # A reprint is the same card: the old address, as it hangs on the door.
    assert printed(world, world.h1) == (f"https://cv.example.org/c/{old}", 6)
    assert opens_the_form(client, f"/c/{old}", world.h1)
    new_card, version = printed(world, world.h1, rotate=True)
    assert new_card == f"https://CV.EXAMPLE.ORG/C/{token_of(world.h1)}" and version == 4
    assert "此卡已更换" in client.get(f"/c/{old}").get_data(as_text=True)
    assert opens_the_form(client, urlsplit(new_card).path, world.h1)


def test_qr_compact_off_prints_todays_lower_case_address(app, client, world, monkeypatch,
                                                        tmp_path):
    assert load_config(str(tmp_path))["QR_COMPACT"] is True
    monkeypatch.setenv("CAREVISITS_QR_COMPACT", "0")
    assert load_config(str(tmp_path))["QR_COMPACT"] is False
    app.config["QR_COMPACT"] = False
    url, version = printed(world, world.h1)
    assert url == f"https://cv.example.org/c/{token_of(world.h1)}" and version == 5
    login(client, world.coordinator)
    page = client.get("/printing/").get_data(as_text=True)
    assert "二维码版本 5（37×37）" in page and "CAREVISITS_QR_COMPACT=0" in page


def test_the_print_page_and_cli_say_the_version(client, runner, world):
    login(client, world.coordinator)
    for path in ("/printing/", f"/printing/grids/{world.grids[0].id}"):
        page = client.get(path).get_data(as_text=True)
        assert "二维码版本 4（33×33）" in page and 'class="qr-plan flash' not in page, path
    listing = runner.invoke(args=["cards", "layouts"]).output
    assert "二维码版本 4（33×33）: https://cv.example.org" in listing


def test_a_base_url_too_long_for_version_4_prints_anyway_with_a_note(app, client, runner,
                                                                      world):
    app.config["BASE_URL"] = LONG_BASE
    login(client, world.coordinator)
    page = client.get("/printing/").get_data(as_text=True)
    assert "二维码版本 5（37×37）" in page and "CAREVISITS_BASE_URL" in page
    listing = runner.invoke(args=["cards", "layouts"]).output
    assert "二维码版本 5（37×37）" in listing and "CAREVISITS_BASE_URL" in listing
    url, version = printed(world, world.h1, LONG_BASE)
    assert url == f"{upper_host(LONG_BASE)}/C/{token_of(world.h1)}" and version == 5


def test_a_base_url_path_keeps_its_case_in_byte_mode():
    plan = printjobs.qr_plan("https://x.gov.cn/carevisits", compact=True)
    assert plan.mode == "byte" and plan.version > 4 and "/carevisits" in plan.note
    upper = printjobs.qr_plan("https://x.gov.cn/CV", compact=True)
    assert (upper.mode, upper.version, upper.note) == ("alphanumeric", 4, "")


def test_a_base_url_path_is_kept_on_the_card(world):
    url, _ = printed(world, world.h1, "https://x.gov.cn/carevisits")
    assert url == f"https://X.GOV.CN/carevisits/C/{token_of(world.h1)}"

"""Add to home screen (issue 14 §5): the web app manifest names 爱心敲门, opens full-screen
at the signed-in user's start page (the round, for a grid worker), and its icons are real
PNGs of the sizes it declares; Chromium reads it without errors. The pages a card shows to
anyone at the door do not link it: they must not name the service."""

import io
import json
import math
import re

import pytest
from PIL import Image

from carevisits.config import STATIC_DIR
from tests.browser import PHONE, TIMEOUT_MS, sign_in
from tests.conftest import login

MANIFEST = "/static/manifest.webmanifest"
NAME = "爱心敲门"


def css_colour(name: str) -> str:
    """A colour of the light theme in static/app.css (``--primary``, ``--bg``)."""
    css = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
    return re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", css).group(1).lower()


def fetch(client, url: str):
    """A GET whose response is closed at once (a static file's handle with it)."""
    with client.get(url) as response:
        response.get_data()
    return response


def png(client, url: str) -> Image.Image:
    response = fetch(client, url)
    assert response.status_code == 200, url
    assert response.mimetype == "image/png", url
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG", url
    image.load()
    return image


@pytest.fixture
def manifest(client) -> dict:
    response = fetch(client, MANIFEST)
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    return json.loads(response.get_data(as_text=True))


def test_the_manifest_names_the_app_and_opens_full_screen_at_the_start_page(manifest):
    assert manifest["name"] == NAME and manifest["short_name"] == NAME
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"  # "/" sends each role home
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "zh-CN"
    assert manifest["theme_color"].lower() == css_colour("primary")
    assert manifest["background_color"].lower() == css_colour("bg")


def test_every_icon_is_a_png_of_the_size_it_declares(client, manifest):
    purposes = set()
    for icon in manifest["icons"]:
        image = png(client, icon["src"])
        assert icon["type"] == "image/png"
        assert "x".join(map(str, image.size)) == icon["sizes"], icon["src"]
        assert len(fetch(client, icon["src"]).data) < 16_000, f"{icon['src']} is not optimised"
        purposes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


def test_the_maskable_icon_keeps_its_drawing_inside_the_safe_circle(client, manifest):
    [icon] = [i for i in manifest["icons"] if i.get("purpose") == "maskable"]
    image = png(client, icon["src"]).convert("RGBA")
    size = image.width
    background = image.getpixel((0, 0))
    assert background[3] == 255  # full bleed: a launcher's mask never shows a hole
    safe = 0.4 * size  # the circle every launcher mask keeps (radius 40 % of the icon)
    for y in range(0, size, 4):
        for x in range(0, size, 4):
            if math.hypot(x - size / 2, y - size / 2) > safe:
                assert image.getpixel((x, y)) == background, (x, y)


def test_pages_link_the_manifest_and_the_home_screen_icon(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert f'<link rel="manifest" href="{MANIFEST}">' in page
    login(client, world.worker)
    page = client.get("/round/").get_data(as_text=True)
    assert f'<link rel="manifest" href="{MANIFEST}">' in page
    assert f'<meta name="theme-color" content="{css_colour("primary")}">' in page
    assert f'<meta name="apple-mobile-web-app-title" content="{NAME}">' in page
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in page
    href = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', page).group(1)
    touch = png(client, href)
    assert touch.size == (180, 180)
    assert touch.mode in ("RGB", "P") and "transparency" not in touch.info  # iOS: opaque


def test_a_door_card_opened_by_anyone_does_not_name_the_service(client, world):
    page = client.get(f"/c/{world.h1.code.token}").get_data(as_text=True)
    assert "manifest" not in page and NAME not in page and "apple-touch-icon" not in page


@pytest.mark.browser
def test_chromium_reads_the_manifest_and_a_worker_starts_at_the_round(world, live_server,
                                                                    browser):
    # Without the service worker: its own fetches (the door form it keeps) could still be
    # running on the server when the test ends; the page's are waited for below.
    context = browser.new_context(**PHONE, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, live_server, world.worker)
        page.goto(live_server + "/")  # the manifest's start_url
        assert page.url == live_server + "/round/"
        page.wait_for_load_state("networkidle")  # the round pack the page fetches
        read_the_manifest(page, live_server)
    finally:
        context.close()


def read_the_manifest(page, live_server):
    """What Chromium makes of the page's manifest (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["url"] == live_server + MANIFEST
    assert read["errors"] == []
    parsed = read["manifest"]
    assert parsed["name"] == NAME
    assert parsed["startUrl"] == live_server + "/" and parsed["scope"] == live_server + "/"
    assert parsed["display"] == "kStandalone"
    assert {icon["sizes"] for icon in parsed["icons"]} == {"192x192", "512x512"}
    # What stops "Install app" here is only the test's private (incognito) browser context.
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []


@pytest.mark.browser
def test_without_signal_the_phone_still_has_the_manifest_and_icons(world, live_server, phone):
    page = phone
    sign_in(page, live_server, world.worker)
    page.goto(live_server + "/round/")  # the round registers the service worker
    files = [MANIFEST, *(icon["src"] for icon in json.loads(
        (STATIC_DIR / "manifest.webmanifest").read_text(encoding="utf-8"))["icons"]),
        "/static/icons/apple-touch-icon.png"]
    kept = """async (files) => {
      const reg = await navigator.serviceWorker.getRegistration("/");
      const all = await Promise.all(files.map(f => caches.match(f)));
      return !!(reg && reg.active && reg.active.state === "activated") && all.every(Boolean);
    }"""
    for _ in range(100):
        if page.evaluate(kept, files):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the service worker did not keep the manifest and icons")
    page.context.set_offline(True)
    response = page.goto(live_server + MANIFEST)
    assert response.ok and json.loads(response.body())["name"] == NAME
    for url in files[1:]:
        response = page.goto(live_server + url)
        assert response.ok and Image.open(io.BytesIO(response.body())).format == "PNG"

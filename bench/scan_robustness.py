"""Benchmark: from how far, and in how dim a light, a door card's code still decodes (issue 18).

    .venv/bin/python bench/scan_robustness.py [-n 200] [--layout a4-labels-3x7] [--seed 18]
        [--encodings today,compact] [--quick]

Prints real card PDFs through the app's printing service (services/printjobs.py: create_job,
run_job) for N households of a fresh SQLite database, once per encoding:

  today    the cards on doors now: 256-bit base64url tokens, printed with QR_COMPACT off
  compact  new cards: the tokens the print job's rotation issues, printed with QR_COMPACT on
  off      new tokens printed with QR_COMPACT off (what CAREVISITS_QR_COMPACT=0 prints)

It renders every page with pypdfium2, crops each code at its printed size (the layout's QR
square, quiet zone included, with 4 mm of card around it), photographs each crop with a
simulated phone camera (bench/scan_camera.py: perspective ±10°, lens blur, sampling at P pixels
per mm of card, uneven low-contrast light, sensor noise, JPEG) and decodes the photograph with
zxing-cpp; a photograph counts when it decodes to the card's own URL. Each cell of the tables
is N photographs, one per card, with the same seeded draws for every encoding. The distance to
the card is inversely proportional to px/mm, so the px/mm each encoding needs for 50% and 90%
decoding gives the distance ratio.
"""

import argparse
import random
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import pypdfium2  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import ImageOps  # noqa: E402

from bench.scan_camera import LIGHTS, noise_bank, photograph  # noqa: E402
from carevisits import create_app  # noqa: E402
from carevisits.extensions import db  # noqa: E402
from carevisits.services import areas, cards, doorcodes, households, printjobs  # noqa: E402

BASE_URL = "https://care.example.gov.cn"  # the example: version 4 when compact
SOURCE_PPM = 10  # pixels per mm the PDF is rendered at: ~6 per module of a 29 mm code
MARGIN_MM = 4  # card around the code in each photograph
LEGACY_TOKEN_BYTES = 32  # the tokens of cards printed before issue 18: 43 base64url characters
PPMS = [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5]
BLURS = [0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5]  # σ in camera pixels, at the highest px/mm
QUICK_PPMS, QUICK_BLURS = [2.5, 4.5, 6.5], [1.0, 2.5]
ENCODINGS = {
    "today": "cards on doors now: base64url tokens, QR_COMPACT off",
    "compact": "new cards: the job's new tokens, QR_COMPACT on",
    "off": "new tokens, QR_COMPACT off",
}


def make_households(n: int) -> list:
    """N households of one grid, each with a live door code."""
    street = areas.create_street("泉城路街道", actor=None)
    community = areas.save_community(None, street=street, name="芙蓉街社区",
                                      hotline="0531-86011001", actor=None)
    grid = areas.save_grid(None, community=community, name="第一网格", actor=None)
    made = [households.create_household(grid, actor=None, address=f"芙蓉街{i // 60 + 1}号院",
                                        building=str(i // 12 % 5 + 1), unit=str(i // 6 % 2 + 1),
                                        room=f"{i % 6 + 1}0{i % 2 + 1}")
            for i in range(n)]
    db.session.commit()
    return made


def set_tokens(homes: list, make) -> None:
    """Give each household's live door code a token made by ``make``."""
    for home in homes:
        doorcodes.live_code(home).token = make()
    db.session.commit()


def print_cards(app, encoding: str, homes: list,
                layout: cards.Layout) -> tuple[bytes, list[str]]:
    """The PDF of the encoding's cards and the URL each card should decode to, in order:
    today's cards keep the old tokens (reprinted as they are); the others are new cards, with
    the job's new tokens, printed with QR_COMPACT on or off."""
    compact = encoding == "compact"
    if encoding == "today":
        set_tokens(homes, lambda: secrets.token_urlsafe(LEGACY_TOKEN_BYTES))
    app.config["QR_COMPACT"] = compact
    job = printjobs.create_job(actor=None, households=homes, layout=layout.key,
                               rotate=encoding != "today", scope_label="bench")
    db.session.commit()
    pdf = printjobs.run_job(job.id, BASE_URL)
    urls = [doorcodes.card_url(BASE_URL, doorcodes.live_code(h).token, compact) for h in homes]
    return pdf, urls


def crops(pdf: bytes, urls: list[str], layout: cards.Layout, info: dict):
    """(card index, greyscale crop of its code at SOURCE_PPM) for every card of the PDF; the
    version zxing reads is put in ``info``."""
    index = {url: i for i, url in enumerate(urls)}
    half = round((layout.qr / 2 + MARGIN_MM) * SOURCE_PPM)
    doc = pypdfium2.PdfDocument(pdf)
    try:
        for page in doc:
            image = page.render(scale=SOURCE_PPM * 25.4 / 72, grayscale=True).to_pil()
            image = image.convert("L")
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            padded = ImageOps.expand(image, border=half, fill=255)  # codes at the page's edge
            for code in found:
                if code.text not in index:
                    raise SystemExit(f"a code on the page decodes to {code.text!r}, no card's")
                info.setdefault("versions", set()).add(str(code.extra.get("Version", "?")))
                corners = code.position
                points = [corners.top_left, corners.top_right, corners.bottom_right,
                          corners.bottom_left]
                cx = sum(p.x for p in points) / 4 + half
                cy = sum(p.y for p in points) / 4 + half
                box = (round(cx) - half, round(cy) - half, round(cx) + half, round(cy) + half)
                yield index.pop(code.text), padded.crop(box)
    finally:
        doc.close()
    if index:
        raise SystemExit(f"{len(index)} codes not found on the rendered pages")


def sweep_plan(quick: bool) -> list[tuple[str, float, float | None]]:
    """(sweep, px/mm, blur σ or None for the light's own range) of every condition."""
    ppms, blurs = (QUICK_PPMS, QUICK_BLURS) if quick else (PPMS, BLURS)
    return ([("ppm", p, None) for p in ppms] + [("blur", ppms[-1], b) for b in blurs])


def run(encodings: list[str], n: int, layout: cards.Layout, seed: str, quick: bool) -> dict:
    """Decode counts by (encoding, light, sweep, level), and what was printed."""
    plan = sweep_plan(quick)
    side = round((layout.qr + 2 * MARGIN_MM) * max(p for _, p, _ in plan) * 1.3) + 8
    banks = {name: noise_bank(light, side, seed) for name, light in LIGHTS.items()}
    counts: dict = defaultdict(lambda: [0, 0])  # [decoded right, decoded wrong]
    info: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/b.sqlite3",
                          "SECRET_KEY": "bench", "BASE_URL": BASE_URL, "SCHEDULER": False,
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            flask_migrate.upgrade()
            homes = make_households(n)
            printed = {e: print_cards(app, e, homes, layout) for e in encodings}
            db.session.remove()
            db.engine.dispose()
    for encoding, (pdf, urls) in printed.items():
        seen: dict = {}
        info[encoding] = seen
        seen["payload"] = urls[0]
        for i, crop in crops(pdf, urls, layout, seen):
            for sweep, ppm, blur in plan:
                for name, light in LIGHTS.items():
                    rng = random.Random(f"{seed}:{name}:{sweep}:{ppm}:{blur}:{i}")
                    sigma = blur if blur is not None else rng.uniform(*light.blur)
                    photo = photograph(crop, SOURCE_PPM, ppm, sigma, light, rng, banks[name])
                    texts = {c.text for c in zxingcpp.read_barcodes(
                        photo, formats=zxingcpp.BarcodeFormat.QRCode)}
                    cell = counts[encoding, name, sweep, blur if sweep == "blur" else ppm]
                    cell[0] += urls[i] in texts
                    cell[1] += bool(texts - {urls[i]})
    return {"counts": counts, "info": info, "plan": plan}


def needed(rates: list[tuple[float, float]], share: float) -> float | None:
    """The px/mm from which decoding stays at or above ``share``, interpolated linearly
    between the measured levels; None when it is not reached by the highest."""
    above = None
    for i in range(len(rates) - 1, -1, -1):
        if rates[i][1] < share:
            break
        above = i
    if above is None:
        return None
    if above == 0:
        return rates[0][0]
    (p0, r0), (p1, r1) = rates[above - 1], rates[above]
    return p0 + (p1 - p0) * (share - r0) / (r1 - r0)


def report(result: dict, encodings: list[str], n: int, layout: cards.Layout, seed: str,
           seconds: float) -> int:
    """Print what was printed, the two tables and the distance ratios; returns the number
    of wrong decodes."""
    counts, info, plan = result["counts"], result["info"], result["plan"]
    print(f"scan robustness: layout {layout.key} (code {layout.qr:g} mm with its quiet zone), "
          f"N={n} cards per cell, seed {seed}, {seconds:.0f} s")
    for e in encodings:
        versions = "/".join(sorted(info[e]["versions"]))
        modules = 17 + 4 * int(versions) if versions.isdigit() else 0
        size = (f" ({modules}×{modules}), module {layout.qr / (modules + 8):.3f} mm"
                if modules else "")  # several versions: no one module size
        print(f"  {e:8} version {versions}{size}: {ENCODINGS[e]}\n"
              f"           e.g. {info[e]['payload']}")
    wrong = sum(cell[1] for cell in counts.values())
    lights = list(LIGHTS)
    head = " | ".join(f"{name}: " + " ".join(f"{e:>8}" for e in encodings) for name in lights)

    def rate(e, name, sweep, level) -> float:
        return counts[e, name, sweep, level][0] / n

    print("\ndecode rate by camera pixels per mm of card (blur σ "
          + ", ".join(f"{lt.blur[0]:g}–{lt.blur[1]:g} px {lt.name}" for lt in LIGHTS.values())
          + ")")
    print(f"  px/mm | {head}")
    ppms = [p for sweep, p, _ in plan if sweep == "ppm"]
    for p in ppms:
        cells = " | ".join(" " * (len(name) + 2) + " ".join(
            f"{rate(e, name, 'ppm', p):>8.0%}" for e in encodings) for name in lights)
        print(f"  {p:5.2f} | {cells}")
    blur_ppm = next(p for sweep, p, _ in plan if sweep == "blur")
    print(f"\ndecode rate by lens blur at {blur_ppm:g} px/mm")
    print(f"  σ px  | {head}")
    for _, _, b in (item for item in plan if item[0] == "blur"):
        cells = " | ".join(" " * (len(name) + 2) + " ".join(
            f"{rate(e, name, 'blur', b):>8.0%}" for e in encodings) for name in lights)
        print(f"  {b:5.2f} | {cells}")
    if "today" in encodings and "compact" in encodings:
        print("\ndistance ratio: px/mm today's needs ÷ px/mm the compact one needs "
              "(> 1: the compact card decodes from that much farther)")
        for name in lights:
            parts = []
            for share in (0.5, 0.9):
                today, compact = (needed([(p, rate(e, name, "ppm", p)) for p in ppms], share)
                                  for e in ("today", "compact"))
                ratio = (f"{today / compact:.2f}×" if today and compact else "n/a")
                parts.append(f"{share:.0%}: {_fmt(today)} / {_fmt(compact)} = {ratio}")
            print(f"  {name:8} " + "   ".join(parts))
    print(f"\nwrong decodes (a code read as another URL): {wrong}")
    return wrong


def _fmt(ppm: float | None) -> str:
    return f"{ppm:.2f}" if ppm is not None else f">{PPMS[-1]:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None,
                        help="cards (photographs per cell); default 200, 8 with --quick")
    parser.add_argument("--layout", default="a4-labels-3x7", help="a file name in printables/")
    parser.add_argument("--seed", default="18", help="seed of every random degradation")
    parser.add_argument("--encodings", default="today,compact",
                        help=f"comma-separated, of: {', '.join(ENCODINGS)}")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: few cards, 3 px/mm levels, 2 blur levels")
    args = parser.parse_args()
    n = args.n if args.n is not None else (8 if args.quick else 200)
    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    if n < 1 or not encodings or set(encodings) - set(ENCODINGS):
        parser.error(f"need -n ≥ 1 and encodings among {', '.join(ENCODINGS)}")
    layout = cards.get_layout(args.layout)
    start = time.perf_counter()
    result = run(encodings, n, layout, args.seed, args.quick)
    wrong = report(result, encodings, n, layout, args.seed, time.perf_counter() - start)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

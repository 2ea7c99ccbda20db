"""Benchmark: printing door cards as PDF (carevisits.services.cards.render).

    .venv/bin/python bench/print_cards.py [-n 10000] [--layout a4-8up] [--baseline-n 1000]
                                          [--qr-compact 0]

Needs no app and no database. Times ``cards.render`` on N cards with fresh tokens, made
exactly as the app makes them (the compact upper-case address, or with ``--qr-compact 0``
the lower-case one, as CAREVISITS_QR_COMPACT does), against a naive baseline that draws
each code as a PNG (qrcode + Pillow + reportlab drawImage), then checks that the first and
last page decode.
"""

import argparse
import io
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carevisits.services import cards, doorcodes  # noqa: E402

BASE_URL = "https://care.example.org"
HOTLINE = "0531-86011001"
STREETS = ["芙蓉街", "曲水亭街", "王府池子街", "大明湖路", "泉城路", "县西巷"]
TARGET_RATE = 400  # cards/s
TARGET_SPEEDUP = 3.0  # × the baseline's cards/s
TARGET_BYTES = 1536  # bytes per card beyond the font subset (1.5 KiB)


def fresh_cards(n: int, log: list | None = None, compact: bool = True
                ) -> Iterator[cards.Card]:
    """N cards with new tokens, made as the app makes them; numbers and addresses by index."""
    for i in range(n):
        token = doorcodes.new_token()
        body = f"{(1234567 + i * 7919) % 10**7:07d}"
        card = cards.Card(
            url=doorcodes.card_url(BASE_URL, token, compact),
            number=body + doorcodes.luhn_digit(body),
            hotline=HOTLINE,
            address=f"{STREETS[i % len(STREETS)]}{i % 97 + 1}号院{i % 9 + 1}号楼"
                    f"{i % 4 + 1}单元{i % 6 + 1}0{i % 4 + 1}室",
        )
        if log is not None:
            log.append(card)
        yield card


def timed_render(n: int, layout: cards.Layout, log: list | None = None,
                 compact: bool = True) -> tuple[float, int, bytes]:
    """Seconds to make and render N fresh cards, the PDF's size in bytes, and the PDF."""
    out = io.BytesIO()
    start = time.perf_counter()
    drawn = cards.render(fresh_cards(n, log, compact), layout, out)
    seconds = time.perf_counter() - start
    assert drawn == n, (drawn, n)
    return seconds, len(out.getvalue()), out.getvalue()


def naive_qr(c, url: str, x: float, y: float, size: float) -> None:
    """The baseline: a qrcode PNG (quiet zone included) placed in the same square."""
    import qrcode
    from reportlab.lib.utils import ImageReader

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    image = qr.make_image().get_image()  # a Pillow image
    c.drawImage(ImageReader(image), x, y, width=size, height=size)


def timed_baseline(n: int, layout: cards.Layout, compact: bool) -> tuple[float, int]:
    """Like timed_render, with only the QR making and drawing swapped for the naive one
    (one process, a PNG per code): the label, number, hotline, address strip and cut marks
    are drawn by the same code in cards.py. The URL takes the place of the matrix."""
    with (mock.patch.object(cards, "_matrices", iter),
          mock.patch.object(cards, "draw_qr", naive_qr)):
        seconds, size, _ = timed_render(n, layout, compact=compact)
    return seconds, size


def decode_pages(pdf: bytes, drawn: list[cards.Card], per_page: int) -> list[tuple]:
    """(page number, codes decoded matching that page's cards, cards on the page)."""
    import pypdfium2
    import zxingcpp

    doc = pypdfium2.PdfDocument(pdf)
    pages = len(doc)
    results = []
    for index in sorted({0, pages - 1}):
        expected = {card.url for card in drawn[index * per_page:(index + 1) * per_page]}
        image = doc[index].render(scale=150 / 72).to_pil()
        found = {b.text for b in zxingcpp.read_barcodes(image)}
        results.append((index + 1, len(found & expected), len(expected), len(found - expected)))
    doc.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10000, help="cards for our renderer")
    parser.add_argument("--layout", default="a4-8up", help="a file name in printables/")
    parser.add_argument("--baseline-n", type=int, default=1000, help="cards for the baseline")
    parser.add_argument("--qr-compact", type=int, choices=(0, 1), default=1,
                        help="1: the compact upper-case address (the default); 0: lower-case")
    args = parser.parse_args()
    if args.n < 2 or args.baseline_n < 1:
        parser.error("need -n ≥ 2 and --baseline-n ≥ 1")
    compact = bool(args.qr_compact)
    layout = cards.get_layout(args.layout)
    font = cards.card_font()

    try:
        import _rl_accel  # noqa: F401
        accel = "yes"
    except ImportError:
        accel = "no"
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"cpus {len(__import__('os').sched_getaffinity(0))}, rl_accel {accel}, "
          f"layout {layout.key} ({layout.per_page}/page), font {Path(font.path).name}")
    sample = doorcodes.card_url(BASE_URL, doorcodes.new_token(), compact)
    print(f"codes: {sample[:30]}…, {cards.qr_mode(sample)} mode, "
          f"version {cards.qr_version(sample)} at level {cards.ERROR_LEVEL.upper()}")

    # Untimed: a 1-card PDF (font subset and page overhead) — also warms up imports.
    _, one_size, _ = timed_render(1, layout, compact=compact)
    drawn: list[cards.Card] = []
    ours_s, ours_size, pdf = timed_render(args.n, layout, drawn, compact)
    same_s, same_size, _ = timed_render(args.baseline_n, layout, compact=compact)
    base_s, base_size = timed_baseline(args.baseline_n, layout, compact)

    rows = [
        ("ours (segno, vector path)", args.n, ours_s, ours_size),
        ("ours, baseline's N", args.baseline_n, same_s, same_size),
        ("baseline (qrcode PNG)", args.baseline_n, base_s, base_size),
    ]
    print(f"\n{'':27} {'cards':>6} {'seconds':>8} {'cards/s':>8} {'PDF bytes':>10} "
          f"{'B/card':>7}")
    for name, n, s, size in rows:
        print(f"{name:27} {n:>6} {s:>8.2f} {n / s:>8.1f} {size:>10} {size / n:>7.0f}")
    beyond = (ours_size - one_size) / (args.n - 1)
    rate, base_rate = args.n / ours_s, args.baseline_n / base_s
    speedup, speedup_same = rate / base_rate, (args.baseline_n / same_s) / base_rate
    size_ratio = (base_size / args.baseline_n) / (ours_size / args.n)
    size_ratio_same = base_size / same_size
    print(f"\n1-card PDF: {one_size} B (font subset + page overhead)")
    print(f"bytes per card (ours, N={args.n}): {ours_size / args.n:.0f}; "
          f"beyond the font subset: {beyond:.0f} = (size(N) - size(1)) / (N - 1)")
    print(f"speed ratio ours/baseline: {speedup:.1f}× (same N: {speedup_same:.1f}×)")
    print(f"size ratio baseline/ours:  {size_ratio:.1f}× (same N: {size_ratio_same:.1f}×)")

    print("\ntargets")
    for label, ok in [
        (f"≥ {TARGET_RATE} cards/s: {rate:.0f}", rate >= TARGET_RATE),
        (f"≥ {TARGET_SPEEDUP:g}× baseline speed: {speedup:.1f}× (same N {speedup_same:.1f}×)",
         min(speedup, speedup_same) >= TARGET_SPEEDUP),
        (f"≤ {TARGET_BYTES} B/card beyond the font subset: {beyond:.0f}",
         beyond <= TARGET_BYTES),
    ]:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")

    print("\ndecoding our PDF (pypdfium2 at 150 dpi, zxingcpp; not timed)")
    all_ok = True
    for page, matched, expected, stray in decode_pages(pdf, drawn, layout.per_page):
        ok = matched == expected and not stray
        all_ok &= ok
        print(f"  page {page}: {matched}/{expected} codes decoded"
              f"{f', {stray} unexpected' if stray else ''}  {'OK' if ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

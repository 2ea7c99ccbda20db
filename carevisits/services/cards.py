"""Door cards as PDF: layouts from printables/, QR codes drawn as one vector path each.

The QR encodes the door's address (doorcodes.card_url) and nothing else: compact, in upper
case and QR's alphanumeric mode, unless CAREVISITS_QR_COMPACT=0. A card carries a neutral label,
the code, the household number and the hotline the neutral door page shows; the address
only on a strip that is cut off once the card is on the door. Never a name.
"""

import os
import tomllib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import BinaryIO

import segno
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from segno import consts

from carevisits.config import PRINTABLES_DIR
from carevisits.services.fonts import CardFont, card_font

PRINTABLES = PRINTABLES_DIR
rl_config.useA85 = 0  # binary streams: ASCII85 makes the file 25% larger and is slow
LABEL = "社区服务码"
STRIP_HINT = "贴好后沿虚线剪下此条"
QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
ERROR_LEVEL = "q"  # recovers 25% damage: a door card gets dirty and scratched
# segno's search for the best of the 8 mask patterns costs ~4 ms a code (~70% of a card's
# time). The codes carry random tokens, so every mask gives an even, noise-like pattern;
# a fixed one (the one segno picks most often for these URLs) keeps printing fast. Checked
# again for the compact alphanumeric codes (issue 18): still segno's most frequent pick, its
# penalty score within 5% of the best mask's (median; 22% at worst) and every code decoded.
MASK = 4
# QR's alphanumeric mode: 45 characters at 5.5 bits each instead of byte mode's 8.
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
COMPACT_VERSION = 4  # what the compact door address of a short base URL fits at level Q
PARALLEL_FROM = 400  # cards: below this, starting worker processes costs more than it saves


class LayoutUnknown(KeyError):
    """No layout file of that name in printables/."""


@dataclass(frozen=True)
class Layout:
    """One print format, read from ``printables/<key>.toml`` (all sizes in mm)."""

    key: str
    title: str
    title_en: str
    page: tuple[float, float]
    columns: int
    rows: int
    card: tuple[float, float]
    arrangement: str  # "side": code left, words right; "stacked": one above the other
    padding: float
    qr: float
    strip: float
    cut_marks: bool
    label_size: float
    number_size: float
    hotline_size: float
    address_size: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Card:
    """What one card shows."""

    url: str
    number: str
    hotline: str
    address: str

    @property
    def number_text(self) -> str:
        return f"户号 {self.number[:4]} {self.number[4:]}"

    @property
    def hotline_text(self) -> str:
        return f"服务热线 {self.hotline}" if self.hotline else ""


def layouts() -> dict[str, Layout]:
    """Every layout in printables/, by file name."""
    found = {}
    for path in sorted(PRINTABLES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data["page"], data["card"] = tuple(data["page"]), tuple(data["card"])
        found[path.stem] = Layout(key=path.stem, **data)
    return found


def get_layout(key: str) -> Layout:
    """The layout called ``key``; LayoutUnknown if there is none."""
    try:
        return layouts()[key]
    except KeyError:
        raise LayoutUnknown(key) from None


def unprintable(cards: Iterable[Card], font: CardFont | None = None) -> dict[str, set[str]]:
    """Household number → characters of its card the font lacks (empty when all print)."""
    font = font or card_font()
    problems = {}
    for card in cards:
        missing = font.missing(card.address + card.hotline)
        if missing:
            problems[card.number] = missing
    return problems


def _segments(url: str) -> list[tuple[str, int]]:
    """The URL as QR segments: a lower-case scheme in byte mode and the rest (``://HOST/C/
    <TOKEN>``) in alphanumeric mode when all of it is in that mode's set; else one segment,
    alphanumeric if the whole URL allows it, byte mode otherwise."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.isalpha() and ALPHANUMERIC.issuperset(sep + rest):
        if ALPHANUMERIC.issuperset(scheme):
            return [(url, consts.MODE_ALPHANUMERIC)]
        return [(scheme, consts.MODE_BYTE), (sep + rest, consts.MODE_ALPHANUMERIC)]
    return [(url, consts.MODE_ALPHANUMERIC if ALPHANUMERIC.issuperset(url)
             else consts.MODE_BYTE)]


def qr_mode(url: str) -> str:
    """``alphanumeric`` when the address after the scheme is in that mode's set (a compact
    door address), else ``byte``."""
    return "alphanumeric" if _segments(url)[-1][1] == consts.MODE_ALPHANUMERIC else "byte"


def make_qr(url: str) -> segno.QRCode:
    """The card's QR code for ``url``: level Q, the densest modes the URL allows."""
    return segno.make(_segments(url), error=ERROR_LEVEL, micro=False, boost_error=False,
                      mask=MASK)


def qr_version(url: str) -> int:
    """The QR version (size: 17 + 4 × version modules) a card encoding ``url`` gets."""
    return make_qr(url).version


def qr_matrix(url: str) -> tuple[bytes, ...]:
    """The QR code's modules, row by row (1 = dark), without the quiet zone."""
    return tuple(bytes(row) for row in make_qr(url).matrix)


def _matrices(urls: list[str]) -> Iterator[tuple[bytes, ...]]:
    """QR matrices in order; a big batch is encoded on every core while this one draws."""
    workers = os.cpu_count() or 1
    if workers < 2 or len(urls) < PARALLEL_FROM:
        yield from map(qr_matrix, urls)
        return
    # spawn, not fork: this may run in a web worker's background thread.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        yield from pool.map(qr_matrix, urls, chunksize=64)


def render(cards: Iterable[Card], layout: Layout, out: BinaryIO,
           progress: Callable[[int], None] | None = None) -> int:
    """Draw the cards into a PDF on ``out``; returns how many were drawn."""
    cards = list(cards)
    font = card_font()
    canvas = Canvas(out, pagesize=(layout.page[0] * mm, layout.page[1] * mm),
                    pageCompression=1, invariant=0)
    canvas.setTitle(LABEL)
    canvas.setCreator("carevisits")
    left = (layout.page[0] - layout.columns * layout.card[0]) / 2 * mm
    top = layout.page[1] * mm - (layout.page[1] - layout.rows * layout.card[1]) / 2 * mm
    count = 0
    matrices = _matrices([card.url for card in cards])
    for count, (card, matrix) in enumerate(zip(cards, matrices, strict=True), start=1):
        slot = (count - 1) % layout.per_page
        if slot == 0 and count > 1:
            canvas.showPage()
        if slot == 0 and layout.cut_marks:
            _cut_marks(canvas, layout, left, top)
        col, row = slot % layout.columns, slot // layout.columns
        x = left + col * layout.card[0] * mm
        y = top - (row + 1) * layout.card[1] * mm
        _card(canvas, font.name, layout, card, matrix, x, y)
        if progress is not None:
            progress(count)
    if count:
        canvas.showPage()
    canvas.save()
    return count


def _card(c: Canvas, font: str, lay: Layout, card: Card, matrix, x: float, y: float) -> None:
    w, h, pad, strip = lay.card[0] * mm, lay.card[1] * mm, lay.padding * mm, lay.strip * mm
    qr = lay.qr * mm
    # The strip: the address, for whoever posts the card, above a line to cut along.
    c.setDash(2, 2)
    c.setLineWidth(0.4)
    c.line(x, y + strip, x + w, y + strip)
    c.setDash()
    fit_text(c, font, lay.address_size, f"{card.address}  ({STRIP_HINT})", x + w / 2,
         y + strip / 2 - lay.address_size / 3, w - 2 * pad)
    body = h - strip
    if lay.arrangement == "stacked":
        cx = x + w / 2
        c.setFont(font, lay.label_size)
        c.drawCentredString(cx, y + h - pad - lay.label_size, LABEL)
        qr_y = y + h - pad - lay.label_size * 1.4 - qr
        draw_qr(c, matrix, cx - qr / 2, qr_y, qr)
        c.setFont(font, lay.number_size)
        c.drawCentredString(cx, qr_y - lay.number_size * 1.1, card.number_text)
        c.setFont(font, lay.hotline_size)
        c.drawCentredString(cx, qr_y - lay.number_size * 1.1 - lay.hotline_size * 1.8,
                            card.hotline_text)
        return
    qr_y = y + strip + (body - qr) / 2
    draw_qr(c, matrix, x + pad / 2, qr_y, qr)
    text_x = x + pad / 2 + qr
    text_w = w - pad - qr
    cx = text_x + text_w / 2
    mid = y + strip + body / 2
    fit_text(c, font, lay.label_size, LABEL, cx, mid + lay.number_size * 0.9, text_w)
    fit_text(c, font, lay.number_size, card.number_text, cx, mid - lay.number_size * 0.35, text_w)
    fit_text(c, font, lay.hotline_size, card.hotline_text, cx,
         mid - lay.number_size * 0.35 - lay.hotline_size * 2, text_w)


def fit_text(c: Canvas, font: str, size: float, text: str, cx: float, y: float, width: float):
    """Draw centred text, shrinking it until it fits the width."""
    while size > 4 and stringWidth(text, font, size) > width:
        size -= 0.5
    c.setFont(font, size)
    c.drawCentredString(cx, y, text)


def draw_qr(c: Canvas, matrix, x: float, y: float, size: float) -> None:
    """Draw the QR code as one filled path in a square of ``size``, quiet zone included."""
    n = len(matrix)
    module = size / (n + 2 * QUIET_ZONE)
    c.saveState()
    c.translate(x + QUIET_ZONE * module, y + QUIET_ZONE * module)
    c.scale(module, module)
    # One path in whole-module units: "x y w h re" per rectangle, then one fill. Written as
    # literal operators because reportlab's float formatting is most of the drawing time.
    c.addLiteral(" ".join(f"{left} {n - top - height} {width} {height} re"
                          for left, top, width, height in dark_rectangles(matrix)) + " f")
    c.restoreState()


def dark_rectangles(matrix) -> list[tuple[int, int, int, int]]:
    """Cover the dark modules with few rectangles: runs within a row, stacked when equal.

    Returns (left, top, width, height) in modules, rows counted from the top.
    """
    done, growing = [], {}  # (left, width) -> top row of a run still growing downward
    for r, row in enumerate(matrix):
        runs, col = set(), row.find(1)
        while col != -1:  # bytearray.find scans in C: much faster than a Python loop
            end = row.find(0, col)
            end = len(row) if end == -1 else end
            runs.add((col, end - col))
            col = row.find(1, end)
        for run in [run for run in growing if run not in runs]:
            done.append((run[0], growing.pop(run), run[1], r))
        for run in runs:
            growing.setdefault(run, r)
    done.extend((left, top, width, len(matrix)) for (left, width), top in growing.items())
    return [(left, top, width, bottom - top) for left, top, width, bottom in done]


def _cut_marks(c: Canvas, lay: Layout, left: float, top: float) -> None:
    """Short crop marks in the page margins, in line with every cut."""
    c.setLineWidth(0.3)
    right = left + lay.columns * lay.card[0] * mm
    bottom = top - lay.rows * lay.card[1] * mm
    gap, length = 1.5 * mm, min(5 * mm, left - 2 * mm, c._pagesize[1] - top - 2 * mm)
    if length <= 0:
        return
    for i in range(lay.columns + 1):
        cx = left + i * lay.card[0] * mm
        c.line(cx, top + gap, cx, top + gap + length)
        c.line(cx, bottom - gap, cx, bottom - gap - length)
    for j in range(lay.rows + 1):
        cy = top - j * lay.card[1] * mm
        c.line(left - gap, cy, left - gap - length, cy)
        c.line(right + gap, cy, right + gap + length, cy)

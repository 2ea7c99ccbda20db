"""The CJK TrueType font embedded in printed cards: found, registered once, and checked.

reportlab's built-in ``STSong-Light`` is not embedded and prints as boxes on a PC without
Chinese fonts; Noto CJK ``.otf``/``.ttc`` files have CFF outlines that reportlab rejects.
TrueType files are embedded and subset, so the PDF prints the same everywhere.
"""

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_ENV = "CAREVISITS_PDF_FONT"  # "path" or "path#subfont-index"
FONT_NAME = "CareCardCJK"
# TrueType CJK fonts in their usual places on Linux, macOS and Windows, best first.
CANDIDATES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
]
HOW_TO_FIX = (
    "No TrueType Chinese font found for printing. Install one "
    "(Debian/Ubuntu: sudo apt-get install fonts-wqy-microhei) or set "
    f"{FONT_ENV}=/path/to/font.ttf (a .ttc takes '#0' for its first face). "
    "OpenType CJK fonts (.otf, Noto CJK) cannot be embedded."
)


class FontUnavailable(RuntimeError):
    """No usable CJK TrueType font: printing must stop rather than print boxes."""


@dataclass(frozen=True)
class CardFont:
    """The registered font: its reportlab name and the characters it can draw."""

    name: str
    path: str
    codepoints: frozenset[int]

    def missing(self, text: str) -> set[str]:
        """The characters of ``text`` this font cannot draw (spaces are always fine)."""
        return {ch for ch in text if not ch.isspace() and ord(ch) not in self.codepoints}


def _configured() -> list[tuple[str, int]]:
    setting = os.environ.get(FONT_ENV, "").strip()
    if setting:
        path, _, index = setting.partition("#")
        return [(path, int(index or 0))]
    return [(path, 0) for path in CANDIDATES]


@cache
def card_font() -> CardFont:
    """Find, load and register the CJK font once per process; raise FontUnavailable."""
    for path, index in _configured():
        if not Path(path).is_file():
            continue
        try:
            font = TTFont(FONT_NAME, path, subfontIndex=index)
        except (TTFError, OSError, ValueError):
            continue
        if ord("社") not in font.face.charToGlyph:
            continue
        pdfmetrics.registerFont(font)
        return CardFont(FONT_NAME, path, frozenset(font.face.charToGlyph))
    raise FontUnavailable(HOW_TO_FIX)

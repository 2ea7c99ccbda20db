"""The daily check-in's fridge card (平安打卡卡片): an A6 PDF with the QR of the elder's personal
link, their given name, the hour and whom to call for help.

It hangs inside the home, so unlike the door card it may greet the elder by their given name;
it looks unlike the door card too (a green frame, the words 平安打卡 and 我很好), so that nobody
takes one for the other. The QR is drawn as the door cards' are (one vector path, services/
cards.py) in the same embedded CJK font.
"""

import io

from reportlab.lib.colors import HexColor, white
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from carevisits.services.cards import draw_qr, fit_text, qr_matrix
from carevisits.services.fonts import card_font

PAGE = (105 * mm, 148 * mm)  # A6 portrait, as the single door card, for the same printers
GREEN = HexColor("#0b6e4f")
TITLE = "平安打卡"


class CardTextMissing(ValueError):
    """Characters of the card the embedded font cannot draw (they would print as boxes)."""

    def __init__(self, missing: set[str]):
        super().__init__("".join(sorted(missing)))
        self.missing = missing


def lines(given_name: str, hour: int, hotline: str) -> dict[str, str]:
    """What the card says, in Chinese (printed for the elder, whatever the staff's language)."""
    return {"title": TITLE, "greeting": f"{given_name}，您好",
            "ask": f"每天 {hour} 点前按一下「我很好」",
            "how": "用手机扫描上面的二维码，打开后按大按钮",
            "help": f"需要帮助请打社区电话 {hotline}" if hotline else "需要帮助请联系社区"}


def render(url: str, given_name: str, hour: int, hotline: str) -> bytes:
    """The card as PDF bytes; CardTextMissing when the font lacks a character of it."""
    font = card_font()
    text = lines(given_name, hour, hotline)
    missing = font.missing("".join(text.values()))
    if missing:
        raise CardTextMissing(missing)
    out = io.BytesIO()
    c = Canvas(out, pagesize=PAGE, pageCompression=1, invariant=0)
    c.setTitle(TITLE)
    c.setCreator("carevisits")
    w, h = PAGE
    pad = 6 * mm
    # A green frame and a green title band: the door card is plain black on white.
    c.setStrokeColor(GREEN)
    c.setLineWidth(2.5 * mm)
    c.roundRect(pad / 2, pad / 2, w - pad, h - pad, 6 * mm)
    c.setFillColor(GREEN)
    c.roundRect(pad / 2, h - pad / 2 - 24 * mm, w - pad, 24 * mm, 6 * mm, stroke=0, fill=1)
    c.setFillColor(white)
    fit_text(c, font.name, 30, text["title"], w / 2, h - pad / 2 - 16 * mm, w - 2 * pad)
    c.setFillColor(HexColor("#111111"))
    fit_text(c, font.name, 20, text["greeting"], w / 2, h - 40 * mm, w - 2 * pad)
    fit_text(c, font.name, 15, text["ask"], w / 2, h - 50 * mm, w - 2 * pad)
    qr = 62 * mm  # quiet zone included
    draw_qr(c, qr_matrix(url), (w - qr) / 2, h - 54 * mm - qr, qr)
    fit_text(c, font.name, 10, text["how"], w / 2, 18 * mm, w - 2 * pad)
    fit_text(c, font.name, 12, text["help"], w / 2, 10 * mm, w - 2 * pad)
    c.showPage()
    c.save()
    return out.getvalue()

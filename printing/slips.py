"""A4 PDF slips with sign-in details, drawn with reportlab from plain dataclasses (no models here).

Ten slips to a page (two columns, five rows) with dashed cut lines between them, in the order given (the
selector's, which is View Users' order of names), with their labels in the language asked for. DejaVu Sans
is embedded (subset) so that every Welsh letter, ŵ and ŷ included, prints as written instead of as a
missing-glyph box.
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "UMPSans"
FONT_BOLD = "UMPSans-Bold"
DEFAULT_SIGN_IN_URL = "hwb.gov.wales"

COLUMNS = 2
ROWS = 5
SLIPS_PER_PAGE = COLUMNS * ROWS
MARGIN = 10 * mm
PADDING = 5 * mm
MIN_FONT_SIZE = 5.5


@dataclass(frozen=True, slots=True)
class Slip:
    """What one slip shows; `password` is None when the slip is printed without one or none is available."""

    forename: str
    surname: str
    username: str
    email: str
    school: str
    password: str | None = None
    group: str = ""  # a learner's registration group, printed on the slip (a class sorts its slips by it)


@cache
def register_fonts() -> None:
    """Register the embedded TrueType fonts once per process."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def slips_pdf(
    slips: Iterable[Slip],
    *,
    with_passwords: bool,
    language: str = "en",
    sign_in_url: str = DEFAULT_SIGN_IN_URL,
    title: str = "",
) -> bytes:
    """Render the slips to PDF bytes in the order given, several to a page, labels in `language`."""
    register_fonts()
    slips = list(slips)
    buffer = io.BytesIO()
    with translation.override(language):
        labels = {
            "username": _("Username"),
            "email": _("Email address"),
            "password": _("Password"),
            "no_password": _("Not available: reset the password to print it"),
            "sign_in": _("Sign in at %(address)s") % {"address": sign_in_url},
            "group": _("Reg group"),
        }
        canvas = Canvas(buffer, pagesize=A4, pageCompression=1, lang=language, initialFontName=FONT)
        canvas.setTitle(title or _("Sign-in details"))
        canvas.setAuthor(_("User Management Portal"))
        page_width, page_height = A4
        slip_width = (page_width - 2 * MARGIN) / COLUMNS
        slip_height = (page_height - 2 * MARGIN) / ROWS
        for index, slip in enumerate(slips):
            position = index % SLIPS_PER_PAGE
            if index and position == 0:
                canvas.showPage()
            if position == 0:
                _draw_cut_lines(canvas, page_width, page_height, slip_width, slip_height)
            column, row = position % COLUMNS, position // COLUMNS
            x = MARGIN + column * slip_width
            top = page_height - MARGIN - row * slip_height
            _draw_slip(canvas, slip, x, top, slip_width, labels, with_passwords)
        if not slips:
            canvas.setFont(FONT, 12)
            canvas.drawString(MARGIN, page_height - MARGIN - 12, _("There are no accounts to print."))
        canvas.save()
    return buffer.getvalue()


def _draw_cut_lines(canvas, page_width, page_height, slip_width, slip_height):
    canvas.saveState()
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.55)
    canvas.setDash(3, 3)
    for column in range(COLUMNS + 1):
        x = MARGIN + column * slip_width
        canvas.line(x, MARGIN, x, page_height - MARGIN)
    for row in range(ROWS + 1):
        y = MARGIN + row * slip_height
        canvas.line(MARGIN, y, page_width - MARGIN, y)
    canvas.setFillGray(0.55)
    canvas.setFont(FONT, 9)
    canvas.drawString(MARGIN - 3 * mm, page_height - MARGIN - 1.2 * mm, "\u2702")  # scissors
    canvas.restoreState()


def _draw_slip(canvas, slip, x, top, width, labels, with_passwords):
    inner = width - 2 * PADDING
    left = x + PADDING
    y = top - PADDING - 8
    canvas.setFillGray(0.3)
    heading = f"{slip.school} · {labels['group']} {slip.group}" if slip.group else slip.school
    _fit(canvas, heading, FONT, 8.5, inner, left, y)
    canvas.setFillGray(0)
    y -= 17
    _fit(canvas, f"{slip.forename} {slip.surname}", FONT_BOLD, 13, inner, left, y)
    label_width = 0.32 * inner
    rows = [(labels["username"], slip.username), (labels["email"], slip.email)]
    if with_passwords:
        rows.append((labels["password"], slip.password or labels["no_password"]))
    for label, value in rows:
        y -= 16
        _fit(canvas, label, FONT, 9, label_width - 2 * mm, left, y)
        bold = label == labels["password"] and bool(slip.password)
        _fit(
            canvas,
            value,
            FONT_BOLD if bold else FONT,
            12 if bold else 10,
            inner - label_width,
            left + label_width,
            y,
        )
    y -= 18
    canvas.setFillGray(0.3)
    _fit(canvas, labels["sign_in"], FONT, 8.5, inner, left, y)
    canvas.setFillGray(0)


def _fit(canvas, text, font, size, max_width, x, y):
    """Draw text at the largest size up to `size` that fits: a long email address shrinks, it is never cut."""
    width = pdfmetrics.stringWidth(text, font, size)
    if width > max_width:
        size = max(MIN_FONT_SIZE, size * max_width / width)
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)

"""The Harborview Mutual page every document template draws on (fpdf2, core fonts only).

- Core fonts (Helvetica) need no font files. Their encoding is Windows-1252; any character
  outside it is replaced (by its unaccented base letter when there is one, else "?") instead
  of failing the generation.
- Deterministic output: the creation date is pinned to the document's created date and
  nothing else varies, so the same input gives the same bytes, hence the same content hash
  (a re-generated document is recognisably the same one).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

INSURER = "Harborview Mutual"
TAGLINE = "Worksite life and health insurance"
FOOTER = f"{INSURER} - Customer Service. This document was generated electronically."
ENCODING = "windows-1252"
NAVY = (18, 52, 86)
GREY = (90, 90, 90)


def printable(text: str) -> str:
    """`text` with every character the core fonts cannot show replaced."""
    out = []
    for char in str(text):
        if char in "\n\t":
            out.append(char)
            continue
        try:
            char.encode(ENCODING)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        base = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
        out.append(base or "?")
    return "".join(out)


def money(amount: Decimal | None) -> str:
    return "-" if amount is None else f"{amount:,.2f}"


def us_date(value: date | None) -> str:
    return "-" if value is None else value.strftime("%m/%d/%Y")


class HarborviewPdf(FPDF):
    """A Letter-size page with the insurer's header and a footer with page numbers."""

    def __init__(self, title: str, created_on: date) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.core_fonts_encoding = ENCODING
        self.document_title = title
        self.set_creation_date(datetime.combine(created_on, time(0), UTC))
        self.set_title(printable(title))
        self.set_author(INSURER)
        self.set_creator(INSURER)
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(auto=True, margin=22)
        self.add_page()

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(printable(text))

    def header(self) -> None:
        self.set_text_color(*NAVY)
        self.set_font("Helvetica", "B", 18)
        self.cell(0, 9, INSURER, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", "", 9)
        self.set_text_color(*GREY)
        self.cell(0, 5, TAGLINE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*NAVY)
        self.set_line_width(0.6)
        self.line(self.l_margin, self.get_y() + 2, self.w - self.r_margin, self.get_y() + 2)
        self.ln(8)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, FOOTER, align="L")
        self.cell(0, 5, f"Page {self.page_no()}", align="R")
        self.set_text_color(0, 0, 0)

    # --- building blocks of templates -----------------------------------------------------

    def heading(self, text: str) -> None:
        self.set_font("Helvetica", "B", 15)
        self.set_text_color(*NAVY)
        self.multi_cell(0, 8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def subheading(self, text: str) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(*NAVY)
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def fields(self, rows: list[tuple[str, str]], label_width: float = 55) -> None:
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(label_width, 6, label)
            self.set_font("Helvetica", "", 10)
            self.multi_cell(0, 6, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str) -> None:
        self.set_font("Helvetica", "", 11)
        self.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def table_of(self, headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.set_font("Helvetica", "", 9)
        style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=NAVY)
        with self.table(headings_style=style, line_height=6, text_align="LEFT") as table:
            heading = table.row()
            for text in headings:
                heading.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(text)

    def finish(self) -> bytes:
        return bytes(self.output())

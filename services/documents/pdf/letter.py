"""Template `letter`: a generic letter to the certificate owner — a subject (its description)
and body paragraphs. Later letter types (claim denial letters) can reuse it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.documents.pdf.layout import INSURER, HarborviewPdf, us_date


@dataclass(frozen=True)
class LetterContent:
    certificate_number: str
    owner_name: str
    created_on: date
    description: str | None
    paragraphs: tuple[str, ...]
    title: str | None = None


def render_letter(content: LetterContent) -> bytes:
    title = content.title or content.description or "Letter"
    pdf = HarborviewPdf(title, content.created_on)
    pdf.fields(
        [("Date", us_date(content.created_on)), ("Certificate number", content.certificate_number)],
        label_width=40,
    )
    if content.description:
        pdf.fields([("Re", content.description)], label_width=40)
    pdf.ln(4)
    if content.title:
        pdf.heading(content.title)
    pdf.paragraph(f"Dear {content.owner_name or 'Certificate Owner'},")
    for paragraph in content.paragraphs:
        pdf.paragraph(paragraph)
    pdf.paragraph(f"Sincerely,\n\nCustomer Service\n{INSURER}")
    return pdf.finish()

"""PDF templates, one per document type, registered in `TEMPLATES`.

Adding a document type is one entry here (and its template module, or a reuse of one) plus
one `Trigger` line in `services/documents/triggers.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.documents.pdf.certificate import BenefitLine, CertificateContent, render_certificate
from services.documents.pdf.claims import (
    DenialContent,
    EobContent,
    EobLine,
    render_denial_letter,
    render_eob,
)
from services.documents.pdf.letter import LetterContent, render_letter
from services.documents.pdf.notice import PremiumDefaultContent, render_premium_default_notice
from services.documents.pdf.statement import (
    StatementContent,
    StatementLine,
    render_annual_statement,
    render_bill,
)

__all__ = [
    "TEMPLATES",
    "BenefitLine",
    "CertificateContent",
    "DenialContent",
    "EobContent",
    "EobLine",
    "LetterContent",
    "PremiumDefaultContent",
    "StatementContent",
    "StatementLine",
    "render",
]

TEMPLATES: dict[str, Callable[[Any], bytes]] = {
    "certificate": render_certificate,
    "letter": render_letter,
    "bill": render_bill,
    "annual_statement": render_annual_statement,
    "notice": render_premium_default_notice,
    "eob": render_eob,
    "denial_letter": render_denial_letter,
}


def render(document_type: str, content: Any) -> bytes:
    """The PDF of a document of that type (KeyError: no template for the type yet)."""
    return TEMPLATES[document_type](content)

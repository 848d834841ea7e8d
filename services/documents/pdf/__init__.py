"""PDF templates, one per document type, registered in `TEMPLATES`.

Adding a document type is one entry here (and its template module, or a reuse of one) plus
one `Trigger` line in `services/documents/triggers.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.documents.pdf.certificate import BenefitLine, CertificateContent, render_certificate
from services.documents.pdf.letter import LetterContent, render_letter

__all__ = ["TEMPLATES", "BenefitLine", "CertificateContent", "LetterContent", "render"]

TEMPLATES: dict[str, Callable[[Any], bytes]] = {
    "certificate": render_certificate,
    "letter": render_letter,
}


def render(document_type: str, content: Any) -> bytes:
    """The PDF of a document of that type (KeyError: no template for the type yet)."""
    return TEMPLATES[document_type](content)

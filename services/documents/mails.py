"""The notification email of eDelivery: a new document is in the portal.

Never in it: the document itself (no attachment), the full certificate number (its last 4
digits only), or any personal data beyond the owner's first name.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.documents.domain import LABELS

INSURER = "Harborview Mutual"
SUBJECT = f"A new document is available in your {INSURER} portal"
SIGNATURE = f"\n\n{INSURER} — Certificate Owner Portal\nThis is an automated message; do not reply."


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def new_document_notice(
    first_name: str, document_type: str, certificate_number: str, portal_url: str
) -> Letter:
    greeting = f"Hello {first_name}," if first_name else "Hello,"
    return Letter(
        SUBJECT,
        f"{greeting}\n\nA new document is available in your {INSURER} portal:\n\n"
        f"    {LABELS.get(document_type, 'Document')} — certificate ending in "
        f"{certificate_number[-4:]}\n\n"
        f"To read it, log in and open My Documents:\n{portal_url}\n\n"
        "For your security, documents are never attached to email. You chose paperless "
        "delivery for this type of document; you can change it at any time under My "
        f"Documents, User Preferences.{SIGNATURE}",
    )

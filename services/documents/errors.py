"""The documents service's refusals, each with its HTTP status and (when there is one) field.

An unknown certificate or document and another owner's one get the same answer (404), so
the answer does not tell which numbers or ids exist.
"""

from __future__ import annotations

from shared.http import Refusal


class DocumentsError(Refusal):
    """Every refusal of the documents service (status, message, field: see `Refusal`)."""


class CertificateNotFound(DocumentsError):
    status = 404
    default_message = "No such certificate."


class DocumentNotFound(DocumentsError):
    status = 404
    default_message = "No such document."


class ContentErased(DocumentsError):
    """The document is on file but its content was erased at its owner's request (the key
    its PDF was sealed with is shredded)."""

    status = 410
    default_message = (
        "This document's content is no longer available: it was erased at the certificate "
        "owner's request."
    )


class PreferenceRefused(DocumentsError):
    status = 422


class ContentMissing(LookupError):
    """The content store has nothing under that hash (or it does not match it)."""

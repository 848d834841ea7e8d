"""What every query shares: the 404 rule and owner scoping."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from services.portal.readmodels import CertificateView


class NotFound(LookupError):
    """A record that does not exist or is not the signed-in owner's (both answer 404)."""


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def owned_certificate(
    session: Session, certificate_number: str, owner_party_id: str | None
) -> CertificateView:
    """The certificate if it exists and (when an owner is given) belongs to that owner."""
    certificate = session.get(CertificateView, certificate_number)
    if certificate is None or certificate.owner_party_id is None:
        raise NotFound(f"certificate {certificate_number} not found")
    if owner_party_id is not None and certificate.owner_party_id != owner_party_id:
        raise NotFound(f"certificate {certificate_number} not found")
    return certificate

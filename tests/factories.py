"""Certificates for tests, in the shape of the back-office `IssueCertificate` command."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from services.policy.api import IssueCertificate


def party_id(name: str) -> str:
    return str(uuid5(NAMESPACE_URL, f"/tests/parties/{name}"))


def certificate_body(
    number: str,
    owner: str = "avery",
    product_code: str = "WL",
    *,
    premium: str = "44.00",
    frequency: str = "Monthly",
    effective_date: str = "2015-12-01",
    dependents: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """JSON body of an issue command: owner with SSN and DOB, one benefit, one agent."""
    insureds = [
        {
            "insured_id": "I1",
            "first_name": owner.title(),
            "last_name": "Demo",
            "relationship": "Owner",
            "date_of_birth": "1983-11-01",
        },
        *(dependents or []),
    ]
    life = product_code in ("WL", "UL")
    body: dict[str, Any] = {
        "certificate_number": number,
        "product_code": product_code,
        "application_date": "2015-09-18",
        "effective_date": effective_date,
        "premium": premium,
        "payment_frequency": frequency,
        "payment_method": "Direct Premium Notice",
        "payor_name": f"{owner.title()} Demo",
        "owner": {
            "party_id": party_id(owner),
            "first_name": owner.title(),
            "last_name": "Demo",
            "gender": "Female",
            "date_of_birth": "1983-11-01",
            "government_id": "123-45-6789",
            "contact": {
                "address": {
                    "street": ["12 Elm Street"],
                    "city": "Tolland",
                    "state": "CT",
                    "zip_code": "06084",
                },
                "phones": {"cell": "860-555-0101"},
                "preferred_contact_method": "Cell Phone",
                "emails": [f"{owner}@example.com"],
            },
        },
        "benefits": [
            {
                "benefit_id": "B1",
                "coverage_code": product_code,
                "status": "Active Premium Paying",
                "effective_date": effective_date,
                "coverage_amount": "12137.00" if life else None,
                "net_benefit_value": "2612.49" if life else None,
                "insureds": insureds,
            }
        ],
        "agents": [{"name": "Jordan Agent", "phone": "860-555-0199", "email": "agent@example.com"}],
    }
    body.update(overrides)
    return body


def issue_kwargs(number: str, **kwargs: Any) -> dict[str, Any]:
    """Keyword arguments of `PolicyApplication.issue_certificate` for the same certificate."""
    return dict(IssueCertificate.model_validate(certificate_body(number, **kwargs)))

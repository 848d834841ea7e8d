"""The guide's claims for the demo owner, on certificate 0000100003 (Accident and Critical
Illness, with a spouse and two children: one under 18, one over).

From "Universal Provider": service 01/25/2024, 2.00, Paid Not Issued; 07/04/2024, 175.00,
Issued; 11/05/2023, 175.00, Issued on 01/25/2024 with the guide's two lines of 11/09/2023
(Urgent Care or Emer Physician Treatment 125.00, X-Ray 50.00); 11/02/2023, 200.00, Issued.
Plus a claim of the spouse and one of the adult child, which the owner must never see.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.claims.application import ClaimsApplication
from services.policy.application import PolicyApplication
from services.policy.products import ProductCode
from services.policy.statuses import CertificateStatus
from services.policy.values import (
    Agent,
    Benefit,
    Insured,
)
from shared.contracts.types import PaymentFrequency, PaymentMethod

NUMBER = "0000100003"
PROVIDER = "Universal Provider"
EFFECTIVE = date(2019, 1, 1)
AVERY = Insured(insured_id="I1", first_name="Avery", last_name="Demo", relationship="Owner",
                date_of_birth=date(1983, 11, 1))  # fmt: skip
FAMILY = [
    AVERY,
    Insured(insured_id="I2", first_name="Jordan", last_name="Demo", relationship="Spouse",
            date_of_birth=date(1982, 5, 10)),
    Insured(insured_id="I3", first_name="Riley", last_name="Demo", relationship="Child",
            date_of_birth=date(2014, 6, 2)),
    Insured(insured_id="I4", first_name="Casey", last_name="Demo", relationship="Child",
            date_of_birth=date(2003, 2, 11)),
]  # fmt: skip


def issue_claims_certificate(policy: PolicyApplication) -> None:
    from services.portal.demo import avery_owner

    policy.issue_certificate(
        certificate_number=NUMBER,
        product_code=ProductCode.CRITICAL_ILLNESS,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2018, 11, 20),
        effective_date=EFFECTIVE,
        premium=Decimal("32.40"),
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.LIST_BILL.value,
        payor_name="Avery Demo",
        owner=avery_owner(),
        benefits=[
            Benefit(benefit_id="CI1", coverage_code="CI", status="Active Premium Paying",
                    effective_date=EFFECTIVE, insureds=FAMILY),
            Benefit(benefit_id="AC1", coverage_code="AC", status="Active Premium Paying",
                    effective_date=EFFECTIVE, insureds=FAMILY),
        ],
        agents=[Agent(name="Jordan Rivers", phone="860-555-0142", email="jrivers@agency.example")],
    )  # fmt: skip


def issued_claim(
    claims: ClaimsApplication,
    claim_number: str,
    patient: str,
    service_date: date,
    lines: list[tuple[date, str, str]],
    issued_on: date | None = None,
    issue: bool = True,
    number: str = NUMBER,
) -> None:
    submitted = sum((Decimal(amount) for _, _, amount in lines), Decimal("0.00"))
    claims.submit_claim(
        certificate_number=number,
        claim_number=claim_number,
        patient_insured_id=patient,
        provider=PROVIDER,
        service_date=service_date,
        submitted_amount=submitted,
        submitted_on=service_date + timedelta(days=1),
        group_number="G-2045",
        account_number="A-0031",
    )
    for on, kind, amount in lines:
        claims.adjudicate_line(
            claim_number, date_of_service=on, type_of_service=kind, amount_claimed=Decimal(amount)
        )
    last = issued_on or service_date + timedelta(days=20)
    claims.complete_review(claim_number, last - timedelta(days=15))
    claims.render_decision(claim_number, last - timedelta(days=10))
    claims.record_payment(claim_number, last - timedelta(days=5) if issue else last)
    if issue:
        claims.issue(claim_number, last)


def load_guide_claims(claims: ClaimsApplication) -> None:
    urgent, xray = "Urgent Care or Emer Physician Treatment", "X-Ray"
    issued_claim(
        claims,
        "C000000101",
        "I1",
        date(2023, 11, 2),
        [(date(2023, 11, 2), "Emergency Room Treatment", "200.00")],
    )
    issued_claim(
        claims,
        "C000000102",
        "I1",
        date(2023, 11, 5),
        [(date(2023, 11, 9), urgent, "125.00"), (date(2023, 11, 9), xray, "50.00")],
        issued_on=date(2024, 1, 25),
    )
    issued_claim(
        claims,
        "C000000103",
        "I1",
        date(2024, 1, 25),
        [(date(2024, 1, 25), "Physician Office Visit", "2.00")],
        issued_on=date(2024, 2, 20),
        issue=False,
    )
    issued_claim(
        claims,
        "C000000104",
        "I1",
        date(2024, 7, 4),
        [(date(2024, 7, 4), "Accident Follow-Up Treatment", "175.00")],
    )
    # Never visible to the owner: the spouse's and the adult child's claims.
    issued_claim(
        claims, "C000000105", "I2", date(2024, 3, 10), [(date(2024, 3, 10), urgent, "150.00")]
    )
    issued_claim(claims, "C000000106", "I4", date(2024, 5, 2),
                  [(date(2024, 5, 2), xray, "90.00")])  # fmt: skip

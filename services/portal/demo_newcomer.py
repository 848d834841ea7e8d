"""A demo certificate whose owner has not registered yet: try registering in the browser.

Certificate 0000100004 (Critical Illness with Accident, List Bill 27.80 monthly since
03/01/2023) belongs to Taylor Sample — first name Taylor, last name Sample, email
taylor@example.com, date of birth 07/15/1990, government ID 900-24-6810 (fictional: the 900
area is never issued). Twelve payments, three claims from "Universal Provider" (two issued,
one pending review), and the certificate, EOB and bill documents that follow from them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

from services.billing.application import BillingApplication
from services.claims.application import ClaimsApplication
from services.policy.application import PolicyApplication
from services.policy.products import ProductCode
from services.policy.statuses import CertificateStatus
from services.policy.values import (
    Address,
    Agent,
    Benefit,
    ContactInformation,
    Insured,
    OwnerParty,
    Phones,
)
from services.portal.demo_claims import PROVIDER, issued_claim
from shared.contracts.types import PaymentFrequency, PaymentMethod
from shared.dates import add_months

NUMBER = "0000100004"
EFFECTIVE = date(2023, 3, 1)
PREMIUM = Decimal("27.80")
NEWCOMER = {
    "first_name": "Taylor",
    "last_name": "Sample",
    "email": "taylor@example.com",
    "date_of_birth": "07/15/1990",
    "government_id": "900-24-6810",
}
TAYLOR = Insured(insured_id="I1", first_name="Taylor", last_name="Sample", relationship="Owner",
                 date_of_birth=date(1990, 7, 15))  # fmt: skip


def issue_newcomer_certificate(policy: PolicyApplication) -> None:
    owner = OwnerParty(
        party_id=uuid5(NAMESPACE_URL, "/demo/owners/taylor"),
        first_name="Taylor",
        last_name="Sample",
        gender="Female",
        date_of_birth=date(1990, 7, 15),
        government_id=NEWCOMER["government_id"],
        contact=ContactInformation(
            address=Address(street=["7 Harbor Lane"], city="Mystic", state="CT",
                            zip_code="06355"),
            phones=Phones(cell="860-555-0177"),
            preferred_contact_method="Cell Phone",
            emails=[NEWCOMER["email"]],
        ),
    )  # fmt: skip
    policy.issue_certificate(
        certificate_number=NUMBER,
        product_code=ProductCode.CRITICAL_ILLNESS,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2023, 1, 16),
        effective_date=EFFECTIVE,
        premium=PREMIUM,
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.LIST_BILL.value,
        payor_name="Taylor Sample",
        owner=owner,
        benefits=[
            Benefit(benefit_id="CI1", coverage_code="CI", status="Active Premium Paying",
                    effective_date=EFFECTIVE, insureds=[TAYLOR]),
            Benefit(benefit_id="AC1", coverage_code="AC", status="Active Premium Paying",
                    effective_date=EFFECTIVE, insureds=[TAYLOR]),
        ],
        agents=[Agent(name="Jordan Rivers", phone="860-555-0142", email="jrivers@agency.example")],
    )  # fmt: skip


def newcomer_billing(billing: BillingApplication) -> None:
    for k in range(12):
        due = add_months(EFFECTIVE, k)
        billing.record_payment(
            NUMBER,
            amount=PREMIUM,
            transaction_date=due,
            apply_date=due,
            payment_method=PaymentMethod.LIST_BILL.value,
            payment_id=f"LB-{NUMBER}-{k + 1:03d}",
        )
    billing.bill_account(NUMBER, date(2024, 2, 15))


def newcomer_claims(claims: ClaimsApplication) -> None:
    issued_claim(claims, "C000000201", "I1", date(2023, 9, 12),
                 [(date(2023, 9, 12), "Urgent Care or Emer Physician Treatment", "125.00"),
                  (date(2023, 9, 12), "X-Ray", "50.00")], number=NUMBER)  # fmt: skip
    office_visit = [(date(2024, 1, 8), "Physician Office Visit", "80.00")]
    issued_claim(claims, "C000000202", "I1", date(2024, 1, 8), office_visit, number=NUMBER)
    claims.submit_claim(
        certificate_number=NUMBER,
        claim_number="C000000203",
        patient_insured_id="I1",
        provider=PROVIDER,
        service_date=date(2024, 2, 20),
        submitted_amount=Decimal("60.00"),
        submitted_on=date(2024, 2, 21),
        group_number="G-2045",
        account_number="A-0047",
    )

"""The demo data set of the portal guide, loaded through the services' own commands.

Owner `demo` holds certificate 0000100001: the guide's Whole Life certificate (effective
12/01/2015, premium 44.00 monthly, 97 monthly premiums paid so paid-to is 01/01/2024, the last
two payments exactly as in the guide's Payment History, billed to 06/01/2024, Reduced Paid Up).
Owner `demo2` holds 0000100002, an Accident certificate paid by ACH/EFT.
Certificate 0000100004's owner has not registered: `demo_newcomer.py` has what to type.
The insurer and every name here are fictional.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from services.billing.application import BillingApplication
from services.claims.application import ClaimsApplication
from services.identity.application import IdentityApplication
from services.identity.credentials import SECURITY_QUESTIONS
from services.policy.application import CertificateNotFound, PolicyApplication
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
from services.portal.demo_claims import issue_claims_certificate, load_guide_claims
from services.portal.demo_newcomer import (
    issue_newcomer_certificate,
    newcomer_billing,
    newcomer_claims,
)
from shared.contracts.types import PaymentFrequency, PaymentMethod
from shared.dates import add_months
from shared.eventstore import caused_by


class DemoServices(Protocol):
    policy: PolicyApplication
    billing: BillingApplication
    identity: IdentityApplication
    claims: ClaimsApplication


DEMO_PASSWORD = "Demo-Portal-2024!"
DEMO_USERS = {"demo": "0000100001", "demo2": "0000100002"}
# Fictional (the 900 area is never issued); for registering the demo owners by hand.
DEMO_GOVERNMENT_IDS = {"demo": "900-12-3456", "demo2": "900-65-4321"}
GUIDE_EFFECTIVE_DATE = date(2015, 12, 1)
ACCIDENT_EFFECTIVE_DATE = date(2022, 3, 1)


def owner_party_id(user: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/demo/owners/{user}")


async def load_demo_data(system: DemoServices, settle: Callable[[], Awaitable[None]]) -> bool:
    """Load the demo set unless it is there already; answers whether it loaded anything.

    Certificates are issued first; billing opens their accounts by reacting to the events
    (`settle` runs delivery until it has); then the payments and billing cycles follow.
    """
    policy, billing, identity = system.policy, system.billing, system.identity
    try:
        policy.get_certificate("0000100001")
        return False
    except CertificateNotFound:
        pass
    with caused_by("batch", "DemoSeed"):
        await asyncio.to_thread(_issue_certificates, policy)
        await asyncio.to_thread(issue_claims_certificate, policy)
        await asyncio.to_thread(issue_newcomer_certificate, policy)
        await settle()
        await asyncio.to_thread(_guide_whole_life_billing, policy, billing)
        await asyncio.to_thread(_accident_billing, billing)
        await asyncio.to_thread(load_guide_claims, system.claims)
        await asyncio.to_thread(newcomer_billing, billing)
        await asyncio.to_thread(newcomer_claims, system.claims)
        await settle()
        await asyncio.to_thread(_register_demo_users, identity)
        await settle()
    return True


DEMO_OWNERS = {
    # user: (certificate, first name, last name, email, date of birth)
    "demo": ("0000100001", "Avery", "Demo", "demo@example.com", date(1983, 11, 1)),
    "demo2": ("0000100002", "Robin", "Demo", "demo2@example.com", date(1979, 4, 23)),
}


def _register_demo_users(identity: IdentityApplication) -> None:
    """The demo owners register through identity's three steps, like anyone else."""
    for user, (number, first, last, email, born) in DEMO_OWNERS.items():
        if identity.find_account(user) is not None:
            continue
        draft = identity.start_registration(
            certificate_number=number,
            first_name=first,
            last_name=last,
            email=email,
            date_of_birth=born,
            government_id=DEMO_GOVERNMENT_IDS[user],
        )
        identity.choose_credentials(
            draft.registration_id,
            user_id=user,
            password=DEMO_PASSWORD,
            security_questions=[(q, "demo") for q in SECURITY_QUESTIONS[:3]],
        )
        identity.complete_registration(draft.registration_id)


def _contact(street: str, city: str, state: str, zip_code: str, email: str, cell: str):
    return ContactInformation(
        address=Address(street=[street], city=city, state=state, zip_code=zip_code),
        phones=Phones(cell=cell),
        preferred_contact_method="Cell Phone",
        emails=[email],
    )


def avery_owner() -> OwnerParty:
    """The demo owner `demo` (the guide's certificate owner), as policy records her."""
    return OwnerParty(
        party_id=owner_party_id("demo"),
        first_name="Avery",
        last_name="Demo",
        gender="Female",
        date_of_birth=date(1983, 11, 1),
        government_id=DEMO_GOVERNMENT_IDS["demo"],
        contact=_contact(
            "12 Elm Street", "Tolland", "CT", "06084", "demo@example.com", "860-555-0101"
        ),
    )


def _issue_certificates(policy: PolicyApplication) -> None:
    avery = avery_owner()  # fmt: skip
    policy.issue_certificate(
        certificate_number="0000100001",
        product_code=ProductCode.WHOLE_LIFE,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2015, 9, 18),
        effective_date=GUIDE_EFFECTIVE_DATE,
        premium=Decimal("44.00"),
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.DIRECT_PREMIUM_NOTICE.value,
        payor_name="Avery Demo",
        owner=avery,
        benefits=[
            Benefit(
                benefit_id="WL1",
                coverage_code="WL",
                status=CertificateStatus.ACTIVE_PREMIUM_PAYING.value,
                effective_date=GUIDE_EFFECTIVE_DATE,
                coverage_amount=Decimal("12137.00"),
                net_benefit_value=Decimal("2612.49"),
                insureds=[Insured(insured_id="I1", first_name="Avery", last_name="Demo",
                                  relationship="Owner", date_of_birth=date(1983, 11, 1))],
            )
        ],
        agents=[
            Agent(name="Jordan Rivers", phone="860-555-0142", email="jrivers@agency.example"),
            Agent(name="Casey Morgan", phone="860-555-0187", email="cmorgan@agency.example"),
        ],
        primary_dividend_option="Purchase Paid Up Additions",
        net_cash_value=Decimal("2641.82"),
        paid_up_additions_amount=Decimal("0.00"),
        paid_up_additions_expiration_date=date(2024, 12, 1),
    )  # fmt: skip
    robin = OwnerParty(
        party_id=owner_party_id("demo2"),
        first_name="Robin",
        last_name="Demo",
        gender="Male",
        date_of_birth=date(1979, 4, 23),
        government_id=DEMO_GOVERNMENT_IDS["demo2"],
        contact=_contact("48 River Road", "Springfield", "MA", "01103", "demo2@example.com",
                         "413-555-0123"),
    )  # fmt: skip
    policy.issue_certificate(
        certificate_number="0000100002",
        product_code=ProductCode.ACCIDENT,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2022, 1, 20),
        effective_date=ACCIDENT_EFFECTIVE_DATE,
        premium=Decimal("18.50"),
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.ACH.value,
        payor_name="Robin Demo",
        owner=robin,
        benefits=[
            Benefit(
                benefit_id="AC1",
                coverage_code="AC",
                status=CertificateStatus.ACTIVE_PREMIUM_PAYING.value,
                effective_date=ACCIDENT_EFFECTIVE_DATE,
                insureds=[
                    Insured(insured_id="I1", first_name="Robin", last_name="Demo",
                            relationship="Owner", date_of_birth=date(1979, 4, 23)),
                    Insured(insured_id="I2", first_name="Sky", last_name="Demo",
                            relationship="Spouse", date_of_birth=date(1981, 6, 2)),
                    Insured(insured_id="I3", first_name="Jamie", last_name="Demo",
                            relationship="Child", date_of_birth=date(2012, 9, 14)),
                ],
            )
        ],
        agents=[Agent(name="Jordan Rivers", phone="860-555-0142", email="jrivers@agency.example")],
    )  # fmt: skip


def _guide_whole_life_billing(policy: PolicyApplication, billing: BillingApplication) -> None:
    number = "0000100001"
    effective = GUIDE_EFFECTIVE_DATE
    payments = [
        (
            add_months(effective, k) + timedelta(days=14),
            add_months(effective, k) + timedelta(days=4),
        )
        for k in range(95)
    ]
    payments += [(date(2024, 1, 8), date(2023, 12, 31)), (date(2024, 2, 6), date(2024, 1, 25))]
    for i, (transaction_date, apply_date) in enumerate(payments, start=1):
        billing.record_payment(
            number,
            amount=Decimal("44.00"),
            transaction_date=transaction_date,
            apply_date=apply_date,
            payment_method=PaymentMethod.LIST_BILL.value,
            payment_id=f"LB-{number}-{i:03d}",
        )
    billing.bill_account(number, date(2024, 5, 15))
    policy.change_status(number, CertificateStatus.REDUCED_PAID_UP, date(2024, 2, 1))


def _accident_billing(billing: BillingApplication) -> None:
    number = "0000100002"
    for k in range(6):
        billing.record_payment(
            number,
            amount=Decimal("18.50"),
            transaction_date=add_months(ACCIDENT_EFFECTIVE_DATE, k),
            payment_id=f"ACH-{number}-{k + 1:03d}",
        )
    billing.bill_account(number, date(2022, 9, 15))

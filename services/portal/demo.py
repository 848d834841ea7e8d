"""The demo data set of the portal guide, loaded through the services' own commands.

Owner `demo` holds certificate 0000100001: the guide's Whole Life certificate (effective
12/01/2015, premium 44.00 monthly, 97 monthly premiums paid so paid-to is 01/01/2024, the last
two payments exactly as in the guide's Payment History, billed to 06/01/2024, Reduced Paid Up).
Owner `demo2` holds 0000100002, an Accident certificate paid by ACH/EFT.
The insurer and every name here are fictional.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from services.billing.application import BillingApplication
from services.policy.application import CertificateNotFound, PolicyApplication
from services.policy.domain import CertificateStatus
from services.policy.products import ProductCode
from shared.contracts.types import PaymentFrequency, PaymentMethod
from shared.dates import add_months
from shared.eventstore import caused_by

DEMO_PASSWORD = "Demo-Portal-2024!"
DEMO_USERS = {"demo": "0000100001", "demo2": "0000100002"}
GUIDE_EFFECTIVE_DATE = date(2015, 12, 1)
ACCIDENT_EFFECTIVE_DATE = date(2022, 3, 1)


def owner_party_id(user: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/demo/owners/{user}")


async def load_demo_data(
    policy: PolicyApplication, billing: BillingApplication, settle: Callable[[], Awaitable[None]]
) -> bool:
    """Load the demo set unless it is there already; answers whether it loaded anything.

    Certificates are issued first; billing opens their accounts by reacting to the events
    (`settle` runs delivery until it has); then the payments and billing cycles follow.
    """
    try:
        policy.get_certificate("0000100001")
        return False
    except CertificateNotFound:
        pass
    with caused_by("batch", "DemoSeed"):
        await asyncio.to_thread(_issue_certificates, policy)
        await settle()
        await asyncio.to_thread(_guide_whole_life_billing, policy, billing)
        await asyncio.to_thread(_accident_billing, billing)
        await settle()
    return True


def _issue_certificates(policy: PolicyApplication) -> None:
    policy.issue_certificate(
        certificate_number="0000100001",
        owner_party_id=owner_party_id("demo"),
        product_code=ProductCode.WHOLE_LIFE,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2015, 9, 18),
        effective_date=GUIDE_EFFECTIVE_DATE,
        premium=Decimal("44.00"),
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.DIRECT_PREMIUM_NOTICE.value,
        payor_name="Avery Demo",
    )
    policy.issue_certificate(
        certificate_number="0000100002",
        owner_party_id=owner_party_id("demo2"),
        product_code=ProductCode.ACCIDENT,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2022, 1, 20),
        effective_date=ACCIDENT_EFFECTIVE_DATE,
        premium=Decimal("18.50"),
        payment_frequency=PaymentFrequency.MONTHLY.value,
        payment_method=PaymentMethod.ACH.value,
        payor_name="Robin Demo",
    )


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

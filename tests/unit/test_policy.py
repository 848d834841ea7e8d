from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.policy.application import (
    CertificateAlreadyIssued,
    CertificateNotFound,
    PolicyApplication,
)
from services.policy.domain import CertificateStatus, IllegalTransition
from services.policy.products import ProductCode


def issue(app: PolicyApplication, number: str = "0000100001", **overrides):
    fields = dict(
        certificate_number=number,
        owner_party_id=uuid4(),
        product_code=ProductCode.WHOLE_LIFE,
        status=CertificateStatus.ACTIVE_PREMIUM_PAYING,
        application_date=date(2015, 9, 18),
        effective_date=date(2015, 12, 1),
        premium=Decimal("44.00"),
        payment_frequency="Monthly",
        payment_method="Direct Premium Notice",
        payor_name="Avery Demo",
    )
    fields.update(overrides)
    return app.issue_certificate(**fields)


def test_issue_and_change_status_along_a_legal_path() -> None:
    app = PolicyApplication()
    issue(app)
    certificate = app.change_status(
        "0000100001", CertificateStatus.REDUCED_PAID_UP, date(2024, 2, 1)
    )
    assert certificate.status == "Reduced Paid Up"
    assert certificate.product_name.endswith("Whole Life")
    assert "MassMutual" not in certificate.product_name


def test_an_illegal_transition_is_refused_and_nothing_is_recorded() -> None:
    app = PolicyApplication()
    issue(app)
    app.change_status("0000100001", CertificateStatus.CASH_SURRENDER, date(2020, 1, 1))
    with pytest.raises(IllegalTransition):
        app.change_status("0000100001", CertificateStatus.ACTIVE_PREMIUM_PAYING, date(2020, 2, 1))
    assert app.get_certificate("0000100001").version == 2


def test_a_certificate_is_issued_once() -> None:
    app = PolicyApplication()
    issue(app)
    with pytest.raises(CertificateAlreadyIssued):
        issue(app)


def test_cannot_issue_in_a_terminal_status() -> None:
    with pytest.raises(IllegalTransition):
        issue(PolicyApplication(), status=CertificateStatus.LAPSED)


def test_unknown_certificate() -> None:
    with pytest.raises(CertificateNotFound):
        PolicyApplication().get_certificate("0000000001")

from datetime import date

import pytest

from services.policy.application import (
    CertificateAlreadyIssued,
    CertificateNotFound,
    PolicyApplication,
)
from services.policy.statuses import CertificateStatus, IllegalTransition
from tests.factories import issue_kwargs


def issue(app: PolicyApplication, number: str = "0000100001", **overrides):
    kwargs = issue_kwargs(number)
    kwargs.update(overrides)
    return app.issue_certificate(**kwargs)


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


def test_contact_update_reaches_every_certificate_of_the_owner() -> None:
    from services.policy.values import ContactInformation

    app = PolicyApplication()
    issue(app, "0000100001")
    issue(app, "0000100002")
    first = app.get_certificate("0000100001")
    contact = ContactInformation.model_validate(
        {
            "address": {"street": ["9 Oak Lane"], "city": "Hartford", "state": "CT",
                        "zip_code": "06103"},
            "emails": ["new@example.com", "second@example.com"],
        }
    )  # fmt: skip
    changed = app.update_contact_information(first.owner_party_id, contact)
    assert [c.certificate_number for c in changed] == ["0000100001", "0000100002"]
    assert app.get_certificate("0000100002").owner["contact"]["address"]["city"] == "Hartford"


def test_cash_value_dividend_and_loans() -> None:
    from decimal import Decimal

    from services.policy.domain import LoanRefused, UnknownBenefit

    app = PolicyApplication()
    issue(app)
    app.update_cash_value("0000100001", date(2024, 11, 16), Decimal("2641.82"),
                          {"B1": Decimal("2612.49")})  # fmt: skip
    app.credit_dividend("0000100001", date(2024, 12, 1), Decimal("12.50"), date(2025, 12, 1))
    certificate = app.credit_dividend("0000100001", date(2025, 12, 1), Decimal("7.50"))
    assert certificate.paid_up_additions_amount == Decimal("20.00")
    with pytest.raises(LoanRefused, match=r"2612\.49"):
        app.take_loan(
            "0000100001", "B1", "L1", Decimal("3000.00"), Decimal("5.0"), date(2025, 1, 2)
        )
    app.take_loan("0000100001", "B1", "L1", Decimal("1000.00"), Decimal("5.0"), date(2025, 1, 2))
    with pytest.raises(LoanRefused, match=r"1612\.49"):
        app.take_loan(
            "0000100001", "B1", "L2", Decimal("1700.00"), Decimal("5.0"), date(2025, 2, 2)
        )
    certificate = app.repay_loan("0000100001", "B1", "L1", Decimal("400.00"), date(2025, 3, 1))
    assert certificate.benefits["B1"]["loans"]["L1"]["balance"] == Decimal("600.00")
    with pytest.raises(UnknownBenefit):
        app.take_loan("0000100001", "B9", "L3", Decimal("1.00"), Decimal("5.0"), date(2025, 1, 2))
    with pytest.raises(LoanRefused):
        app.repay_loan("0000100001", "B1", "L1", Decimal("600.01"), date(2025, 3, 1))


def test_the_published_contract_carries_no_ssn_and_no_clear_date_of_birth(tmp_path) -> None:
    import json

    from services.policy.integration import PolicyContracts
    from shared.messaging.outbox import Outbox
    from shared.personal_data import SERVICING, KeyedHash, Vault, key_id
    from shared.sqldb import make_engine

    app = PolicyApplication()
    issue(app)
    vault = Vault(make_engine(f"sqlite:///{tmp_path}/keys.sqlite"))
    hasher = KeyedHash(b"k" * 32)
    records, _ = Outbox(app, "policy.events", PolicyContracts(vault, hasher)).read(0)
    payload = records[0].value.decode()
    assert "123-45-6789" not in payload and "123456789" not in payload
    assert "1983-11-01" not in payload and "11/01/1983" not in payload
    owner = json.loads(payload)["data"]["owner"]
    assert owner["government_id_last4"] == "6789"
    assert hasher.matches("government_id", "123456789", owner["government_id_digest"])
    assert hasher.matches("date_of_birth", "1983-11-01", owner["date_of_birth_digest"])
    assert vault.open(owner["date_of_birth"]) == "1983-11-01"
    # Sealed with the owner's servicing key: shredding it makes every copy unreadable.
    vault.shred(key_id(owner["party_id"], SERVICING))
    assert Vault(vault.engine).open(owner["date_of_birth"]) is None


def test_a_command_that_loses_a_concurrency_race_answers_409_and_saves_nothing() -> None:
    """Another writer saved the same certificate between this command's read and its save."""
    from fastapi.testclient import TestClient

    from services.policy.api import create_policy_api
    from services.policy.application import PolicyApplication
    from tests.factories import certificate_body, party_id

    app = PolicyApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    client = TestClient(create_policy_api(app))
    assert client.post("/certificates", json=certificate_body("0000100077")).status_code == 201
    stale = app.get_certificate("0000100077")  # the read the second command makes, first
    contact = {"address": {"street": ["9 Oak St"], "city": "Hartford", "state": "CT",
                           "zip_code": "06103"}, "emails": ["a@example.com"]}  # fmt: skip
    assert client.put(f"/parties/{party_id('avery')}/contact", json=contact).status_code == 200
    app.get_certificate = lambda number: stale  # it then saves after the first one did
    again = client.put(
        f"/parties/{party_id('avery')}/contact", json={**contact, "emails": ["b@example.com"]}
    )
    assert again.status_code == 409, again.text
    assert "send it again" in again.json()["detail"]

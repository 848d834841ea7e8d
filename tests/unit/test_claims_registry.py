"""Claims' registry of certificates, built from policy's CertificateIssued (group `claims`)."""

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from services.claims.application import ClaimsApplication
from services.claims.consumers import claims_sink
from services.claims.domain import NotClaimable
from services.policy.application import PolicyApplication
from shared.messaging.consumer import ConsumerCore
from tests.factories import issue_kwargs
from tests.unit.test_messaging import ListDeadLetters, policy_outbox

SPOUSE = {
    "insured_id": "I2",
    "first_name": "Robin",
    "last_name": "Demo",
    "relationship": "Spouse",
    "date_of_birth": "1982-03-04",
}


async def deliver(policy: PolicyApplication, core: ConsumerCore, directory, start: int = 0):
    records, _ = policy_outbox(policy, directory).read(0)
    for offset, record in enumerate(records, start=start):
        await core.handle("policy.events", 0, offset, record.value, {})


async def test_certificate_issued_puts_the_certificate_on_file_once(tmp_path) -> None:
    policy, claims = PolicyApplication(), ClaimsApplication()
    policy.issue_certificate(**issue_kwargs("0000300001", product_code="CI", dependents=[SPOUSE]))
    policy.issue_certificate(**issue_kwargs("0000300002", owner="blake", product_code="WL"))
    core = ConsumerCore(claims_sink(claims), ["policy.events"], ListDeadLetters())
    await deliver(policy, core, tmp_path)
    # redelivered at the same offsets, then re-published at later offsets (relay crash)
    await deliver(policy, core, tmp_path)
    await deliver(policy, core, tmp_path, start=100)
    assert (core.applied, core.duplicates) == (2, 4)
    on_file = claims.get_certificate("0000300001")
    assert on_file.version == 1
    assert on_file.owner_name == "Avery Demo"
    assert on_file.coverage_codes == ["CI"]
    assert [(i["insured_id"], i["relationship"]) for i in on_file.insureds] == [
        ("I1", "Owner"),
        ("I2", "Spouse"),
    ]
    assert "date_of_birth" not in on_file.insureds[0]
    # a claim can now be submitted for the spouse
    claim = claims.submit_claim(
        certificate_number="0000300001",
        patient_insured_id="I2",
        provider="Universal Provider",
        service_date=date(2024, 7, 4),
        submitted_amount=Decimal("175.00"),
        submitted_on=date(2024, 7, 10),
    )
    assert claim.patient["first_name"] == "Robin"
    assert claim.paid_to == "Avery Demo"
    # the Whole Life certificate is on file, but not claimable
    with pytest.raises(NotClaimable):
        claims.submit_claim(
            certificate_number="0000300002",
            patient_insured_id="I1",
            provider="Universal Provider",
            service_date=date(2024, 7, 4),
            submitted_amount=Decimal("175.00"),
            submitted_on=date(2024, 7, 10),
        )


def test_registering_a_certificate_on_file_again_changes_nothing() -> None:
    claims = ClaimsApplication()
    kwargs = {
        "certificate_number": "0000300001",
        "owner_party_id": UUID("0b7c3c43-6d8e-4a35-bb3c-62f4d8a0c5d2"),
        "owner_name": "Avery Demo",
        "benefits": [
            {
                "coverage_code": "AC",
                "insureds": [
                    {"insured_id": "I1", "first_name": "A", "last_name": "D", "relationship": "X"}
                ],
            },
            {
                "coverage_code": "CI",
                "insureds": [
                    {"insured_id": "I1", "first_name": "A", "last_name": "D", "relationship": "X"}
                ],
            },
        ],
    }
    claims.save(*claims.register_certificate(**kwargs))
    assert claims.register_certificate(**kwargs) == []
    on_file = claims.get_certificate("0000300001")
    assert on_file.coverage_codes == ["AC", "CI"]
    assert on_file.insureds == [
        {
            "insured_id": "I1",
            "first_name": "A",
            "last_name": "D",
            "relationship": "Other",
            "coverage_codes": ["AC", "CI"],
        }
    ]

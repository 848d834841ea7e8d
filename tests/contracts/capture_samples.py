"""Capture real stored payloads from the embedded demo as contract samples.

    .venv/bin/python -m tests.contracts.capture_samples [tests/contracts/samples]

Loads the demo data into a throw-away embedded system (SQLite in a temporary directory),
reads every service's outbox from the start and writes the first envelope of each
`(event_type, schema_version)` to `<event_type>.v<schema_version>.json`, exactly as it is
published (the Kafka record's value). Existing files are kept: a sample is a *stored* payload,
so once captured it must not change when a contract evolves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.documents.application import Selection
from services.identity.errors import LoginRefused
from services.portal.demo import DEMO_PASSWORD, _contact, load_demo_data, owner_party_id
from services.portal.demo_claims import NUMBER as CLAIMS_CERTIFICATE
from services.portal.embedded import EmbeddedSystem, build_embedded
from shared.contracts import documents as documents_contracts
from shared.eventstore import caused_by
from shared.settings import Settings

SAMPLES_DIR = Path(__file__).parent / "samples"


async def capture(out: Path) -> list[Path]:
    """Write the samples that are missing; answers the files written."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as var_dir:
        system = build_embedded(Settings(PORTAL_MODE="embedded", PORTAL_VAR_DIR=var_dir))
        try:
            await system.settle()
            await load_demo_data(system, system.settle)
            with caused_by("batch", "ContractSamples"):
                await asyncio.to_thread(_beyond_the_demo, system)
                await system.settle()
                await asyncio.to_thread(_open_a_document, system)
                await system.settle()
                await asyncio.to_thread(_privacy_requests, system)
                await system.settle()
            for outbox in system.delivery.outboxes.values():
                after = 0
                while True:
                    records, last = outbox.read(after)
                    if last == after:
                        break
                    after = last
                    for record in records:
                        envelope = json.loads(record.value)
                        name = f"{envelope['event_type']}.v{envelope['schema_version']}.json"
                        path = out / name
                        if path.exists():
                            continue
                        path.write_text(json.dumps(envelope, indent=2, sort_keys=True) + "\n")
                        written.append(path)
        finally:
            system.close()
    return written


def _beyond_the_demo(system: EmbeddedSystem) -> None:
    """Commands the demo seed does not run, so every contract has a stored payload."""
    policy, billing, identity = system.policy, system.billing, system.identity
    owner = owner_party_id("demo")
    policy.update_cash_value("0000100001", date(2024, 6, 1), Decimal("2700.00"), {})
    policy.credit_dividend("0000100001", date(2024, 6, 1), Decimal("12.34"))
    policy.take_loan(
        "0000100001", "WL1", "L-1", Decimal("500.00"), Decimal("5.00"), date(2024, 6, 2)
    )
    policy.repay_loan("0000100001", "WL1", "L-1", Decimal("100.00"), date(2024, 7, 2))
    contact = _contact("1 Sample Way", "Springfield", "IL", "62701", "demo@example.com", "5550100")
    policy.update_contact_information(owner, contact)
    billing.reverse_payment("0000100002", "ACH-0000100002-006", date(2022, 9, 5), "NSF")
    billing.run_billing_cycle(date(2022, 9, 20))
    billing.run_billing_cycle(date(2023, 3, 1))
    system.claims.submit_claim(
        certificate_number=CLAIMS_CERTIFICATE,
        patient_insured_id="I1",
        provider="Universal Provider",
        service_date=date(2024, 8, 1),
        submitted_amount=Decimal("80.00"),
        submitted_on=date(2024, 8, 2),
        claim_number="C000000199",
    )
    system.claims.deny("C000000199", date(2024, 8, 9), "Not a covered service")
    started = identity.log_in("demo", DEMO_PASSWORD)
    identity.change_preferences(
        started.token, preferred_language="Spanish", preferred_date_format="yyyy-mm-dd"
    )
    identity.log_out(started.token)
    for _ in range(10):
        with contextlib.suppress(LoginRefused):
            identity.log_in("demo2", "not the password")
    documents = system.documents
    documents.set_preferences(
        "0000100001", owner, [Selection("all", "Portal", ("demo@example.com",))]
    )


def _privacy_requests(system: EmbeddedSystem) -> None:
    """The demo owner asks to know, then to delete (last: it shreds the owner's keys)."""
    identity = system.identity
    started = identity.log_in("demo", DEMO_PASSWORD)
    identity.submit_account_request(started.account_id, "know")
    identity.submit_account_request(started.account_id, "delete")


def _open_a_document(system: EmbeddedSystem) -> None:
    """The owner opens the first document generated for her (DocumentOpened)."""
    owner = owner_party_id("demo")
    records, _ = system.delivery.outboxes[documents_contracts.TOPIC].read(0)
    for record in records:
        envelope = json.loads(record.value)
        data = envelope["data"]
        if envelope["event_type"] == "DocumentGenerated" and data["owner_party_id"] == str(owner):
            system.documents.mark_opened(data["document_id"], owner)
            return
    raise AssertionError("the demo generated no document for its owner")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES_DIR
    target.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(capture(target)):
        print(path)

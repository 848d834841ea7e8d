"""Claims on the real broker and PostgreSQL: the guide's claims from "Universal Provider"
reach the owner's Claim Inquiry and Claim Details with the guide's figures; a spouse's (and an
adult child's) claim is never visible; the EOB reaches the owner's documents after issue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from services.claims.main import build_claims, claims_consumer, claims_outbox
from services.documents.main import build_documents, documents_consumer, documents_outbox
from services.portal.demo import owner_party_id
from services.portal.demo_claims import NUMBER, issue_claims_certificate, load_guide_claims
from services.portal.queries import NotFound
from services.portal.queries.claims import (
    claim_detail,
    claim_inquiry,
    visible_claim_documents,
)
from services.portal.queries.documents import inbox
from shared.personal_data import vault_at
from shared.runtime import run_consumer, run_relay
from tests.integration.conftest import Stack, eventually

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 22)


async def test_the_guide_s_claims_through_kafka(stack: Stack) -> None:
    claims = build_claims(stack.settings)
    documents = build_documents(stack.settings)
    bootstrap = stack.settings.kafka_bootstrap_servers
    stack.start_relays()
    stack.start_consumer("portal")
    for name, app, outbox, consumer in (
        ("claims", claims, claims_outbox, claims_consumer),
        ("documents", documents, documents_outbox, documents_consumer),
    ):
        box, core = outbox(app, stack.settings), consumer(app, stack.settings)
        group = stack.settings.topic(name)
        stack.start(f"{name}-relay", lambda stop, box=box: run_relay(box, bootstrap, stop))
        stack.start(name, lambda stop, core=core, g=group: run_consumer(core, bootstrap, g, stop))
    owner = str(owner_party_id("demo"))
    vault = vault_at(stack.settings.database_url_for("keystore"))
    try:
        issue_claims_certificate(stack.policy)
        await eventually(lambda: claims.find_certificate(NUMBER) is not None, timeout=90)
        load_guide_claims(claims)

        def inquiry():
            with Session(stack.read_engine) as s:
                return claim_inquiry(s, owner, TODAY, vault.open, size=10)

        answer = await eventually(
            lambda: (
                (a := inquiry()).total == 4
                and all(r.eob.available for r in a.claims if r.status == "Issued")
                and a
            ),
            timeout=90,
        )
        rows = [
            (r.provider, r.service_date, r.submitted_amount, r.check_total, r.status)
            for r in answer.claims
        ]
        provider = "Universal Provider"
        assert rows == [  # newest service date first, as the guide's grid
            (provider, date(2024, 7, 4), Decimal("175.00"), Decimal("175.00"), "Issued"),
            (provider, date(2024, 1, 25), Decimal("2.00"), Decimal("0.00"), "Paid Not Issued"),
            (provider, date(2023, 11, 5), Decimal("175.00"), Decimal("175.00"), "Issued"),
            (provider, date(2023, 11, 2), Decimal("200.00"), Decimal("200.00"), "Issued"),
        ]
        not_yet = next(r for r in answer.claims if r.status == "Paid Not Issued")
        assert not not_yet.eob.available and "not available" in not_yet.eob.message

        with Session(stack.read_engine) as s:
            detail = claim_detail(s, "C000000102", owner, TODAY, vault.open)
            summary = detail.summary
            assert (summary.status, summary.status_date) == ("Issued", date(2024, 1, 25))
            assert (summary.total_amount_paid, summary.amount_claimed) == (
                Decimal("175.00"), Decimal("175.00"))  # fmt: skip
            assert (summary.excluded_amount, summary.deductible_applied) == (0, 0)
            assert (summary.coinsurance_copay, summary.patient_responsibility) == (0, 0)
            assert [(line.date_of_service, line.type_of_service, line.amount_claimed,
                     line.excluded_amount, line.benefit_amount) for line in detail.lines] == [
                (date(2023, 11, 9), "Urgent Care or Emer Physician Treatment", 125, 0, 125),
                (date(2023, 11, 9), "X-Ray", 50, 0, 50),
            ]  # fmt: skip
            assert [h.status for h in detail.status_history] == [
                "Pending", "Review Complete", "Decision Rendered", "Paid Not Issued", "Issued"
            ]  # fmt: skip
            assert detail.currency_note == "All currency values expressed in DOLLAR (US)"
            # The spouse's and the adult child's claims: never visible, 404 like missing ones.
            for hidden in ("C000000105", "C000000106", "C000999999"):
                with pytest.raises(NotFound):
                    claim_detail(s, hidden, owner, TODAY, vault.open)
            # The EOB is in the owner's documents (mailed, as EOBs always are).
            # Only the EOBs of visible claims reach the owner's inbox: the spouse's and the
            # adult child's stay out, whichever topic's events arrived first.
            visible = visible_claim_documents(s, owner, TODAY, vault.open)
            assert len(visible) == 3
            eobs = inbox(
                s, owner, certificate_number=NUMBER, document_type="eob", claim_documents=visible
            )
            assert eobs.total == 3
            assert inbox(s, owner, document_type="eob").total == 0  # deny by default
            assert {d.delivery_method for d in eobs.items} == {"Mail"}
    finally:
        for name in ("documents", "documents-relay", "claims", "claims-relay"):
            await stack.stop(name)
        claims.close()
        documents.close()

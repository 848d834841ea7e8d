"""Claim Inquiry and Claim Details through the real portal sink (tests/portal_harness.py):
certificates from policy's real outbox, claims' and documents' events as their relays would
publish them. The visibility rule is checked with the portal's clock moved around birthdays."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

import pytest
from fastapi.testclient import TestClient

from services.documents.domain import document_id_for
from services.policy.integration import insured_subject
from services.portal.api import create_portal_app
from services.portal.gateway import CommandGateway
from services.portal.projections.claims import document_id_of
from services.portal.queries.claims import eighteenth_birthday
from shared.clock import Clock
from shared.contracts import claims, documents
from shared.contracts.envelope import Envelope
from tests.factories import party_id
from tests.portal_harness import PortalHarness

AVERY, BLAKE = "0000100001", "0000200001"
CLAIMS = UUID("1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")
ZERO = Decimal("0.00")
DEPENDENTS = [
    ("I2", "Casey", "Child", "2006-06-15"),  # 18 on 2024-06-15
    ("I3", "Dana", "Child", "2000-01-01"),  # an adult child
    ("I4", "Sam", "Spouse", "1983-01-01"),
    ("I5", "Lee", "Child", "2008-02-29"),  # 18 on 2026-03-01
    ("I6", "Robin", "Other", "2012-05-05"),
]
BEFORE_CASEY_18 = date(2024, 6, 14)


def totals(paid: str = "0.00", claimed: str = "0.00") -> claims.ClaimTotals:
    return claims.ClaimTotals(
        amount_claimed=Decimal(claimed),
        excluded_amount=ZERO,
        deductible_applied=ZERO,
        coinsurance_copay=ZERO,
        other_carrier_paid=ZERO,
        patient_responsibility=ZERO,
        total_amount_paid=Decimal(paid),
    )


class Claims:
    """Claims' and documents' relays into the harness's portal consumer (partition 1)."""

    def __init__(self, harness: PortalHarness) -> None:
        self.harness = harness
        self.offsets: dict[str, int] = {}
        self.versions: dict[str, int] = {}
        self.envelopes: dict[tuple[str, str], Envelope] = {}
        self.patients: dict[str, claims.Patient] = {}

    def _deliver(self, topic: str, envelope: Envelope, offset: int | None = None) -> None:
        if offset is None:
            self.offsets[topic] = self.offsets.get(topic, 0) + 1
            offset = self.offsets[topic]
        asyncio.run(self.harness.core.handle(topic, 1, offset, envelope.to_bytes(), {}))

    def publish(self, event) -> Envelope:
        number = event.claim_number
        self.versions[number] = self.versions.get(number, 0) + 1
        envelope = Envelope.wrap(
            event,
            aggregate_id=uuid5(CLAIMS, number),
            aggregate_version=self.versions[number],
            occurred_at=datetime.now(UTC),
            certificate_number=event.certificate_number,
        )
        self.envelopes[(number, event.event_type)] = envelope
        self._deliver("claims.events", envelope)
        return envelope

    def submit(
        self,
        number: str,
        insured_id: str,
        first_name: str,
        relationship: str,
        service_date: date,
        certificate: str = AVERY,
        amount: str = "175.00",
    ) -> None:
        patient = claims.Patient(
            insured_id=insured_id,
            first_name=first_name,
            last_name="Demo",
            relationship=relationship,
        )
        self.patients[number] = patient
        self.publish(
            claims.ClaimSubmitted(
                certificate_number=certificate,
                claim_id=uuid5(CLAIMS, number),
                claim_number=number,
                group_number="G-77",
                account_number="A-12",
                member_id=f"M-{insured_id}",
                patient=patient,
                provider="Universal Provider",
                service_date=service_date,
                submitted_amount=Decimal(amount),
                submitted_on=service_date,
            )
        )

    def status(
        self, number: str, status: str, on: date, certificate: str = AVERY, paid: str = "0.00"
    ) -> None:
        self.publish(
            claims.ClaimStatusChanged(
                certificate_number=certificate,
                claim_number=number,
                previous_status=None,
                status=status,
                status_date=on,
                totals=totals(paid, paid),
            )
        )

    def issue(self, number: str, on: date, certificate: str = AVERY) -> None:
        lines = [
            claims.ClaimLine(
                line_id="L1",
                date_of_service=on,
                type_of_service="Urgent Care or Emer Physician Treatment",
                amount_claimed=Decimal("125.00"),
                excluded_amount=ZERO,
                benefit_amount=Decimal("125.00"),
            ),
            claims.ClaimLine(
                line_id="L2",
                date_of_service=on,
                type_of_service="X-Ray",
                amount_claimed=Decimal("50.00"),
                excluded_amount=ZERO,
                benefit_amount=Decimal("50.00"),
            ),
        ]
        for line in lines:
            self.publish(
                claims.ClaimLineAdjudicated(
                    certificate_number=certificate,
                    claim_number=number,
                    line=line,
                    totals=totals("175.00", "175.00"),
                )
            )
        self.status(number, "Review Complete", on, certificate, "175.00")
        self.publish(
            claims.ClaimIssued(
                certificate_number=certificate,
                claim_number=number,
                issued_on=on,
                patient=self.patients[number],
                provider="Universal Provider",
                service_date=on,
                paid_to="Avery Demo",
                lines=lines,
                totals=totals("175.00", "175.00"),
            )
        )
        self.status(number, "Issued", on, certificate, "175.00")

    def deny(self, number: str, on: date) -> None:
        self.publish(
            claims.ClaimDenied(
                certificate_number=AVERY,
                claim_number=number,
                denied_on=on,
                status="Not Covered",
                reason="Not a covered benefit",
                patient=self.patients[number],
                provider="Universal Provider",
                service_date=on,
                submitted_amount=Decimal("2.00"),
            )
        )
        self.status(number, "Not Covered", on)

    def document(self, number: str, event_type: str, document_type: str, owner="avery") -> str:
        """The document documents makes from that claims event, as its relay publishes it."""
        envelope = self.envelopes[(number, event_type)]
        source = f"{envelope.aggregate_id}:{envelope.aggregate_version}"
        document_id = document_id_for(source, document_type)
        event = documents.DocumentGenerated(
            certificate_number=envelope.certificate_number,
            document_id=document_id,
            owner_party_id=UUID(party_id(owner)),
            document_type=document_type,
            created_on=date(2024, 7, 5),
            content_hash="0" * 64,
            size_bytes=1234,
            delivery_method="Mail",
        )
        self._deliver(
            "documents.events",
            Envelope.wrap(
                event,
                aggregate_id=document_id,
                aggregate_version=1,
                occurred_at=datetime.now(UTC),
                certificate_number=event.certificate_number,
            ),
        )
        return str(document_id)


@pytest.fixture
def harness(tmp_path) -> PortalHarness:
    h = PortalHarness(tmp_path)
    h.issue(
        AVERY,
        owner="avery",
        product_code="CI",
        dependents=[
            {"insured_id": i, "first_name": n, "last_name": "Demo", "relationship": r,
             "date_of_birth": dob}
            for i, n, r, dob in DEPENDENTS
        ],
    )  # fmt: skip
    h.issue(BLAKE, owner="blake", product_code="CI")
    return h


@pytest.fixture
def feed(harness: PortalHarness) -> Claims:
    c = Claims(harness)
    c.submit("C1", "I1", "Avery", "Owner", date(2024, 1, 25), amount="2.00")
    c.status("C1", "Paid Not Issued", date(2024, 2, 1))
    c.submit("C2", "I2", "Casey", "Child", date(2024, 7, 4))
    c.issue("C2", date(2024, 7, 4))
    c.submit("C3", "I3", "Dana", "Child", date(2023, 11, 5))
    c.submit("C4", "I4", "Sam", "Spouse", date(2023, 11, 2))
    c.submit("C5", "I5", "Lee", "Child", date(2023, 10, 1))
    c.submit("C6", "I1", "Avery", "Owner", date(2023, 9, 1), amount="2.00")
    c.deny("C6", date(2023, 9, 20))
    c.submit("C7", "I6", "Robin", "Other", date(2023, 8, 1))
    c.submit("B1", "I1", "Blake", "Owner", date(2024, 3, 1), certificate=BLAKE)
    return c


def client_on(harness: PortalHarness, day: date, owner: str = "avery") -> TestClient:
    app = create_portal_app(harness.engine, CommandGateway({}), harness.vault.open, Clock(day))
    client = TestClient(app)
    number = AVERY if owner == "avery" else BLAKE
    client.headers["Authorization"] = f"Bearer {harness.sign_in(owner, number)}"
    return client


def visible(client: TestClient, **params) -> list[str]:
    answer = client.get("/api/claims", params={"size": 100, **params})
    assert answer.status_code == 200, answer.text
    return [row["claim_number"] for row in answer.json()["claims"]]


def test_claims_need_a_session(harness: PortalHarness) -> None:
    client = TestClient(create_portal_app(harness.engine, CommandGateway({}), harness.vault.open))
    assert client.get("/api/claims").status_code == 401
    assert client.get("/api/claims/C1").status_code == 401


@pytest.mark.parametrize(
    ("day", "casey_shown"),
    [(date(2024, 6, 14), True), (date(2024, 6, 15), False), (date(2024, 6, 16), False)],
)
def test_a_child_s_claims_are_shown_until_the_18th_birthday(
    harness: PortalHarness, feed: Claims, day: date, casey_shown: bool
) -> None:
    client = client_on(harness, day)
    assert ("C2" in visible(client)) is casey_shown
    assert client.get("/api/claims/C2").status_code == (200 if casey_shown else 404)


def test_a_leap_day_birthday_turns_18_on_1_march_in_a_common_year(
    harness: PortalHarness, feed: Claims
) -> None:
    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert eighteenth_birthday(date(2006, 6, 15)) == date(2024, 6, 15)
    assert "C5" in visible(client_on(harness, date(2026, 2, 28)))
    assert "C5" not in visible(client_on(harness, date(2026, 3, 1)))


@pytest.mark.parametrize("day", [date(2024, 1, 1), date(2024, 6, 14), date(2040, 1, 1)])
def test_spouse_and_adult_children_never_owner_always(
    harness: PortalHarness, feed: Claims, day: date
) -> None:
    client = client_on(harness, day)
    shown = visible(client)
    assert {"C1", "C6"} <= set(shown)
    assert not {"C3", "C4", "B1"} & set(shown)
    for hidden in ("C3", "C4"):
        assert client.get(f"/api/claims/{hidden}").status_code == 404
    assert ("C7" in shown) is (day < date(2030, 5, 5))  # "Other" dependents like children


def test_a_shredded_date_of_birth_hides_the_dependent_s_claims(
    harness: PortalHarness, feed: Claims
) -> None:
    harness.vault.erase([str(insured_subject(AVERY, "I2"))], [])  # every key of the insured
    client = client_on(harness, BEFORE_CASEY_18)
    assert "C2" not in visible(client)
    assert client.get("/api/claims/C2").status_code == 404
    assert "C1" in visible(client)


def test_the_inquiry_rows_newest_first_and_paged(harness: PortalHarness, feed: Claims) -> None:
    client = client_on(harness, BEFORE_CASEY_18)
    answer = client.get("/api/claims").json()
    assert (answer["page"], answer["size"], answer["total"]) == (1, 10, 5)
    assert [r["claim_number"] for r in answer["claims"]] == ["C2", "C1", "C5", "C6", "C7"]
    c2 = answer["claims"][0]
    assert c2 == {
        **c2,
        "patient_name": "Casey Demo",
        "patient_insured_id": "I2",
        "certificate_number": AVERY,
        "member_id": "M-I2",
        "provider": "Universal Provider",
        "service_date": "2024-07-04",
        "submitted_amount": "175.00",
        "check_total": "175.00",
        "status": "Issued",
        "href": "/api/claims/C2",
    }
    assert answer["claims"][1]["check_total"] == "0.00"
    assert answer["claims"][1]["status"] == "Paid Not Issued"
    assert {p["insured_id"] for p in answer["patients"]} == {"I1", "I2", "I5", "I6"}
    second = client.get("/api/claims", params={"size": 2, "page": 2}).json()
    assert [r["claim_number"] for r in second["claims"]] == ["C5", "C6"]
    assert second["total"] == 5


def test_the_inquiry_filters(harness: PortalHarness, feed: Claims) -> None:
    client = client_on(harness, BEFORE_CASEY_18)
    assert visible(client, patient="I1") == ["C1", "C6"]
    assert visible(client, patient="casey demo") == ["C2"]
    assert visible(client, patient="I4") == []  # the spouse: still hidden
    assert visible(client, status="Not Covered") == ["C6"]
    assert visible(client, service_date="2024-07-04") == ["C2"]
    assert visible(client, certificate="100001") == ["C2", "C1", "C5", "C6", "C7"]
    assert visible(client, patient="I1", status="Issued") == []
    bad = client.get("/api/claims", params={"service_date": "07/04/2024"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "service_date"
    bad = client.get("/api/claims", params={"certificate": "12345678901"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "certificate"
    assert client.get("/api/claims", params={"certificate": BLAKE}).status_code == 404


def test_claim_details(harness: PortalHarness, feed: Claims) -> None:
    client = client_on(harness, BEFORE_CASEY_18)
    detail = client.get("/api/claims/C2").json()
    assert (detail["group_number"], detail["account_number"], detail["member_id"]) == (
        "G-77",
        "A-12",
        "M-I2",
    )
    assert detail["patient"] == {"insured_id": "I2", "name": "Casey Demo", "relationship": "Child"}
    assert detail["currency_note"] == "All currency values expressed in DOLLAR (US)"
    assert detail["summary"] == {
        "status": "Issued",
        "status_date": "2024-07-04",
        "other_carrier_paid": "0.00",
        "total_amount_paid": "175.00",
        "paid_to": "Avery Demo",
        "amount_claimed": "175.00",
        "excluded_amount": "0.00",
        "deductible_applied": "0.00",
        "coinsurance_copay": "0.00",
        "patient_responsibility": "0.00",
    }
    assert [(h["status"], h["status_date"]) for h in detail["status_history"]] == [
        ("Review Complete", "2024-07-04"),
        ("Issued", "2024-07-04"),
    ]
    assert [(x["type_of_service"], x["benefit_amount"]) for x in detail["lines"]] == [
        ("Urgent Care or Emer Physician Treatment", "125.00"),
        ("X-Ray", "50.00"),
    ]
    assert (detail["previous_claim"], detail["next_claim"]) == (None, "C1")
    c5 = client.get("/api/claims/C5").json()
    assert (c5["previous_claim"], c5["next_claim"]) == ("C1", "C6")  # C3, C4 skipped: hidden
    c7 = client.get("/api/claims/C7").json()
    assert (c7["previous_claim"], c7["next_claim"]) == ("C6", None)
    # Once Casey is 18, C2 is gone from the owner's list and from previous/next.
    later = client_on(harness, date(2024, 6, 15)).get("/api/claims/C1").json()
    assert later["previous_claim"] is None


def test_eob_and_correspondence_links(harness: PortalHarness, feed: Claims) -> None:
    client = client_on(harness, BEFORE_CASEY_18)
    rows = {r["claim_number"]: r for r in client.get("/api/claims").json()["claims"]}
    not_yet = {
        "available": False,
        "document_id": None,
        "href": None,
        "message": "The Explanation of Benefits is not available for this claim.",
    }
    no_letter = {
        "available": False,
        "document_id": None,
        "href": None,
        "message": "Claim correspondence is not available for this claim.",
    }
    assert rows["C2"]["eob"] == not_yet  # issued, but the EOB is not in the inbox yet
    assert rows["C6"]["correspondence"] == no_letter

    eob = feed.document("C2", "ClaimIssued", "eob")
    letter = feed.document("C6", "ClaimDenied", "denial_letter")

    rows = {r["claim_number"]: r for r in client.get("/api/claims").json()["claims"]}
    assert rows["C2"]["eob"] == {
        "available": True,
        "document_id": eob,
        "href": f"/api/documents/{eob}",
        "message": None,
    }
    assert rows["C2"]["correspondence"] == no_letter
    assert rows["C6"]["correspondence"]["href"] == f"/api/documents/{letter}"
    assert rows["C6"]["eob"] == not_yet
    assert rows["C1"]["eob"] == not_yet and rows["C1"]["correspondence"] == no_letter
    detail = client.get("/api/claims/C2").json()
    assert detail["eob"]["href"] == f"/api/documents/{eob}"


def test_another_owner_s_claim_answers_404(harness: PortalHarness, feed: Claims) -> None:
    avery = client_on(harness, BEFORE_CASEY_18)
    blake = client_on(harness, BEFORE_CASEY_18, owner="blake")
    assert avery.get("/api/claims/B1").status_code == 404
    assert avery.get("/api/claims/NOPE").status_code == 404
    assert blake.get("/api/claims/C1").status_code == 404
    assert visible(blake) == ["B1"]


def test_redelivered_claims_events_change_nothing(harness: PortalHarness, feed: Claims) -> None:
    for (number, _), envelope in list(feed.envelopes.items()):
        if number == "C2":
            feed._deliver("claims.events", envelope, offset=1_000 + envelope.aggregate_version)
    detail = client_on(harness, BEFORE_CASEY_18).get("/api/claims/C2").json()
    assert [h["status"] for h in detail["status_history"]] == ["Review Complete", "Issued"]
    assert len(detail["lines"]) == 2 and harness.dead.letters == []


def test_the_portal_names_the_documents_ids_as_documents_does(feed: Claims) -> None:
    envelope = feed.envelopes[("C2", "ClaimIssued")]
    source = f"{envelope.aggregate_id}:{envelope.aggregate_version}"
    for document_type in ("eob", "denial_letter"):
        assert document_id_of(envelope, document_type) == str(
            document_id_for(source, document_type)
        )


def test_claim_documents_show_only_with_a_visible_claim(harness: PortalHarness, feed: Claims):
    # Claims' and documents' events travel on different topics: an EOB can reach the portal
    # before its claim. Until the claim is known and visible, the EOB stays out of the inbox.
    client = client_on(harness, BEFORE_CASEY_18)
    feed.issue("C4", date(2023, 11, 20))  # the spouse's claim, issued: never visible
    spouse_eob = feed.document("C4", "ClaimIssued", "eob")
    own_eob = feed.document("C2", "ClaimIssued", "eob")
    early = documents.DocumentGenerated(  # an EOB whose claim has not arrived yet
        certificate_number=AVERY,
        document_id=uuid5(CLAIMS, "not-yet-projected"),
        owner_party_id=UUID(party_id("avery")),
        document_type="eob",
        created_on=date(2024, 7, 5),
        content_hash="0" * 64,
        size_bytes=1234,
        delivery_method="Mail",
    )
    feed._deliver(
        "documents.events",
        Envelope.wrap(
            early,
            aggregate_id=early.document_id,
            aggregate_version=1,
            occurred_at=datetime.now(UTC),
            certificate_number=AVERY,
        ),
    )
    inbox = client.get("/api/documents?type=eob").json()
    assert [d["document_id"] for d in inbox["items"]] == [own_eob]
    for hidden in (spouse_eob, str(early.document_id)):
        assert client.get(f"/api/documents/{hidden}").status_code == 404

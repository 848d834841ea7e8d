"""A request to delete in the portal's read models: PersonalDataErased purges every clear
personal value of the person (and signs them out), whichever key classes were retained; what
arrives about them later is purged as it is projected; a rebuild from the outboxes (the keys
shredded) followed by the same purge gives exactly the live rows; the other owner is
untouched. The privacy requests are projected for the owner's privacy page."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.policy.values import Address, ContactInformation
from services.portal.auth import token_digest
from services.portal.projections import portal_sink
from services.portal.projections.erasure import ERASED_CONTACT
from services.portal.readmodels import (
    BillingView,
    CertificateView,
    ClaimView,
    DeliveryPreferenceView,
    ErasedPartyView,
    InsuredView,
    OwnerProfileView,
    PortalSessionView,
    PortalUserView,
    PrivacyRequestView,
    ReadModel,
)
from services.portal.replay_shadow import differences, sealed_aware
from shared.contracts import claims, documents, identity, privacy
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import ConsumerCore
from shared.personal_data import CLAIMS, SERVICING, Retention
from shared.sqldb import make_engine
from tests.factories import party_id
from tests.portal_harness import DeadLetterList, PortalHarness

AVERY, BLAKE = "0000100001", "0000200001"
AVERY_PARTY, BLAKE_PARTY = UUID(party_id("avery")), UUID(party_id("blake"))
REQUEST = UUID("5b0d7c1e-8f2a-4c3b-9d4e-6a7b8c9d0e1f")
NOW = datetime(2024, 11, 16, 10, 0, tzinfo=UTC)
CHILD = {
    "insured_id": "I2",
    "first_name": "Casey",
    "last_name": "Demo",
    "relationship": "Child",
    "date_of_birth": "2012-04-05",
}


class Portal:
    """The harness's portal, plus the other topics' envelopes, kept in order for a rebuild."""

    def __init__(self, directory: Path) -> None:
        self.h = PortalHarness(directory)
        self.h.issue(AVERY, owner="avery", dependents=[CHILD])
        self.h.issue(BLAKE, owner="blake")
        self.sent: list[tuple[str, bytes]] = []
        self.offsets: dict[str, int] = defaultdict(int)
        self.versions: dict[UUID, int] = defaultdict(int)

    def publish(self, topic: str, event, aggregate_id: UUID) -> None:
        self.versions[aggregate_id] += 1
        envelope = Envelope.wrap(
            event,
            aggregate_id=aggregate_id,
            aggregate_version=self.versions[aggregate_id],
            occurred_at=NOW,
            certificate_number=event.certificate_number,
        )
        self.sent.append((topic, envelope.to_bytes()))
        self.offsets[topic] += 1
        asyncio.run(self.h.core.handle(topic, 0, self.offsets[topic], envelope.to_bytes(), {}))

    def sign_in(self, owner: str, number: str) -> None:
        account, party = uuid5(REQUEST, owner), UUID(party_id(owner))
        self.publish("identity.events", identity.UserRegistered(
            certificate_number=number, account_id=account, user_id=owner, party_id=party,
            preferred_language="English", preferred_date_format="mm/dd/yyyy",
        ), account)  # fmt: skip
        self.publish("identity.events", identity.SessionStarted(
            certificate_number=number, account_id=account, party_id=party, session_id=uuid4(),
            token_digest=token_digest(f"token-{owner}"), expires_at=NOW + timedelta(hours=1),
        ), account)  # fmt: skip

    def prefer_portal(self, owner: str, number: str) -> None:
        prefs = [
            documents.Preference(document_type=t, method="Mail", emails=[f"{owner}@example.com"])
            for t in documents.DOCUMENT_TYPES
        ]
        event = documents.DeliveryPreferencesChanged(
            certificate_number=number, owner_party_id=UUID(party_id(owner)), preferences=prefs
        )
        self.publish("documents.events", event, uuid5(REQUEST, f"prefs:{number}"))

    def claim(self, number: str, claim_number: str, patient: claims.Patient) -> None:
        event = claims.ClaimSubmitted(
            certificate_number=number, owner_party_id=UUID(party_id("avery" if number == AVERY
            else "blake")), claim_id=uuid5(REQUEST, claim_number), claim_number=claim_number,
            group_number="G1", account_number="A1", member_id=f"M-{number}", patient=patient,
            provider="Universal Provider", service_date=date(2024, 5, 2),
            submitted_amount=Decimal("80.00"), submitted_on=date(2024, 5, 3),
        )  # fmt: skip
        self.publish("claims.events", event, uuid5(REQUEST, claim_number))

    def request(self, status: str) -> None:
        event = privacy.PrivacyRequestUpdated(
            certificate_number=AVERY, request_id=REQUEST, party_id=AVERY_PARTY, kind="delete",
            status=status, received_at=NOW, due_by=date(2024, 12, 31),
            completed_at=NOW if status == "completed" else None,
            outcome="Your personal information was deleted." if status == "completed" else None,
        )  # fmt: skip
        self.publish("identity.events", event, REQUEST)

    def erase(self, retained: tuple[str, ...]) -> None:
        until = NOW + timedelta(days=365)
        self.h.vault.erase([str(AVERY_PARTY)], [Retention(c, until, "exempt") for c in retained])
        event = privacy.PersonalDataErased(
            certificate_number=AVERY, request_id=REQUEST, party_id=AVERY_PARTY, erased_at=NOW,
            erased=[c for c in ("personal", "servicing", "claims") if c not in retained],
            retained=[privacy.Retained(key_class=c, until=until.date(), reason="exempt")
                      for c in retained],
        )  # fmt: skip
        self.publish("identity.events", event, REQUEST)

    def rebuild(self, directory: Path):
        """The read models rebuilt from policy's and billing's outboxes (read now: after the
        shred) then the other topics' envelopes, each topic in its own order."""
        engine = make_engine(f"sqlite:///{directory}/rebuilt.sqlite")
        ReadModel.metadata.create_all(engine)
        core = ConsumerCore(portal_sink(engine), [], DeadLetterList())

        async def feed() -> None:
            for topic, outbox in self.h.outboxes.items():
                records, _ = outbox.read(0, 10_000)
                for record in records:
                    await core.handle(topic, 0, record.position, record.value, {})
            offsets: dict[str, int] = defaultdict(int)
            for topic, value in self.sent:
                offsets[topic] += 1
                await core.handle(topic, 0, offsets[topic], value, {})

        asyncio.run(feed())
        return engine


@pytest.fixture
def portal(tmp_path: Path) -> Portal:
    p = Portal(tmp_path)
    for owner, number in (("avery", AVERY), ("blake", BLAKE)):
        p.sign_in(owner, number)
        p.prefer_portal(owner, number)
    p.claim(AVERY, "C1", claims.Patient(insured_id="I1", first_name="Avery", last_name="Demo",
                                        relationship="Owner"))  # fmt: skip
    p.claim(AVERY, "C2", claims.Patient(insured_id="I2", first_name="Casey", last_name="Demo",
                                        relationship="Child"))  # fmt: skip
    p.claim(BLAKE, "C3", claims.Patient(insured_id="I1", first_name="Blake", last_name="Demo",
                                        relationship="Owner"))  # fmt: skip
    p.request("received")
    return p


def rows(session: Session, view, **where) -> list:
    query = select(view)
    for name, value in where.items():
        query = query.where(getattr(view, name) == value)
    return list(session.scalars(query))


def personal_values(engine, number: str, party: UUID) -> list:
    """Every value of the read models that is a person's, for one owner's certificate."""
    with Session(engine) as s:
        profile = s.get(OwnerProfileView, str(party))
        found = [
            (profile.first_name, profile.last_name, profile.gender, profile.government_id_last4,
             profile.date_of_birth_sealed, profile.contact),
            s.get(CertificateView, number).payor_name,
            s.get(BillingView, number).payor_name,
        ]  # fmt: skip
        found += [
            (i.first_name, i.last_name, i.date_of_birth_sealed, i.birth_year_month)
            for i in rows(s, InsuredView, certificate_number=number)
        ]
        found += [
            (c.patient_first_name, c.patient_last_name, c.member_id, c.paid_to)
            for c in rows(s, ClaimView, certificate_number=number)
        ]
        found += [p.emails for p in rows(s, DeliveryPreferenceView, certificate_number=number)]
        found += [(u.user_id,) for u in rows(s, PortalUserView, party_id=str(party))]
        found += [(x.session_id,) for x in rows(s, PortalSessionView, party_id=str(party))]
        return found


def erased_values(engine) -> list:
    with Session(engine) as s:
        insureds = len(rows(s, InsuredView, certificate_number=AVERY))
        claims_ = len(rows(s, ClaimView, certificate_number=AVERY))
    return [
        ("", "", None, "0000", "", ERASED_CONTACT),
        "",
        "",
        *[("", "", "", "0000-00")] * insureds,
        *[("", "", "", "")] * claims_,
        *[[]] * 7,
    ]


@pytest.mark.parametrize("retained", [(), (SERVICING, CLAIMS)])
def test_the_purge_leaves_nothing_of_the_person_and_a_rebuild_agrees(
    portal: Portal, tmp_path: Path, retained: tuple[str, ...]
) -> None:
    engine = portal.h.engine
    blake_before = personal_values(engine, BLAKE, BLAKE_PARTY)
    assert "Avery" in repr(personal_values(engine, AVERY, AVERY_PARTY))

    portal.erase(retained)
    portal.request("completed")
    after = personal_values(engine, AVERY, AVERY_PARTY)
    assert after == erased_values(engine)
    for clear in ("Avery", "Casey", "avery@", "Elm Street", "Tolland", "860-555", "6789",
                  "1983-11", "2012-04", "M-0000100001"):  # fmt: skip
        assert clear not in repr(after)
    assert personal_values(engine, BLAKE, BLAKE_PARTY) == blake_before
    with Session(engine) as s:
        assert s.get(ErasedPartyView, str(AVERY_PARTY)).request_id == str(REQUEST)
        # Still listed, with nothing of the person: the inbox rows, statuses, amounts.
        assert s.get(CertificateView, AVERY).status == "Active Premium Paying"
        assert len(rows(s, ClaimView, certificate_number=AVERY)) == 2

    # A rebuild (the keys shredded or retained) then the same purge: the same rows.
    rebuilt = portal.rebuild(tmp_path)
    with engine.connect() as live:
        found = list(
            differences(
                live, rebuilt, ReadModel.metadata.sorted_tables, sealed_aware(portal.h.vault.open)
            )
        )
    assert found == []


def test_what_arrives_after_the_erasure_is_purged_too(portal: Portal, tmp_path: Path) -> None:
    portal.erase((SERVICING, CLAIMS))  # retained: policy and claims still seal readable values
    contact = ContactInformation(
        address=Address(street=["9 New Road"], city="Hartford", state="CT", zip_code="06103"),
        emails=["avery.new@example.com"],
    )
    portal.h.policy.update_contact_information(AVERY_PARTY, contact)
    portal.h.deliver()
    portal.claim(AVERY, "C4", claims.Patient(insured_id="I1", first_name="Avery",
                                             last_name="Demo", relationship="Owner"))  # fmt: skip
    portal.prefer_portal("avery", AVERY)
    after = personal_values(portal.h.engine, AVERY, AVERY_PARTY)
    assert after == erased_values(portal.h.engine)
    assert "New Road" not in repr(after) and "Avery" not in repr(after)

    # Whatever the order a rebuild sees the topics in (here policy's contact change before
    # the erasure), it ends the same.
    rebuilt = portal.rebuild(tmp_path)
    with portal.h.engine.connect() as live:
        assert not list(differences(live, rebuilt, ReadModel.metadata.sorted_tables))


def test_a_redelivered_erasure_changes_nothing(portal: Portal) -> None:
    portal.erase(())
    before = personal_values(portal.h.engine, AVERY, AVERY_PARTY)
    topic, value = portal.sent[-1]
    asyncio.run(portal.h.core.handle(topic, 0, portal.offsets[topic] + 1, value, {}))
    assert personal_values(portal.h.engine, AVERY, AVERY_PARTY) == before
    assert not portal.h.dead.letters


def test_privacy_requests_are_projected_per_request_and_certificate(portal: Portal) -> None:
    with Session(portal.h.engine) as s:
        [row] = rows(s, PrivacyRequestView, party_id=str(AVERY_PARTY))
        assert (row.request_id, row.certificate_number, row.kind, row.status) == (
            str(REQUEST), AVERY, "delete", "received")  # fmt: skip
        assert row.completed_at is None and row.outcome is None and row.by_agent is False
    portal.request("completed")
    with Session(portal.h.engine) as s:
        [row] = rows(s, PrivacyRequestView, request_id=str(REQUEST))
        assert row.status == "completed" and row.outcome.startswith("Your personal")
        assert row.due_by == date(2024, 12, 31) and row.completed_at is not None

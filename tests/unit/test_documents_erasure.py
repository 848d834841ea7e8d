"""A request to delete, as the documents service sees it: the owner's names, emails and place
rest sealed in its event store (and read "" / [] once shredded); on PersonalDataErased the
PDFs of the classes not retained are deleted, the notification emails blanked (and never
sent), the content answers 410; the other owner is untouched; a redelivery changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.documents.api import create_documents_api
from services.documents.application import Selection
from services.documents.certificates import on_file_id
from services.documents.preferences import preferences_id
from shared import personal_data
from shared.contracts import privacy
from shared.contracts.envelope import Envelope
from shared.mail import ERASED
from shared.personal_data import CLAIMS, SERVICING, Retention, Vault
from shared.sqldb import make_engine
from tests.unit.test_documents_claims import claim_issued
from tests.unit.test_documents_claims import publish as publish_claim
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    Upstream,
    documents,
    make_documents,
    of_type,
)

REQUEST = UUID("3a1f0c9e-2b4d-4e6f-8a0b-1c2d3e4f5a6b")
NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def vault(tmp_path) -> Iterator[Vault]:
    own = Vault(make_engine(f"sqlite:///{tmp_path}/keys.sqlite"), cache_seconds=0)
    with personal_data.using(own):
        yield own


def erased_event(
    retained: tuple[str, ...] = (SERVICING, CLAIMS), number: str = AVERY.certificate_number
) -> Envelope:
    event = privacy.PersonalDataErased(
        certificate_number=number,
        request_id=REQUEST,
        party_id=AVERY.party_id,
        erased_at=NOW,
        erased=[c for c in ("personal", "servicing", "claims") if c not in retained],
        retained=[
            privacy.Retained(key_class=c, until=date(2025, 6, 3), reason="in force")
            for c in retained
        ],
    )
    return Envelope.wrap(
        event,
        aggregate_id=REQUEST,
        aggregate_version=3,
        occurred_at=NOW,
        certificate_number=number,
    )


async def portal_owners() -> tuple:
    """Avery (Portal for everything, a letter notified, an EOB) and Blake (Portal too)."""
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    await upstream.issue(BLAKE)
    for owner in (AVERY, BLAKE):
        app.set_preferences(
            owner.certificate_number,
            owner.party_id,
            [Selection("all", "Portal", (f"{owner.first_name.lower()}@example.com",))],
        )
        app.generate_letter(owner.certificate_number, description="Hello", paragraphs=["Hi."])
    await publish_claim(upstream, claim_issued(), offset=1)
    assert app.queue_notifications() == 2
    return app, upstream


def erase_keys(vault: Vault, retained: tuple[str, ...]) -> None:
    until = NOW + timedelta(days=365)
    vault.erase([str(AVERY.party_id)], [Retention(c, until, "exempt") for c in retained])


def contents(app, owner) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for document in documents(app):
        if document.owner_party_id == owner.party_id:
            try:
                found[document.document_type] = app.content_store.get(document.content_hash)
            except LookupError:
                found[document.document_type] = b"missing"
    return found


def stored_states(app, aggregate_id: UUID) -> bytes:
    return b"\n".join(e.state for e in app.recorder.select_events(aggregate_id))


async def test_names_emails_and_places_rest_sealed_and_read_erased_once_shredded(vault) -> None:
    app, upstream = await portal_owners()
    await upstream.update_contact(AVERY, city="Hartford")
    at_rest = stored_states(app, on_file_id(AVERY.certificate_number))
    at_rest += stored_states(app, preferences_id(AVERY.certificate_number))
    for clear in (b"Avery", b"Demo", b"avery@example.com", b"Tolland", b"Hartford"):
        assert clear not in at_rest
    on_file = app.on_file(AVERY.certificate_number)
    assert (on_file.owner_name, on_file.emails, on_file.city) == ("Avery Demo", [
        "avery@example.com"], "Hartford")  # fmt: skip

    erase_keys(vault, retained=())
    on_file = app.on_file(AVERY.certificate_number)
    assert (on_file.owner_name, on_file.emails, on_file.city, on_file.state) == ("", [], "", "")
    assert app.preferences_of(AVERY.certificate_number).emails_for("bill") == []
    assert app.on_file(BLAKE.certificate_number).owner_name == "Blake Sample"
    # On the wire too: the preferences' emails are sealed, and read [] once shredded.
    published = [e for e in upstream_published(app) if e.event_type == "DeliveryPreferencesChanged"]
    assert published and all(e.schema_version == 2 for e in published)
    assert all(b"avery@example.com" not in e.to_bytes() for e in published)
    avery = [p for p in of_type(app, "DeliveryPreferencesChanged") if p["certificate_number"]
             == AVERY.certificate_number]  # fmt: skip
    assert all(p["emails"] == [] for p in avery[-1]["preferences"])


def upstream_published(app) -> list[Envelope]:
    from tests.unit.test_documents_support import published

    return published(app)


async def test_erasure_deletes_pdfs_not_retained_and_blanks_the_emails(vault) -> None:
    app, upstream = await portal_owners()
    client = TestClient(create_documents_api(app))
    avery_letter = next(
        d
        for d in documents(app)
        if d.owner_party_id == AVERY.party_id and d.document_type == "letter"
    )
    erase_keys(vault, retained=(CLAIMS,))
    await upstream.core.handle("identity.events", 0, 1, erased_event((CLAIMS,)).to_bytes(), {})

    found = contents(app, AVERY)
    assert found["certificate"] == b"missing" and found["letter"] == b"missing"
    assert found["eob"] is not None and found["eob"].startswith(b"%PDF")  # claims: retained
    assert all(v not in (None, b"missing") for v in contents(app, BLAKE).values())

    mails = {m.dedup_key: m for m in app.mail.all()}
    avery_mail = next(m for k, m in mails.items() if str(avery_letter.id) in k)
    assert (avery_mail.recipient, avery_mail.subject, avery_mail.body) == ("", "", None)
    assert avery_mail.gave_up_at is not None and avery_mail.last_error == ERASED
    blake_mail = next(m for m in mails.values() if m is not avery_mail)
    assert blake_mail.recipient == "blake@example.com" and blake_mail.body
    due = app.mail.claim_due(NOW + timedelta(days=1), timedelta(minutes=5), 10)
    assert [m.dedup_key for m in due] == [blake_mail.dedup_key]  # Avery's is never sent

    query = {"owner_party_id": str(AVERY.party_id)}
    answer = client.get(f"/documents/{avery_letter.id}/content", params=query)
    assert answer.status_code == 410 and "erased" in answer.json()["detail"]

    # Redelivered (another offset, the same event): nothing more happens, nothing recorded.
    before = app.recorder.max_notification_id()
    await upstream.core.handle("identity.events", 0, 2, erased_event((CLAIMS,)).to_bytes(), {})
    assert app.recorder.max_notification_id() == before
    assert contents(app, AVERY)["eob"] is not None


async def test_a_shredded_pdf_not_yet_deleted_answers_410_never_500(vault) -> None:
    app, _ = await portal_owners()
    client = TestClient(create_documents_api(app))
    certificate = next(
        d for d in documents(app)
        if d.owner_party_id == AVERY.party_id and d.document_type == "certificate"
    )  # fmt: skip
    erase_keys(vault, retained=(CLAIMS,))
    assert app.content_store.get(certificate.content_hash) is None
    query = {"owner_party_id": str(AVERY.party_id)}
    answer = client.get(f"/documents/{certificate.id}/content", params=query)
    assert answer.status_code == 410
    assert "owner's request" in answer.json()["detail"]


async def test_everything_retained_keeps_the_pdfs_but_still_blanks_the_emails(vault) -> None:
    app, upstream = await portal_owners()
    erase_keys(vault, retained=(SERVICING, CLAIMS))
    await upstream.core.handle("identity.events", 0, 1, erased_event().to_bytes(), {})
    assert all(v not in (None, b"missing") for v in contents(app, AVERY).values())
    assert sorted(m.recipient for m in app.mail.all()) == ["", "blake@example.com"]


async def test_an_erasure_for_a_certificate_not_on_file_changes_nothing(vault) -> None:
    app, upstream = await portal_owners()
    other = erased_event(number="0000999999")
    await upstream.core.handle("identity.events", 0, 1, other.to_bytes(), {})
    assert sorted(m.recipient for m in app.mail.all()) == ["avery@example.com", "blake@example.com"]


async def test_other_identity_events_only_move_the_position_on() -> None:
    app, upstream = await portal_owners()
    event = privacy.PrivacyRequestUpdated(
        certificate_number=AVERY.certificate_number,
        request_id=uuid4(),
        party_id=AVERY.party_id,
        kind="delete",
        status="received",
        received_at=NOW,
        due_by=date(2024, 7, 18),
    )
    envelope = Envelope.wrap(
        event, aggregate_id=uuid4(), aggregate_version=1, occurred_at=NOW,
        certificate_number=AVERY.certificate_number,
    )  # fmt: skip
    before = app.recorder.max_notification_id()
    await upstream.core.handle("identity.events", 0, 5, envelope.to_bytes(), {})
    assert upstream.core.sink.position("identity.events", 0) == 5
    assert app.recorder.max_notification_id() == before

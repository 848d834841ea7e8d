"""Documents generated from policy's events through the real consumer core and event-sourced
sink, and by the back office: one document per trigger, its PDF stored by hash, Mail by
default with DocumentMailed for the print vendor."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.documents.content import content_hash
from services.documents.domain import DESCRIPTION_CUTOVER, document_id_for
from services.documents.errors import CertificateNotFound
from services.documents.pdf import LetterContent, render
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    FakeClock,
    Upstream,
    contact_updated,
    documents,
    envelope_of,
    make_documents,
    of_type,
    pdf_text,
    published,
)


async def test_a_certificate_issued_makes_one_certificate_pdf_delivered_by_mail() -> None:
    app = make_documents()
    upstream = Upstream(app)

    # Policy issues Avery's certificate; documents' consumer group receives it.
    envelope = await upstream.issue(AVERY, premium="44.00")

    # One certificate document, for Avery, dated the day of the event, Mail by default.
    [document] = documents(app)
    assert document.id == document_id_for(f"{envelope.aggregate_id}:1", "certificate")
    assert (document.document_type, document.certificate_number) == ("certificate", "0000100001")
    assert document.owner_party_id == AVERY.party_id
    assert document.document_date == date(2024, 6, 3)
    assert document.delivery_method == "Mail" and document.description is None

    # Its content is retrievable by hash, and is a PDF with the certificate's figures.
    pdf = app.content_store.get(document.content_hash)
    assert pdf.startswith(b"%PDF") and len(pdf) == document.size_bytes
    assert content_hash(pdf) == document.content_hash
    text = pdf_text(pdf)
    for expected in ("Harborview Mutual", "0000100001", "44.00 Monthly", "Avery Demo"):
        assert expected in text
    assert "12,137.00" in text and "12/01/2015" in text

    # Published: DocumentGenerated, then DocumentMailed for the print vendor's feed.
    assert [e.event_type for e in published(app)] == ["DocumentGenerated", "DocumentMailed"]
    [mailed] = of_type(app, "DocumentMailed")
    assert mailed["mailed_on"] == "2024-06-03" and mailed["document_type"] == "certificate"


async def test_a_trigger_delivered_twice_still_makes_one_document() -> None:
    app = make_documents()
    upstream = Upstream(app)
    envelope = await upstream.issue(AVERY)

    # Redelivered at the same offset (consumer restart), then re-published at a new offset
    # (relay crash) and on another partition.
    await upstream.deliver(envelope, offset=1)
    await upstream.deliver(envelope)
    await upstream.core.handle("policy.events", 3, 7, envelope.to_bytes(), {})

    assert (upstream.core.applied, upstream.core.duplicates) == (1, 3)
    assert len(documents(app)) == 1
    assert len(of_type(app, "DocumentMailed")) == 1
    assert upstream.core.dead_letters.letters == []


async def test_a_contact_change_makes_a_confirmation_letter_with_its_description() -> None:
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)

    await upstream.update_contact(AVERY, city="Springfield", state="IL")

    letter = documents(app)[-1]
    assert letter.document_type == "letter"
    assert letter.description == "Contact information change confirmation"
    text = pdf_text(app.content_store.get(letter.content_hash))
    assert "Confirmation of your contact information change" in text
    assert "Springfield, IL" in text and "12 Elm Street" not in text  # city/state only
    assert "did not make this change" in text and "Customer Service" in text
    # The emails on file follow the owner's contact information.
    assert app.on_file("0000100001").city == "Springfield"


async def test_an_event_for_a_certificate_not_on_file_is_dead_lettered() -> None:
    app = make_documents()
    upstream = Upstream(app)
    await upstream.deliver(envelope_of(contact_updated(BLAKE), BLAKE.certificate_id, 2))
    [(_, _, reason)] = upstream.core.dead_letters.letters
    assert "not on file" in reason
    assert published(app) == []


async def test_a_contact_change_for_another_owner_is_dead_lettered() -> None:
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    stranger = contact_updated(AVERY).model_copy(update={"owner_party_id": BLAKE.party_id})
    await upstream.deliver(envelope_of(stranger, AVERY.certificate_id, 2))
    [(_, _, reason)] = upstream.core.dead_letters.letters
    assert "another owner" in reason
    assert len(documents(app)) == 1


async def test_events_without_a_trigger_only_move_the_position_on() -> None:
    from shared.contracts import policy

    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    changed = policy.CertificateStatusChanged(
        certificate_number="0000100001",
        previous_status="Active Premium Paying",
        status="Reduced Paid Up",
        status_date=date(2024, 2, 1),
    )
    await upstream.deliver(envelope_of(changed, AVERY.certificate_id, 2))
    assert len(documents(app)) == 1
    assert upstream.core.sink.position("policy.events", 0) == 2


async def test_a_back_office_letter_is_generated_now_with_its_description() -> None:
    app = make_documents(FakeClock(datetime(2024, 7, 1, 12, tzinfo=UTC)))
    await Upstream(app).issue(AVERY)

    document = app.generate_letter(
        "100001", description="Your beneficiary change", paragraphs=["We made the change."]
    )

    assert document.document_date == date(2024, 7, 1)
    assert document.description == "Your beneficiary change"
    assert "We made the change." in pdf_text(app.content_store.get(document.content_hash))


async def test_letters_before_the_cut_over_date_have_no_description() -> None:
    # "Description added for letters is a new field added on 1/18/21 and will apply going
    # forward."
    app = make_documents()
    await Upstream(app).issue(AVERY)
    before = date(2021, 1, 17)
    old = app.generate_letter("100001", description="Old", paragraphs=["x"], created_on=before)
    new = app.generate_letter(
        "100001", description="New", paragraphs=["x"], created_on=DESCRIPTION_CUTOVER
    )
    assert old.description is None
    assert new.description == "New"
    assert [d["description"] for d in of_type(app, "DocumentGenerated")[1:]] == [None, "New"]


async def test_the_same_letter_request_answers_the_same_letter() -> None:
    app = make_documents()
    await Upstream(app).issue(AVERY)
    first = app.generate_letter("100001", description="D", paragraphs=["x"], request_id="r-1")
    again = app.generate_letter("100001", description="D", paragraphs=["x"], request_id="r-1")
    assert first.id == again.id
    assert len(documents(app)) == 2  # the certificate and one letter


def test_a_letter_for_an_unknown_certificate_is_refused() -> None:
    app = make_documents()
    with pytest.raises(CertificateNotFound):
        app.generate_letter("0000999999", description="D", paragraphs=["x"])
    with pytest.raises(CertificateNotFound):
        app.generate_letter("not-a-number", description="D", paragraphs=["x"])
    assert published(app) == []


def _letter(**overrides) -> LetterContent:
    values = {
        "certificate_number": "0000100001",
        "owner_name": "Avery Demo",
        "created_on": date(2024, 6, 3),
        "description": "Your letter",
        "paragraphs": ("First paragraph.", "Second paragraph."),
    }
    values.update(overrides)
    return LetterContent(**values)


def test_the_same_input_gives_the_same_content_hash() -> None:
    first, second = render("letter", _letter()), render("letter", _letter())
    assert first == second and content_hash(first) == content_hash(second)
    # Another date or text: another PDF.
    assert render("letter", _letter(created_on=date(2024, 6, 4))) != first
    assert render("letter", _letter(paragraphs=("Other.",))) != first


async def test_a_regenerated_certificate_has_the_same_hash() -> None:
    # The same trigger consumed by two fresh stores (a replay) makes byte-identical PDFs.
    hashes = []
    for _ in range(2):
        app = make_documents()
        await Upstream(app).issue(AVERY)
        hashes.append(documents(app)[0].content_hash)
    assert hashes[0] == hashes[1]


def test_text_outside_latin_1_does_not_break_generation() -> None:
    pdf = render(
        "letter",
        _letter(owner_name="Łukasz Żółć", paragraphs=("“Quoted” — 5 €, naïve, 日本, emoji 🙂",)),
    )
    text = pdf_text(pdf)
    assert "ukasz" in text and "naïve" in text and "€" in text


def test_document_ids_are_deterministic_per_source_and_type() -> None:
    source = f"{uuid4()}:3"
    assert document_id_for(source, "letter") == document_id_for(source, "letter")
    assert document_id_for(source, "letter") != document_id_for(source, "certificate")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=40), paragraph=st.text(max_size=300))
def test_any_text_renders(name: str, paragraph: str) -> None:
    pdf = render("letter", _letter(owner_name=name, paragraphs=(paragraph,)))
    assert pdf.startswith(b"%PDF")

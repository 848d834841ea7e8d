"""Delivery preferences per certificate and document type, against the real Application in
memory: the guide's rules (a valid email for every Portal selection; EOB always by Mail),
"all", ownership, and what is published."""

import pytest

from services.documents.application import Selection
from services.documents.errors import CertificateNotFound, PreferenceRefused
from services.documents.preferences import EOB_REASON, PORTAL_NEEDS_EMAIL
from shared.contracts.documents import DOCUMENT_TYPES
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    Upstream,
    documents,
    make_documents,
    of_type,
    published,
)


@pytest.fixture
async def app():
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    await upstream.issue(BLAKE)
    return app


def methods(preferences) -> dict[str, str]:
    return {t: p.method for t, p in preferences.items()}


def recorded(app) -> int:
    return app.recorder.max_notification_id() or 0


async def test_without_a_preference_every_type_is_mail(app) -> None:
    preferences = app.delivery_preferences("0000100001", AVERY.party_id)
    assert methods(preferences) == dict.fromkeys(DOCUMENT_TYPES, "Mail")
    assert of_type(app, "DeliveryPreferencesChanged") == []


async def test_portal_for_one_type_publishes_the_full_list(app) -> None:
    # Avery chooses Portal for bills.
    result = app.set_preferences(
        "0000100001", AVERY.party_id, [Selection("bill", "Portal", ("avery@example.com",))]
    )
    assert result["bill"].method == "Portal" and result["letter"].method == "Mail"

    # Published: the full resulting list of the 7 types, in the contract's order.
    [changed] = of_type(app, "DeliveryPreferencesChanged")
    assert changed["owner_party_id"] == str(AVERY.party_id)
    assert [p["document_type"] for p in changed["preferences"]] == list(DOCUMENT_TYPES)
    assert changed["preferences"][1] == {
        "document_type": "bill",
        "method": "Portal",
        "emails": ["avery@example.com"],
    }


async def test_all_by_portal_sets_every_type_but_eob(app) -> None:
    result = app.set_preferences(
        "100001", AVERY.party_id, [Selection("all", "Portal", ("avery@example.com",))]
    )
    expected = dict.fromkeys(DOCUMENT_TYPES, "Portal") | {"eob": "Mail"}
    assert methods(result) == expected
    assert methods(app.delivery_preferences("0000100001", AVERY.party_id)) == expected
    # Selections apply in order: then letters back to Mail.
    result = app.set_preferences("100001", AVERY.party_id, [Selection("letter", "Mail")])
    assert result["letter"].method == "Mail" and result["bill"].method == "Portal"


async def test_portal_without_an_email_is_refused_and_nothing_is_recorded(app) -> None:
    before = recorded(app)
    with pytest.raises(PreferenceRefused) as refused:
        app.set_preferences(
            "0000100001",
            AVERY.party_id,
            [Selection("bill", "Portal", ("a@example.com",)), Selection("letter", "Portal")],
        )
    assert refused.value.message == PORTAL_NEEDS_EMAIL
    assert refused.value.field == "preferences.1.emails"
    assert recorded(app) == before


async def test_an_invalid_email_is_refused_with_its_field(app) -> None:
    with pytest.raises(PreferenceRefused) as refused:
        app.set_preferences(
            "0000100001", AVERY.party_id, [Selection("bill", "Portal", ("ok@example.com", "no"))]
        )
    assert refused.value.field == "preferences.0.emails.1"


async def test_eob_by_portal_is_refused_with_the_faq_reason_as_a_whole(app) -> None:
    before = recorded(app)
    with pytest.raises(PreferenceRefused) as refused:
        app.set_preferences(
            "0000100001",
            AVERY.party_id,
            [
                Selection("bill", "Portal", ("avery@example.com",)),
                Selection("eob", "Portal", ("avery@example.com",)),
            ],
        )
    assert refused.value.message == EOB_REASON
    assert "Paperless delivery is not available for EOB" in refused.value.message
    assert refused.value.field == "preferences.1.method"
    # Nothing changed, not even the valid bill selection before it.
    assert recorded(app) == before
    assert app.delivery_preferences("0000100001", AVERY.party_id)["bill"].method == "Mail"


async def test_only_the_owner_may_change_them(app) -> None:
    portal = [Selection("bill", "Portal", ("x@example.com",))]
    before = recorded(app)
    # Blake's party id on Avery's certificate: answered like an unknown certificate.
    with pytest.raises(CertificateNotFound):
        app.set_preferences("0000100001", BLAKE.party_id, portal)
    with pytest.raises(CertificateNotFound):
        app.set_preferences("0000999999", AVERY.party_id, portal)
    with pytest.raises(CertificateNotFound):
        app.delivery_preferences("0000100001", BLAKE.party_id)
    assert recorded(app) == before


async def test_the_same_preferences_again_record_nothing(app) -> None:
    portal = [Selection("bill", "Portal", ("avery@example.com", "AVERY@example.com"))]
    app.set_preferences("0000100001", AVERY.party_id, portal)
    before = recorded(app)
    app.set_preferences("0000100001", AVERY.party_id, portal)
    app.set_preferences("0000100002", BLAKE.party_id, [Selection("all", "Mail")])  # = default
    assert recorded(app) == before
    [changed] = of_type(app, "DeliveryPreferencesChanged")
    assert changed["preferences"][1]["emails"] == ["avery@example.com"]  # duplicates dropped


async def test_documents_follow_the_preference_in_force_when_generated(app) -> None:
    app.set_preferences(
        "0000100001", AVERY.party_id, [Selection("all", "Portal", ("avery@example.com",))]
    )
    letter = app.generate_letter("0000100001", description="D", paragraphs=["x"])
    assert letter.delivery_method == "Portal" and letter.mailed_on is None
    # Blake kept the default: Mail, and DocumentMailed.
    mailed = app.generate_letter("0000100002", description="D", paragraphs=["x"])
    assert mailed.delivery_method == "Mail"
    assert [d["document_id"] for d in of_type(app, "DocumentMailed")][-1] == str(mailed.id)
    assert len(documents(app)) == 4
    assert published(app)[-1].event_type == "DocumentMailed"

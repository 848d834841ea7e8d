"""The documents command API through FastAPI's TestClient: status codes, 422 with the field,
404 alike for unknown and for another owner's, the PDF itself."""

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from services.documents.api import create_documents_api
from services.documents.preferences import EOB_REASON
from shared.contracts.documents import DOCUMENT_TYPES
from tests.unit.test_documents_support import (
    AVERY,
    BLAKE,
    Upstream,
    documents,
    make_documents,
    of_type,
    pdf_text,
)


@pytest.fixture
async def app():
    app = make_documents()
    upstream = Upstream(app)
    await upstream.issue(AVERY)
    await upstream.issue(BLAKE)
    return app


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(create_documents_api(app, app.content_store))


def put_preferences(client, preferences, owner=AVERY, number="0000100001"):
    body = {"owner_party_id": str(owner.party_id), "preferences": preferences}
    return client.put(f"/certificates/{number}/preferences", json=body)


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_preferences_answer_the_full_resulting_list(client) -> None:
    portal = {"document_type": "all", "method": "Portal", "emails": ["avery@example.com"]}
    response = put_preferences(client, [portal], number="100001")
    assert response.status_code == 200
    body = response.json()
    assert body["certificate_number"] == "0000100001"
    assert [p["document_type"] for p in body["preferences"]] == list(DOCUMENT_TYPES)
    assert {p["document_type"]: p["method"] for p in body["preferences"]}["eob"] == "Mail"
    query = {"owner_party_id": str(AVERY.party_id)}
    again = client.get("/certificates/0000100001/preferences", params=query)
    assert again.status_code == 200 and again.json() == body


@pytest.mark.parametrize(
    ("preference", "field"),
    [
        ({"document_type": "bill", "method": "Portal", "emails": []}, "preferences.0.emails"),
        ({"document_type": "bill", "method": "Portal"}, "preferences.0.emails"),
        (
            {"document_type": "bill", "method": "Portal", "emails": ["not-an-email"]},
            "preferences.0.emails.0",
        ),
        ({"document_type": "invoice", "method": "Mail"}, "preferences.0.document_type"),
        ({"document_type": "bill", "method": "Fax"}, "preferences.0.method"),
    ],
)
def test_bad_preferences_are_422_with_the_field(app, client, preference, field) -> None:
    before = app.recorder.max_notification_id()
    response = put_preferences(client, [preference])
    assert response.status_code == 422
    assert field in fields(response)
    assert app.recorder.max_notification_id() == before


def test_eob_by_portal_is_422_with_the_faq_reason(app, client) -> None:
    response = put_preferences(
        client,
        [
            {"document_type": "bill", "method": "Portal", "emails": ["avery@example.com"]},
            {"document_type": "eob", "method": "Portal", "emails": ["avery@example.com"]},
        ],
    )
    assert response.status_code == 422
    assert response.json()["detail"] == EOB_REASON
    assert fields(response) == ["preferences.1.method"]
    assert of_type(app, "DeliveryPreferencesChanged") == []


def test_another_owners_or_an_unknown_certificate_is_404(client) -> None:
    mail = [{"document_type": "bill", "method": "Mail"}]
    assert put_preferences(client, mail, owner=BLAKE).status_code == 404
    assert put_preferences(client, mail, number="0000999999").status_code == 404
    assert put_preferences(client, mail, number="abc").status_code == 404
    query = {"owner_party_id": str(BLAKE.party_id)}
    assert client.get("/certificates/0000100001/preferences", params=query).status_code == 404
    assert client.put("/certificates/0000100001/preferences", json={}).status_code == 422


def test_a_back_office_letter_then_its_content_for_the_owner_only(app, client) -> None:
    body = {
        "certificate_number": "100001",
        "description": "Your address change",
        "paragraphs": ["We updated your address.", "Thank you."],
    }
    response = client.post("/letters", json=body)
    assert response.status_code == 201
    document_id = response.json()["document_id"]

    owner = {"owner_party_id": str(AVERY.party_id)}
    content = client.get(f"/documents/{document_id}/content", params=owner)
    assert content.status_code == 200
    assert content.headers["content-type"] == "application/pdf"
    assert "We updated your address." in pdf_text(content.content)

    other = {"owner_party_id": str(BLAKE.party_id)}
    assert client.get(f"/documents/{document_id}/content", params=other).status_code == 404
    assert client.get(f"/documents/{uuid4()}/content", params=owner).status_code == 404
    assert client.get("/documents/not-an-id/content", params=owner).status_code == 404
    assert client.get(f"/documents/{document_id}/content").status_code == 422


def test_bad_letters_are_refused(client) -> None:
    letter = {"certificate_number": "0000999999", "description": "D", "paragraphs": ["x"]}
    assert client.post("/letters", json=letter).status_code == 404
    response = client.post("/letters", json={**letter, "paragraphs": []})
    assert response.status_code == 422 and fields(response) == ["paragraphs"]


def test_opening_twice_records_one_document_opened(app, client) -> None:
    [certificate, _] = documents(app)
    path = f"/documents/{certificate.id}/opened"
    owner = {"owner_party_id": str(AVERY.party_id)}
    assert client.post(path, json=owner).status_code == 204
    assert client.post(path, json=owner).status_code == 204
    assert client.post(path, json={"owner_party_id": str(BLAKE.party_id)}).status_code == 404
    assert client.post(f"/documents/{uuid4()}/opened", json=owner).status_code == 404
    [opened] = of_type(app, "DocumentOpened")
    assert opened["document_id"] == str(certificate.id)
    assert opened["opened_at"].startswith("2024-06-03T09:00:00")


def test_health(client) -> None:
    assert client.get("/health").json() == {"status": "ok"}

"""My Documents and eDelivery in the embedded default, through HTTP only: the inbox, opening
a document, delivery preferences with the guide's rules, and the notification email."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.portal.demo import DEMO_PASSWORD
from tests.e2e.test_embedded_http import eventually, log_in, portal

pytestmark = pytest.mark.embedded

NEW_CONTACT = {
    "address": {"street": ["7 Harbor Way"], "city": "Mystic", "state": "CT", "zip_code": "06355"},
    "emails": ["avery@example.com"],
}


def test_inbox_preferences_and_the_notification_email(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)

        # The certificate PDF issued with the certificate is in the inbox, unopened.
        inbox = client.get("/api/documents?certificate=100001&type=certificate", headers=auth)
        assert inbox.status_code == 200, inbox.text
        [document] = inbox.json()["items"]
        assert document["unopened"] is True
        assert document["document_type_name"] == "Certificate/Policy"

        # Opening it streams a real PDF that names the certificate and the premium...
        pdf = client.get(document["href"], headers=auth)
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        (tmp_path / "certificate.pdf").write_bytes(pdf.content)
        text = "".join(
            page.extract_text() for page in PdfReader(tmp_path / "certificate.pdf").pages
        )
        assert "0000100001" in text and "44.00" in text
        # ...and marks it opened.
        again = client.get(
            "/api/documents?certificate=100001&type=certificate", headers=auth
        ).json()["items"][0]
        assert again["unopened"] is False

        # Preferences: Mail for every type until chosen; Portal needs an email; no paperless EOB.
        prefs = client.get("/api/documents/preferences", headers=auth).json()
        methods = {p["document_type"]: p["method"] for p in prefs["certificates"][0]["preferences"]}
        assert set(methods.values()) == {"Mail"} and len(methods) == 7
        no_email = client.put(
            "/api/documents/preferences",
            json={
                "certificate_number": "0000100001",
                "document_type": "letter",
                "method": "Portal",
            },
            headers=auth,
        )
        assert no_email.status_code == 422
        assert no_email.json()["errors"][0]["field"].endswith("emails")
        eob = client.put(
            "/api/documents/preferences",
            json={"certificate_number": "0000100001", "document_type": "eob", "method": "Portal",
                  "emails": ["avery@example.com"]},
            headers=auth,
        )  # fmt: skip
        assert eob.status_code == 422
        assert "Paperless delivery is not available for EOB" in eob.json()["detail"]
        others = client.put(
            "/api/documents/preferences",
            json={"certificate_number": "0000100002", "document_type": "all", "method": "Mail"},
            headers=auth,
        )
        assert others.status_code == 404  # demo2's certificate
        chosen = client.put(
            "/api/documents/preferences",
            json={"certificate_number": "0000100001", "document_type": "all", "method": "Portal",
                  "emails": ["avery@example.com"]},
            headers=auth,
        )  # fmt: skip
        assert chosen.status_code == 200, chosen.text
        methods = {
            p["document_type"]: p["method"] for p in chosen.json()["certificates"][0]["preferences"]
        }
        assert methods["letter"] == "Portal" and methods["eob"] == "Mail"

        # A contact change makes a confirmation letter; delivered on the portal, so one
        # notification email (never with the document attached) reaches the mailbox.
        assert client.put("/api/profile", json=NEW_CONTACT, headers=auth).status_code == 200

        def letter():
            page = client.get("/api/documents?certificate=100001&type=letter", headers=auth)
            items = page.json()["items"]
            return items[0] if items else None

        found = eventually(letter)
        assert found["description"] == "Contact information change confirmation"
        assert found["delivery_method"] == "Portal"
        mails = eventually(lambda: sorted((tmp_path / "mail").glob("*.eml")))
        messages = [email.message_from_bytes(m.read_bytes()) for m in mails]
        notices = [m for m in messages if m["To"] and "avery@example.com" in m["To"]]
        assert len(notices) == 1
        assert not any(part.get_filename() for part in notices[0].walk())
        assert "1983" not in notices[0].as_string()


def test_bad_inbox_filters_are_422(tmp_path: Path) -> None:
    with portal(tmp_path, seed=True) as client:
        auth = log_in(client, "demo", DEMO_PASSWORD)
        for query, field in (("type=memo", "type"), ("certificate=abc", "certificate"),
                             ("from=2024-02-01&through=2024-01-01", "from")):  # fmt: skip
            response = client.get(f"/api/documents?{query}", headers=auth)
            assert response.status_code == 422, query
            assert response.json()["errors"][0]["field"] == field
        assert client.get("/api/documents/not-a-document", headers=auth).status_code == 404

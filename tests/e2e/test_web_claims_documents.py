"""Claim Inquiry, Claim Details, My Documents (opening a document) and User Preferences pages,
without a browser, as the demo owner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.documents.preferences import PORTAL_NEEDS_EMAIL
from services.portal.demo import DEMO_PASSWORD
from services.portal.owner_commands import CommandRefused
from services.portal.readmodels import ClaimView, DocumentView
from services.portal.web.pages.delivery_form import map_refusal
from tests.web_client import csrf_of, text_of, web_log_in, web_portal

pytestmark = pytest.mark.embedded

_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTR = re.compile(r'(\w[\w-]*)(?:="([^"]*)")?')


def main_text(html: str) -> str:
    return text_of(html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0])


def claim_numbers(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/claims/(C\d+)">', html)


def form_fields(html: str) -> dict[str, str]:
    """What the browser would post: checked radios, every text/email input, the CSRF token."""
    fields: dict[str, str] = {}
    form = html.split('action="/documents/preferences"', 1)[1].split("</form>", 1)[0]
    for tag in _INPUT.findall(form):
        attrs = {k: v for k, v in _ATTR.findall(tag[6:])}
        if attrs.get("type") == "radio" and "checked" not in attrs:
            continue
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def checked_method(html: str, number: str, kind: str) -> str:
    found = [
        attrs["value"]
        for tag in _INPUT.findall(html)
        if f'name="method_{number}_{kind}"' in tag and " checked" in tag
        for attrs in [dict(_ATTR.findall(tag[6:]))]
    ]
    assert len(found) == 1, found
    return found[0]


def test_claim_inquiry_shows_the_visible_claims_and_filters_them(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        assert client.get("/claims").headers["location"] == "/login?next=/claims"
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/claims")
        assert page.status_code == 200
        assert claim_numbers(page.text) == ["C000000104", "C000000103", "C000000102", "C000000101"]
        assert "C000000105" not in page.text and "C000000106" not in page.text
        shown = main_text(page.text)
        assert "Claim Inquiry" in shown and "Filter Claim By" in shown
        assert "Service Date (mm/dd/yyyy)" in shown and "Retrieve" in shown
        assert (
            "Claim Number Patient Certificate/Member Identifier Doctor / Facility Service Date "
            "Submitted Check Totals Status Explanation of Benefits Claim Correspondence" in shown
        )
        # Paid Not Issued: check totals 0.00, as the guide shows.
        assert "01/25/2024 2.00 0.00 Paid Not Issued" in shown
        assert "Member can only view claims where the member is the patient" in shown
        # An available EOB opens its PDF; C000000103 has none.
        assert re.search(r'href="/documents/[0-9a-f-]{36}/pdf"[^>]*>View EOB</a>', page.text)
        assert 'href="/claims/C000000103/eob"' in page.text

        issued = client.get("/claims", params={"status": "Paid Not Issued"})
        assert claim_numbers(issued.text) == ["C000000103"]
        by_date = client.get("/claims", params={"service_date": "11/05/2023"})
        assert claim_numbers(by_date.text) == ["C000000102"]
        bad = client.get("/claims", params={"service_date": "2023-11-05"})
        assert bad.status_code == 422
        assert 'id="service_date-error"' in bad.text
        assert "Enter the service date as mm/dd/yyyy." in main_text(bad.text)
        paged = client.get("/claims", params={"size": "10", "status": "Issued"})
        assert "Showing 1 to 3 of 3 entries" in main_text(paged.text)

        # No EOB: the link comes back to the page with the query's message for that claim.
        missing = client.get("/claims/C000000103/eob")
        assert missing.status_code == 303
        assert missing.headers["location"] == "/claims?missing=eob&claim=C000000103"
        told = client.get(missing.headers["location"])
        assert re.search(
            r'class="message" role="status">Claim C000000103: The Explanation of Benefits is '
            r"not available for this claim\.<",
            told.text,
        )
        letter = client.get("/claims/C000000102/correspondence")
        assert letter.headers["location"] == "/claims?missing=correspondence&claim=C000000102"
        assert "Claim correspondence is not available for this claim." in main_text(
            client.get(letter.headers["location"]).text
        )
        # An available EOB goes straight to its PDF; a hidden claim is not found.
        assert re.fullmatch(
            r"/documents/[0-9a-f-]{36}/pdf",
            client.get("/claims/C000000102/eob").headers["location"],
        )
        assert client.get("/claims/C000000105/eob").status_code == 404
        assert client.get("/claims?missing=eob&claim=C000000105").status_code == 404


def test_claim_details_shows_summary_history_lines_and_walks_the_claims(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/claims/C000000102")
        assert page.status_code == 200
        shown = main_text(page.text)
        assert "Claim Details" in shown and "Back to Claim Inquiry" in shown
        assert "Claim C000000102 Avery Demo" in shown
        assert "Group G-2045" in shown and "Account A-0031" in shown
        assert "All currency values expressed in DOLLAR (US)" in shown
        assert "Status Issued Status Date 01/25/2024" in shown
        assert "Total Amount Paid 175.00 Paid to Avery Demo" in shown
        assert "Pending 11/06/2023" in shown and "Issued 01/25/2024" in shown
        assert "11/09/2023 Urgent Care or Emer Physician Treatment 125.00 0.00 125.00" in shown
        assert "11/09/2023 X-Ray 50.00 0.00 50.00" in shown
        assert "View EOB" in shown

        # Previous / Next walk every visible claim, newest service date first.
        walked, at = ["C000000104"], "/claims/C000000104"
        first = client.get(at).text
        assert 'aria-disabled="true"><span aria-hidden="true">&lt; </span>Previous Claim' in first
        while True:
            step = re.search(r'<a href="(/claims/C\d+)" rel="next">', client.get(at).text)
            if not step:
                break
            at = step.group(1)
            walked.append(at.rsplit("/", 1)[1])
        assert walked == ["C000000104", "C000000103", "C000000102", "C000000101"]
        back = re.search(r'<a href="(/claims/C\d+)" rel="prev">', client.get(at).text)
        assert back and back.group(1) == "/claims/C000000102"

        hidden = client.get("/claims/C000000105")
        assert hidden.status_code == 404 and "Page not found" in hidden.text
        assert client.get("/claims/C999999999").status_code == 404
        # Claim Details' own link: the message shows on the claim's page.
        gone = client.get("/claims/C000000103/eob", params={"back": "detail"})
        assert gone.headers["location"] == "/claims/C000000103?missing=eob"
        assert "The Explanation of Benefits is not available for this claim." in main_text(
            client.get(gone.headers["location"]).text
        )


def test_my_documents_marks_unopened_rows_until_a_document_is_opened(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/documents")
        assert page.status_code == 200
        shown = main_text(page.text)
        assert "My Documents" in shown and "You have 5 unopened documents." in shown
        assert '<a href="/documents/preferences">User Preferences</a>' in page.text
        assert "From Date (mm/dd/yyyy)" in shown and "Through Date (mm/dd/yyyy)" in shown
        assert "Date Policy Document Type Description Delivery Document" in shown
        assert page.text.count('<tr class="unopened">') == 5
        assert shown.split("Delivery Document", 1)[1].count("(unopened)") == 5
        eobs = client.get("/documents", params={"type": "eob"})
        assert eobs.text.count('<tr class="unopened">') == 3
        assert "Certificate/Policy" not in main_text(eobs.text).split("Delivery Document", 1)[1]
        dated = client.get("/documents", params={"type": "eob", "from": "01/01/2024"})
        assert "Showing 1 to 2 of 2 entries" in main_text(dated.text)
        wrong = client.get("/documents", params={"from": "12/31/2024", "through": "01/01/2024"})
        assert wrong.status_code == 422
        assert "The From Date must not be after the Through Date." in main_text(wrong.text)

        ids = re.findall(r'href="/documents/([0-9a-f-]{36})/pdf" target="_blank"', eobs.text)
        opened = client.get(f"/documents/{ids[0]}/pdf")
        assert opened.status_code == 200
        assert opened.headers["content-type"] == "application/pdf"
        assert opened.headers["content-disposition"].startswith("inline; filename=")
        assert opened.content.startswith(b"%PDF")
        again = client.get("/documents").text
        assert again.count('<tr class="unopened">') == 4
        assert "You have 4 unopened documents." in main_text(again)
        row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{ids[0]}", again, re.S)
        assert row and 'class="unopened"' not in row.group(0)

        # Not the owner's, or an EOB of a claim the owner may not see: the same HTML 404.
        with Session(client.app.state.engine) as s:
            hidden_eob = s.get(ClaimView, "C000000105").eob_document_id
            others = s.scalars(
                select(DocumentView.document_id).where(
                    DocumentView.certificate_number == "0000100002"
                )
            ).first()
        assert hidden_eob and others
        assert hidden_eob not in client.get("/documents", params={"size": "100"}).text
        for document_id in (hidden_eob, others, "00000000-0000-0000-0000-000000000000"):
            answer = client.get(f"/documents/{document_id}/pdf")
            assert answer.status_code == 404 and "Page not found" in answer.text


def test_preferences_need_an_email_for_portal_and_save_what_changed(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/documents/preferences")
        assert page.status_code == 200
        shown = main_text(page.text)
        assert "User Preferences" in shown
        assert (
            "If you choose Portal then all documents will be eDelivered and a valid email address "
            "is required for all Portal selections." in shown
        )
        assert "Policy 0000100001 – Harborview@Work Whole Life" in shown
        assert "paperless delivery is not available for EOB" in shown
        assert checked_method(page.text, "0000100001", "bill") == "Mail"
        assert 'name="method_0000100001_eob"' not in page.text  # always mailed

        # Portal without an email: refused next to that row's email, nothing saved.
        fields = form_fields(page.text) | {"method_0000100001_bill": "Portal"}
        refused = client.post("/documents/preferences", data=fields)
        assert refused.status_code == 422
        assert re.search(
            r'id="email_0000100001_bill_1-error">' + re.escape(PORTAL_NEEDS_EMAIL), refused.text
        )
        assert checked_method(refused.text, "0000100001", "bill") == "Portal"  # kept
        assert checked_method(client.get("/documents/preferences").text, "0000100001", "bill") == (
            "Mail"
        )
        # A malformed email is refused locally, next to the field, what was typed kept.
        typo = fields | {"email_0000100001_bill_1": "avery@"}
        bad = client.post("/documents/preferences", data=typo)
        assert bad.status_code == 422 and 'id="email_0000100001_bill_1-error"' in bad.text
        assert 'value="avery@"' in bad.text

        # With an email: saved, and the page shows it.
        good = fields | {"email_0000100001_bill_1": "avery@example.com"}
        saved = client.post("/documents/preferences", data=good)
        assert saved.status_code == 303
        assert saved.headers["location"] == "/documents/preferences?done=saved"
        after = client.get(saved.headers["location"]).text
        assert "Your preferences were saved." in main_text(after)
        assert checked_method(after, "0000100001", "bill") == "Portal"
        assert 'value="avery@example.com"' in after
        assert checked_method(after, "0000100001", "notice") == "Mail"
        # The types now differ, so "All document types" shows no choice.
        assert 'name="method_0000100001_all" value="Portal" checked' not in after
        assert 'name="method_0000100001_all" value="Mail" checked' not in after
        api = client.get("/api/documents/preferences").json()["certificates"][0]["preferences"]
        assert {p["document_type"]: p["method"] for p in api}["bill"] == "Portal"

        # "All document types" by Portal: every type but EOB goes paperless.
        fields = form_fields(client.get("/documents/preferences").text)
        fields |= {"method_0000100003_all": "Portal", "email_0000100003_all_1": "a@example.com"}
        every = client.post("/documents/preferences", data=fields)
        assert every.status_code == 303, main_text(every.text)
        api = client.get("/api/documents/preferences").json()["certificates"][1]["preferences"]
        methods = {p["document_type"]: p["method"] for p in api}
        assert methods.pop("eob") == "Mail" and set(methods.values()) == {"Portal"}
        assert checked_method(client.get("/documents/preferences").text, "0000100003", "all") == (
            "Portal"
        )
        # Posting the page unchanged changes nothing; without its CSRF token it is refused.
        same = form_fields(client.get("/documents/preferences").text)
        assert (
            client.post("/documents/preferences", data=same)
            .headers["location"]
            .endswith("done=unchanged")
        )
        del same["csrf_token"]
        assert client.post("/documents/preferences", data=same).status_code == 403
        assert csrf_of(client.get("/documents/preferences").text)


def test_a_refusal_by_documents_is_shown_next_to_the_row_it_names() -> None:
    refused = CommandRefused(
        422,
        "preferences.1.emails: required",
        {"preferences.1.emails": PORTAL_NEEDS_EMAIL, "preferences.0.emails.1": "Bad email."},
    )
    errors, message = map_refusal("0000100001", ["all", "bill"], refused)
    assert errors == {
        "email_0000100001_bill_1": PORTAL_NEEDS_EMAIL,
        "email_0000100001_all_2": "Bad email.",
    }
    assert message is None
    errors, message = map_refusal("0000100001", ["bill"], CommandRefused(409, "Conflict"))
    assert errors == {} and message == "Conflict"

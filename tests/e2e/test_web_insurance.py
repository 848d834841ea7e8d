"""My Insurance, Certificate/Policy Detail, Benefit Detail, Personal Information and
Billing/Payment Detail pages, driven without a browser over the demo data."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from services.portal.demo import DEMO_PASSWORD
from services.portal.readmodels import DocumentView
from services.portal.web.pages import profile as profile_page
from tests.e2e.test_embedded_http import eventually
from tests.web_client import csrf_of, text_of, web_log_in, web_portal

pytestmark = pytest.mark.embedded

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def card(html: str, number: str) -> str:
    """The part of My Insurance about one certificate."""
    start = html.index(f'id="certificate-{number}"')
    return html[start : html.index("</article>", start)]


def history_rows(html: str) -> list[str]:
    return [text_of(row) for row in re.findall(r'<tr class="payment.*?</tr>', html, re.S)]


def test_my_insurance_lists_the_certificates_by_product_with_their_menus(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/my-insurance")
        assert page.status_code == 200
        assert re.search(r"<h1>My Insurance</h1>", page.text)
        assert re.search(r"<h2[^>]*>Harborview@Work Whole Life</h2>", page.text)
        assert re.search(r"<h2[^>]*>Harborview@Work Critical Illness</h2>", page.text)
        whole_life = text_of(card(page.text, "0000100001"))
        assert "Coverage Amount 12,137.00" in whole_life
        assert "Effective Date 12/01/2015" in whole_life
        assert "Premium 44.00 Monthly" in whole_life and "Status Reduced Paid Up" in whole_life
        assert "I Would Like To (certificate 0000100001)" in whole_life
        assert "View Claims" not in whole_life
        critical = card(page.text, "0000100003")
        assert "Coverage Amount" not in text_of(critical)
        links = dict(
            (text, href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', critical)
        )
        assert links == {
            "Update Personal Information": "/profile",
            "View Billing/Payments": "/certificates/0000100003/billing",
            "View Certificate Details": "/certificates/0000100003",
            "View Claims": "/claims?certificate=0000100003",
        }
        assert "/api/" not in page.text
        assert not ISO_DATE.search(text_of(page.text))


def test_certificate_detail_shows_the_guides_figures(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/certificates/0000100001")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "Certificate/Policy Detail Back to My Insurance" in shown
        assert "Certificate/Policy Number 0000100001" in shown
        assert "Current As Of Date" in shown
        assert "Owner Address Avery Demo 12 Elm Street Tolland, CT, 06084" in shown
        assert "Jordan Rivers · Phone 860-555-0142 · Email jrivers@agency.example" in shown
        for label, value in (
            ("Status", "Reduced Paid Up"),
            ("Currency", "DOLLAR (US)"),
            ("Application Date", "09/18/2015"),
            ("Effective Date", "12/01/2015"),
            ("Paid To Date", "01/01/2024"),
            ("Premium", "44.00"),
            ("Payment Method", "Direct Premium Notice"),
            ("Payment Frequency", "Monthly"),
            ("Last Payment Date", "01/25/2024"),
            ("Primary Dividend Option", "Purchase Paid Up Additions"),
            ("Paid Up Additions Amount", "0.00"),
            ("Paid Up Additions Expiration Date", "12/01/2024"),
            ("Net Cash Value", "2,641.82"),
        ):
            assert f"<dt>{label}</dt><dd>{value}</dd>" in page.text, label
        assert (
            "Harborview@Work Whole Life Reduced Paid Up 12/01/2015 12,137.00 2,612.49 Avery Demo"
            in shown
        )
        assert 'href="/certificates/0000100001/benefits/WL1"' in page.text
        assert 'href="/certificates/0000100001/benefits/WL1#insured-I1"' in page.text
        assert 'href="/profile">Update Personal Information</a>' in page.text
        assert not ISO_DATE.search(shown)


def test_benefit_detail_shows_payment_cash_value_loans_and_insureds(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/certificates/0000100001/benefits/WL1")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "Benefit Detail Back to Certificate/Policy Detail" in shown
        assert "Benefit Status Reduced Paid Up" in shown
        assert "Premium 44.00" in shown and "Paid To Date 01/01/2024" in shown
        assert "Net Cash Value 2,612.49" in shown
        assert "Loan Balance 0.00 Loan Value Available 2,612.49" in shown
        assert "There are no loans on this benefit." in shown
        assert 'id="insured-I1"' in page.text
        assert "Avery Demo Name Avery Demo Relationship Owner Date of Birth 11/01/1983" in shown
        family = client.get("/certificates/0000100003/benefits/CI1")
        assert 'id="insured-I3"' in family.text
        assert "Riley Demo Name Riley Demo Relationship Child Date of Birth 06/02/2014" in text_of(
            family.text
        )
        assert not ISO_DATE.search(text_of(family.text))
        assert client.get("/certificates/0000100001/benefits/NOPE").status_code == 404


def test_another_owners_certificate_is_not_found(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        for path in (
            "/certificates/0000100002",
            "/certificates/0000100002/billing",
            "/certificates/0000100002/benefits/WL1",
            "/certificates/9999999999",
            "/certificates/not-a-number",
        ):
            page = client.get(path)
            assert page.status_code == 404, path
            assert "Page not found" in page.text
        assert client.get("/certificates/0000100001").status_code == 200


def test_pages_need_a_signed_in_owner(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        page = client.get("/certificates/0000100001/billing")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/certificates/0000100001/billing"


def profile_form(client, **changes: str) -> dict[str, str]:
    page = client.get("/profile").text
    fields = {
        name: value
        for name, value in re.findall(
            r'<input id="[^"]+" name="([^"]+)" type="[^"]+" value="([^"]*)"', page
        )
    }
    assert fields["city"] == "Tolland" and fields["zip_code"] == "06084"
    selected = re.search(r'<option value="([^"]*)" selected>', page)
    fields["preferred_contact_method"] = selected.group(1) if selected else ""
    fields.update(changes)
    fields["csrf_token"] = csrf_of(page)
    return fields


def test_profile_shows_personal_information_and_saves_the_contact(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/profile")
        shown = text_of(page.text)
        assert "Name Avery Demo Date of Birth 11/01/1983 Relationship Owner Gender Female" in shown
        assert "Government ID ***-**-3456" in shown and "Need Help?" in shown
        assert "Enter your changes and click Save." in shown
        labels = {
            for_id: text_of(label).lstrip("* ")
            for for_id, label in re.findall(r'<label for="([^"]+)">(.*?)</label>', page.text)
        }
        assert labels == {
            "street_1": "Street Address",
            "street_2": "Street Address line 2",
            "street_3": "Street Address line 3",
            "city": "City",
            "state": "State",
            "country": "Country",
            "zip_code": "Zip Code",
            "cell": "Cell",
            "home": "Home",
            "business": "Business",
            "fax": "Facsimile",
            "preferred_contact_method": "Preferred Method of Contact",
            "email_1": "Email Address 1",
            "email_2": "Email Address 2",
        }
        assert re.search(r'<button type="submit">Save</button>', page.text)
        fields = profile_form(
            client, street_1="77 Harbor Road", street_2="Apt 4", city="Mystic", zip_code="06355"
        )
        saved = client.post("/profile", data=fields)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/profile?done=saved"
        after = client.get(saved.headers["location"]).text
        assert "Your changes were saved." in text_of(after)
        assert 'value="77 Harbor Road"' in after and 'value="Mystic"' in after
        assert 'value="06355"' in after and 'value="demo@example.com"' in after
        detail = text_of(client.get("/certificates/0000100001").text)
        assert "Avery Demo 77 Harbor Road Apt 4 Mystic, CT, 06355" in detail
        assert client.get("/api/profile").json()["contact"]["address"]["city"] == "Mystic"


def test_a_bad_contact_is_refused_next_to_its_fields_and_nothing_changes(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        fields = profile_form(
            client, street_1="5 New Street", city="", zip_code="6084", email_2="not-an-email"
        )
        refused = client.post("/profile", data=fields)
        assert refused.status_code == 422
        html = refused.text
        assert re.search(r'id="city-error">Enter the city.</span>', html)
        assert re.search(r'id="zip_code-error">Enter a 5-digit zip code', html)
        assert re.search(r'id="email_2-error">Enter a valid email address.</span>', html)
        assert 'href="#zip_code"' in html  # the error summary links to the field
        assert 'value="5 New Street"' in html and 'value="6084"' in html  # what was typed
        assert 'value="not-an-email"' in html
        after = client.get("/profile").text
        assert 'value="12 Elm Street"' in after and 'value="Tolland"' in after
        assert "5 New Street" not in after
        assert client.get("/api/profile").json()["contact"]["address"]["zip_code"] == "06084"
        forged = client.post("/profile", data={**fields, "csrf_token": "x", "city": "Mystic"})
        assert forged.status_code == 403


def test_billing_shows_payor_billing_and_a_filtered_history(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/certificates/0000100001/billing")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "Billing/Payment Detail Back to My Insurance" in shown
        assert (
            "Payor Payor Name Avery Demo Effective Date 12/01/2015 Paid To Date 01/01/2024" in shown
        )
        assert "Status Reduced Paid Up" in shown
        assert "Billed To Date 06/01/2024 Payment Frequency Monthly Premium 44.00" in shown
        assert "Payment Method Direct Premium Notice" in shown
        assert "From Date (mm/dd/yyyy)" in shown and "Through Date (mm/dd/yyyy)" in shown
        assert "Retrieve" in shown and "Show 10 25 50 100 entries" in shown
        rows = history_rows(page.text)
        assert len(rows) == 10 and rows[0] == "02/06/2024 01/25/2024 List Bill Monthly 44.00"
        assert "Showing 1 to 10 of 97 entries" in shown
        assert 'href="/certificates/0000100001/billing?page=2&amp;size=10"' in page.text
        second = client.get("/certificates/0000100001/billing?page=2&size=10")
        assert len(history_rows(second.text)) == 10
        assert not set(history_rows(second.text)) & set(rows)
        assert "Showing 11 to 20 of 97 entries" in text_of(second.text)
        assert not ISO_DATE.search(shown)

        filtered = client.get(
            "/certificates/0000100001/billing",
            params={"from_date": "01/01/2024", "through_date": "12/31/2024", "size": "10"},
        )
        assert filtered.status_code == 200
        assert history_rows(filtered.text) == [
            "02/06/2024 01/25/2024 List Bill Monthly 44.00",
            "01/08/2024 12/31/2023 List Bill Monthly 44.00",
        ]
        assert 'value="01/01/2024"' in filtered.text and 'value="12/31/2024"' in filtered.text
        assert "Showing 1 to 2 of 2 entries" in text_of(filtered.text)


def test_billing_filter_keeps_its_dates_while_paging(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get(
            "/certificates/0000100001/billing",
            params={"from_date": "01/01/2020", "through_date": "12/31/2021", "size": "10"},
        )
        assert len(history_rows(page.text)) == 10
        link = re.search(r'href="(/certificates/0000100001/billing\?[^"]*page=2[^"]*)"', page.text)
        assert link, "no link to page 2"
        href = link.group(1).replace("&amp;", "&")
        assert "from_date=01%2F01%2F2020" in href and "through_date=12%2F31%2F2021" in href
        second = history_rows(client.get(href).text)
        assert second and all(row[6:10] in ("2020", "2021") for row in second)


def test_a_bad_billing_date_is_shown_next_to_the_field(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        bad = client.get("/certificates/0000100001/billing", params={"from_date": "2024-01-01"})
        assert bad.status_code == 422
        assert re.search(
            r'id="from_date-error">Enter the From Date as mm/dd/yyyy.</span>', bad.text
        )
        assert 'value="2024-01-01"' in bad.text
        assert "The payment history below is not filtered." in text_of(bad.text)
        backwards = client.get(
            "/certificates/0000100001/billing",
            params={"from_date": "12/31/2024", "through_date": "01/01/2024"},
        )
        assert backwards.status_code == 422
        assert "The From Date must not be after the Through Date." in backwards.text


def test_billing_links_the_latest_statement_pdf(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)
        page = client.get("/certificates/0000100001/billing")
        assert "View latest statement (PDF)" not in page.text  # the demo has no statement yet
        party_id = client.get("/api/profile").json()["party_id"]
        with Session(client.app.state.engine) as s, s.begin():
            s.add(
                DocumentView(
                    document_id="00000000-0000-4000-8000-00000000b111",
                    certificate_number="0000100001",
                    owner_party_id=party_id,
                    document_type="bill",
                    created_on=date(2024, 5, 15),
                    delivery_method="Portal",
                    size_bytes=1000,
                )
            )
        page = client.get("/certificates/0000100001/billing")
        link = '<a href="/documents/00000000-0000-4000-8000-00000000b111/pdf">'
        assert f"{link}View latest statement (PDF)</a>" in page.text
        assert "(05/15/2024)" in text_of(page.text)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("address.zip_code", "zip_code"),
        ("address.city", "city"),
        ("address.street.1", "street_3"),  # the second line typed was in the third input
        ("address.street", "street_1"),
        ("phones.fax", "fax"),
        ("emails.0", "email_2"),
        ("preferred_contact_method", "preferred_contact_method"),
        ("body", "street_1"),
    ],
)
def test_a_refusal_by_policy_is_shown_next_to_the_input_it_is_about(
    field: str, expected: str
) -> None:
    typed = {"street_1": "1 A St", "street_3": "Unit 2", "email_2": "a@example.com"}
    contact, street_ids, email_ids = profile_page.contact_from(
        {**dict.fromkeys(profile_page.typed_values(FormData()), ""), **typed}
    )
    assert contact["address"]["street"] == ["1 A St", "Unit 2"]
    assert profile_page.input_id(field.split("."), street_ids, email_ids) == expected


def test_billing_says_up_to_when_payments_are_applied(tmp_path: Path) -> None:
    with web_portal(tmp_path) as client:
        web_log_in(client, "demo", DEMO_PASSWORD)

        # The time of the newest billing event the projection applied, saved about once a second.
        def applied_line() -> str | None:
            shown = text_of(client.get("/certificates/0000100001/billing").text)
            return shown if "Payments applied as of" in shown else None

        page = eventually(applied_line, timeout=20)
        found = re.search(r"Payments applied as of (\d\d/\d\d/\d{4}) \d\d:\d\d UTC", page)
        assert found, "no 'payments applied as of' line"

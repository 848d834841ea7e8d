"""The owner's whole journey in headless Chromium (issue 7): a new owner registers from a
certificate of the demo data, logs in, and uses every screen — My Insurance, Certificate and
Benefit Detail, Update Personal Information, Billing/Payment Detail with a date filter, Claim
Inquiry and Claim Details (Previous/Next), My Documents (an unopened document opened: bold →
normal), User Preferences (Portal without an email refused, with one saved) — then logs out
and can reach no page. Every screen is checked (one h1, labels, no console or CSP errors) and
saved as a screenshot under tests/e2e/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.portal.demo_newcomer import NEWCOMER, NUMBER
from tests.e2e.browser import assert_no_horizontal_overflow, check_page, shot

pytestmark = pytest.mark.embedded

USER_ID = "taylor.sample"
PASSWORD = "Harbor-Lights-2031!"
PERSONAL_PAGES = [
    "/my-insurance",
    f"/certificates/{NUMBER}",
    f"/certificates/{NUMBER}/benefits/CI1",
    "/profile",
    f"/certificates/{NUMBER}/billing",
    "/claims",
    "/claims/C000000201",
    "/documents",
    "/documents/preferences",
    "/account/preferences",
    "/account/privacy",
]


def screen(page: Page, name: str) -> None:
    """Every screen: accessible, no console/CSP error, and a screenshot for the reviewer."""
    check_page(page)
    shot(page, name)


def register(page: Page, base: str) -> None:
    page.goto(f"{base}/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Register Now")
    page.get_by_label("Certificate/Policy Number").fill(NUMBER)
    page.get_by_label("First Name").fill(NEWCOMER["first_name"])
    page.get_by_label("Last Name").fill(NEWCOMER["last_name"])
    page.get_by_label("Email Address").fill(NEWCOMER["email"])
    page.get_by_label("Date of Birth").fill(NEWCOMER["date_of_birth"])
    page.get_by_label("Government ID").fill(NEWCOMER["government_id"])
    screen(page, "01-register-personal")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_label("Confirm Password")).to_be_visible()
    assert NEWCOMER["government_id"] not in page.content()  # never echoed back
    page.get_by_label("User ID").fill(USER_ID)
    page.locator("#password").fill(PASSWORD)
    page.get_by_label("Confirm Password").fill(PASSWORD)
    for n, answer in ((1, "Biscuit"), (2, "Falcon"), (3, "Maple")):
        page.get_by_label(f"Answer {n}").fill(answer)
    screen(page, "02-register-login-security")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_label("Preferred Date Format")).to_be_visible()
    page.get_by_label("Preferred Language").select_option("English")
    page.get_by_label("Preferred Date Format").select_option("mm/dd/yyyy")
    screen(page, "03-register-preferences")
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Congratulations!")
    screen(page, "04-register-congratulations")
    page.get_by_role("main").get_by_role("link", name="Log In").click()


def log_in(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
    page.get_by_label("User ID").fill(USER_ID)
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In", exact=True).click()
    page.wait_for_url(re.compile(r"/my-insurance$"))


def choose(page: Page, action: str) -> None:
    """My Insurance → the certificate's "I Would Like To" menu → `action`."""
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/")[2] + "/my-insurance")
    menu = page.locator(f"#actions-{NUMBER}")
    menu.locator("summary").click()
    menu.get_by_role("link", name=action).click()


def test_a_new_owner_uses_every_screen_then_logs_out(live_portal: str, page: Page) -> None:
    base = live_portal
    page.set_default_timeout(10_000)
    register(page, base)
    log_in(page)

    # My Insurance: the certificate by product, with its menu.
    certificate = page.locator(f"#certificate-{NUMBER}")
    expect(certificate).to_contain_text("Active Premium Paying")
    expect(certificate).to_contain_text("27.80")
    page.locator(f"#actions-{NUMBER} summary").click()
    expect(
        page.locator(f"#actions-{NUMBER}").get_by_role("link", name="View Claims")
    ).to_be_visible()
    screen(page, "05-my-insurance")

    # Certificate/Policy Detail, then Benefit Detail through the product-name link.
    choose(page, "View Certificate Details")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate/Policy Detail")
    expect(page.locator("main")).to_contain_text("03/01/2023")  # effective date, mm/dd/yyyy
    screen(page, "06-certificate-detail")
    page.get_by_role("link", name="Harborview@Work Critical Illness").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benefit Detail")
    expect(page.locator("#insured-I1")).to_contain_text("Taylor Sample")
    screen(page, "07-benefit-detail")

    # Update Personal Information: a bad zip is refused next to the field; a new address saved.
    page.get_by_role("link", name="Back to Certificate/Policy Detail").click()
    page.get_by_role("link", name="Update Personal Information").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personal Information")
    page.get_by_label("Zip Code").fill("ABCDE")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zip_code-error")).to_be_visible()
    screen(page, "08-profile-error")
    page.locator("#street_1").fill("90 Lighthouse Point")
    page.get_by_label("City").fill("New London")
    page.get_by_label("Zip Code").fill("06320")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your changes were saved.")).to_be_visible()
    page.reload()
    expect(page.locator("#street_1")).to_have_value("90 Lighthouse Point")
    expect(page.get_by_label("City")).to_have_value("New London")
    screen(page, "09-profile-saved")
    page.goto(f"{base}/certificates/{NUMBER}")
    expect(page.get_by_role("region", name="Owner Address")).to_contain_text("New London")

    # Billing/Payment Detail: 12 payments; From/Through keeps the three of 2023's last quarter.
    choose(page, "View Billing/Payments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing/Payment Detail")
    expect(page.locator("tr.payment")).to_have_count(10)  # "Show 10 entries"
    page.get_by_label("From Date (mm/dd/yyyy)").fill("10/01/2023")
    page.get_by_label("Through Date (mm/dd/yyyy)").fill("12/31/2023")
    page.get_by_role("button", name="Retrieve").click()
    expect(page.locator("tr.payment")).to_have_count(3)
    expect(page.locator("tr.payment").first).to_contain_text("12/01/2023")
    screen(page, "10-billing-filtered")

    # Claim Inquiry → Claim Details, Next and Previous.
    choose(page, "View Claims")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim Inquiry")
    expect(page.locator("main table tbody tr")).to_have_count(3)
    screen(page, "11-claim-inquiry")
    page.get_by_role("link", name="Correspondence for claim C000000201").click()
    expect(page.get_by_role("status")).to_contain_text("not available")
    screen(page, "11b-claim-correspondence-not-available")
    page.get_by_role("link", name="C000000201", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim Details")
    expect(page.locator("main")).to_contain_text("X-Ray")
    screen(page, "12-claim-details")
    first = page.url
    other_claims = page.get_by_role("navigation", name="Other claims")
    step = "Next Claim" if other_claims.get_by_role("link", name="Next Claim").count() else None
    step = step or "Previous Claim"
    back = "Previous Claim" if step == "Next Claim" else "Next Claim"
    other_claims.get_by_role("link", name=step).click()
    expect(page).not_to_have_url(first)
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim Details")
    page.get_by_role("navigation", name="Other claims").get_by_role("link", name=back).click()
    expect(page).to_have_url(first)
    page.get_by_role("link", name="Back to Claim Inquiry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim Inquiry")

    # My Documents: open an unopened document; after reload it is no longer bold.
    page.get_by_role("navigation", name="Main").get_by_text("My Account").click()
    page.get_by_role("link", name="My Documents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My Documents")
    unopened = page.locator("tr.unopened")
    before = unopened.count()
    assert before >= 1
    expect(unopened.first.locator("td").first).to_have_css("font-weight", "700")
    screen(page, "13-my-documents")
    row_id = unopened.first.get_attribute("id")
    link = unopened.first.get_by_role("link")
    with page.context.expect_page() as opened:
        link.click()
    pdf = opened.value
    pdf.wait_for_load_state()
    pdf.close()
    page.reload()
    expect(page.locator("tr.unopened")).to_have_count(before - 1)
    if row_id:
        expect(page.locator(f"#{row_id}")).not_to_have_class(re.compile("unopened"))
        expect(page.locator(f"#{row_id} td").first).to_have_css("font-weight", "400")
    screen(page, "14-my-documents-opened")

    # User Preferences: Portal without an email is refused; with one it is saved.
    page.get_by_role("link", name="User Preferences").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("User Preferences")
    page.locator(f"#method_{NUMBER}_bill_portal").check()
    page.locator(f"#email_{NUMBER}_bill_1").fill("")
    page.get_by_role("button", name="Save").click()
    error = page.locator(f"#email_{NUMBER}_bill_1-error")
    expect(error).to_contain_text("A valid email address is required for all Portal selections.")
    screen(page, "15-preferences-error")
    page.locator(f"#email_{NUMBER}_bill_1").fill("taylor.bills@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your preferences were saved.")).to_be_visible()
    page.reload()
    expect(page.locator(f"#method_{NUMBER}_bill_portal")).to_be_checked()
    expect(page.locator(f"#email_{NUMBER}_bill_1")).to_have_value("taylor.bills@example.com")
    screen(page, "16-preferences-saved")

    # The remaining screens: FAQ, glossary, help, customer service, language and date format.
    for path, name in (
        ("/faq", "17-faq"),
        ("/glossary", "18-glossary"),
        ("/help", "19-help"),
        ("/customer-service", "20-customer-service"),
        ("/account/preferences", "21-language-date-format"),
        ("/account/privacy", "22-privacy-rights"),
    ):
        page.goto(f"{base}{path}")
        screen(page, name)

    # Log out; then no personal page can be reached, not even through the back button.
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log Out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
    for path in PERSONAL_PAGES:
        page.goto(f"{base}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
        assert "/login" in page.url, path


def test_the_owner_pages_fit_a_phone_screen(live_portal: str, phone_page: Page) -> None:
    page = phone_page
    page.goto(f"{live_portal}/login")
    page.get_by_label("User ID").fill("demo")
    page.get_by_role("button", name="Next", exact=True).click()
    from services.portal.demo import DEMO_PASSWORD

    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log In", exact=True).click()
    page.wait_for_url(re.compile(r"/my-insurance$"))
    for path in (
        "/my-insurance",
        "/certificates/0000100001",
        "/certificates/0000100001/billing",
        "/profile",
        "/claims",
        "/claims/C000000102",
        "/documents",
        "/documents/preferences",
        "/account/privacy",
    ):
        page.goto(f"{live_portal}{path}")
        check_page(page)
        assert_no_horizontal_overflow(page)
        shot(page, "phone" + path.replace("/", "-"))

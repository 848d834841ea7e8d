"""Headless Chromium smoke test: log in and out through the pages, the keyboard, the page checks
(accessibility, console/CSP errors) and phone width on the public pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.portal.demo import DEMO_PASSWORD
from tests.e2e.browser import (
    a11y_problems,
    assert_accessible,
    assert_no_console_errors,
    assert_no_horizontal_overflow,
    check_page,
    console_errors,
    horizontal_overflow,
    shot,
)

pytestmark = pytest.mark.embedded

PUBLIC_PAGES = [
    "/login",
    "/help",
    "/glossary",
    "/faq",
    "/customer-service",
    "/privacy/request",
]


def test_log_in_through_the_two_pages_then_log_out(live_portal: str, page: Page) -> None:
    page.goto(f"{live_portal}/login")
    page.get_by_label("User ID").fill("demo")
    shot(page, "login")
    page.get_by_role("button", name="Next", exact=True).click()

    expect(page.get_by_label("Password")).to_be_visible()
    assert "demo" not in page.url  # the user ID travels in the form, not the URL
    check_page(page)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    shot(page, "login-password")
    page.get_by_role("button", name="Log In", exact=True).click()

    page.wait_for_url(re.compile(r"/my-insurance$"))
    session = [c for c in page.context.cookies() if c["name"] == "portal_session"]
    assert session and session[0]["secure"] and session[0]["httpOnly"]
    log_out = page.get_by_role("navigation", name="Main").get_by_role("button", name="Log Out")
    expect(log_out).to_be_visible()

    log_out.click()
    page.wait_for_url(re.compile(r"/login\?done=logged-out$"))
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "portal_session"]
    page.goto(f"{live_portal}/my-insurance")
    assert page.url == f"{live_portal}/login"
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")


def test_a_wrong_password_shows_one_message_and_no_session(live_portal: str, page: Page) -> None:
    page.goto(f"{live_portal}/login")
    page.get_by_label("User ID").fill("demo")
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log In", exact=True).click()
    expect(page.get_by_text("The user ID or password is incorrect.").first).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "portal_session"]


def test_the_first_tab_reaches_the_skip_link_and_enter_moves_to_main(
    live_portal: str, page: Page
) -> None:
    page.goto(f"{live_portal}/login")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.tagName, document.activeElement.textContent]")
    assert focused == ["A", "Skip to main content"]
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_pass_the_page_checks(live_portal: str, page: Page, path: str) -> None:
    answer = page.goto(f"{live_portal}{path}")
    assert answer is not None and answer.status == 200
    assert_accessible(page)
    assert_no_console_errors(page)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_fit_a_phone(live_portal: str, phone_page: Page, path: str) -> None:
    phone_page.goto(f"{live_portal}{path}")
    assert_no_horizontal_overflow(phone_page)
    assert_no_console_errors(phone_page)
    if path == "/login":
        shot(phone_page, "phone-login")


def test_the_checks_themselves_catch_problems(live_portal: str, phone_page: Page) -> None:
    """The helpers must be able to fail: break a page on purpose and look."""
    phone_page.goto(f"{live_portal}/login")
    phone_page.evaluate(
        """() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend', '<h1>Second</h1><input id="orphan" name="orphan">');
          const wide = document.createElement('div');
          wide.style.width = '900px';  // through the CSSOM: the CSP allows it
          wide.style.height = '1em';
          main.append(wide);
          document.documentElement.removeAttribute('lang');
          main.insertAdjacentHTML('beforeend', '<p style="color: red">inline</p>');  // CSP: blocked
        }"""
    )
    phone_page.wait_for_timeout(200)  # console messages arrive asynchronously
    problems = a11y_problems(phone_page)
    assert "2 h1 elements (want exactly one)" in problems
    assert "<html> has no lang attribute" in problems
    assert "input#orphan[name=orphan] has no label" in problems
    assert horizontal_overflow(phone_page) > 400
    with pytest.raises(AssertionError, match=r"wider than the viewport.*div right="):
        assert_no_horizontal_overflow(phone_page)
    assert any("Content Security Policy" in e for e in console_errors(phone_page))

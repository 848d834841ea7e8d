"""Checks a browser test runs on every page it visits (headless Chromium through Playwright's
sync API; the fixtures are in conftest.py).

- `assert_accessible(page)`: one h1, a `lang` on <html>, every visible form control labelled,
  unique ids, images with alt text, links and buttons with a name (`a11y_problems` lists them).
- `assert_no_horizontal_overflow(page)`: nothing wider than the viewport (run it on a phone
  page; `horizontal_overflow` gives the excess in CSS pixels).
- `console_errors(page)` / `assert_no_console_errors(page)`: console errors (CSP violations
  are reported as console errors) and uncaught page errors since the page was opened by the
  `page`/`phone_page` fixtures (`watch_console` attaches the listener).
- `check_page(page)`: all of the above but the overflow check; `shot(page, name)`: a full-page
  screenshot in tests/e2e/screenshots/<name>.png (git-ignored).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Error, Page

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"

_console: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()

# Runs in the page; returns one sentence per problem found.
_A11Y_SCRIPT = """() => {
  const problems = [];
  const visible = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += '#' + el.id;
    if (el.getAttribute('name')) text += '[name=' + el.getAttribute('name') + ']';
    return text;
  };
  const named = (el) => {
    const label = (el.getAttribute('aria-label') || '').trim();
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    const byIds = ids.map((id) => document.getElementById(id))
      .some((ref) => ref && ref.textContent.trim());
    return Boolean(label) || byIds;
  };
  const h1s = document.querySelectorAll('h1').length;
  if (h1s !== 1) problems.push(`${h1s} h1 elements (want exactly one)`);
  if (!(document.documentElement.getAttribute('lang') || '').trim()) {
    problems.push('<html> has no lang attribute');
  }
  const buttonTypes = ['hidden', 'submit', 'button', 'reset', 'image'];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.tagName === 'INPUT' && buttonTypes.includes((el.type || '').toLowerCase())) continue;
    if (!visible(el)) continue;
    const labelled = Array.from(el.labels || []).some((l) => l.textContent.trim());
    if (!labelled && !named(el)) problems.push(`${describe(el)} has no label`);
  }
  const seen = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (seen.has(el.id)) problems.push(`duplicate id "${el.id}"`);
    seen.add(el.id);
  }
  for (const img of document.querySelectorAll('img:not([alt])')) {
    problems.push(`img ${img.getAttribute('src')} has no alt attribute`);
  }
  for (const el of document.querySelectorAll('a[href], button')) {
    const image = el.querySelector('img[alt]:not([alt=""])');
    if (!visible(el) || el.textContent.trim() || named(el) || image) continue;
    problems.push(`${describe(el)} has no accessible name`);
  }
  return problems;
}"""

# Measured against the layout viewport (documentElement.clientWidth): in a mobile context
# Chromium widens window.innerWidth to the content (it zooms out), hiding the overflow.
_OVERFLOW_SCRIPT = """() => {
  const width = document.documentElement.clientWidth;
  const excess = document.documentElement.scrollWidth - width;
  const wide = [];
  if (excess > 1) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 1 && box.width > 0) {
        const classes = typeof el.className === 'string' ? el.className.trim() : '';
        const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
          (classes ? '.' + classes.split(/\\s+/).join('.') : '');
        wide.push(`${name} right=${Math.round(box.right)}`);
      }
    }
  }
  return {excess, wide: wide.slice(0, 8)};
}"""


def watch_console(page: Page) -> list[str]:
    """Collect the page's console errors and uncaught errors from now on (the list is live)."""
    errors = _console.setdefault(page, [])

    def on_console(message: ConsoleMessage) -> None:
        # Chromium asks every site for /favicon.ico on its own (the portal has none) and logs
        # the 404 as a console error: not the page's fault.
        if message.type == "error" and not _is_favicon(message) and not _is_page_status(message):
            errors.append(f"{page.url}: console error: {message.text}")

    def on_page_error(error: Error) -> None:
        errors.append(f"{page.url}: uncaught error: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


def _is_favicon(message: ConsoleMessage) -> bool:
    return urlsplit(message.location.get("url") or "").path == "/favicon.ico"


def _is_page_status(message: ConsoleMessage) -> bool:
    """A form answered with its 4xx status (422 with the field errors, 401 for a wrong
    password): Chromium logs the document's status, which is the page working as meant.
    Sub-resources (CSS, images) failing are still errors."""
    failed = message.text.startswith(
        "Failed to load resource: the server responded with a status of 4"
    )
    return (
        failed
        and (message.location.get("url") or "").split("#")[0] == message.page.url.split("#")[0]
    )


def console_errors(page: Page) -> list[str]:
    """What `watch_console` collected for this page (empty if it was not watched)."""
    return list(_console.get(page, []))


def assert_no_console_errors(page: Page) -> None:
    errors = console_errors(page)
    assert not errors, "console errors or CSP violations:\n" + "\n".join(errors)


def a11y_problems(page: Page) -> list[str]:
    return page.evaluate(_A11Y_SCRIPT)


def assert_accessible(page: Page) -> None:
    problems = a11y_problems(page)
    assert not problems, f"{page.url}: accessibility problems:\n" + "\n".join(problems)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (<= 1 is fine)."""
    return page.evaluate(_OVERFLOW_SCRIPT)["excess"]


def assert_no_horizontal_overflow(page: Page) -> None:
    found = page.evaluate(_OVERFLOW_SCRIPT)
    assert found["excess"] <= 1, (
        f"{page.url}: the page is {found['excess']}px wider than the viewport; "
        "elements reaching past it: " + ", ".join(found["wide"])
    )


def check_page(page: Page) -> None:
    """The checks for every page a test visits: accessibility and no console errors."""
    assert_accessible(page)
    assert_no_console_errors(page)


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as tests/e2e/screenshots/<name>.png; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

"""What the browser tests do over and over: sign in and out, move around, take screenshots, and
check that no page ever shows a raw traceback.

Selectors are the contract the pages were written to: Streamlit gives every widget or container
made with ``key=K`` the CSS class ``st-key-K``, and its own elements carry ``data-testid``s.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.conftest import REPO

SCREENSHOTS = REPO / "reports" / "screenshots"
README_SCREENSHOTS = REPO / "docs" / "screenshots"

# Generous but bounded waits, in milliseconds.
FIRST_LOAD = 90_000  # the first page of a server builds the service and starts its workers
STEP = 30_000  # a click and the rerun it causes
COMMIT = 45_000  # an approved write reaches the ERP in the background, the card refreshes itself

PROPOSAL_ID = re.compile(r"\bP-[0-9a-f]{6,}\b")
CARD_CLASS = re.compile(r"\bst-key-proposal-(P-[0-9A-Za-z]+)\b")
THREAD_ID = re.compile(r"\bT-[0-9a-f]{6,}\b")
VIEWPORT_CORNER = (1390, 990)  # where the mouse rests for screenshots: over no control


def keyed(page: Page | Locator, key: str) -> Locator:
    """The element Streamlit made for ``key=key``."""
    return page.locator(f".st-key-{key}")


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def assert_no_traceback(page: Page) -> None:
    """No raw traceback (Streamlit's exception element) and no unexpected-error line on the page."""
    expect(page.get_by_test_id("stException"), "a page shows a raw traceback").to_have_count(0, timeout=1_000)
    expect(
        page.get_by_text("Something went wrong on our side"), "a page hit an unexpected error"
    ).to_have_count(0, timeout=1_000)


def settle(page: Page, timeout: float = 10_000) -> None:
    """Best effort before a screenshot: Streamlit has finished its run (no 'Running…' indicator),
    every table has drawn its grid, and the mouse hovers nothing (no tooltips or toolbars)."""
    page.mouse.move(VIEWPORT_CORNER[0], VIEWPORT_CORNER[1])
    # A self-refreshing fragment may keep it busy: the screenshot is taken anyway.
    with contextlib.suppress(Exception):
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"] button')
                && [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                    .every((grid) => grid.querySelector('[data-testid="data-grid-canvas"]'))""",
            timeout=timeout,
        )


def scroll_to(page: Page, focus: Locator, attempts: int = 3) -> None:
    """Scroll ``focus`` into view once Streamlit's run is over. A rerun (a fragment refreshing
    itself) can replace the element between finding and scrolling it; the locator then finds
    the new one on the next attempt."""
    for attempt in range(attempts):
        settle(page)
        try:
            focus.scroll_into_view_if_needed()
            return
        except PlaywrightError as exc:
            if "not attached to the DOM" not in str(exc) or attempt == attempts - 1:
                raise


def sign_in(page: Page, base_url: str, user: str, password: str, *, path: str = "/") -> None:
    """Open the app (at ``path``), sign in with a password and wait for the sidebar to say who."""
    page.goto(base_url.rstrip("/") + path)
    user_box = keyed(page, "sign_in_user").locator("input")
    expect(user_box).to_be_visible(timeout=FIRST_LOAD)
    user_box.fill(user)
    keyed(page, "sign_in_password").locator("input").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(sidebar(page).get_by_text("Signed in as")).to_be_visible(timeout=STEP)
    assert_no_traceback(page)


def sign_out(page: Page) -> None:
    keyed(page, "sign_out").get_by_role("button").click()
    expect(keyed(page, "sign_in_user").locator("input")).to_be_visible(timeout=STEP)
    expect(sidebar(page).get_by_text("Signed in as")).to_have_count(0)


def open_page(page: Page, title: str) -> None:
    """Click ``title`` in the sidebar's page menu (keeps the session, as a person would)."""
    link = sidebar(page).get_by_role("link", name=title)
    expect(link).to_be_visible(timeout=STEP)
    path = urlparse(link.get_attribute("href") or "").path
    arrived = re.compile(re.escape(path) + r"(\?.*)?$")
    # A click that lands while Streamlit is still finishing a run can be dropped by the browser
    # client: wait for the run, click, and click once more if the page did not change.
    for attempt in range(2):
        settle(page)
        link.click()
        try:
            expect(page).to_have_url(arrived, timeout=STEP // 2)
            return
        except AssertionError:
            if attempt:
                raise


def proposal_cards(page: Page | Locator) -> Locator:
    """Every proposal card (containers keyed ``proposal-<id>``), not the inbox's detail pane."""
    return page.locator("[class*='st-key-proposal-P-']")


def card(page: Page | Locator, proposal_id: str) -> Locator:
    return keyed(page, f"proposal-{proposal_id}")


def proposal_id_of(card_: Locator) -> str:
    """The proposal id a card is keyed by (from its class, else from its text)."""
    found = CARD_CLASS.search(card_.get_attribute("class") or "")
    if found:
        return found.group(1)
    in_text = PROPOSAL_ID.search(card_.inner_text())
    assert in_text, f"no proposal id in the card: {card_.inner_text()[:200]!r}"
    return in_text.group(0)


@dataclass
class Journey:
    """Screenshots of one test's steps, numbered and named: ``reports/screenshots/golden-1-alice-chat.png``."""

    page: Page
    name: str
    taken: list[Path] = field(default_factory=list)

    def shot(self, step: str, *, focus: Locator | None = None) -> Path:
        """Check the page for tracebacks, then screenshot it (scrolled to ``focus`` if given)."""
        assert_no_traceback(self.page)
        if focus is not None:
            scroll_to(self.page, focus)
        settle(self.page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{len(self.taken) + 1}-{step}.png"
        self.page.screenshot(path=path)
        self.taken.append(path)
        return path

    def readme(self, name: str, *, whole: bool = False) -> Path | None:
        """The README's docs/screenshots/<name>, only when COUNTERSIGN_UPDATE_SCREENSHOTS=1.
        ``whole``: the viewport grows (up to 1600 px) to hold the whole page, scrolled to its top."""
        if os.environ.get("COUNTERSIGN_UPDATE_SCREENSHOTS") != "1":
            return None
        size = self.page.viewport_size or {"width": 1400, "height": 1000}
        try:
            if whole:
                tall = self.page.evaluate(
                    """() => Math.max(...[...document.querySelectorAll(
                        '[data-testid="stAppScrollToBottomContainer"], [data-testid="stMain"]'
                    )].map((element) => element.scrollHeight))"""
                )
                height = max(size["height"], min(int(tall), 1600))
                self.page.set_viewport_size({"width": size["width"], "height": height})
                self.page.mouse.move(size["width"] // 2, height // 2)
                self.page.mouse.wheel(0, -10_000)  # as a person scrolls up: the chat stops following
            assert_no_traceback(self.page)
            settle(self.page)
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = README_SCREENSHOTS / name
            self.page.screenshot(path=path)
        finally:
            self.page.set_viewport_size(size)
        return path


def click_for(page: Page, button: Locator, answer: Locator) -> None:
    """Click ``button`` once Streamlit's run is over and wait for ``answer``. A click landing while
    a run finishes can be dropped by the browser client: then click once more (only for clicks a
    second time cannot change, such as a refused decision)."""
    for attempt in range(2):
        settle(page)
        button.click()
        try:
            expect(answer).to_be_visible(timeout=STEP // 2)
            return
        except AssertionError:
            if attempt == 1:
                raise

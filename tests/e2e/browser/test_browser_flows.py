"""The web app in a real headless Chromium, as its users work it: alice asks for a purchase order
in the chat, bob approves it in his inbox, alice sees it committed with its ERP number; a
rejection with its reason; alice trying to approve her own request; and no request ever leaving
the installation (every page of every role loads only from the app).

Everything goes through the pages (typing, clicking, links a person would follow); nothing is
read from the databases. Screenshots of each step land in ``reports/screenshots/``.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Request, Route, expect

from tests.e2e.browser.conftest import USERS, password_of
from tests.e2e.browser.helpers import (
    COMMIT,
    STEP,
    THREAD_ID,
    Journey,
    card,
    click_for,
    keyed,
    open_page,
    proposal_cards,
    proposal_id_of,
    settle,
    sign_in,
    sign_out,
)
from ui.navigation import pages_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REASON = "We still have enough bolts in the secondary warehouse"


def assert_one_line(alert: Locator) -> None:
    """An error shown to people: one line of words (its icon aside), never a traceback."""
    said = alert.get_by_test_id("stMarkdownContainer").inner_text().strip()
    assert said and "\n" not in said and "Traceback" not in said, f"not one line: {said!r}"


def ask_for_an_order(page: Page, base_url: str, quantity: int) -> tuple[str, str]:
    """Alice signs in and asks for an order in a new conversation: (proposal id, thread id)."""
    sign_in(page, base_url, "alice", password_of("alice"))
    expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=STEP)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(f"order {quantity} hex bolts M8 from Fastenal")
    box.press("Enter")
    cards = proposal_cards(page)
    expect(cards.first).to_be_visible(timeout=COMMIT)
    proposal_id = proposal_id_of(cards.first)
    expect(card(page, proposal_id).get_by_text("waiting for approval")).to_be_visible()
    thread = THREAD_ID.search(page.url)
    assert thread, f"the chat's URL names no conversation: {page.url}"
    return proposal_id, thread.group(0)


def open_request(page: Page, proposal_id: str) -> None:
    """My requests: search for the request by its id and open its detail below the table."""
    open_page(page, "My requests")
    search = keyed(page, "requests_search").locator("input")
    expect(search).to_be_visible(timeout=STEP)
    search.fill(proposal_id)
    search.press("Enter")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=STEP)
    settle(page)
    keyed(page, "requests_open").get_by_role("combobox").click()
    page.get_by_role("option", name=re.compile(re.escape(proposal_id))).click()
    expect(card(page, proposal_id)).to_be_visible(timeout=STEP)


def open_in_inbox(page: Page, proposal_id: str) -> None:
    """From anywhere in the app: the inbox, then the proposal's detail."""
    open_page(page, "Approvals inbox")
    item = keyed(page, f"inbox-item-{proposal_id}")
    expect(item).to_be_visible(timeout=STEP)
    keyed(page, f"open-{proposal_id}").get_by_role("button").click()
    detail = keyed(page, "proposal-detail")
    expect(detail).to_be_visible(timeout=STEP)
    expect(detail.get_by_text(proposal_id).first).to_be_visible()


def test_golden_path_alice_orders_bob_approves_alice_sees_it_committed(page: Page, base_url: str) -> None:
    journey = Journey(page, "golden")
    proposal_id, thread_id = ask_for_an_order(page, base_url, 400)
    journey.shot("alice-chat")
    journey.readme("chat.png", whole=True)
    sign_out(page)

    sign_in(page, base_url, "bob", password_of("bob"))
    open_in_inbox(page, proposal_id)
    expect(page.get_by_text("unchanged since the proposal").first).to_be_visible(timeout=STEP)
    journey.shot("bob-inbox-detail")
    journey.readme("inbox.png")
    keyed(page, "approver-view").get_by_text("What it will write").scroll_into_view_if_needed()
    journey.shot("bob-inbox-what-it-writes")
    edit = page.get_by_text("Change it, then approve")
    edit.click()
    expect(page.get_by_text(re.compile(r"Tolerance: ±5%"))).to_be_visible(timeout=STEP)
    journey.shot("bob-inbox-edit-form", focus=keyed(page, "submit_edit"))
    edit.click()  # closed again: bob approves it as it stands
    keyed(page, "approve").get_by_role("button").click()
    expect(page.get_by_text(re.compile(rf"Approved: {proposal_id} is (committed|queued)"))).to_be_visible(
        timeout=COMMIT
    )
    journey.shot("bob-approved")
    sign_out(page)

    # Alice finds her request and goes back to its conversation; the card refreshes itself until
    # the ERP has answered.
    sign_in(page, base_url, "alice", password_of("alice"))
    open_request(page, proposal_id)
    journey.shot("alice-my-requests", focus=card(page, proposal_id))
    keyed(page, f"open-chat-{proposal_id}").get_by_role("button").click()
    expect(page).to_have_url(re.compile(rf"/chat\?(.*&)?thread={thread_id}\b"), timeout=STEP)
    committed = card(page, proposal_id).get_by_text(re.compile(r"Committed in the ERP: .*\d"))
    expect(committed).to_be_visible(timeout=COMMIT)
    document = re.search(r"Committed in the ERP: (.+)", committed.inner_text())
    assert document, committed.inner_text()
    expect(
        page.get_by_test_id("stChatMessage").filter(has_text=document.group(1).split()[-1]).last
    ).to_be_visible()
    journey.shot("alice-committed", focus=committed)


def test_bob_rejects_with_a_reason_and_alice_sees_the_rejection(page: Page, base_url: str) -> None:
    journey = Journey(page, "rejection")
    proposal_id, thread_id = ask_for_an_order(page, base_url, 30)
    sign_out(page)

    sign_in(page, base_url, "bob", password_of("bob"))
    open_in_inbox(page, proposal_id)
    reject = keyed(page, "reject").get_by_role("button")
    refusal = page.get_by_test_id("stAlertContentError").filter(has_text="A rejection needs a reason")
    click_for(page, reject, refusal)
    assert_one_line(refusal)
    # The answer is where bob is looking: in view, right under the button he clicked, without scrolling.
    expect(refusal).to_be_in_viewport()
    button_box, refusal_box = reject.bounding_box(), refusal.bounding_box()
    assert button_box is not None and refusal_box is not None
    assert 0 <= refusal_box["y"] - (button_box["y"] + button_box["height"]) < 120, (button_box, refusal_box)
    detail = keyed(page, "proposal-detail")
    expect(detail.get_by_text("waiting for approval")).to_be_visible()  # nothing was decided
    journey.shot("bob-reject-without-reason", focus=refusal)
    keyed(page, "reject_reason").locator("textarea").fill(REASON)
    keyed(page, "reject").get_by_role("button").click()
    expect(page.get_by_text(f"Rejected: {proposal_id}.")).to_be_visible(timeout=STEP)
    journey.shot("bob-rejected")
    sign_out(page)

    # Alice follows a link to her conversation: it survives signing in.
    sign_in(page, base_url, "alice", password_of("alice"), path=f"/chat?thread={thread_id}")
    rejected = card(page, proposal_id)
    expect(rejected.get_by_text(f"Rejected by bob: {REASON}")).to_be_visible(timeout=COMMIT)
    expect(rejected.get_by_text("rejected", exact=True)).to_be_visible()  # the badge
    journey.shot("alice-sees-rejection", focus=rejected)


def test_alice_cannot_approve_her_own_request(page: Page, base_url: str) -> None:
    journey = Journey(page, "self-approval")
    proposal_id, _ = ask_for_an_order(page, base_url, 25)

    # Alice also approves other people's requests; her own is not listed unless she asks for it.
    open_page(page, "Approvals inbox")
    listed = page.get_by_text(re.compile(r"waiting for your decision|Nothing waits for you"))
    expect(listed.first).to_be_visible(timeout=STEP)  # the list is drawn: absent means not listed
    own = keyed(page, f"inbox-item-{proposal_id}")
    expect(own).to_have_count(0)
    keyed(page, "include_blocked").get_by_text("Show requests I cannot decide").click()
    expect(own).to_be_visible(timeout=STEP)
    expect(own.get_by_text("You cannot decide this")).to_be_visible()
    keyed(page, f"open-{proposal_id}").get_by_role("button").click()

    detail = keyed(page, "proposal-detail")
    expect(detail.get_by_text(proposal_id).first).to_be_visible(timeout=STEP)
    expect(
        detail.get_by_test_id("stAlertContentWarning").filter(has_text="segregation of duties")
    ).to_be_visible()
    journey.shot("alice-own-request")
    refusal = page.get_by_test_id("stAlertContentError").filter(has_text="segregation of duties")
    click_for(page, keyed(page, "approve").get_by_role("button"), refusal)
    assert_one_line(refusal)
    journey.shot("alice-refused")

    # Nothing changed: the detail still offers the decision and the proposal still waits.
    expect(detail.get_by_text("waiting for approval")).to_be_visible()
    open_request(page, proposal_id)
    expect(card(page, proposal_id).get_by_text("waiting for approval")).to_be_visible(timeout=STEP)
    journey.shot("alice-still-pending")


def test_every_page_of_every_role_loads_only_from_the_app(
    context: BrowserContext, page: Page, base_url: str
) -> None:
    app = urlparse(base_url).netloc
    elsewhere: list[str] = []

    def refuse_outside(route: Route) -> None:
        # Nothing may go out: record the attempt and answer it locally instead.
        elsewhere.append(route.request.url)
        route.abort()

    def seen(request: Request) -> None:
        if urlparse(request.url).scheme in ("http", "https") and urlparse(request.url).netloc != app:
            elsewhere.append(request.url)

    context.route(
        lambda url: urlparse(url).scheme in ("http", "https") and urlparse(url).netloc != app, refuse_outside
    )
    context.on("request", seen)
    for user, person in USERS.items():
        sign_in(page, base_url, user, password_of(user))
        for spec in pages_for(person.roles):
            open_page(page, spec.title)
            settle(page)
        sign_out(page)
    assert not elsewhere, f"requests left the installation: {sorted(set(elsewhere))}"

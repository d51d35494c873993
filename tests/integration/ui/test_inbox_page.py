"""The approvals inbox as approvers use it: the list and its filters, one proposal in full (payload,
gate, evidence read again), and their decisions with the service's answer in one line.

Requests are filed through real chat turns (``file_purchase_order``); decisions commit inline, so
every outcome the page shows can be checked against the service afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from tests.integration.ui.conftest import AppAs, file_purchase_order
from ui import runtime

FLAG_ICON = ":material/flag:"


def container_keys(at: AppTest) -> set[str]:
    return {block.key for block in at.container if block.key}


def listed(at: AppTest) -> list[str]:
    """Proposal ids in the list, top to bottom."""
    return [str(b.key).removeprefix("open-") for b in at.button if str(b.key).startswith("open-")]


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def one_line(at: AppTest, kind: str = "error") -> str:
    """The single message of a kind the page shows; fails when there is none or several. Risk
    flags (warnings with the flag icon) are the proposal's content, not the page's answer."""
    messages = [str(e.value) for e in getattr(at, kind) if getattr(e, "icon", None) != FLAG_ICON]
    assert len(messages) == 1, messages
    assert "\n" not in messages[0] and "Traceback" not in messages[0]
    return messages[0]


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_detail(at: AppTest, proposal_id: str) -> AppTest:
    at.button(key=f"open-{proposal_id}").click().run()
    return no_exception(at)


def evidence_lines(at: AppTest) -> list[str]:
    """The one-line label of each ERP read in the evidence section, in order."""
    return [str(e.label).replace("\\", "") for e in at.expander if " — " in str(e.label)]


def table_text(at: AppTest) -> str:
    """Every table on the page as one string, for looking values up."""
    return "\n".join(df.value.to_string() for df in at.dataframe)


# ---- the list --------------------------------------------------------------------------------


def test_the_inbox_says_nothing_waits_for_bob_when_no_request_is_pending(app_as: AppAs) -> None:
    at = no_exception(app_as("bob", "inbox"))

    message = one_line(at, "info")
    assert message.startswith("Nothing waits for you.")
    assert "Show requests I cannot decide" in message
    assert listed(at) == []


def test_bob_sees_alices_purchase_order_with_its_amount_requester_and_gate(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")

    at = no_exception(app_as("bob", "inbox"))

    assert listed(at) == [po.id]
    row = at.get_by_key(f"inbox-item-{po.id}")
    shown = " ".join(texts(row.markdown) + texts(row.caption)).replace("\\", "")  # markdown escapes
    assert "Purchase order" in shown and "340.00" in shown and "HB-M8-40" in shown
    assert "Alice Almeida (alice)" in shown
    assert "1 approver (rule create_purchase_order:default" in shown
    assert "no approval yet" in shown
    assert "1 request waiting for your decision" in texts(at.caption)


def test_a_long_inbox_shows_a_page_at_a_time_and_counts_every_request(
    ui_service: AgentService, app_as: AppAs
) -> None:
    filed = [file_purchase_order(ui_service, "alice", quantity=q).id for q in (10, 20, 30)]
    at = app_as("bob", "inbox")
    at.session_state["inbox_shown"] = 2  # as if the page held two rows (it holds 50)
    no_exception(at.run())

    assert listed(at) == filed[:2]
    assert "3 requests waiting for your decision" in texts(at.caption)
    more = at.button(key="show_more")
    assert more.label == "Show 1 more of 1 not shown"
    more.click().run()
    assert listed(no_exception(at)) == filed


def test_the_action_filter_hides_alices_purchase_order_until_purchase_orders_are_chosen(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = app_as("bob", "inbox")

    at.multiselect(key="actions").select("post_journal_entry").run()
    assert listed(no_exception(at)) == []
    assert one_line(at, "info").startswith("Nothing waits for you with these filters")

    at.multiselect(key="actions").select("create_purchase_order").run()
    assert listed(no_exception(at)) == [po.id]


def test_an_amount_range_that_excludes_alices_purchase_order_empties_the_list(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")  # 340.00
    at = app_as("bob", "inbox")

    at.number_input(key="min_amount").set_value(300.0)
    at.number_input(key="max_amount").set_value(400.0).run()
    assert listed(no_exception(at)) == [po.id]

    at.number_input(key="min_amount").set_value(1000.0)
    at.number_input(key="max_amount").set_value(5000.0).run()
    assert listed(no_exception(at)) == []
    assert "Nothing waits for you with these filters" in one_line(at, "info")


def test_a_minimum_amount_above_the_maximum_is_explained_in_one_line(
    ui_service: AgentService, app_as: AppAs
) -> None:
    file_purchase_order(ui_service, "alice")
    at = app_as("bob", "inbox")

    at.number_input(key="min_amount").set_value(500.0)
    at.number_input(key="max_amount").set_value(100.0).run()

    assert "the minimum amount is above the maximum" in one_line(no_exception(at))
    assert listed(at) == []


def test_the_requester_filter_shows_only_carols_request(ui_service: AgentService, app_as: AppAs) -> None:
    alices = file_purchase_order(ui_service, "alice")
    carols = file_purchase_order(ui_service, "carol", quantity=100)
    at = app_as("bob", "inbox")
    assert set(listed(no_exception(at))) == {alices.id, carols.id}

    at.selectbox(key="requester").set_value("carol").run()

    assert listed(no_exception(at)) == [carols.id]


def test_the_list_is_oldest_first_and_sorts_by_amount_or_newest(
    ui_service: AgentService, app_as: AppAs
) -> None:
    large = file_purchase_order(ui_service, "alice", quantity=400)  # 340.00, filed first
    small = file_purchase_order(ui_service, "alice", quantity=100)  # 85.00
    at = no_exception(app_as("bob", "inbox"))
    assert listed(at) == [large.id, small.id]

    at.selectbox(key="sort").set_value("amount_low").run()
    assert listed(no_exception(at)) == [small.id, large.id]

    at.selectbox(key="sort").set_value("amount_high").run()
    assert listed(no_exception(at)) == [large.id, small.id]

    at.selectbox(key="sort").set_value("newest").run()
    assert listed(no_exception(at)) == [small.id, large.id]


def test_a_request_waiting_past_its_reminder_is_flagged_and_passes_the_age_filter(
    ui_service: AgentService, app_as: AppAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = app_as("bob", "inbox")
    at.selectbox(key="min_age").set_value("Older than 1 day").run()
    assert listed(no_exception(at)) == []

    # Two days later (the service's clock, which the policy's reminder reads): overdue, escalated.
    later = datetime.now(po.created_at.tzinfo) + timedelta(days=2)
    monkeypatch.setattr(ui_service, "_now", lambda: later)
    at.run()

    assert listed(no_exception(at)) == [po.id]
    flagged = texts(at.get_by_key(f"inbox-item-{po.id}").warning)
    assert len(flagged) == 1 and "overdue since" in flagged[0] and "finance_director" in flagged[0]


# ---- one proposal ----------------------------------------------------------------------------


def test_opening_alices_purchase_order_shows_its_payload_gate_and_unchanged_evidence(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = app_as("bob", "inbox")

    open_detail(at, po.id)

    assert at.query_params.get("proposal") == po.id  # the address can be shared
    assert "proposal-detail" in container_keys(at)
    assert listed(at) == []
    tables = table_text(at)
    assert "HB-M8-40" in tables and "400" in tables and "F00001" in tables and "CC300" in tables
    assert "create_purchase_order:default" in tables and "2026.11.1" in tables and "nobody yet" in tables
    assert (
        one_line(at, "success") == "The 4 ERP reads it relied on still say the same as when it was proposed."
    )
    lines = evidence_lines(at)
    assert len(lines) == len(po.evidence) == 4
    assert all(line.endswith(":green[unchanged since the proposal]") for line in lines)
    assert "check budget (cost_center=CC300)" in lines[2]
    # The one warning is the risk flag a fresh installation earns: an open PO for the same bolts.
    assert [str(w.value).replace("\\", "") for w in at.warning] == [
        "Open purchase orders already order Hex bolt M8 x 40 mm zinc plated (HB-M8-40): 000295 "
        "(500 from Química Limpa Produtos de Limpeza Ltda (F00011), 2026-11-16)."
    ]
    assert not at.error


def test_a_shared_link_opens_the_proposal_and_back_returns_to_the_list(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")

    at = no_exception(app_as("bob", "inbox", proposal=po.id))
    assert "proposal-detail" in container_keys(at)

    at.button(key="back").click().run()

    assert "proposal" not in no_exception(at).query_params
    assert "proposal-detail" not in container_keys(at)
    assert listed(at) == [po.id]


def test_a_link_to_a_committed_proposal_shows_where_it_stands_without_decision_buttons(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    document = ui_service.decide(po.id, "bob", "approve").receipt["document_id"]  # type: ignore[index]

    at = no_exception(app_as("erin", "inbox", proposal=po.id))

    assert one_line(at, "info") == f"Nothing to decide: it is committed — purchase order {document}."
    assert {"approve", "reject", "submit_edit"}.isdisjoint(b.key for b in at.button)
    assert "bob" in table_text(at)  # approved so far by, and the decisions so far


def test_the_audit_story_of_a_proposal_opens_on_request(ui_service: AgentService, app_as: AppAs) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)
    assert "countersign-agent" not in table_text(at)

    at.toggle(key="show_story").set_value(True).run()

    story = next(df.value for df in no_exception(at).dataframe if "what" in df.value.columns)
    assert list(story["what"]) == ["read"] * len(po.evidence) + ["proposal"]


def test_an_unknown_proposal_link_is_explained_in_one_line_and_the_list_is_shown(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = app_as("bob", "inbox")

    at.query_params["proposal"] = "P-0000000000"  # a mistyped link, pasted into the address bar
    at.run()

    assert "no proposal 'P-0000000000'" in one_line(no_exception(at))
    assert "proposal-detail" not in container_keys(at)
    assert listed(at) == [po.id]


def test_the_evidence_shows_the_budget_that_changed_after_another_order_was_committed(
    ui_service: AgentService, app_as: AppAs
) -> None:
    first = file_purchase_order(ui_service, "alice", quantity=400)
    second = file_purchase_order(ui_service, "alice", quantity=100)  # relies on the same budget read
    at = app_as("bob", "inbox")
    open_detail(at, second.id)
    assert "still say the same" in one_line(at, "success")

    # Erin commits the first order: cost center CC300 now has 340.00 more committed.
    assert ui_service.decide(first.id, "erin", "approve").status == "committed"
    at.run()
    assert "still say the same" in one_line(no_exception(at), "success")  # the check is cached

    at.button(key="check_again").click().run()

    assert one_line(no_exception(at), "warning").startswith("1 of 4 ERP reads it relied on changed")
    changed = [line for line in evidence_lines(at) if ":orange[changed since the proposal" in line]
    assert len(changed) == 1 and "check budget (cost_center=CC300)" in changed[0] and "3 fields" in changed[0]
    changes = next(df.value for df in at.dataframe if list(df.value.columns) == ["field", "then", "now"])
    by_field = {
        row.field: (Decimal(row.then), Decimal(row.now))
        for row in changes.itertuples()
        if "amount" in row.field
    }
    assert by_field["committed.amount"][1] - by_field["committed.amount"][0] == Decimal("340.00")
    assert by_field["available.amount"][0] - by_field["available.amount"][1] == Decimal("340.00")


# ---- decisions -------------------------------------------------------------------------------


def test_bob_approves_alices_purchase_order_and_sees_it_committed(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.button(key="approve").click().run()

    committed = ui_service.proposal(po.id)
    assert committed.status == "committed"
    document = committed.receipt["document_id"]  # type: ignore[index]
    assert (
        one_line(no_exception(at), "success") == f"Approved: {po.id} is committed — purchase order {document}"
    )
    assert "proposal" not in at.query_params
    assert listed(at) == []
    assert one_line(at, "info").startswith("Nothing waits for you.")


def test_bobs_approval_of_a_large_order_says_it_still_needs_another_approver(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice", quantity=12000)  # 10,200.00: over 10k needs two
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.button(key="approve").click().run()

    assert (
        texts(no_exception(at).info)[0]
        == f"Your approval of {po.id} is recorded; it still needs 1 more approver."
    )
    assert ui_service.proposal(po.id).status == "pending"
    assert listed(at) == []  # bob cannot approve it twice: it left his list

    at.toggle(key="include_blocked").set_value(True).run()
    row = at.get_by_key(f"inbox-item-{po.id}")
    captions = " ".join(texts(row.caption)).replace("\\", "")  # markdown escapes
    assert "you already approved it" in captions
    assert "approved by bob (1 of 2)" in captions


def test_rejecting_without_a_reason_is_refused_in_one_line_and_stays_pending(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_area(key="reject_reason").input("   ")
    at.button(key="reject").click().run()

    assert one_line(no_exception(at)).startswith("A rejection needs a reason")
    assert ui_service.proposal(po.id).status == "pending"
    assert ui_service.proposal(po.id).approvals == []
    assert "proposal-detail" in container_keys(at)


def test_bob_rejects_alices_purchase_order_with_a_reason(ui_service: AgentService, app_as: AppAs) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_area(key="reject_reason").input("CC300 is frozen until March")
    at.button(key="reject").click().run()

    assert one_line(no_exception(at), "success").startswith(f"Rejected: {po.id}")
    rejected = ui_service.proposal(po.id)
    assert rejected.status == "rejected"
    assert rejected.approvals[-1].actor == "bob"
    assert rejected.approvals[-1].reason == "CC300 is frozen until March"
    assert listed(at) == []


def test_bob_edits_the_quantity_slightly_and_the_order_is_committed_with_it(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice", quantity=400)
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_input(key="edit-lines.0.quantity").input("410")
    at.text_input(key="edit_reason").input("round up to full boxes")
    at.button(key="submit_edit").click().run()

    edited = ui_service.proposal(po.id)
    assert edited.payload["lines"][0]["quantity"] == "410"
    assert edited.status == "committed"
    assert edited.approvals[-1].edits == {"lines.0.quantity": "410"}  # only the changed field was sent
    assert edited.approvals[-1].reason == "round up to full boxes"
    assert one_line(no_exception(at), "success").startswith(f"Edited and approved: {po.id} is committed")


def test_an_edit_beyond_the_tolerance_is_saved_but_needs_someone_else_to_approve(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice", quantity=400)
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_input(key="edit-lines.0.quantity").input("300")
    at.button(key="submit_edit").click().run()

    revised = ui_service.proposal(po.id)
    assert revised.payload["lines"][0]["quantity"] == "300"
    assert revised.status == "pending"
    assert "someone else must approve it now" in texts(no_exception(at).info)[0]
    assert "bob changed this proposal beyond" in (
        ui_service.decision_blocker(revised, ui_service.user("bob")) or ""
    )


def test_the_edit_form_offers_how_much_and_never_who_or_what(ui_service: AgentService, app_as: AppAs) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    keys = {str(t.key) for t in at.text_input}
    assert "edit-lines.0.quantity" in keys
    assert not keys & {"edit-supplier_code", "edit-cost_center", "edit-lines.0.product_code"}


def test_an_approval_clicked_after_someone_else_edited_the_proposal_is_refused(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice", quantity=400)
    at = open_detail(app_as("bob", "inbox"), po.id)
    # Carol changes it while Bob is reading the 400 he is about to approve.
    ui_service.decide(po.id, "carol", "edit", edits={"quantity": "300"})

    at.button(key="approve").click().run()

    assert "was edited after you looked at it" in one_line(no_exception(at))
    after = ui_service.proposal(po.id)
    assert after.status == "pending" and after.current_approvals() == []


def test_saving_the_edit_form_unchanged_sends_nothing(ui_service: AgentService, app_as: AppAs) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_input(key="edit-lines.0.quantity").input("400.00")  # the same quantity, written differently
    at.button(key="submit_edit").click().run()

    assert one_line(no_exception(at), "info").startswith("Nothing changed")
    assert ui_service.proposal(po.id).approvals == []


def test_a_quantity_that_is_not_a_number_is_refused_in_one_line(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.text_input(key="edit-lines.0.quantity").input("four hundred")
    at.button(key="submit_edit").click().run()

    assert "Line 1: quantity must be a number" in one_line(no_exception(at))
    assert ui_service.proposal(po.id).payload["lines"][0]["quantity"] == "400"


def test_carol_sees_why_she_cannot_approve_her_own_request_and_her_click_is_refused(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "carol")
    at = no_exception(app_as("carol", "inbox"))
    assert listed(at) == []
    assert one_line(at, "info").startswith("Nothing waits for you.")

    at.toggle(key="include_blocked").set_value(True).run()
    assert listed(no_exception(at)) == [po.id]
    assert "1 you cannot decide" in " ".join(texts(at.caption))
    open_detail(at, po.id)
    assert "segregation of duties" in one_line(at, "warning")

    at.button(key="approve").click().run()

    refusal = one_line(no_exception(at))
    assert "carol requested this; the approver must be someone else (segregation of duties)" in refusal
    assert ui_service.proposal(po.id).status == "pending"
    assert "proposal-detail" in container_keys(at)
    assert "access_denied" in [record.type for record in ui_service.story(po.id)]  # the attempt is on record


def test_erin_approving_after_bob_is_told_it_was_already_approved_by_bob(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("erin", "inbox"), po.id)

    ui_service.decide(po.id, "bob", "approve")  # while erin still looks at it
    at.button(key="approve").click().run()

    assert f"proposal {po.id} was already approved by bob (now committed)" in one_line(no_exception(at))
    assert [d.actor for d in ui_service.proposal(po.id).approvals] == ["bob"]


def test_someone_without_an_approver_role_who_reaches_the_page_is_told_in_one_line(
    ui_service: AgentService,
) -> None:
    # Navigation never offers dave (an auditor) this page, so run the page file on its own.
    at = AppTest.from_file(str(Path(runtime.__file__).with_name("views") / "inbox.py"), default_timeout=60)
    at.session_state[runtime.USER_KEY] = "dave"
    at.run()
    no_exception(at)

    assert "needs the approver or finance director role" in one_line(at, "warning")
    assert not at.button  # no list, no decision

"""The inbox detail as an approver reads it: business terms on one screen, risk flags, the value an
approver changed everywhere it is shown, an edit form that says its tolerance first, and a refused
click answered beside the button that was clicked.

Requests are filed through real chat turns or the propose tools; decisions commit inline.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from agent.service import AgentService, Proposal
from tests.integration.ui.conftest import AppAs, file_purchase_order

FLAG_ICON = ":material/flag:"


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_detail(at: AppTest, proposal_id: str) -> AppTest:
    at.button(key=f"open-{proposal_id}").click().run()
    return no_exception(at)


def shown(elements: object) -> list[str]:
    """Texts as a person reads them (without the markdown escapes ERP text is shown with)."""
    return [str(e.value).replace("\\", "").replace("**", "") for e in elements]  # type: ignore[attr-defined]


def page_text(at: AppTest) -> str:
    return "\n".join(shown(at.markdown) + shown(at.caption))


def credit_limit_change(svc: AgentService, new_limit: str) -> Proposal:
    proposal = svc.call_tool(
        "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": new_limit}, "alice"
    )
    assert isinstance(proposal, Proposal)
    return proposal


def test_the_detail_shows_the_purchase_order_in_business_terms(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")

    at = open_detail(app_as("bob", "inbox"), po.id)

    text = page_text(at)
    assert (
        "Purchase order to Fastenal Brasil Ltda (F00001) for 400 PC Hex bolt M8 x 40 mm zinc plated "
        "(HB-M8-40), BRL 340.00 — charged to Maintenance (CC300)" in text
    )
    assert (
        "What Alice Almeida (alice) asked, in their own words" in text
        and "> order 400 hex bolts M8 from Fastenal" in text
    )
    assert "The agent's rationale" in text
    assert "available BRL 179,850.00 → BRL 179,510.00 after this" in text
    assert (
        "470 PC available (reorder point 500) · 500 on open purchase orders · 1,370 once this arrives" in text
    )
    lines = next(df.value for df in at.dataframe if "line total" in df.value.columns)
    assert list(lines.columns) == ["item", "quantity", "unit price", "line total"]
    assert lines.iloc[0].tolist() == [
        "Hex bolt M8 x 40 mm zinc plated (HB-M8-40)",
        "400 PC",
        "BRL 0.85 (standard cost)",
        "BRL 340.00",
    ]
    assert any(e.label.startswith("The conversation that led to it") for e in at.expander)


def test_the_detail_flags_another_waiting_order_for_the_same_bolts(
    ui_service: AgentService, app_as: AppAs
) -> None:
    alices = file_purchase_order(ui_service, "alice")
    carols = file_purchase_order(ui_service, "carol", quantity=100)

    at = open_detail(app_as("bob", "inbox"), alices.id)

    flags = shown(w for w in at.warning if w.icon == FLAG_ICON)
    assert any(f.startswith("Open purchase orders already order Hex bolt M8 x 40 mm") for f in flags)
    assert any(f.startswith(f"{carols.id} for the same product HB-M8-40 is also waiting") for f in flags)


def test_a_credit_limit_change_shows_now_to_proposed_and_its_flag(
    ui_service: AgentService, app_as: AppAs
) -> None:
    proposal = credit_limit_change(ui_service, "80000")

    at = open_detail(app_as("bob", "inbox"), proposal.id)

    assert "Credit limit: BRL 50,000.00 → BRL 80,000.00 (+60.0%)" in page_text(at)
    flags = shown(w for w in at.warning if w.icon == FLAG_ICON)
    assert "The credit limit moves +60.0%; the policy flags changes beyond ±25%." in flags


def test_after_bobs_edit_carol_sees_the_edited_limit_and_who_changed_it(
    ui_service: AgentService, app_as: AppAs
) -> None:
    proposal = credit_limit_change(ui_service, "80000")
    ui_service.decide(proposal.id, "bob", "edit", edits={"new_limit": "70000"})

    at = open_detail(app_as("carol", "inbox"), proposal.id)

    headline = next(m for m in shown(at.markdown) if m.startswith("Change the credit limit"))
    assert headline == (
        "Change the credit limit of Padaria Estrela Ltda (C00001) from BRL 50,000.00 to BRL 70,000.00 (+40.0%)"
    )
    assert "Credit limit: BRL 50,000.00 → BRL 70,000.00 (+40.0%)" in page_text(at)
    assert shown(i for i in at.info if i.icon == ":material/edit:") == [
        "Changed by bob since the agent proposed it: new limit from 80,000.00 to 70,000.00."
    ]


def test_the_edit_form_states_the_tolerance_before_saving_and_names_its_button(
    ui_service: AgentService, app_as: AppAs
) -> None:
    proposal = credit_limit_change(ui_service, "60000")

    at = open_detail(app_as("bob", "inbox"), proposal.id)

    assert (
        "Tolerance: ±5% of the amount first proposed, BRL 60,000.00 (BRL 57,000.00 to BRL 63,000.00)"
        in page_text(at)
    )
    assert at.button(key="submit_edit").label == "Approve with these changes"
    labels = [t.label for t in at.text_input]
    assert "Reason written to the ERP" in labels  # the command's own reason, not the approver's note
    assert any(label.startswith("Your note to the requester") for label in labels)


def test_rejecting_without_a_reason_is_answered_beside_the_reject_button(
    ui_service: AgentService, app_as: AppAs
) -> None:
    po = file_purchase_order(ui_service, "alice")
    at = open_detail(app_as("bob", "inbox"), po.id)

    at.button(key="reject").click().run()

    no_exception(at)
    beside = [c for c in at.columns if any(b.key == "reject" for b in c.button)]
    assert len(beside) == 1
    assert shown(beside[0].error) == [
        "A rejection needs a reason: write it in the box above Reject, then click Reject again."
    ]
    assert len(at.error) == 1  # nowhere else: not at the top of the page
    assert ui_service.proposal(po.id).status == "pending"

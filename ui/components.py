"""Pieces several pages show: a proposal card, status badges, amounts and ages in words."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import streamlit as st

from agent.service import COMPANY_CURRENCY, Proposal, describe_amendments

STATUS_BADGE: dict[str, tuple[str, str]] = {
    # status: (label, colour of st.badge)
    "pending": ("waiting for approval", "orange"),
    "approved": ("approved, queued for the ERP", "blue"),
    "committing": ("being written to the ERP", "blue"),
    "committed": ("committed", "green"),
    "rejected": ("rejected", "red"),
    "expired": ("expired", "gray"),
    "failed": ("failed in the ERP", "red"),
}
IN_FLIGHT = frozenset({"pending", "approved", "committing"})
ACTION_LABEL: dict[str, str] = {
    "create_purchase_order": "Purchase order",
    "post_journal_entry": "Journal entry",
    "change_credit_limit": "Credit limit change",
    "cancel_sales_order": "Sales order cancellation",
    "change_price": "Price change",
    "cancel_purchase_order": "Purchase order cancellation",
}


UNTRUSTED_MARKERS = re.compile(r"</?untrusted>")


def without_untrusted_markers(value: Any) -> Any:
    """ERP data as people read it: the <untrusted> markers fence ERP free text off from the model,
    people do not need them. Works through JSON lists and objects."""
    if isinstance(value, str):
        return UNTRUSTED_MARKERS.sub("", value)
    if isinstance(value, list):
        return [without_untrusted_markers(item) for item in value]
    if isinstance(value, dict):
        return {key: without_untrusted_markers(item) for key, item in value.items()}
    return value


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``plural(1, "request")`` → "1 request"; ``plural(13, "request")`` → "13 requests"."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def action_label(action: str) -> str:
    return ACTION_LABEL.get(action, action.replace("_", " ").capitalize())


def status_badge(status: str) -> None:
    label, colour = STATUS_BADGE.get(status, (status, "gray"))
    st.badge(label, color=colour)  # type: ignore[arg-type]


def money(amount: Decimal | str | None) -> str:
    """An amount in the company currency (gates and inbox amounts are), always with its currency."""
    if amount is None or amount == "":
        return "—"
    return f"{COMPANY_CURRENCY} {Decimal(str(amount)):,.2f}"


def age(delta: timedelta) -> str:
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def payload_rows(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The command's fields as label/value rows (lines flattened), without internal versions."""
    rows: list[dict[str, str]] = []
    for key, value in payload.items():
        if key in ("action", "based_on"):
            continue
        if isinstance(value, list):
            for index, item in enumerate(value, start=1):
                for sub, sub_value in item.items() if isinstance(item, dict) else [("value", item)]:
                    if sub_value not in (None, ""):
                        rows.append(
                            {"field": f"line {index} {sub.replace('_', ' ')}", "value": str(sub_value)}
                        )
        elif value not in (None, ""):
            rows.append({"field": key.replace("_", " "), "value": str(value)})
    return rows


def erp_document(proposal: Proposal) -> str | None:
    """The ERP document a committed proposal created, as a person would name it."""
    receipt = proposal.receipt or {}
    if not receipt:
        return None
    number = receipt.get("document_id")
    kind = str(receipt.get("document_type") or "document").replace("_", " ")
    return f"{kind} {number}" if number else str(receipt.get("summary") or "")


def proposal_card(proposal: Proposal, *, show_evidence: bool = True) -> None:
    """Action, fields, amount, evidence and live status of one proposal, in a bordered box."""
    with st.container(border=True, key=f"proposal-{proposal.id}"):
        top = st.columns([3, 2])
        top[0].markdown(f"**{action_label(proposal.action)}** · `{proposal.id}`")
        with top[1]:
            status_badge(proposal.status)
        st.write(proposal.summary)
        amount = proposal.gate.get("amount")
        st.caption(
            f"Amount {money(amount)} · requested by {proposal.on_behalf_of} · {when(proposal.created_at)}"
        )
        rows = payload_rows(proposal.payload)
        if rows:  # a static table: the card may refresh every few seconds, a grid would flicker
            st.table(
                {"field": [r["field"] for r in rows], "value": [r["value"] for r in rows]},
                hide_index=True,
                border="horizontal",
            )
        if show_evidence and proposal.evidence:
            with st.expander(f"Evidence: {len(proposal.evidence)} ERP read(s) it relied on"):
                for item in proposal.evidence:
                    st.markdown(f"- `{item.tool}` {item.args} — digest `{item.digest[:12]}…`")
        changed = describe_amendments(proposal)
        if changed:
            # The requester must never take an approver's figures for their own request.
            when_ = (
                "before approving it" if proposal.status in ("committed", "approved", "committing") else ""
            )
            st.info(f"Note: {changed} {when_}".rstrip() + ".", icon=":material/edit:")
        document = erp_document(proposal)
        if proposal.status == "committed" and document:
            st.success(f"Committed in the ERP: {document}", icon=":material/check_circle:")
        elif proposal.status == "failed":
            st.error(f"The ERP refused it: {proposal.error or 'no reason given'}")
        elif proposal.status == "rejected" and proposal.approvals:
            last = proposal.approvals[-1]
            st.warning(f"Rejected by {last.actor}: {last.reason or 'no reason given'}")
        elif proposal.status == "pending":
            approved = [d.actor for d in proposal.current_approvals()]
            needs = proposal.gate.get("approvals_required", 1)
            so_far = f"; approved so far by {', '.join(approved)}" if approved else ""
            st.info(f"Waiting for {needs} approval(s){so_far}. Nothing is written to the ERP until then.")

"""The approver's view of one proposal, drawn: what it means in business terms, on one screen.

The service computes the read model (``AgentService.approver_view``); this module only lays it
out: the requester's words and the agent's rationale, names beside codes, money with currency,
before → after, the budget and stock it touches, risk flags, what an approver changed, and the
conversation turn that led to it. It is general over every action: each part shows when the view
has it. ERP text may hold markdown, so every value goes through ``plain``.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from agent.service import ApproverView, percent_text

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#$~|:])")


def plain(text: object) -> str:
    """Text shown as it is: ERP names and requests may hold markdown (or be crafted to)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _quantity(line: Any) -> str:
    if line.quantity is None:
        return ""
    return " ".join(filter(None, (f"{line.quantity:,}", line.unit)))


def line_rows(view: ApproverView) -> list[dict[str, str]]:
    """The lines as table rows, with only the columns this kind of proposal has."""
    columns = {
        "quantity": any(ln.quantity is not None for ln in view.lines),
        "unit price": any(ln.unit_price is not None for ln in view.lines),
        "debit": any(ln.debit is not None for ln in view.lines),
        "credit": any(ln.credit is not None for ln in view.lines),
        "line total": any(ln.total is not None for ln in view.lines),
    }
    rows = []
    for line in view.lines:
        values = {
            "quantity": _quantity(line),
            "unit price": ""
            if line.unit_price is None
            else str(line.unit_price) + (f" ({line.note})" if line.note else ""),
            "debit": "" if line.debit is None else str(line.debit),
            "credit": "" if line.credit is None else str(line.credit),
            "line total": "" if line.total is None else str(line.total),
        }
        rows.append({"item": str(line.item), **{k: v for k, v in values.items() if columns[k]}})
    return rows


def request_part(view: ApproverView, requester: str) -> None:
    if view.request:
        st.markdown(f"**What {plain(requester)} asked, in their own words**")
        st.markdown("> " + plain(view.request))
    if view.rationale:
        st.markdown("**The agent's rationale**")
        st.markdown(plain(view.rationale))
    if view.conversation:
        with st.expander(
            f"The conversation that led to it ({plain(view.thread_id)})", icon=":material/forum:"
        ):
            for line in view.conversation:
                who = requester if line.role == "requester" else "Countersign agent"
                st.markdown(f"**{plain(who)}:** {plain(line.text)}")
    elif not view.request:
        st.caption("It was not filed from a conversation (an ERP event or a reconciliation).")


def flags_part(view: ApproverView) -> None:
    if not view.flags:
        st.caption(":material/verified: No risk flags: nothing else waits or is open for the same thing.")
        return
    for flag in view.flags:
        st.warning(plain(flag.text), icon=":material/flag:")


def amended_part(view: ApproverView) -> None:
    if not view.amended:
        return
    who = " and ".join(view.amended_by) or "an approver"
    changes = "; ".join(str(a) for a in view.amended)
    st.info(
        f"Changed by {plain(who)} since the agent proposed it: {plain(changes)}.",
        icon=":material/edit:",
    )


def money_part(view: ApproverView) -> None:
    """Parties, lines, total, before → after, budget and stock."""
    if view.parties:
        st.markdown(" · ".join(f"**{plain(p.role)}:** {plain(p)}" for p in view.parties))
    if view.lines:
        st.dataframe(line_rows(view), hide_index=True, width="stretch", key="view-lines")
    if view.total is not None and not view.changes:
        st.markdown(f"**Total:** {plain(view.total)}")
    for change in view.changes:
        before = plain(change.before) if change.before is not None else "unknown today"
        st.markdown(
            f"**{plain(change.label)}:** {before} → {plain(change.after)} ({percent_text(change.percent)})"
        )
    if view.budget is not None:
        budget = view.budget
        st.markdown(
            f"**Budget of {plain(budget.cost_center)} {budget.year}:** available {plain(budget.before)} → "
            f"{plain(budget.after)} after this (annual {plain(budget.annual)})"
        )
    for stock in view.stock:
        st.markdown(
            f"**Stock of {plain(stock.product)}:** {stock.available:,} {plain(stock.unit)} available "
            f"(reorder point {stock.reorder_point:,}) · {stock.on_order:,} on open purchase orders · "
            f"{stock.after:,} once this arrives"
        )
    for label, text in view.notes:
        st.markdown(f"**{plain(label)}:** {plain(text)}")
    for unread in view.unread:
        st.caption(f":material/sync_problem: Could not read {plain(unread)}")


def approver_view(view: ApproverView, requester: str) -> None:
    """The whole view, top to bottom: words, flags, what it will write in business terms."""
    with st.container(key="approver-view"):
        request_part(view, requester)
        amended_part(view)
        st.subheader("Risk flags", anchor=False)
        flags_part(view)
        st.subheader("What it will write", anchor=False)
        money_part(view)

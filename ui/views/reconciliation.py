"""Reconciliation: what Countersign meant to write against what landed in the ERP.

For auditors. The standing job runs passes on its own; this page shows the latest one, runs one on
request (its progress shown as it goes), and lists the discrepancies found: missing, duplicate,
divergent, orphan or unauthorized writes. Each discrepancy gets a compensating proposal that
approvers decide in their inbox like any write, so the page shows that proposal's status and who
must approve it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from agent.service import AgentService, Discrepancy, Proposal, RunReport
from ui import components, feedback, runtime

KIND_LABEL: dict[str, str] = {
    "missing": "missing: approved but never landed",
    "duplicate": "duplicate: landed more than once",
    "divergent": "divergent: landed other than approved",
    "orphan": "orphan: claims a key no proposal has",
    "unauthorized": "unauthorized: landed with no approving decision in the audit trail",
}
DISCREPANCY_BADGE: dict[str, tuple[str, str]] = {
    "open": ("open", "red"),
    "compensating": ("compensation filed", "orange"),
    "resolved": ("resolved", "green"),
}


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:.1f} s" if seconds < 60 else components.age(delta)


# ---- runs ------------------------------------------------------------------------------------


def _summary(report: RunReport) -> str:
    if report.found == 0:
        return f"Run #{report.run_id}: no discrepancies. Every approved write landed once, as approved."
    return (
        f"Run #{report.run_id}: {report.found} discrepancy(ies), {report.new} new; each new one has a "
        "compensating proposal waiting in the approvers' inbox."
    )


def _run_pass(svc: AgentService) -> None:
    """One pass now, its progress lines shown as they come, then its summary."""
    with st.status("Comparing intended writes with the ERP…", expanded=True) as status:
        report = feedback.run(lambda: svc.reconcile(progress=lambda text: status.write(f"… {text}")))
        if report is None:
            status.update(label="The reconciliation pass did not finish", state="error")
            return
        status.update(label=f"Reconciliation #{report.run_id} finished", state="complete", expanded=False)
    if report.found:
        st.warning(_summary(report), icon=":material/warning:")
    else:
        st.success(_summary(report), icon=":material/check_circle:")


def _latest_run(report: RunReport | None) -> None:
    st.subheader("Latest run")
    if report is None:
        st.info(
            "No reconciliation has run yet: press **Run now** to compare every approved write with what "
            "the ERP holds.",
            icon=":material/info:",
        )
        return
    columns = st.columns(5)
    columns[0].metric("Intended writes", report.intents)
    columns[1].metric("Ledger entries", report.ledger_entries)
    columns[2].metric("Keyed ERP documents", report.documents)
    columns[3].metric("Discrepancies", report.found, delta=f"{report.new} new" if report.new else None)
    columns[4].metric(
        "Confirmed from the ledger", report.healed, help="Landed writes whose result never came back"
    )
    if report.finished_at is None and report.error is None:
        st.caption(f"Run #{report.run_id} started {components.when(report.started_at)} and is still running.")
    elif report.finished_at is not None:
        took = _duration(report.finished_at - report.started_at)
        st.caption(f"Run #{report.run_id} at {components.when(report.started_at)}, took {took}.")
    if report.error:
        st.error(f"Run #{report.run_id} stopped: {report.error}", icon=":material/error:")


# ---- discrepancies ---------------------------------------------------------------------------


def _documents(item: Discrepancy) -> str:
    if not item.document_ids:
        return "—"
    return f"{(item.document_type or 'document').replace('_', ' ')} {', '.join(item.document_ids)}"


def _row(item: Discrepancy, include_resolved: bool) -> dict[str, Any]:
    row = {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "key": item.idempotency_key,
        "action": components.action_label(item.action) if item.action else "—",
        "documents": _documents(item),
        "detail": item.detail,
        "first seen": components.when(item.first_seen_at),
        "last seen": components.when(item.last_seen_at),
    }
    if include_resolved:
        row["resolved"] = components.when(item.resolved_at) if item.resolved_at else ""
    return row


def _who_approves(gate: dict[str, Any]) -> str:
    count = int(gate.get("approvals_required") or 1)
    roles = " or ".join(str(r).replace("_", " ") for r in gate.get("approver_roles") or []) or "approver"
    required = gate.get("required_role")
    one_of = f", one of them a {str(required).replace('_', ' ')}" if required else ""
    people = "1 person" if count == 1 else f"{count} different people"
    return f"{people} with the role {roles}{one_of}"


def _compensation_state(compensation: Proposal) -> str:
    """Where the compensating proposal stands, and who has to act on it."""
    gate = compensation.gate
    if compensation.status == "pending":
        approved = [d.actor for d in compensation.current_approvals()]
        so_far = f" (approved so far by {', '.join(approved)})" if approved else ""
        return f"Waits in the Approvals inbox for {_who_approves(gate)}{so_far}."
    if compensation.status == "committed":
        return f"Committed in the ERP: {components.erp_document(compensation) or 'see the receipt'}."
    if compensation.status == "failed":
        return f"The ERP refused it: {compensation.error or 'no reason given'}."
    decided = compensation.decided_by
    return f"{compensation.status.capitalize()}" + (f" by {decided}." if decided else ".")


def _compensation(svc: AgentService, item: Discrepancy) -> None:
    """One discrepancy: what was found, then its compensating proposal and where that stands."""
    with st.container(border=True, key=f"discrepancy-{item.id}"):
        found, found_status = st.columns([5, 1])
        found.markdown(f"**{item.id}** · {KIND_LABEL.get(item.kind, item.kind)} · {_documents(item)}")
        label, colour = DISCREPANCY_BADGE.get(item.status, (item.status, "gray"))
        with found_status:
            st.badge(label, color=colour)  # type: ignore[arg-type]
        st.caption(item.detail)
        if item.compensation_id is None:
            st.markdown(f"No compensating proposal: {item.compensation_note or 'none was filed'}")
            return
        compensation = feedback.run(lambda: svc.proposal(str(item.compensation_id)))
        if compensation is None:
            return
        fix, fix_status = st.columns([5, 1])
        fix.markdown(f"Compensation `{compensation.id}`: {item.compensation_note or compensation.summary}")
        with fix_status:
            components.status_badge(compensation.status)
        st.caption(_compensation_state(compensation))


def _discrepancies(svc: AgentService, has_run: bool) -> None:
    st.subheader("Discrepancies")
    include_resolved = st.toggle("Include resolved", key="include_resolved")
    items = feedback.run(lambda: svc.discrepancies(include_resolved=include_resolved))
    if items is None:
        return
    if not items:
        if not has_run:
            st.info("Nothing has been checked yet: run a pass to look for discrepancies.")
        elif include_resolved:
            st.info("No discrepancy has ever been found: every approved write landed once, as approved.")
        else:
            st.info("No open discrepancies: every approved write landed once, as approved.")
        return
    st.dataframe([_row(item, include_resolved) for item in items], hide_index=True, width="stretch")
    st.markdown("**Compensations**")
    for item in items:
        _compensation(svc, item)


# ---- page ------------------------------------------------------------------------------------


def render() -> None:
    runtime.require_user()
    svc = runtime.service()
    title, action = st.columns([5, 1], vertical_alignment="bottom")
    title.title("Reconciliation")
    run_now = action.button("Run now", key="run_now", icon=":material/play_arrow:", type="primary")
    st.caption(
        "Compares every approved write with what landed in the ERP and files a compensating proposal for "
        "each discrepancy; a standing job also runs it on a schedule."
    )
    if run_now:
        _run_pass(svc)
    # Wrapped in a tuple: None from feedback.run means an error was shown, not "no run yet".
    latest = feedback.run(lambda: (svc.latest_reconciliation(),))
    if latest is None:
        return
    _latest_run(latest[0])
    _discrepancies(svc, has_run=latest[0] is not None)


render()

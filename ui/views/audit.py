"""Audit: check the hash chain, search the trail, and read one action's story from request to receipt.

For auditors. The chain's status sits at the top; verifying recomputes every hash of the trail, so
the last result is kept in the session with its time and only re-run on "Verify now". The search
narrows by proposal, idempotency key, person (as actor or as the one an identity acted for) and a
range of UTC days. A proposal id, typed, picked from the results or given in the URL
(``?proposal=P-…``), opens that action's story as a timeline, each step with its record hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from agent.service import AgentService, AuditRecord, Proposal, VerifyReport
from ui import components, feedback, runtime

VERIFIED_KEY = "audit_verification"
PROPOSAL_KEY = "proposal"  # also the URL query parameter of a deep link
LIMIT = 500

DECISION_VERBS: dict[str, tuple[str, str]] = {
    # decision: (icon, what the person did)
    "approve": (":material/check_circle:", "approved"),
    "edit": (":material/edit:", "edited and approved"),
    "revise": (":material/undo:", "sent back for revision"),
    "reject": (":material/cancel:", "rejected"),
    "expire": (":material/timer_off:", "let it expire"),
}
REFUSALS = frozenset({"access_denied", "token_refused", "rate_limited"})


@dataclass(frozen=True)
class Verification:
    """A verification as the page shows it: the report, the head it reached and when it ran."""

    report: VerifyReport
    head: AuditRecord | None
    checked_at: datetime


@dataclass(frozen=True)
class Filters:
    proposal_id: str | None
    idempotency_key: str | None
    user_id: str | None
    since: datetime | None
    until: datetime | None


# ---- chain verification ----------------------------------------------------------------------


def _verify(svc: AgentService) -> Verification:
    # The head is read first, so the verification that follows covers it.
    newest = svc.audit_search(limit=1)
    report = svc.verify_audit(against_erp=True)
    return Verification(report, newest[0] if newest else None, datetime.now(UTC))


def _show_verification(checked: Verification) -> None:
    report = checked.report
    if not report.ok:
        where = f"first bad record #{report.first_bad_seq}: " if report.first_bad_seq is not None else ""
        st.error(f"Audit trail NOT verified: {where}{report.problem}", icon=":material/gpp_bad:")
    elif checked.head is None:
        st.success("Audit trail verified ✓: it holds no records yet.", icon=":material/verified_user:")
    else:
        st.success(
            f"Audit trail verified ✓: {report.records_checked} records and "
            f"{components.plural(report.checkpoints_checked, 'signed checkpoint')} intact; head #{checked.head.seq} "
            f"`{checked.head.hash}`",
            icon=":material/verified_user:",
        )
    ago = components.age(datetime.now(UTC) - checked.checked_at)
    ago = ago if ago == "just now" else f"{ago} ago"
    st.caption(f"Checked {components.when(checked.checked_at)} ({ago}).")
    for warning in report.warnings:  # each its own line: run together they read as one sentence
        st.caption(f"⚠ {warning[:1].upper()}{warning[1:]}.")


def _verification(svc: AgentService) -> None:
    status, action = st.columns([5, 1], vertical_alignment="center")
    clicked = action.button("Verify now", key="verify_now", icon=":material/refresh:")
    if clicked or VERIFIED_KEY not in st.session_state:
        with status, st.spinner("Recomputing every record's hash and checking the signed checkpoints…"):
            checked = feedback.run(lambda: _verify(svc))
        if checked is not None:
            st.session_state[VERIFIED_KEY] = checked
    # Not isinstance: the page script runs anew each time, so its classes are new objects each run.
    last = st.session_state.get(VERIFIED_KEY)
    if last is not None:
        with status:
            _show_verification(last)


# ---- search ----------------------------------------------------------------------------------


def _day_range(picked: Any) -> tuple[datetime | None, datetime | None]:
    """A picked range of UTC days as a half-open time range; one picked day is that day."""
    days = [d for d in (picked if isinstance(picked, tuple | list) else (picked,)) if isinstance(d, date)]
    if not days:
        return None, None
    start, end = min(days), max(days)
    return datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC)


def _filters() -> Filters:
    proposal, key, user, days = st.columns([2, 3, 2, 3])
    proposal_id = proposal.text_input(
        "Proposal id", key=PROPOSAL_KEY, bind="query-params", placeholder="P-…", help="Opens its story below."
    )
    idempotency_key = key.text_input("Idempotency key", key="audit_key")
    user_id = user.text_input("User", key="audit_user", help="As the actor or as the person acted for.")
    picked = days.date_input("Dates (UTC)", value=[], key="audit_dates", help="Leave empty for all time.")
    since, until = _day_range(picked)
    return Filters(
        (proposal_id or "").strip() or None,
        idempotency_key.strip() or None,
        user_id.strip() or None,
        since,
        until,
    )


def _nothing_found(filters: Filters) -> str:
    hints = []
    if filters.since is not None:
        hints.append("widen the dates or clear them")
    if filters.proposal_id or filters.idempotency_key:
        hints.append("check the proposal id or key")
    if filters.user_id:
        hints.append("check the user id (as people sign in, e.g. alice)")
    if not hints:
        return (
            "The audit trail holds no records yet: they appear as soon as someone asks the agent to read "
            "or change something in the ERP."
        )
    return f"No records match: {', '.join(hints)}."


def _row(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "time (UTC)": f"{record.ts:%Y-%m-%d %H:%M:%S}",
        "type": record.type,
        "actor": record.actor,
        "on behalf of": record.on_behalf_of or "",
        "tool": record.tool or "",
        "proposal": record.proposal_id or "",
        "key": record.idempotency_key or "",
    }


def _open_picked() -> None:
    # A bound widget is changed through the session state, before it is drawn on the next run.
    st.session_state[PROPOSAL_KEY] = st.session_state.get("audit_pick") or ""


def _results(records: list[AuditRecord], filters: Filters) -> None:
    if not records:
        st.info(_nothing_found(filters), icon=":material/search_off:")
        return
    more = (
        f"; the newest {LIMIT} are shown, narrow the search for older ones" if len(records) >= LIMIT else ""
    )
    st.caption(f"{components.plural(len(records), 'record')}, newest first{more}.")
    st.dataframe(
        [_row(r) for r in records],
        hide_index=True,
        width="stretch",
        # Narrow where the value is short, so every column fits the page without scrolling sideways.
        column_config={
            "seq": st.column_config.NumberColumn(width=60),
            "time (UTC)": st.column_config.TextColumn(width=150),
            "type": st.column_config.TextColumn(width=105),
            "actor": st.column_config.TextColumn(width=140),
            "on behalf of": st.column_config.TextColumn(width=95),
            "tool": st.column_config.TextColumn(width=170),
            "proposal": st.column_config.TextColumn(width=110),
            "key": st.column_config.TextColumn(width=110),
        },
    )
    proposals = list(dict.fromkeys(r.proposal_id for r in records if r.proposal_id))
    if proposals and filters.proposal_id is None:
        st.selectbox(
            "Open one action's story",
            proposals,
            index=None,
            placeholder="Pick a proposal from the results",
            key="audit_pick",
            on_change=_open_picked,
        )


# ---- one action's story ----------------------------------------------------------------------


def _who(record: AuditRecord) -> str:
    acted_for = record.on_behalf_of and record.on_behalf_of != record.actor
    return f"{record.actor} for {record.on_behalf_of}" if acted_for else record.actor


def _gate_line(gate: dict[str, Any]) -> str:
    return f"rule `{gate.get('rule')}` of policy {gate.get('policy_version')}"


def _proposal_step(record: AuditRecord) -> tuple[str, str, list[str]]:
    details, gate = record.details, record.gate or {}
    lines = []
    if details.get("request"):
        lines.append(f"Asked: “{details['request']}”")
    if details.get("discrepancy"):
        lines.append(
            f"Filed by reconciliation for discrepancy {details['discrepancy']}: {details.get('finding')}"
        )
    needs = gate.get("approvals_required")
    lines.append(
        f"Gate: {_gate_line(gate)}, {gate.get('mode')} mode, {components.plural(int(needs or 1), 'approval')} required"
    )
    lines.append(
        f"Relied on {components.plural(len(record.evidence), 'ERP read')}; idempotency key `{record.idempotency_key}`"
    )
    return ":material/edit_note:", f"Proposed: {details.get('summary') or record.tool}", lines


def _decision_step(record: AuditRecord) -> tuple[str, str, list[str]]:
    details, gate = record.details, record.gate or {}
    icon, verb = DECISION_VERBS.get(str(details.get("decision")), (":material/gavel:", "decided"))
    lines = [f"Reason: {details['reason']}"] if details.get("reason") else []
    edits = details.get("edits") or {}
    if edits:
        lines.append("Changed: " + ", ".join(f"{field} → {value}" for field, value in edits.items()))
        if details.get("summary"):  # what it says after the edit: never only the first figures
            lines.append(f"Now: {details['summary']}")
    approvers = ", ".join(gate.get("approvers") or []) or "none"
    lines.append(
        f"Under {_gate_line(gate)}; approvals so far: {approvers}; then {details.get('status_after')}"
    )
    title = "Expired: nobody decided in time" if record.type == "expiry" else f"{record.actor} {verb}"
    return icon, title, lines


def _commit_step(record: AuditRecord) -> tuple[str, str, list[str]]:
    result, details = record.result or {}, record.details
    document = f"{str(result.get('document_type', 'document')).replace('_', ' ')} {result.get('document_id')}"
    replay = " (recorded from the ERP ledger after a restart)" if result.get("replayed") else ""
    lines = [
        f"Write token `{details.get('token_jti', '—')}` for `{details.get('token_audience', '—')}`",
        f"Idempotency key `{record.idempotency_key}`",
    ]
    return ":material/task_alt:", f"Committed in the ERP: {document}{replay}", lines


def _step(record: AuditRecord) -> tuple[str, str, list[str]]:
    """Icon, title and detail lines of one record in a story."""
    details = record.details
    if record.type == "read":
        digest = f"evidence digest `{record.evidence[0][:16]}…`" if record.evidence else "no digest"
        return ":material/search:", f"Read `{record.tool}` from the ERP", [digest]
    if record.type == "proposal":
        return _proposal_step(record)
    if record.type in ("decision", "expiry"):
        return _decision_step(record)
    if record.type == "commit":
        return _commit_step(record)
    if record.type == "commit_failed":
        return (
            ":material/error:",
            "The ERP refused the write",
            [str(details.get("error") or "no reason given")],
        )
    if record.type in REFUSALS:
        reason = str(details.get("reason") or details.get("error") or "no reason recorded")
        return ":material/block:", f"Refused: {record.type.replace('_', ' ')} on `{record.tool}`", [reason]
    extra = [f"{k.replace('_', ' ')}: {v}" for k, v in details.items() if v not in (None, "", [], {})]
    return ":material/info:", f"{record.type.replace('_', ' ').capitalize()}: {record.tool or ''}", extra


def _timeline_entry(record: AuditRecord) -> None:
    icon, title, lines = _step(record)
    with st.container(border=True, key=f"audit-step-{record.seq}"):
        st.markdown(f"{icon} **{title}**")
        for line in lines:
            st.markdown(line)
        st.caption(
            f"#{record.seq} · {record.ts:%Y-%m-%d %H:%M:%S} UTC · {_who(record)} · record hash `{record.hash}`"
        )


def _story(svc: AgentService, proposal: Proposal) -> None:
    st.subheader(f"One action's story: {components.action_label(proposal.action)} {proposal.id}")
    components.status_badge(proposal.status)
    st.caption(
        f"{proposal.summary} · requested by {proposal.on_behalf_of} · {components.when(proposal.created_at)}"
    )
    records = feedback.run(lambda: svc.story(proposal.id))
    if records is None:
        return
    if not records:
        st.info("No audit records mention this proposal: it may have been pruned by retention.")
    for record in records:
        _timeline_entry(record)
    document = components.erp_document(proposal)
    if document:
        summary = (proposal.receipt or {}).get("summary")
        st.success(f"Receipt: {document}" + (f" — {summary}" if summary else ""), icon=":material/receipt:")


# ---- page ------------------------------------------------------------------------------------


def render() -> None:
    runtime.require_user()
    svc = runtime.service()
    st.title("Audit trail")
    _verification(svc)
    filters = _filters()
    proposal = None
    if filters.proposal_id is not None:
        proposal = feedback.run(lambda: svc.proposal(str(filters.proposal_id)))
        if proposal is None:
            return  # the one-line error says to check the id
    records = feedback.run(
        lambda: svc.audit_search(
            proposal_id=filters.proposal_id,
            idempotency_key=filters.idempotency_key,
            user_id=filters.user_id,
            since=filters.since,
            until=filters.until,
            limit=LIMIT,
        )
    )
    if records is not None:
        _results(records, filters)
    if proposal is not None:
        _story(svc, proposal)


render()

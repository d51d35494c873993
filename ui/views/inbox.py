"""The approvals inbox: where approvers and finance directors decide what the agent proposed.

The list shows the pending requests a person may decide (optionally also the ones they may not,
saying why), filtered and sorted. Opening one (or following a shared ``?proposal=P-…`` link) shows
what it will write, the policy's gate, and whether the ERP data it relied on still says the same.
Approve, reject with a reason, or edit and approve; the service decides whether that is allowed and
the page shows its answer in one line. Nothing here touches the ERP or the store directly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import streamlit as st

from agent.service import (
    INBOX_SORTS,
    USER_ERRORS,
    AgentService,
    ApproverView,
    Decision,
    EditableField,
    EvidenceCheck,
    InboxFilter,
    InboxItem,
    InboxPage,
    InboxSort,
    Proposal,
    User,
    flatten,
)
from ui import feedback, runtime
from ui.components import (
    ACTION_LABEL,
    action_label,
    age,
    erp_document,
    money,
    payload_rows,
    status_badge,
    when,
    without_untrusted_markers,
)
from ui.proposal_view import approver_view

DECIDING_ROLES = ("approver", "finance_director")
QUERY_KEY = "proposal"
INTENT_KEY = "inbox_intent"
EVIDENCE_KEY = "inbox_evidence"
VIEW_KEY = "inbox_view"
# A decision the service refused (or that lacked an input): shown beside the button clicked.
REFUSAL_KEY = "inbox_refusal"
INPUTS_FOR_KEY = "inbox_inputs_for"
EDIT_PREFIX = "edit-"
SHOWN_KEY = "inbox_shown"
PAGE_SIZE = 50
# After an approval the write is queued; wait this long for the ERP's answer before saying "queued".
OUTCOME_WAIT_SECONDS = 5.0

SORT_LABEL: dict[InboxSort, str] = {
    "oldest": "Oldest first",
    "newest": "Newest first",
    "amount_high": "Largest amount first",
    "amount_low": "Smallest amount first",
}
MIN_AGES: dict[str, timedelta | None] = {
    "Any age": None,
    "Older than 1 hour": timedelta(hours=1),
    "Older than 4 hours": timedelta(hours=4),
    "Older than 1 day": timedelta(days=1),
    "Older than 2 days": timedelta(days=2),
    "Older than 1 week": timedelta(weeks=1),
}
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#$~|:])")


@dataclass(frozen=True)
class Intent:
    """A decision button's click, recorded by its callback and carried out in the next run.

    Callbacks run even when the next run no longer shows the button (someone else decided in the
    meantime), so the click always reaches the service and its answer is shown."""

    proposal_id: str
    decision: Literal["approve", "reject", "edit"]
    reason: str | None = None
    submitted: dict[str, str] = field(default_factory=dict)
    fields: tuple[EditableField, ...] = ()
    # The revision the person was shown: if someone edits it before the click lands, the service
    # refuses the decision rather than count it for a payload the person never saw.
    revision: int | None = None


# ---- small helpers ---------------------------------------------------------------------------


def plain(text: str) -> str:
    """Text shown as it is: summaries and ERP values may hold markdown (or be crafted to)."""
    return _MARKDOWN.sub(r"\\\1", text)


def person(svc: AgentService, user_id: str) -> str:
    try:
        return f"{svc.user(user_id).name} ({user_id})"
    except USER_ERRORS:  # one of Countersign's own identities (reconciliation), or a departed user
        return user_id


def requested_by(svc: AgentService, proposal: Proposal) -> str:
    if proposal.requester == proposal.on_behalf_of:
        return person(svc, proposal.requester)
    return f"{person(svc, proposal.requester)} for {person(svc, proposal.on_behalf_of)}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def approvals_so_far(approved_by: Sequence[str], required: int) -> str:
    if not approved_by:
        return "no approval yet"
    return f"approved by {', '.join(approved_by)} ({len(approved_by)} of {required})"


def moment(value: Any) -> str:
    """A gate's ISO timestamp in the app's format."""
    if not value:
        return "—"
    try:
        return when(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def shown_value(value: Any) -> str:
    return "—" if value is None else str(without_untrusted_markers(value))


def read_label(check: EvidenceCheck) -> str:
    args = ", ".join(f"{k}={v}" for k, v in check.args.items())
    return f"{check.tool.replace('_', ' ')} ({args})" if args else check.tool.replace("_", " ")


def may_decide(user: User) -> bool:
    return any(user.has(role) for role in DECIDING_ROLES)


# ---- navigation between the list and one proposal --------------------------------------------


def open_proposal(proposal_id: str) -> None:
    # The query parameter is the source of truth, so the address bar is a link others can open.
    st.query_params[QUERY_KEY] = proposal_id


def close_proposal() -> None:
    st.query_params.pop(QUERY_KEY, None)


def opened_id() -> str | None:
    value = (st.query_params.get(QUERY_KEY) or "").strip()
    return value or None


# ---- decisions -------------------------------------------------------------------------------


def record_click(
    proposal_id: str,
    decision: Literal["approve", "reject", "edit"],
    revision: int | None = None,
    fields: tuple[EditableField, ...] = (),
) -> None:
    """Callback of the decision buttons: remember what was asked, with the inputs as they were."""
    state = st.session_state
    if decision == "reject":
        intent = Intent(
            proposal_id, decision, reason=str(state.get("reject_reason") or ""), revision=revision
        )
    elif decision == "edit":
        submitted = {f.path: submitted_value(state.get(EDIT_PREFIX + f.path)) for f in fields}
        intent = Intent(
            proposal_id, decision, str(state.get("edit_reason") or ""), submitted, fields, revision
        )
    else:
        intent = Intent(proposal_id, decision, revision=revision)
    # Plain data in the session: this page's module runs afresh each time, so a class defined here
    # is a different class in the next run.
    state[INTENT_KEY] = dict(vars(intent))


def submitted_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def changed_edits(intent: Intent) -> dict[str, str]:
    """Only the fields the person changed; raises ValueError (one line) for a non-number."""
    edits: dict[str, str] = {}
    for form_field in intent.fields:
        value = intent.submitted.get(form_field.path, form_field.value)
        if form_field.kind == "decimal" and value:
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise ValueError(
                    f"{form_field.label} must be a number such as 12.5; nothing was saved"
                ) from None
            if not number.is_finite():
                raise ValueError(f"{form_field.label} must be a number such as 12.5; nothing was saved")
            if form_field.value and number == Decimal(form_field.value):
                continue  # 400 and 400.00 are the same quantity
        if value != form_field.value:
            edits[form_field.path] = value
    return edits


def carry_out(svc: AgentService, user: User, intent: Intent) -> Proposal | None:
    """Ask the service for the decision; None when it was not made (the reason is kept for the
    page to show beside the button that was clicked)."""
    reason = (intent.reason or "").strip() or None
    if intent.decision == "reject":
        if reason is None:
            refuse(
                intent,
                "A rejection needs a reason: write it in the box above Reject, then click Reject again.",
            )
            return None
        return attempted(
            intent,
            lambda: svc.decide(
                intent.proposal_id, user.id, "reject", reason=reason, revision=intent.revision
            ),
        )
    if intent.decision == "edit":
        edits, error = feedback.attempt(lambda: changed_edits(intent))
        if edits is None:
            refuse(intent, error or "nothing was saved")
            return None
        if not edits:
            refuse(
                intent,
                "Nothing changed: change a field before approving with changes, or approve it as it stands.",
                kind="info",
            )
            return None
        return attempted(
            intent,
            lambda: svc.decide(
                intent.proposal_id, user.id, "edit", reason=reason, edits=edits, revision=intent.revision
            ),
        )
    return attempted(
        intent, lambda: svc.decide(intent.proposal_id, user.id, "approve", revision=intent.revision)
    )


def attempted(intent: Intent, decide: Any) -> Proposal | None:
    decided, error = feedback.attempt(decide)
    if decided is None:
        refuse(intent, error or "the decision was not recorded")
        return None
    assert isinstance(decided, Proposal)
    return decided


def refuse(intent: Intent, message: str, kind: Literal["error", "info"] = "error") -> None:
    """Keep why a click did nothing, for the page to show beside the button that was clicked."""
    st.session_state[REFUSAL_KEY] = {
        "proposal_id": intent.proposal_id,
        "decision": intent.decision,
        "message": message,
        "kind": kind,
    }


def refusal_beside(proposal_id: str, decisions: tuple[str, ...]) -> None:
    """The answer to a click on one of ``decisions``, right where the person clicked."""
    refusal = st.session_state.get(REFUSAL_KEY)
    if not isinstance(refusal, dict) or refusal.get("proposal_id") != proposal_id:
        return
    if refusal.get("decision") not in decisions:
        return
    st.session_state.pop(REFUSAL_KEY, None)
    if refusal.get("kind") == "info":
        st.info(str(refusal["message"]), icon=":material/info:")
    else:
        st.error(str(refusal["message"]), icon=":material/warning:")


def settled(svc: AgentService, proposal: Proposal) -> Proposal:
    """An approved write is queued for the ERP; give it a moment to answer so the outcome can say so."""
    if proposal.status not in ("approved", "committing"):
        return proposal
    with st.spinner("Writing it to the ERP…"):
        return svc.wait_for_outcome(proposal.id, OUTCOME_WAIT_SECONDS)


def show_outcome(svc: AgentService, proposal: Proposal, decision: str, actor: str) -> None:
    """One line saying where the proposal stands after this person's decision."""
    pid = proposal.id
    if proposal.status == "committed":
        document = erp_document(proposal)
        verb = "Edited and approved" if decision == "edit" else "Approved"
        st.success(
            f"{verb}: {pid} is committed — {document or 'the ERP confirmed it'}",
            icon=":material/check_circle:",
        )
    elif proposal.status in ("approved", "committing"):
        st.info(
            f"Approved: {pid} is queued for the ERP; it will be committed shortly.",
            icon=":material/hourglass_top:",
        )
    elif proposal.status == "failed":
        st.error(f"Approved, but the ERP refused {pid}: {proposal.error or 'no reason given'}")
    elif proposal.status == "rejected":
        st.success(f"Rejected: {pid}. The requester is told your reason.", icon=":material/check_circle:")
    elif proposal.status == "pending" and revised_by(proposal, actor):
        st.info(
            f"Your change to {pid} is saved; it goes beyond the policy's tolerance, so someone else "
            "must approve it now.",
            icon=":material/edit:",
        )
    elif proposal.status == "pending" and decision == "edit":
        st.info(
            f"Your change to {pid} is saved and counts as your approval; approvals given before it "
            f"no longer count. It still needs {still_needed(svc, proposal)}.",
            icon=":material/thumb_up:",
        )
    elif proposal.status == "pending":
        st.info(
            f"Your approval of {pid} is recorded; it still needs {still_needed(svc, proposal)}.",
            icon=":material/thumb_up:",
        )
    else:
        st.info(f"{pid} is now {proposal.status}.")


def still_needed(svc: AgentService, proposal: Proposal) -> str:
    """What the gate still waits for after a partial approval: "1 more approver, one of them a finance
    director"."""
    approvers = [d.actor for d in proposal.current_approvals()]
    missing = max(int(proposal.gate.get("approvals_required", 1)) - len(approvers), 1)
    needs = f"{missing} more {'approver' if missing == 1 else 'approvers'}"
    role = proposal.gate.get("required_role")
    if role and not any(holds(svc, actor, str(role)) for actor in approvers):
        needs += f", one of them a {str(role).replace('_', ' ')}"
    return needs


def holds(svc: AgentService, user_id: str, role: str) -> bool:
    try:
        return svc.user(user_id).has(role)
    except USER_ERRORS:
        return False


def revised_by(proposal: Proposal, actor: str) -> bool:
    return any(
        d.decision == "revise" and d.actor == actor and d.revision == proposal.revision
        for d in proposal.approvals
    )


def handle_click(svc: AgentService, user: User) -> None:
    """Carry out a decision clicked in the previous run; on success go back to the refreshed list."""
    clicked = st.session_state.pop(INTENT_KEY, None)
    if not isinstance(clicked, dict):
        return
    intent = Intent(**clicked)
    st.session_state.pop(REFUSAL_KEY, None)
    decided = carry_out(svc, user, intent)
    if decided is None:
        return  # refused or invalid: the reason is shown and the proposal stays open
    show_outcome(svc, settled(svc, decided), intent.decision, user.id)
    st.session_state.get(EVIDENCE_KEY, {}).pop(intent.proposal_id, None)
    st.session_state.get(VIEW_KEY, {}).pop(intent.proposal_id, None)
    close_proposal()


# ---- the list --------------------------------------------------------------------------------


def filters(svc: AgentService, user: User) -> InboxFilter | None:
    """The filter bar; None (with a one-line reason) when the filters contradict each other."""
    requesters, pending_actions = feedback.run(lambda: svc.inbox_facets(user.id)) or ([], [])
    actions = sorted(set(ACTION_LABEL) | set(pending_actions), key=action_label)
    with st.container(border=True, key="inbox-filters"):
        top = st.columns([3, 2, 2, 2])
        chosen_actions = top[0].multiselect(
            "Action", actions, key="actions", format_func=action_label, placeholder="Every action"
        )
        requester = top[1].selectbox(
            "Requested by",
            [None, *requesters],
            key="requester",
            format_func=lambda r: "Anyone" if r is None else person(svc, r),
        )
        min_age = top[2].selectbox("Waiting", list(MIN_AGES), key="min_age")
        sort = top[3].selectbox("Sort", INBOX_SORTS, key="sort", format_func=lambda s: SORT_LABEL[s])
        bottom = st.columns([2, 2, 5], vertical_alignment="bottom")
        low = bottom[0].number_input("Amount from", min_value=0.0, value=None, step=100.0, key="min_amount")
        high = bottom[1].number_input("Amount up to", min_value=0.0, value=None, step=100.0, key="max_amount")
        include_blocked = bottom[2].toggle(
            "Show requests I cannot decide",
            key="include_blocked",
            help="Also list requests someone else must decide (your own, ones you already approved), "
            "each saying why.",
        )
    return feedback.run(
        lambda: InboxFilter(
            actions=tuple(chosen_actions),
            min_amount=None if low is None else Decimal(str(low)),
            max_amount=None if high is None else Decimal(str(high)),
            min_age=MIN_AGES[min_age],
            requester=requester,
            sort=sort,
            include_blocked=include_blocked,
        )
    )


def filtering(wanted: InboxFilter) -> bool:
    return bool(
        wanted.actions
        or wanted.min_amount is not None
        or wanted.max_amount is not None
        or wanted.min_age
        or wanted.requester
    )


def count_line(page: InboxPage) -> str:
    decidable = page.total - page.blocked
    line = f"{plural(decidable, 'request')} waiting for your decision"
    return f"{line}, {page.blocked} you cannot decide" if page.blocked else line


def empty_state(wanted: InboxFilter) -> None:
    if filtering(wanted):
        st.info(
            "Nothing waits for you with these filters. Widen or clear them to see every request you "
            "may decide.",
            icon=":material/filter_alt_off:",
        )
        return
    hint = (
        "Check back later: new requests appear here as soon as they are filed."
        if wanted.include_blocked
        else "Turn on “Show requests I cannot decide” to see what others must decide, or check back "
        "later: new requests appear here as soon as they are filed."
    )
    st.info(f"Nothing waits for you. {hint}", icon=":material/inbox:")


def inbox_row(svc: AgentService, item: InboxItem) -> None:
    proposal = item.proposal
    with st.container(border=True, key=f"inbox-item-{proposal.id}"):
        left, right = st.columns([6, 1], vertical_alignment="center")
        with left:
            st.markdown(f"**{action_label(proposal.action)}** · `{proposal.id}` · {money(item.amount)}")
            st.markdown(plain(proposal.summary))
            so_far = approvals_so_far(item.approved_by, item.approvals_required)
            st.caption(
                f"Requested by {plain(requested_by(svc, proposal))} · waiting {age(item.age)} · "
                f"needs {plain(item.requirement)} · {plain(so_far)}"
            )
            if item.attention:
                st.warning(f"Needs attention: {item.attention}", icon=":material/schedule:")
            if item.blocked:
                st.caption(f":material/block: You cannot decide this: {plain(item.blocked)}")
        right.button(
            "Open",
            key=f"open-{proposal.id}",
            on_click=open_proposal,
            args=(proposal.id,),
            type="secondary" if item.blocked else "primary",
        )


def inbox_list(svc: AgentService, user: User) -> None:
    wanted = filters(svc, user)
    if wanted is None:
        return
    # A row per request costs widgets; a long backlog is shown (and loaded) a page at a time.
    shown = int(st.session_state.get(SHOWN_KEY, PAGE_SIZE))
    page = feedback.run(lambda: svc.inbox_page(user.id, wanted, limit=shown))
    if page is None:
        return
    if not page.total:
        empty_state(wanted)
        return
    st.caption(count_line(page))
    for item in page.items:
        inbox_row(svc, item)
    if page.total > shown:
        st.button(
            f"Show {min(PAGE_SIZE, page.total - shown)} more of {page.total - shown} not shown",
            key="show_more",
            on_click=show_more,
        )


def show_more() -> None:
    st.session_state[SHOWN_KEY] = int(st.session_state.get(SHOWN_KEY, PAGE_SIZE)) + PAGE_SIZE


# ---- one proposal ----------------------------------------------------------------------------


def gate_details(proposal: Proposal) -> None:
    gate = proposal.gate
    roles = ", ".join(str(r).replace("_", " ") for r in gate.get("approver_roles", [])) or "—"
    approved = [d.actor for d in proposal.current_approvals()]
    rows = [
        {"item": "Approvals needed", "value": str(gate.get("approvals_required", "—"))},
        {"item": "Who may approve", "value": roles},
        {"item": "Must include", "value": str(gate.get("required_role") or "—").replace("_", " ")},
        {"item": "Approved so far by", "value": ", ".join(approved) or "nobody yet"},
        {"item": "Rule", "value": str(gate.get("rule", "—"))},
        {"item": "Policy version", "value": str(gate.get("policy_version", "—"))},
        {"item": "Amount", "value": money(gate.get("amount"))},
        {"item": "Reminder after", "value": moment(gate.get("warn_at"))},
        {"item": "Expires", "value": moment(gate.get("expires_at"))},
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def decisions_so_far(decisions: Sequence[Decision]) -> None:
    if not decisions:
        return
    rows = [
        {
            "when": when(d.at),
            "who": d.actor,
            "decision": d.decision,
            "revision": str(d.revision),
            "reason": d.reason or "",
            "changes": ", ".join(f"{k} → {v}" for k, v in (d.edits or {}).items()),
        }
        for d in decisions
    ]
    st.markdown("**Decisions so far**")
    st.dataframe(rows, hide_index=True, width="stretch")


def evidence_checks(
    svc: AgentService, proposal: Proposal, user: User
) -> tuple[datetime, list[EvidenceCheck]] | None:
    """The re-read evidence, cached per proposal: each check costs ERP reads."""
    cache: dict[str, tuple[datetime, list[EvidenceCheck]]] = st.session_state.setdefault(EVIDENCE_KEY, {})
    if proposal.id not in cache:
        with st.spinner("Reading the ERP again…"):
            checks = feedback.run(lambda: svc.check_evidence(proposal.id, user.id))
        if checks is None:
            return None
        cache[proposal.id] = (datetime.now(UTC), checks)
    return cache[proposal.id]


def check_again(proposal_id: str) -> None:
    st.session_state.get(EVIDENCE_KEY, {}).pop(proposal_id, None)


def evidence_item(check: EvidenceCheck) -> None:
    """One read in one line (its label says whether it changed); the values open on request."""
    label = plain(read_label(check))
    if check.error is not None or check.unchanged is None:
        st.error(f"{label}: could not read it again: {check.error or 'no answer'}", icon=":material/error:")
        return
    if check.unchanged:
        title = f":material/check_circle: {label} — :green[unchanged since the proposal]"
    elif check.changes:
        changed = plural(len(check.changes), "field")
        title = f":material/warning: {label} — :orange[changed since the proposal: {changed}]"
    else:
        # Its conversation is gone (or never existed): only the digest says that it differs.
        title = (
            f":material/warning: {label} — :orange[changed since the proposal (what it said then is gone)]"
        )
    with st.expander(title, expanded=not check.unchanged):
        if check.changes:
            st.markdown("**What changed** (then → now)")
            rows = [
                {"field": c.path, "then": shown_value(c.then), "now": shown_value(c.now)}
                for c in check.changes
            ]
            st.dataframe(rows, hide_index=True, width="stretch")
        st.markdown("**Current values**")
        rows = [{"field": k, "value": shown_value(v)} for k, v in flatten(check.now).items()]
        st.dataframe(rows, hide_index=True, width="stretch")


def evidence_verdict(checks: Sequence[EvidenceCheck]) -> None:
    changed = sum(1 for c in checks if c.unchanged is False)
    failed = sum(1 for c in checks if c.unchanged is None)
    if changed:
        st.warning(
            f"{changed} of {len(checks)} ERP reads it relied on changed since the proposal: look at "
            "what changed before you decide.",
            icon=":material/warning:",
        )
    elif failed:
        st.warning(
            f"{failed} of {len(checks)} ERP reads could not be read again; check again in a moment.",
            icon=":material/sync_problem:",
        )
    else:
        st.success(
            f"The {plural(len(checks), 'ERP read')} it relied on still say the same as when it was proposed.",
            icon=":material/verified:",
        )


def evidence_section(svc: AgentService, proposal: Proposal, user: User) -> None:
    head = st.columns([5, 1], vertical_alignment="bottom")
    head[0].subheader("Evidence", anchor=False)
    if not proposal.evidence:
        st.caption("It relied on no ERP read (a reconciliation compensation, or a request without lookups).")
        return
    head[1].button(
        "Check again", key="check_again", icon=":material/refresh:", on_click=check_again, args=(proposal.id,)
    )
    cached = evidence_checks(svc, proposal, user)
    if cached is None:
        return
    checked_at, checks = cached
    evidence_verdict(checks)
    st.caption(f"Read again at {when(checked_at)}.")
    for check in checks:
        evidence_item(check)


def reset_inputs_for(proposal: Proposal) -> None:
    """Typed reasons and form values belong to one proposal as it stood; start afresh for another."""
    shown = (proposal.id, proposal.revision)
    if st.session_state.get(INPUTS_FOR_KEY) == shown:
        return
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(EDIT_PREFIX)]:
        del st.session_state[key]
    for key in ("reject_reason", "edit_reason"):
        st.session_state.pop(key, None)
    st.session_state[INPUTS_FOR_KEY] = shown


def edit_widget(form_field: EditableField) -> None:
    key = EDIT_PREFIX + form_field.path
    if form_field.kind == "date":
        try:
            current = date.fromisoformat(form_field.value) if form_field.value else None
        except ValueError:
            current = None
        st.date_input(form_field.label, value=current, key=key)
    elif form_field.kind == "decimal":
        st.text_input(form_field.label, value=form_field.value, key=key, placeholder="a number, e.g. 12.5")
    else:
        st.text_input(form_field.label, value=form_field.value, key=key)


def tolerance_line(view: ApproverView | None) -> str:
    """The policy's tolerance, said before the person edits: how far their change may go and still
    count as their approval."""
    if view is None or view.tolerance is None:
        return (
            "Within the policy's tolerance of what was first proposed your change counts as your "
            "approval; a bigger change needs someone else to approve it."
        )
    share = f"{(view.tolerance * 100).normalize():f}%"
    bounds = view.tolerance_range
    span = f" ({bounds[0]} to {bounds[1]})" if bounds is not None else ""
    return (
        f"**Tolerance: ±{share}** of the amount first proposed, {view.proposed_amount}{span}, and of each "
        "figure you change. Within it, your change counts as your approval; beyond it, your change is "
        "saved but someone else must approve it."
    )


def edit_form(svc: AgentService, proposal: Proposal, view: ApproverView | None) -> None:
    fields = feedback.run(lambda: svc.edit_form(proposal.id))
    if not fields:
        st.caption("This request has no field you may change.")
        return
    # Said before the fields, not after saving: the person picks a figure knowing what it means.
    st.markdown(f":material/straighten: {tolerance_line(view)}")
    with st.form("edit_form", border=False):
        st.caption(
            "You can change how much, when and why, never who or what: to change the supplier, "
            "customer, product, account or cost center, reject it with a reason so the requester "
            "asks again. Only the fields you change are sent, and approvals given before your "
            "change no longer count."
        )
        for form_field in fields:
            edit_widget(form_field)
        st.text_input(
            "Your note to the requester: why you changed it (optional, not written to the ERP)",
            key="edit_reason",
        )
        st.form_submit_button(
            "Approve with these changes",
            key="submit_edit",
            type="primary",
            icon=":material/check:",
            on_click=record_click,
            args=(proposal.id, "edit", proposal.revision, tuple(fields)),
        )
    refusal_beside(proposal.id, ("edit",))


def pending_refusal(proposal_id: str, decision: str) -> bool:
    refusal = st.session_state.get(REFUSAL_KEY)
    return (
        isinstance(refusal, dict)
        and refusal.get("proposal_id") == proposal_id
        and refusal.get("decision") == decision
    )


def decision_section(svc: AgentService, proposal: Proposal, view: ApproverView | None) -> None:
    st.subheader("Your decision", anchor=False)
    approve, reject = st.columns(2, border=True)
    with approve:
        st.button(
            "Approve",
            key="approve",
            type="primary",
            icon=":material/check:",
            on_click=record_click,
            args=(proposal.id, "approve", proposal.revision),
        )
        refusal_beside(proposal.id, ("approve",))
        st.caption("Once the approval rule is met, the ERP commits it exactly once.")
    with reject:
        st.text_area(
            "Reason for rejecting (the requester sees it)",
            key="reject_reason",
            height=80,
            placeholder="e.g. the budget for this cost center is frozen until March",
        )
        st.button(
            "Reject",
            key="reject",
            icon=":material/close:",
            on_click=record_click,
            args=(proposal.id, "reject", proposal.revision),
        )
        refusal_beside(proposal.id, ("reject",))
    with st.expander(
        "Change it, then approve", icon=":material/edit:", expanded=pending_refusal(proposal.id, "edit")
    ):
        edit_form(svc, proposal, view)


def blocker_note(svc: AgentService, proposal: Proposal, user: User) -> None:
    if proposal.status != "pending":
        document = erp_document(proposal) if proposal.status == "committed" else None
        finished = f" — {document}" if document else ""
        st.info(f"Nothing to decide: it is {proposal.status}{finished}.", icon=":material/info:")
        return
    blocker = svc.decision_blocker(proposal, user)
    if blocker is not None:
        # Say it up front, but keep the buttons: the service's check is the one that counts, and it
        # records every refused attempt in the audit trail.
        st.warning(f"You cannot approve this: {blocker}.", icon=":material/block:")


def story_section(svc: AgentService, proposal: Proposal) -> None:
    # The story scans the audit trail: only on request.
    if not st.toggle("Show its audit story", key="show_story"):
        return
    records = feedback.run(lambda: svc.story(proposal.id)) or []
    rows = [
        {
            "when": when(r.ts),
            "what": r.type,
            "who": r.actor,
            "for": r.on_behalf_of or "",
            "tool": r.tool or "",
        }
        for r in records
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def view_of(svc: AgentService, proposal: Proposal, user: User) -> ApproverView | None:
    """The approver's view, cached per proposal and revision: it costs ERP reads, and an edit
    changes what it says."""
    cache: dict[str, tuple[int, ApproverView]] = st.session_state.setdefault(VIEW_KEY, {})
    cached = cache.get(proposal.id)
    if cached is None or cached[0] != proposal.revision:
        with st.spinner("Reading the ERP…"):
            view = feedback.run(lambda: svc.approver_view(proposal.id, user.id))
        if view is None:
            return None
        cache[proposal.id] = (proposal.revision, view)
        return view
    return cached[1]


def proposal_header(svc: AgentService, proposal: Proposal, view: ApproverView | None) -> None:
    top = st.columns([5, 2], vertical_alignment="center")
    top[0].subheader(f"{action_label(proposal.action)} · {proposal.id}", anchor=False)
    with top[1]:
        status_badge(proposal.status)
    # The headline is read from the payload as it stands (names beside codes), never a stored line.
    st.markdown(f"**{plain(view.headline if view is not None else proposal.summary)}**")
    revision = f" · revision {proposal.revision}" if proposal.revision else ""
    st.caption(f"Requested by {requested_by(svc, proposal)} · filed {when(proposal.created_at)}{revision}")
    if proposal.compensates:
        st.caption(f"Filed by reconciliation to compensate discrepancy {proposal.compensates}.")
    attention = svc.attention(proposal)
    if attention:
        st.warning(f"Needs attention: {attention}", icon=":material/schedule:")


def proposal_detail(svc: AgentService, user: User, proposal_id: str) -> bool:
    """One proposal in full; False when it cannot be shown (the reason is shown in one line)."""
    proposal = feedback.run(lambda: svc.proposal(proposal_id))
    if proposal is None:
        return False
    reset_inputs_for(proposal)
    view = view_of(svc, proposal, user)
    with st.container(key="proposal-detail"):
        st.button("Back to the inbox", key="back", icon=":material/arrow_back:", on_click=close_proposal)
        proposal_header(svc, proposal, view)
        if proposal.status != "pending":  # decided meanwhile: the answer to the click shows here
            refusal_beside(proposal.id, ("approve", "reject", "edit"))
        blocker_note(svc, proposal, user)
        if view is not None:
            approver_view(view, person(svc, proposal.on_behalf_of))
        with st.expander("The exact fields it will write", icon=":material/data_object:"):
            st.dataframe(payload_rows(proposal.payload), hide_index=True, width="stretch")
        st.subheader("Approval rule", anchor=False)
        gate_details(proposal)
        decisions_so_far(proposal.approvals)
        evidence_section(svc, proposal, user)
        if proposal.status == "pending":
            decision_section(svc, proposal, view)
        story_section(svc, proposal)
    return True


# ---- the page --------------------------------------------------------------------------------


def page() -> None:
    user = runtime.require_user()
    st.title("Approvals inbox", anchor=False)
    if not may_decide(user):
        st.warning(
            f"{user.name}, deciding requests needs the approver or finance director role; ask an "
            "administrator if you should have it.",
            icon=":material/lock:",
        )
        return
    svc = runtime.service()
    handle_click(svc, user)
    wanted = opened_id()
    if wanted is not None:
        if proposal_detail(svc, user, wanted):
            return
        close_proposal()  # an unknown or mistyped link: the error is shown; offer the list instead
    inbox_list(svc, user)


page()

"""The service API: everything a user interface (CLI, Streamlit, MCP) may ask of Countersign.

``build_service`` is the composition root: it wires settings, the ERP adapter, the gateway, the
approvals store, the checkpointer, the model and the graph. Interfaces never touch the graph or
SQL themselves.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from agent.approvals import (
    AlreadyDecided,
    Decision,
    DecisionKind,
    Proposal,
    ProposalChanged,
    ProposalNotFound,
    ProposalStatus,
    ProposalStore,
    already_decided,
)
from agent.approver_view import ApproverView, ReadFailed, build_view, percent_text
from agent.audit_keys import AuditKeyError, placement_warnings
from agent.authorization import Authorizer
from agent.checkpoints import CheckpointDatabaseUnreachable, CheckpointUrlError
from agent.conversations import Conversation, ConversationStore, ThreadAccessDenied
from agent.db import DatabaseUnavailable, unavailable
from agent.edits import (
    EditError,
    IdentityEdit,
    Revised,
    beyond_tolerance,
    describe_amendments,
    edited_command,
    proposed_terms,
    summary_after_edit,
)
from agent.graph import PROPOSE_NAMES, ApprovalDecision, GraphDeps, build_graph
from agent.messaging.bus import BusUnavailable
from agent.messaging.outbox import Outbox
from agent.messaging.topology import COMMANDS
from agent.pipeline.agent_worker import EventRun, recent_event_runs
from agent.pipeline.event_config import EventConfigError
from agent.pipeline.messages import CommitCommand
from agent.pipeline.writer import committed_result
from agent.policy import (
    Approval,
    Gate,
    Mode,
    NotAllowed,
    Outcome,
    Policy,
    PolicyError,
    Suggestion,
    check_approver,
    edit_needs_fresh_approval,
    evaluate,
    is_expired,
    needs_reminder,
    suggest,
)
from agent.policy_changes import CHECKER_ROLE, PolicyChange, PolicyChangeNotFound, PolicyChangeStore
from agent.reconcile import Discrepancy, Reconciler, RunReport
from agent.records import decision_event, proposal_event
from agent.settings import Settings, load_settings
from agent.signin import SignInGuard, SignInRefused
from agent.users import Directory, Role, UnknownUser, User, load_directory
from agent.views import (
    INBOX_SORTS,
    ActionRate,
    EditableField,
    EvidenceCheck,
    FieldChange,
    InboxFilter,
    InboxItem,
    InboxPage,
    InboxSort,
    Overview,
    editable_fields,
    field_changes,
    flatten,
    inbox_items,
    overview_of,
    shown_results,
)
from erp_acl.commands import Command as ErpCommand
from erp_acl.domain import COMPANY_CURRENCY, LedgerEntry, Receipt
from erp_acl.errors import ErpError
from erp_acl.events import EventError
from erp_acl.landing import read_record
from erp_acl.migrating import UnknownRevision
from erp_acl.plain_text import plain_text_problem
from erp_acl.ports import Erp
from tools.audit import AuditEvent, AuditRecord, AuditTrail, VerifyReport
from tools.gateway import (
    AccessDenied,
    Gateway,
    Principal,
    ToolError,
    ToolSpec,
    receipt_reference,
    result_digest,
)
from tools.identity import AgentIdentity, IdentityError
from tools.observability import correlated, traced_erp
from tools.rendering import to_plain_json
from tools.security_log import AuditSecurityLog
from tools.tokens import TokenRefused

if TYPE_CHECKING:
    from agent.pipeline.runner import Pipeline

log = logging.getLogger("countersign.service")

# What interfaces (the web app, the CLI, MCP) may import from here: the service and the types it
# hands out, so that none of them reaches past the service into the graph, the stores or SQL.
__all__ = [
    "COMPANY_CURRENCY",
    "INBOX_SORTS",
    "MAX_MESSAGE_CHARS",
    "USER_ERRORS",
    "ActionRate",
    "AgentService",
    "AlreadyDecided",
    "ApproverView",
    "AuditRecord",
    "ChatEvent",
    "ChatResult",
    "Conversation",
    "Decision",
    "Discrepancy",
    "EditableField",
    "EvidenceCheck",
    "FieldChange",
    "InboxFilter",
    "InboxItem",
    "InboxPage",
    "InboxSort",
    "Overview",
    "Proposal",
    "ProposalStatus",
    "Refused",
    "RunReport",
    "SignInRefused",
    "ThreadAccessDenied",
    "User",
    "VerifyReport",
    "build_service",
    "describe_amendments",
    "flatten",
    "percent_text",
]

Via = Literal["agent", "mcp"]
EXPIRY_ACTOR = "system:expiry"
# Event runs that ended without doing what they were for: each one needs its owner's attention.
EVENT_RUNS_NEEDING_A_PERSON = frozenset({"needs_owner", "unresolved", "failed"})
# The longest chat message any interface may send: a request, not a document. Longer ones are
# refused before anything is stored (the planner reads no more than this of a message either).
MAX_MESSAGE_CHARS = 8_000
# A proposal in one of these states has ended: its run waits only to tell the requester.
TERMINAL: tuple[ProposalStatus, ...] = ("committed", "failed", "rejected", "expired")
# The steps a run takes once resumed with an outcome: one of them left dangling was cut short while
# telling it. (Never ``propose`` or ``await_approval``: those may belong to a run still going.)
TELLING_STEPS = frozenset({"report_outcome", "report_rejection", "respond", "reason"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Refused(Exception):
    """A request the service will not carry out; the message says why, in one line."""


# Errors a caller may show to a person as they are (each carries a one-line message).
USER_ERRORS: tuple[type[Exception], ...] = (
    Refused,
    AlreadyDecided,
    ProposalNotFound,
    ThreadAccessDenied,
    UnknownUser,
    EditError,
    ToolError,
    ErpError,
    TokenRefused,
    PolicyError,
    PolicyChangeNotFound,
    IdentityError,
    EventConfigError,
    EventError,
    BusUnavailable,
    SignInRefused,
    UnknownRevision,
    DatabaseUnavailable,
    CheckpointDatabaseUnreachable,
    CheckpointUrlError,
    AuditKeyError,
)


@dataclass
class ChatResult:
    thread_id: str
    reply: str
    proposals: list[Proposal] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "reply": self.reply,
            "proposals": [p.as_json() for p in self.proposals],
        }


@dataclass
class ChatEvent:
    """One thing that happened during a turn, for interfaces that show progress."""

    kind: Literal["text", "tool_call", "tool_result", "done"]
    text: str = ""
    tool: str | None = None
    args: dict[str, Any] | None = None
    ok: bool = True
    result: ChatResult | None = None


def _check_reason(reason: str | None) -> None:
    """A reason is read by other people on one line: plain text only (see erp_acl.plain_text)."""
    problem = plain_text_problem(reason) if reason else None
    if problem is not None:
        raise Refused(f"the reason {problem}")


def _events(mode: str, data: Any) -> Iterator[ChatEvent]:
    if mode == "messages":
        chunk, metadata = data
        if isinstance(chunk, AIMessageChunk) and metadata.get("langgraph_node") in ("reason", "respond"):
            text = _text(chunk)
            if text:
                yield ChatEvent("text", text=text)
        return
    for node, update in (data or {}).items():
        for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
            if isinstance(message, AIMessage) and node == "reason":
                for call in message.tool_calls:
                    yield ChatEvent("tool_call", tool=call["name"], args=call["args"])
            elif isinstance(message, ToolMessage):
                yield ChatEvent(
                    "tool_result", tool=message.name, text=_text(message), ok=message.status != "error"
                )


def _outcome(proposal: Proposal) -> Outcome | None:
    kinds = {d.decision for d in proposal.approvals}
    if proposal.status == "rejected":
        return "rejected"
    if proposal.status == "expired":
        return "expired"
    if proposal.status == "failed":
        return "failed"
    if proposal.status == "committed":
        return "edited" if kinds & {"edit", "revise"} else "approved_unchanged"
    return None


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


class AgentService:
    """One Countersign installation, as seen by its users."""

    def __init__(
        self,
        *,
        settings: Settings,
        gateway: Gateway,
        erp: Erp,
        model: BaseChatModel,
        store: ProposalStore,
        conversations: ConversationStore,
        directory: Directory,
        identities: Mapping[str, AgentIdentity],
        policies: PolicyChangeStore,
        security: AuditSecurityLog,
        audit: AuditTrail,
        checkpointer: Any,
        engine: Engine,
        today: Callable[[], date] = date.today,
        now: Callable[[], datetime] = _utc_now,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.erp = erp
        self.gateway = gateway
        self.store = store
        self.conversations = conversations
        self.directory = directory
        self.identities = dict(identities)
        self.policies = policies
        self.security = security
        self.audit = audit
        self.engine = engine
        self.outbox = Outbox(engine)
        # Called when a write was queued; the pipeline wires itself in here (see agent.pipeline).
        self.on_enqueued: Callable[[], None] = lambda: None
        self.pipeline: Pipeline | None = None
        # The audit trail, not the approvals store's status, says whether a write is authorized.
        self.authorizer = Authorizer(audit, roles_of=self._roles, policy=policies.effective)
        self.reconciler = Reconciler(
            engine=engine,
            ledger=erp.ledger_entries,
            documents=erp.landed_documents,
            file_compensation=self._file_compensation if "reconciler" in self.identities else None,
            confirm_landed=self._confirm_landed,
            unauthorized=self.authorizer.unauthorized_writes,
            missing_after=timedelta(seconds=settings.reconcile_missing_after_seconds),
            now=now,
            read_record=lambda command: read_record(command, erp),
        )
        self._today = today
        self._now = now
        self._on_close = on_close
        self.sign_ins = SignInGuard(directory, now=now)
        self.agent = self.identities["agent"]
        self.agent_ids = frozenset(identity.id for identity in self.identities.values())
        self.graph = build_graph(
            GraphDeps(
                gateway=gateway,
                store=store,
                model=model,
                directory=directory,
                identities=self.identities,
                policy=policies.effective,
                audit=audit,
                enqueue=self._enqueue,
                today=today,
                now=now,
            ),
            checkpointer,
        )

    # ---- people -----------------------------------------------------------------------------

    def user(self, user_id: str, role: Role | None = None) -> User:
        user = self.directory.get(user_id)
        if role is not None and not user.has(role):
            raise Refused(f"{user_id} is not allowed to do this: it needs the {role} role")
        return user

    def authenticate(self, user_id: str, password: str) -> User:
        """A configured user whose password matches; SignInRefused (one safe line) otherwise."""
        try:
            user = self.sign_ins.sign_in(user_id, password)
        except SignInRefused as refused:
            log.warning("sign-in refused", extra={"user": user_id, "reason": str(refused)})
            raise
        log.info("signed in", extra={"user": user.id})
        return user

    def user_for_email(self, email: str) -> User:
        """The configured user an identity provider's verified email belongs to."""
        user = self.directory.by_email(email)
        if user is None:
            raise SignInRefused(
                f"{email} is not a Countersign user; ask an administrator to add it as `email` in the users file"
            )
        return user

    def _roles(self, user_id: str) -> tuple[str, ...]:
        try:
            return self.directory.get(user_id).roles
        except UnknownUser:
            return ()  # a departed user's past approval no longer counts

    # ---- chat -------------------------------------------------------------------------------

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": self.settings.recursion_limit}

    def chat(
        self, user_id: str, text: str, thread_id: str | None = None, *, title: str | None = None
    ) -> ChatResult:
        """One user turn: runs the agent until it answers or files a proposal for approval."""
        result: ChatResult | None = None
        for event in self.chat_stream(user_id, text, thread_id, title=title):
            result = event.result or result
        assert result is not None
        return result

    def chat_stream(
        self, user_id: str, text: str, thread_id: str | None = None, *, title: str | None = None
    ) -> Iterator[ChatEvent]:
        """The same turn as ``chat``, as events: reply text as it streams, each tool step, then
        a final ``done`` event carrying the ``ChatResult``."""
        user = self.user(user_id)
        if not text.strip():
            raise Refused("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise Refused(
                f"the message is {len(text):,} characters long; the most is {MAX_MESSAGE_CHARS:,}: "
                "send the request itself, or split it into several messages"
            )
        if thread_id is None:
            thread_id = self.conversations.start(user.id, title or text).thread_id
        else:
            self.conversations.owned(thread_id, user.id)
            waiting = self._waiting_proposal(thread_id)
            if waiting is not None:
                status = self.store.get(waiting).status
                what = "the decision on" if status == "pending" else "the ERP's answer on"
                raise Refused(
                    f"conversation {thread_id} is waiting for {what} {waiting}; start a new conversation"
                )
        known = {p.id for p in self.store.list(thread_id=thread_id)}
        with correlated(thread_id=thread_id, on_behalf_of=user.id):
            yield from self._run_turn(user, text, thread_id, known)

    def _run_turn(self, user: User, text: str, thread_id: str, known: set[str]) -> Iterator[ChatEvent]:
        stream = self.graph.stream(
            {"messages": [HumanMessage(text)], "requester": user.id, "via": "agent"},
            self._config(thread_id),
            stream_mode=["messages", "updates"],
            durability="sync",
        )
        for mode, data in stream:
            yield from _events(mode, data)
        self.conversations.touch(thread_id)
        filed = [p for p in self.store.list(thread_id=thread_id) if p.id not in known]
        if any(p.status == "approved" for p in filed):
            self.on_enqueued()  # approved automatically under the policy: its write is queued
            filed = [self.store.get(p.id) for p in filed]
        result = ChatResult(thread_id, self._reply(thread_id, filed), list(reversed(filed)))
        yield ChatEvent("done", text=result.reply, result=result)

    def _reply(self, thread_id: str, filed: list[Proposal]) -> str:
        waiting = self._waiting_proposal(thread_id)
        if waiting is not None:
            proposal = self.store.get(waiting)
            if proposal.status in ("approved", "committing"):
                return (
                    f"Proposal {proposal.id} ({proposal.summary}) is approved and queued for the ERP; "
                    "I will tell you here what landed."
                )
            needs = Gate.from_json(proposal.gate).requirement()
            return (
                f"I have filed proposal {proposal.id} for approval: {proposal.summary}. "
                f"It needs {needs}; nothing is written to the ERP until then, and you cannot approve it yourself."
            )
        messages = self.messages(thread_id)
        last = messages[-1] if messages else None
        return _text(last) if isinstance(last, AIMessage) else ""

    def messages(self, thread_id: str) -> list[AnyMessage]:
        """The thread's conversation as the checkpointer holds it."""
        values = self.graph.get_state(self._config(thread_id)).values
        return list(values.get("messages", []))

    def transcript(self, thread_id: str, user_id: str) -> list[dict[str, Any]]:
        """The owner's view of a conversation as plain JSON (role, content, tool calls)."""
        self.conversations.owned(thread_id, self.user(user_id).id)
        roles = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}
        return [
            {
                "role": roles.get(m.type, m.type),
                "content": _text(m),
                "name": getattr(m, "name", None),
                "tool_calls": [{"name": c["name"], "args": c["args"]} for c in m.tool_calls]
                if isinstance(m, AIMessage)
                else [],
            }
            for m in self.messages(thread_id)
        ]

    def conversations_of(self, user_id: str) -> list[Conversation]:
        return self.conversations.of_user(self.user(user_id).id)

    def waiting_for(self, thread_id: str, user_id: str) -> str | None:
        """The proposal the owner's conversation is waiting on (decision or ERP answer), if any."""
        self.conversations.owned(thread_id, self.user(user_id).id)
        return self._waiting_proposal(thread_id)

    def _waiting_proposal(self, thread_id: str) -> str | None:
        for pending in self.graph.get_state(self._config(thread_id)).interrupts:
            value = pending.value
            if isinstance(value, dict) and value.get("type") == "approval":
                return str(value["proposal_id"])
        return None

    # ---- approvals --------------------------------------------------------------------------

    def proposal(self, proposal_id: str) -> Proposal:
        return self.store.get(proposal_id)

    def proposals(
        self,
        status: ProposalStatus | None = None,
        requester: str | None = None,
        limit: int = 200,
        *,
        thread_id: str | None = None,
        person: str | None = None,
    ) -> list[Proposal]:
        """Newest first; ``person`` matches the requester or whoever it was requested for."""
        return self.store.list(
            status=status, requester=requester, thread_id=thread_id, person=person, limit=limit
        )

    def pending_approvals(self, user_id: str | None = None) -> list[Proposal]:
        """Pending proposals; for a given person, those they may still act on (never their own)."""
        pending = self.store.list(status="pending")
        if user_id is None:
            return pending
        user = self.user(user_id)
        return [
            p
            for p in pending
            if user.id not in (p.requester, p.on_behalf_of)
            and (set(user.roles) & set(Gate.from_json(p.gate).approver_roles))
            and user.id not in {d.actor for d in p.current_approvals()}
        ]

    def attention(self, proposal: Proposal, *, gate: Gate | None = None) -> str | None:
        """Why a pending proposal needs attention now: overdue (reminder/escalation) or expired.
        ``gate``: the proposal's gate, when already parsed."""
        if proposal.status != "pending":
            return None
        gate = gate if gate is not None else Gate.from_json(proposal.gate)
        now = self._now()
        if is_expired(gate, now):
            return f"expired at {gate.expires_at:%Y-%m-%d %H:%M} UTC"
        if needs_reminder(gate, now):
            return f"overdue since {gate.warn_at:%Y-%m-%d %H:%M} UTC; escalated to {gate.escalation_role}"
        return None

    def escalations(self, user_id: str) -> list[Proposal]:
        """Overdue proposals escalated to a role this person holds."""
        user = self.user(user_id)
        now = self._now()
        return [
            p
            for p in self.store.list(status="pending")
            if needs_reminder(gate := Gate.from_json(p.gate), now) and user.has(gate.escalation_role)
        ]

    def inbox(self, user_id: str, wanted: InboxFilter | None = None) -> list[InboxItem]:
        """An approver's inbox: pending proposals they may decide, filtered and sorted; with
        ``include_blocked`` also the ones they may not, each saying why."""
        return self.inbox_page(user_id, wanted).items

    def inbox_page(
        self, user_id: str, wanted: InboxFilter | None = None, *, limit: int | None = None
    ) -> InboxPage:
        """The first ``limit`` items of ``user_id``'s inbox (all without a limit) and its size.

        Filtering, sorting and the segregation-of-duties check run over outlines of the pending
        proposals (no payload or evidence); only the items returned are loaded whole. One that
        was decided in between is left out of the items (the counts are of the moment before)."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        person = self.user(user_id)
        # Without a limit every item is shown: load them whole at once instead of outlines first.
        pending = (
            self.store.list(status="pending", limit=100_000)
            if limit is None
            else self.store.pending_outlines()
        )
        items = inbox_items(
            pending,
            wanted or InboxFilter(),
            now=self._now(),
            blocked_reason=lambda p, gate: self.decision_blocker(p, person, gate=gate),
            attention=lambda p, gate: self.attention(p, gate=gate),
        )
        blocked = sum(1 for item in items if item.blocked is not None)
        if limit is None:
            return InboxPage(items=items, total=len(items), blocked=blocked)
        whole = self.store.get_many([item.proposal.id for item in items[:limit]])
        return InboxPage(
            items=[
                dataclasses.replace(item, proposal=whole[item.proposal.id])
                for item in items[:limit]
                if item.proposal.id in whole and whole[item.proposal.id].status == "pending"
            ],
            total=len(items),
            blocked=blocked,
        )

    def inbox_facets(self, user_id: str) -> tuple[list[str], list[str]]:
        """What the inbox's filter bar offers ``user_id``: the people pending proposals are for
        and their actions (every pending proposal, including those the person may not decide),
        read in two indexed queries instead of building the whole inbox."""
        self.user(user_id)
        return self.store.pending_facets()

    def decision_blocker(self, proposal: Proposal, person: User, *, gate: Gate | None = None) -> str | None:
        """Why ``person`` cannot approve ``proposal`` now (segregation of duties, role, already
        approved), or None when they can. ``gate``: the proposal's gate, when already parsed."""
        if proposal.status != "pending":
            return f"it is {proposal.status}"
        gate = gate if gate is not None else Gate.from_json(proposal.gate)
        if person.id in {d.actor for d in proposal.current_approvals()}:
            return f"you already approved it; it waits for {gate.requirement()}"
        try:
            self._check_decider(proposal, person, "approve", gate=gate)
        except Refused as refused:
            return str(refused)
        return None

    def edit_form(self, proposal_id: str) -> list[EditableField]:
        """The fields of a proposal an approver may change, with their current values."""
        return editable_fields(self.store.get(proposal_id).payload)

    def approver_view(self, proposal_id: str, user_id: str) -> ApproverView:
        """What ``user_id`` needs to decide one proposal, in business terms: names beside codes,
        money with currency, before → after, budget, stock, risk flags, the request and the
        agent's rationale (``agent.approver_view``). The ERP is read through the gateway as the
        agent for ``user_id``, so each read is authorised and audited; compute it for the one
        proposal a person opened, not for a list."""
        proposal = self.store.get(proposal_id)
        user = self.user(user_id)
        principal = Principal(self.agent.id, user.id)

        def read(tool: str, args: dict[str, Any]) -> Any:
            try:
                return self.gateway.read(tool, args, principal, self.gateway.mint(principal, tool))
            except USER_ERRORS as exc:
                raise ReadFailed(f"{tool.replace('_', ' ')}: {exc}") from None

        try:
            messages = self.messages(proposal.thread_id)
            tool_call_id: str | None = self.store.tool_call_of(proposal.id)
        except Exception:  # a compensation has no conversation; a pruned one has no messages
            messages, tool_call_id = [], None
        # The other waiting proposals of the same kind, for "something else waits for the same thing".
        outlines = [
            p.id for p in self.store.pending_outlines() if p.action == proposal.action and p.id != proposal.id
        ]
        waiting = list(self.store.get_many(outlines).values()) if outlines else []
        return build_view(
            proposal,
            read=read,
            risk=self.policies.effective().risk,
            messages=messages,
            tool_call_id=tool_call_id,
            waiting=waiting,
        )

    def check_evidence(self, proposal_id: str, user_id: str) -> list[EvidenceCheck]:
        """Each ERP read a proposal relied on, read again now for ``user_id``: whether it still
        says the same, and which values changed since the agent saw them."""
        proposal = self.store.get(proposal_id)
        user = self.user(user_id)
        try:
            shown = shown_results(self.messages(proposal.thread_id))
        except Exception:  # a compensation has no conversation; a pruned one has no messages
            shown = []
        checks = []
        for evidence in proposal.evidence:
            then = next(
                (r for tool, args, r in shown if tool == evidence.tool and args == evidence.args), None
            )
            principal = Principal(self.agent.id, user.id)
            try:
                value = self.gateway.read(
                    evidence.tool, evidence.args, principal, self.gateway.mint(principal, evidence.tool)
                )
            except USER_ERRORS as exc:
                checks.append(
                    EvidenceCheck(
                        evidence.tool, evidence.args, evidence.digest, None, then, None, error=str(exc)
                    )
                )
                continue
            now = to_plain_json(value)
            unchanged = result_digest(value) == evidence.digest
            changes = [] if unchanged or then is None else field_changes(then, now)
            checks.append(
                EvidenceCheck(evidence.tool, evidence.args, evidence.digest, unchanged, then, now, changes)
            )
        return checks

    def overview(self) -> Overview:
        """Pending count, time to decision and approval rate per action, from every proposal."""
        proposals = self.store.list(limit=1_000_000)
        overdue = sum(1 for p in proposals if self.attention(p) is not None)
        return overview_of(proposals, overdue=overdue)

    def decide(
        self,
        proposal_id: str,
        user_id: str,
        decision: DecisionKind,
        *,
        reason: str | None = None,
        edits: dict[str, Any] | None = None,
        revision: int | None = None,
    ) -> Proposal:
        """Approve, edit, or reject. The decision is recorded atomically under the proposal's gate;
        when it completes the gate (or rejects), the waiting run is resumed exactly once.

        ``revision``: the revision the person looked at (an interface that showed the proposal
        passes it); a decision on a proposal edited since is refused, so nobody approves a payload
        they never saw. An edit may change how much, never who or what (``agent.edits``)."""
        person = self.user(user_id)
        proposal = self.store.get(proposal_id)
        if proposal.status != "pending":
            raise AlreadyDecided(already_decided(proposal))
        if revision is not None and revision != proposal.revision:
            raise ProposalChanged(
                f"proposal {proposal.id} was edited after you looked at it (now revision"
                f" {proposal.revision}); look at it again, then decide"
            )
        gate = Gate.from_json(proposal.gate)
        if is_expired(gate, self._now()):
            self._expire(proposal)
            raise Refused(
                f"proposal {proposal.id} expired at {gate.expires_at:%Y-%m-%d %H:%M} UTC; nothing was written"
            )
        if decision == "reject" and not (reason and reason.strip()):
            raise Refused("a rejection needs a reason")
        _check_reason(reason)
        interrupt_id = self._interrupt_for(proposal)  # None only for a compensation (no conversation)

        def check(current: Proposal) -> None:
            self._check_decider(current, person, decision)

        try:
            check(proposal)  # early, for a clear answer; repeated inside the store's transaction
        except Refused as refused:
            self.audit.append(
                proposal_event(
                    "access_denied",
                    proposal,
                    actor=person.id,
                    tool=f"decide:{decision}",
                    details={"kind": "decision_refused", "reason": str(refused)},
                )
            )
            raise
        kind: DecisionKind = decision
        revised: Revised | None = None
        if decision == "edit":
            try:
                revised = self._revised(proposal, person, gate, edits)
            except IdentityEdit as refused:
                # Retargeting a write is a security event, not a typo: the trail keeps the attempt.
                self.audit.append(
                    proposal_event(
                        "access_denied",
                        proposal,
                        actor=person.id,
                        tool="decide:edit",
                        details={"kind": "identity_edit_refused", "reason": str(refused), "edits": edits},
                    )
                )
                raise
            kind = revised.kind
        record, recorded = self._decision_records(person.id, kind, reason, edits)
        updated = self.store.decide(
            proposal.id,
            actor=person.id,
            decision=kind,
            check=check,
            satisfied=self._satisfied,
            reason=reason,
            edits=edits,
            new_payload=revised.payload if revised else None,
            new_fingerprint=revised.fingerprint if revised else None,
            new_gate=revised.gate if revised else None,
            new_summary=revised.summary if revised else None,
            seen_revision=proposal.revision,  # an edit landing meanwhile refuses this decision
            on_approved=lambda conn, approved: self._enqueue(conn, approved, self._actor_of(approved)),
            on_decided=record,
        )
        self._settle(recorded)
        if updated.status == "rejected":
            # Only the decision that completed the gate gets here, so the run resumes exactly once.
            resume = ApprovalDecision(
                proposal_id=proposal.id, decision="reject", actor=person.id, reason=reason
            )
            self._tell(updated, interrupt_id, resume)
        elif updated.status == "approved":
            # The write is queued; the result consumer resumes the run once the ERP has answered.
            self.on_enqueued()
        return self.store.get(proposal.id)

    def _revised(self, proposal: Proposal, person: User, gate: Gate, edits: dict[str, Any] | None) -> Revised:
        """An approver's edit checked and priced: identity fields refused, the edited command
        revalidated through the gateway, regated, and measured against the proposal as first filed
        (so small edits never add up past the tolerance)."""
        if not edits:
            raise Refused("an edit needs at least one field=value")
        edited = edited_command(proposal.payload, edits)
        principal = Principal(self.agent.id, person.id)
        audience = self.gateway.check_audience(edited.action)
        prepared = self.gateway.recheck(
            edited.action,
            edited,
            edited.based_on,
            principal,
            self.gateway.mint(principal, audience),
            self._today(),
        )
        payload = prepared.command.model_dump(mode="json")
        policy = self.policies.effective()
        regated = policy.gate_for(
            edited.action,
            prepared.amount.amount,
            now=proposal.created_at,
            unattended_allowed=False,  # an edited proposal is never committed unattended
        )
        proposed = proposed_terms(proposal)
        new_gate = {
            **regated.as_json(),
            "expires_at": proposal.gate["expires_at"],
            "warn_at": proposal.gate["warn_at"],
            "proposed": proposed,
        }
        original_amount = Decimal(str(proposed["amount"]))
        fresh = edit_needs_fresh_approval(
            gate, original_amount, prepared.amount.amount, policy=policy
        ) or bool(beyond_tolerance(proposed["payload"], payload, gate.edit_tolerance))
        return Revised(
            kind="revise" if fresh else "edit",
            payload=payload,
            fingerprint=prepared.fingerprint,
            gate=new_gate,
            summary=summary_after_edit(proposal, prepared.command),
        )

    def waits_for_queue(self, proposal_id: str) -> bool:
        """True when the proposal's approved write is still in the outbox because the queue was
        unreachable: it is committed and lands once the queue answers again."""
        return self.outbox.unsent_about(proposal_id)

    def wait_for_outcome(self, proposal_id: str, seconds: float) -> Proposal:
        """The proposal once the ERP has answered for it, or as it stands after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            proposal = self.store.get(proposal_id)
            if proposal.status not in ("approved", "committing") or time.monotonic() >= deadline:
                return proposal
            time.sleep(0.2)

    def _enqueue(self, conn: Connection, proposal: Proposal, actor: str) -> None:
        command = CommitCommand.of(proposal, actor)
        self.outbox.add(
            conn,
            queue=COMMANDS,
            body=command.model_dump(mode="json"),
            subject=proposal.id,
            message_id=command.message_id(),
        )

    def _actor_of(self, proposal: Proposal) -> str:
        """The identity the run that filed this proposal acts as (it makes the write too)."""
        if proposal.requester in self.agent_ids:
            return proposal.requester  # filed by one of Countersign's own identities (reconciliation)
        via = self.graph.get_state(self._config(proposal.thread_id)).values.get("via", "agent")
        return self._identity(via).id

    def resume_with_outcome(self, proposal: Proposal, wait_seconds: float = 30.0) -> bool:
        """Resume the run waiting for this proposal now that the ERP has answered; False when no run
        waits for it (already told, or a proposal filed outside a conversation)."""
        deadline = time.monotonic() + wait_seconds
        config = self._config(proposal.thread_id)
        while True:
            state = self.graph.get_state(config)
            for pending in state.interrupts:
                if isinstance(pending.value, dict) and pending.value.get("proposal_id") == proposal.id:
                    last = proposal.current_approvals()[-1] if proposal.current_approvals() else None
                    resume = ApprovalDecision(
                        proposal_id=proposal.id,
                        decision="approve",
                        actor=last.actor if last else "",
                        reason=last.reason if last else None,
                    )
                    self._resume(proposal, str(pending.id), resume)
                    self.store.mark_told(proposal.id)
                    return True
            # An automatic approval queues the write inside ``propose``; the run pauses a moment
            # later. Wait for that pause rather than miss it.
            if not state.next or state.interrupts:
                self.store.mark_told(proposal.id)  # nobody waits for this outcome
                return False
            if time.monotonic() > deadline:
                return False  # the run is stuck mid-step: `countersign recover` continues it
            time.sleep(0.05)

    def _decision_records(
        self, actor: str, kind: str, reason: str | None, edits: dict[str, Any] | None
    ) -> tuple[Callable[[Connection, Proposal], None], list[AuditRecord]]:
        """The ``on_decided`` hook that appends a decision's audit record inside the decision's own
        transaction, and the list it leaves the record in (for ``_settle`` once committed)."""
        recorded: list[AuditRecord] = []

        def record(conn: Connection, decided: Proposal) -> None:
            recorded.extend(self.audit.append_in(conn, [decision_event(decided, actor, kind, reason, edits)]))

        return record, recorded

    def _settle(self, recorded: list[AuditRecord]) -> None:
        if recorded:
            self.audit.settle(recorded[-1])

    def _check_decider(
        self, proposal: Proposal, person: User, decision: DecisionKind, *, gate: Gate | None = None
    ) -> None:
        gate = gate if gate is not None else Gate.from_json(proposal.gate)
        previous = [Approval(d.actor, self._roles(d.actor)) for d in proposal.current_approvals()]
        revisers = {
            d.actor for d in proposal.approvals if d.decision == "revise" and d.revision == proposal.revision
        }
        try:
            if person.id in revisers and decision != "reject":
                raise NotAllowed(
                    f"{person.id} changed this proposal beyond the policy's tolerance; someone else must approve it"
                )
            # A rejection needs the same standing as an approval, but not the gate's arithmetic.
            check_approver(
                gate,
                actor=person.id,
                roles=person.roles,
                requester=proposal.requester,
                on_behalf_of=proposal.on_behalf_of,
                previous_approvers=[] if decision == "reject" else previous,
                agent_ids=self.agent_ids,
            )
        except NotAllowed as refused:
            raise Refused(str(refused)) from None

    def _satisfied(self, proposal: Proposal, approvals: Sequence[Decision]) -> bool:
        gate = Gate.from_json(proposal.gate)
        return evaluate(gate, [Approval(d.actor, self._roles(d.actor)) for d in approvals]).satisfied

    def _resume(self, proposal: Proposal, interrupt_id: str, resume: ApprovalDecision) -> None:
        with correlated(
            thread_id=proposal.thread_id,
            proposal_id=proposal.id,
            idempotency_key=proposal.idempotency_key,
            on_behalf_of=proposal.on_behalf_of,
        ):
            self.graph.invoke(
                Command(resume={interrupt_id: resume}), self._config(proposal.thread_id), durability="sync"
            )

    def _tell(self, proposal: Proposal, interrupt_id: str | None, resume: ApprovalDecision) -> None:
        if interrupt_id is not None:
            self._resume(proposal, interrupt_id, resume)
        self.store.mark_told(proposal.id)

    def _interrupt_for(self, proposal: Proposal) -> str | None:
        # Never act on a proposal whose conversation is not waiting for exactly this proposal:
        # it is forged or stale, and LangGraph would silently start a fresh run on an unknown
        # thread. Compensations filed by reconciliation have no conversation (None).
        if proposal.compensates is not None and proposal.requester in self.agent_ids:
            return None
        for pending in self.graph.get_state(self._config(proposal.thread_id)).interrupts:
            value = pending.value
            if isinstance(value, dict) and value.get("proposal_id") == proposal.id:
                return str(pending.id)
        raise Refused(f"conversation {proposal.thread_id} is not waiting for proposal {proposal.id}")

    def expire_overdue(self) -> list[Proposal]:
        """Expire every pending proposal past its gate's limit and tell each requester (via the run)."""
        now = self._now()
        return [
            self._expire(p)
            for p in self.store.list(status="pending", limit=10_000)
            if is_expired(Gate.from_json(p.gate), now)
        ]

    def _expire(self, proposal: Proposal) -> Proposal:
        gate = Gate.from_json(proposal.gate)
        reason = f"pending past {gate.expires_at:%Y-%m-%d %H:%M} UTC under rule {gate.rule}"
        try:
            interrupt_id = self._interrupt_for(proposal)
        except Refused:
            interrupt_id = None  # nobody waits; the proposal still expires
        try:
            expired = self.store.decide(
                proposal.id,
                actor=EXPIRY_ACTOR,
                decision="expire",
                check=lambda _: None,
                satisfied=lambda *_: False,
                reason=reason,
            )
        except AlreadyDecided:
            return self.store.get(proposal.id)
        resume = ApprovalDecision(
            proposal_id=proposal.id, decision="expire", actor=EXPIRY_ACTOR, reason=reason
        )
        self._tell(expired, interrupt_id, resume)
        return self.store.get(proposal.id)

    def recover(self) -> list[Proposal]:
        """Finish what a crash or an outage left half done; safe to repeat.

        - an "approved" proposal the audit trail's decisions do not authorize fails, never queued;
        - an approved write whose result never came back is queued again under its own key (the
          ERP's ledger turns a write that did land into its stored receipt, never a second one);
        - an approved proposal from before the queue existed gets its outbox row;
        - a proposal that ended (committed, failed, rejected, expired) whose run was never told is
          told once: a run paused at its interrupt is resumed, one stopped mid-step is continued;
        - every write in the ERP ledger gets its audit record.
        """
        touched: dict[str, Proposal] = {}
        for proposal in self.store.list_by_status(("approved", "committing")):
            touched[proposal.id] = proposal
            refused = self.authorize_write(proposal)
            if refused is not None:
                # "approved" with no decision behind it in the trail: it ends here, never queued.
                self.store.mark(proposal.id, "failed", error=refused, only_from=("approved", "committing"))
                self.outbox.complete_subject(proposal.id, "failed")
                continue
            if not self.outbox.has_subject(proposal.id):
                with self.engine.begin() as conn:
                    self._enqueue(conn, proposal, self._actor_of(proposal))
        self.outbox.republish_unfinished()
        self.on_enqueued()
        for proposal in self.tell_untold():
            touched[proposal.id] = proposal
        self.backfill_commit_records()
        return [self.store.get(pid) for pid in touched]

    def authorize_write(self, proposal: Proposal) -> str | None:
        """Why ``proposal`` may not be written (None when the audit trail's decisions authorize it);
        a refusal is recorded in the trail. Asked before anything applies a write."""
        problem = self.authorizer.check(proposal)
        if problem is None:
            return None
        self.audit.append(
            proposal_event(
                "access_denied",
                proposal,
                actor=self.agent.id,
                tool=f"commit:{proposal.action}",
                details={"kind": "write_not_authorized", "reason": problem, "status": proposal.status},
            )
        )
        return f"not written: {problem}; propose it again and have it approved"

    def tell_untold(self, *, quiet_for: timedelta = timedelta(0)) -> list[Proposal]:
        """Resume, once, every run whose proposal has ended but whose requester was never told.

        A crash can leave such a run paused at its interrupt (before the resume) or stopped on a
        later step with its task dangling (mid-resume: reporting the outcome, or the reply after
        it). ``quiet_for`` (the standing job's guard) leaves alone a proposal that ended, or a run
        that took a step, less than that long ago: another process may be telling it right now.
        """
        cutoff = self._now() - quiet_for if quiet_for else None
        told = []
        for proposal in self.store.list_by_status(TERMINAL, untold=True):
            if cutoff is not None and not self.store.claim_untold(
                proposal.id, ended_before=cutoff, now=self._now()
            ):
                continue  # ended too recently, or another worker claimed it a moment ago
            if self._tell_untold(proposal, cutoff):
                told.append(proposal)
        return told

    def _tell_untold(self, proposal: Proposal, cutoff: datetime | None) -> bool:
        if proposal.compensates is not None and proposal.requester in self.agent_ids:
            self.store.mark_told(proposal.id)  # reconciliation's own proposal: no conversation waits
            return False
        config = self._config(proposal.thread_id)
        state = self.graph.get_state(config)
        if cutoff is not None and state.created_at and datetime.fromisoformat(state.created_at) > cutoff:
            return False  # the run took a step just now: it is alive, leave it be
        waiting = [
            str(i.id)
            for i in state.interrupts
            if isinstance(i.value, dict) and i.value.get("proposal_id") == proposal.id
        ]
        if waiting:
            self._tell(proposal, waiting[0], self._outcome_for(proposal))
            return True
        if state.next and set(state.next) <= TELLING_STEPS and not state.interrupts:
            # Resumed, then stopped mid-way: the dangling task continues from its checkpoint.
            with correlated(thread_id=proposal.thread_id, proposal_id=proposal.id):
                self.graph.invoke(None, config, durability="sync")
            self.store.mark_told(proposal.id)
            return True
        self.store.mark_told(proposal.id)  # the run finished, or moved on: nothing left to tell
        return False

    def _outcome_for(self, proposal: Proposal) -> ApprovalDecision:
        """What the waiting run is resumed with for a proposal that has ended."""
        if proposal.status in ("rejected", "expired"):
            kind: Literal["reject", "expire"] = "reject" if proposal.status == "rejected" else "expire"
            ending = [d for d in proposal.approvals if d.decision == kind][-1:]
            return ApprovalDecision(
                proposal_id=proposal.id,
                decision=kind,
                actor=ending[0].actor if ending else EXPIRY_ACTOR,
                reason=ending[0].reason if ending else None,
            )
        last = proposal.current_approvals()[-1:]
        return ApprovalDecision(
            proposal_id=proposal.id,
            decision="approve",
            actor=last[0].actor if last else "",
            reason=last[0].reason if last else None,
        )

    # ---- audit ------------------------------------------------------------------------------

    def backfill_commit_records(self) -> list[str]:
        """Give every write the ERP ledger holds a commit record (a crash can land a write and
        lose its record); the ledger is the authority. Returns the keys it recorded."""
        missing = self.unaudited_commits()
        for receipt in missing:
            proposal = self.store.find_by_key(receipt.idempotency_key)
            fields: dict[str, Any] = {
                "tool": f"commit:{receipt.action}",
                "result": receipt_reference(receipt),
                "details": {"recovered_from": "erp ledger"},
            }
            if proposal is not None:
                self.audit.append(proposal_event("commit", proposal, actor=self.agent.id, **fields))
            else:
                key = {"idempotency_key": receipt.idempotency_key, "fingerprint": receipt.fingerprint}
                self.audit.append(AuditEvent(type="commit", actor=self.agent.id, **key, **fields))
        return [r.idempotency_key for r in missing]

    def unaudited_commits(self) -> list[Receipt]:
        """Writes in the ERP ledger with no commit record in the audit trail."""
        recorded = {r.idempotency_key for r in self.audit.records(types=["commit"])}
        return [r for r in self.erp.ledger() if r.idempotency_key not in recorded]

    def verify_audit(self, *, against_erp: bool = False) -> VerifyReport:
        """Recompute the chain and every signature; optionally check that every ERP write is recorded
        and was authorized by decisions the trail records (against the gate it recorded)."""
        report = self.audit.verify()
        # Said plainly on every verification: where the key and checkpoints are decides who can
        # rewrite the trail unseen.
        placement = placement_warnings(self.settings)
        if placement:
            report = report.model_copy(update={"warnings": [*report.warnings, *placement]})
        if not report.ok or not against_erp:
            return report
        missing = self.unaudited_commits()
        if missing:
            keys = ", ".join(r.idempotency_key for r in missing[:5])
            problem = f"{len(missing)} write(s) in the ERP ledger have no commit record: {keys} (run `countersign recover`)"
            return report.model_copy(update={"ok": False, "problem": problem})
        unauthorized = self.authorizer.unauthorized_writes(
            (r.idempotency_key, r.fingerprint) for r in self.erp.ledger()
        )
        if not unauthorized:
            return report
        named = "; ".join(f"{u.proposal_id or u.idempotency_key}: {u.reason}" for u in unauthorized[:5])
        problem = (
            f"{len(unauthorized)} write(s) in the ERP ledger have no authorizing decision in the audit trail:"
            f" {named} (see `countersign reconcile`)"
        )
        return report.model_copy(update={"ok": False, "problem": problem})

    def audit_search(
        self,
        *,
        proposal_id: str | None = None,
        idempotency_key: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditRecord]:
        """The latest ``limit`` audit records matching every given filter, newest first. A user
        matches as the actor or as the person an identity acted for. A proposal matches every
        record of its story (the reads it relied on, its key's commit records too), so a search by
        proposal and the story it opens count the same records."""
        if proposal_id:
            found = [
                record
                for record in reversed(self.story(proposal_id))
                if (not idempotency_key or record.idempotency_key == idempotency_key)
                and (not user_id or user_id in (record.actor, record.on_behalf_of))
                and (since is None or record.ts >= since)
                and (until is None or record.ts < until)
            ]
            return found[:limit]
        return list(
            self.audit.records(
                proposal_id=proposal_id or None,
                idempotency_key=idempotency_key or None,
                person=user_id or None,
                since=since,
                until=until,
                newest_first=True,
                limit=limit,
            )
        )

    def story(self, proposal_id: str) -> list[AuditRecord]:
        """Every audit record of one action, in order: request evidence, proposal, decisions, commit."""
        proposal = self.store.get(proposal_id)
        by_proposal = {r.seq: r for r in self.audit.records(proposal_id=proposal.id)}
        by_key = {r.seq: r for r in self.audit.records(idempotency_key=proposal.idempotency_key)}
        evidence = {e.digest for e in proposal.evidence}
        reads = {
            r.seq: r
            for r in self.audit.records(types=["read"])
            if r.thread_id == proposal.thread_id and evidence & set(r.evidence)
        }
        return [record for _, record in sorted({**reads, **by_proposal, **by_key}.items())]

    # ---- policy -----------------------------------------------------------------------------

    def policy(self) -> Policy:
        return self.policies.effective()

    def outcomes(self) -> dict[str, dict[Outcome, int]]:
        """How proposals ended, per action: the evidence autonomy is granted on."""
        counts: dict[str, dict[Outcome, int]] = {}
        for proposal in self.store.list(limit=1_000_000):
            outcome = _outcome(proposal)
            if outcome is not None:
                per_action = counts.setdefault(proposal.action, {})
                per_action[outcome] = per_action.get(outcome, 0) + 1
        return counts

    def suggestions(self) -> list[Suggestion]:
        return suggest(self.policy(), self.outcomes())

    def propose_policy_change(self, user_id: str, action: str, mode: Mode, reason: str) -> PolicyChange:
        maker = self.user(user_id)
        if not (maker.has("approver") or maker.has("finance_director")):
            raise Refused(
                f"{maker.id} may not propose policy changes: it needs the approver or finance_director role"
            )
        if not reason.strip():
            raise Refused("a policy change needs a reason")
        _check_reason(reason)
        change = self.policies.propose(action=action, mode=mode, reason=reason, maker=maker.id)
        self._record_policy_change(change, maker.id, "proposed")
        return change

    def decide_policy_change(
        self, change_id: str, user_id: str, approve: bool, reason: str | None = None
    ) -> PolicyChange:
        checker = self.user(user_id)
        change = self.policies.get(change_id)
        if checker.id == change.maker:
            raise Refused(f"{checker.id} proposed {change_id}; a second person must check it (maker-checker)")
        if not checker.has(CHECKER_ROLE):
            raise Refused(f"{checker.id} may not check policy changes: it needs the {CHECKER_ROLE} role")
        if not approve and not (reason and reason.strip()):
            raise Refused("a rejection needs a reason")
        _check_reason(reason)
        decided = self.policies.decide(change_id, checker=checker.id, approve=approve, reason=reason)
        self._record_policy_change(decided, checker.id, decided.status)
        return decided

    def _record_policy_change(self, change: PolicyChange, actor: str, step: str) -> None:
        self.audit.append(
            AuditEvent(
                type="policy_change",
                actor=actor,
                tool=change.action,
                gate={"policy_version": self.policy().version, "base_version": change.base_version},
                details={"change": change.id, "step": step, "mode": change.mode, "reason": change.reason},
            )
        )

    # ---- tools ------------------------------------------------------------------------------

    def tool_specs(self, via: Via = "agent") -> list[ToolSpec]:
        """The tools one identity is granted (what a model or MCP client is shown)."""
        granted = set(self._identity(via).granted_tools())
        return [spec for spec in Gateway.specs() if spec.name in granted]

    def _identity(self, via: Via) -> AgentIdentity:
        try:
            return self.identities[via]
        except KeyError:
            raise Refused(f"no {via!r} identity is configured") from None

    def call_tool(self, name: str, args: dict[str, Any], user_id: str, *, via: Via = "agent") -> Any:
        """Call one tool through the gateway under an identity's principal, for this user.

        A read answers at once (JSON-ready data). A propose tool files a pending proposal in a
        conversation of its own, through the same graph path as a chat, acting as that identity.
        """
        user = self.user(user_id)
        identity = self._identity(via)
        if name in PROPOSE_NAMES:
            return self._file_through_graph(name, args, user, via)
        principal = Principal(identity.id, user.id)
        return to_plain_json(self.gateway.read(name, args, principal, self.gateway.mint(principal, name)))

    def _file_through_graph(self, name: str, args: dict[str, Any], user: User, via: Via) -> Proposal:
        identity = self._identity(via)
        if name in identity.granted_tools():
            # Arguments the tool refuses are refused before a conversation exists (one line naming
            # the field); a value the checkpointer cannot even store (10**30) never reaches it.
            self.gateway.check_arguments(name, args, Principal(identity.id, user.id), self._today())
        conversation = self.conversations.start(user.id, f"{name} ({via} tool call)")
        try:
            return self._file_in(conversation, name, args, user, via)
        except Exception:
            # A refused attempt leaves no empty "(tool call)" conversation behind; the refusal
            # itself is in the audit trail and the security log.
            if not self.store.list(thread_id=conversation.thread_id):
                self._discard_conversation(conversation.thread_id)
            raise

    def _discard_conversation(self, thread_id: str) -> None:
        checkpointer = self.graph.checkpointer
        if isinstance(checkpointer, BaseCheckpointSaver):
            checkpointer.delete_thread(thread_id)
        self.conversations.discard(thread_id)

    def _file_in(
        self, conversation: Conversation, name: str, args: dict[str, Any], user: User, via: Via
    ) -> Proposal:
        config = self._config(conversation.thread_id)
        call = {"name": name, "args": args, "id": f"call-{conversation.thread_id}", "type": "tool_call"}
        self.graph.update_state(
            config,
            {
                "messages": [HumanMessage(f"[{via} tool call] {name}"), AIMessage("", tool_calls=[call])],
                "requester": user.id,
                "via": via,
            },
            as_node="reason",
        )
        self.graph.invoke(None, config, durability="sync")
        filed = self.store.list(thread_id=conversation.thread_id)
        if not filed:
            refusal = next(
                (
                    m.artifact
                    for m in self.messages(conversation.thread_id)
                    if isinstance(m, ToolMessage) and m.artifact
                ),
                {"error_type": "Refused", "message": "refused"},
            )
            denied = refusal["error_type"] == AccessDenied.__name__
            raise (AccessDenied if denied else Refused)(refusal["message"])
        if filed[0].status == "approved":
            self.on_enqueued()  # approved automatically under the policy: its write is queued
            return self.store.get(filed[0].id)
        return filed[0]

    # ---- reconciliation ---------------------------------------------------------------------

    def reconcile(self, progress: Callable[[str], None] = lambda _: None) -> RunReport:
        """One reconciliation pass: intended writes against what the ERP holds (see agent.reconcile)."""
        return self.reconciler.run(progress)

    def reconcile_quietly(self) -> None:
        report = self.reconcile()
        log.info(report.line())

    def discrepancies(self, *, include_resolved: bool = False) -> list[Discrepancy]:
        return self.reconciler.discrepancies(include_resolved=include_resolved)

    def latest_reconciliation(self) -> RunReport | None:
        return self.reconciler.latest()

    def _confirm_landed(self, proposal_id: str, entry: LedgerEntry) -> None:
        """A write the ledger shows landed but whose result never came back: record it from the
        ledger (the authority) and tell the waiting run."""
        assert entry.receipt is not None and self.pipeline is not None
        proposal = self.store.get(proposal_id)
        if self.pipeline.results.record(committed_result(proposal, entry.receipt)):
            self.resume_with_outcome(self.store.get(proposal_id))

    def _file_compensation(self, discrepancy: Discrepancy, command: ErpCommand, erp_key: str | None) -> str:
        """File the compensating proposal of a discrepancy as the reconciler's own identity; the
        policy gates it like any write. A re-send keeps the original key, versions and fingerprint."""
        if erp_key is not None and discrepancy.proposal_id is not None:
            # A re-send writes the original intent again: only one the trail's decisions authorized.
            refused = self.authorizer.check(self.store.get(discrepancy.proposal_id))
            if refused is not None:
                raise Refused(f"no re-send of an unauthorized intent: {refused}")
        identity = self.identities["reconciler"]
        principal = Principal(identity.id, identity.id)
        token = self.gateway.mint(principal, self.gateway.check_audience(command.action))
        based_on = command.based_on if erp_key is not None else None
        prepared = self.gateway.recheck(command.action, command, based_on, principal, token, self._today())
        gate = self.policies.effective().gate_for(
            prepared.action, prepared.amount.amount, now=self._now(), unattended_allowed=False
        )
        proposal = self.store.create(
            thread_id=f"reconcile-{discrepancy.id}",
            tool_call_id=discrepancy.id,
            action=prepared.action,
            summary=f"[compensates {discrepancy.kind} {discrepancy.id}] {prepared.command.summary()}",
            payload=prepared.command.model_dump(mode="json"),
            idempotency_key=str(uuid.uuid4()),
            fingerprint=prepared.fingerprint,
            requester=identity.id,
            evidence=[],
            gate=gate.as_json(),
            compensates=discrepancy.id,
            erp_key=erp_key,
        )
        self.audit.append(
            proposal_event(
                "proposal",
                proposal,
                actor=identity.id,
                tool=f"reconcile:{discrepancy.kind}",
                gate=proposal.gate,
                details={
                    "discrepancy": discrepancy.id,
                    "erp_key": erp_key,
                    "finding": discrepancy.detail,
                    "action": proposal.action,
                    "summary": proposal.summary,
                    "payload": proposal.payload,
                },
            )
        )
        return proposal.id

    # ---- events -----------------------------------------------------------------------------

    def run_for_event(self, owner: str, text: str, title: str) -> tuple[str, list[str]]:
        """Start one agent run for an ERP event, on behalf of its owner, in a new conversation."""
        result = self.chat(owner, text, title=title)
        return result.thread_id, [p.id for p in result.proposals]

    def event_runs(self, limit: int = 50) -> list[EventRun]:
        """The latest ERP events the agent worker handled, newest first."""
        return recent_event_runs(self.engine, limit)

    def event_runs_needing_a_person(self, owner: str | None = None, limit: int = 500) -> list[EventRun]:
        """Recent event runs that ended without doing what they were for (a fact missing, no
        proposal where one was expected, a failure), newest first; ``owner``: only theirs."""
        return [
            run
            for run in recent_event_runs(self.engine, limit)
            if run.status in EVENT_RUNS_NEEDING_A_PERSON and (owner is None or run.owner == owner)
        ]

    def queue_status(self) -> dict[str, Any]:
        """What waits in the outbox and the queues, and what was dead-lettered (with reasons)."""
        from agent.messaging.topology import QUEUES
        from agent.settings import shown

        assert self.pipeline is not None
        bus = self.pipeline.bus
        return {
            "broker": shown(self.settings.message_broker_url),
            "outbox": dataclasses.asdict(self.outbox.stats()),
            "queues": {
                queue: {
                    "ready": bus.size(queue),
                    "dead_letters": [
                        {
                            "message_id": d.message_id,
                            "error": d.headers.get("x-error", ""),
                            "attempts": d.headers.get("x-attempts", d.attempts),
                            "body": d.body,
                        }
                        for d in bus.dead_letters(queue)
                    ],
                }
                for queue in QUEUES
            },
        }

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


def build_service(
    settings: Settings | None = None,
    *,
    erp: Erp | None = None,
    model: BaseChatModel | None = None,
    today: Callable[[], date] = date.today,
    now: Callable[[], datetime] = _utc_now,
) -> AgentService:
    """Wire one installation from settings (embedded defaults when none are given).

    Misconfiguration fails here, at start, with one clear line: an identity that grants a
    wildcard, an admin scope or an approval right; a policy that does not validate."""
    from agent.audit_keys import open_audit_trail
    from agent.checkpoints import open_checkpointer
    from agent.composition import close_erp, open_app_engine, open_erp
    from agent.logs import configure_structlog
    from agent.messaging.bus import Bus
    from agent.messaging.pacer import WritePacer
    from agent.models import make_chat_model
    from agent.pipeline.runner import Pipeline
    from agent.policy import load_policy
    from agent.schema import upgrade_app_database
    from agent.secrets import token_signing_key
    from agent.telemetry import configure_tracing
    from agent.users import ROLES
    from tools.identity import load_identities
    from tools.ratelimit import TokenBucket
    from tools.tokens import SqlJtiStore, TokenIssuer

    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_structlog()
    configure_tracing(settings)
    directory = load_directory(settings.users_file)
    identities = load_identities(settings.identities_file, human_ids=directory.ids())
    base_policy = load_policy(settings.policy_file, known_roles=frozenset(ROLES))
    engine = open_app_engine(settings)
    try:
        upgrade_app_database(engine)  # every table of every store, at the code's revision
    except OperationalError as exc:
        engine.dispose()
        raise unavailable("app database", settings.app_database_url, exc) from exc
    store = ProposalStore(engine)
    jti_store = SqlJtiStore(engine)
    try:
        trail = open_audit_trail(settings, engine)  # refuses a trail whose signing key is missing
    except AuditKeyError:
        engine.dispose()
        raise
    security = AuditSecurityLog(trail)
    checkpointer = open_checkpointer(settings.checkpoint_database_url)
    pacer = WritePacer(engine, writes_per_second=settings.writer_max_writes_per_second)
    opened_erp: Erp | None = None  # closed with the service; an ERP the caller passed stays theirs
    if erp is None:
        erp = opened_erp = open_erp(settings)
    erp = traced_erp(erp)
    gateway = Gateway(
        erp,
        identities=identities,
        tokens=TokenIssuer(token_signing_key(settings), jti_store, ttl_seconds=settings.token_ttl_seconds),
        recorder=security,
        audit=trail,
        limiter=TokenBucket(settings.erp_rate_per_second, settings.erp_burst),
        read_retries=settings.erp_read_retries,
        pace_writes=pacer.acquire,
    )

    service = AgentService(
        settings=settings,
        gateway=gateway,
        erp=erp,
        model=model if model is not None else make_chat_model(settings),
        store=store,
        conversations=ConversationStore(engine),
        directory=directory,
        identities=identities,
        policies=PolicyChangeStore(engine, base_policy),
        security=security,
        audit=trail,
        checkpointer=checkpointer.saver,
        engine=engine,
        today=today,
        now=now,
    )
    bus = Bus(
        settings.message_broker_url, max_attempts=settings.queue_max_attempts, prefix=settings.queue_prefix
    )
    pipeline = Pipeline(service, bus)
    service.pipeline = pipeline
    service.on_enqueued = pipeline.kick

    def close() -> None:
        pipeline.stop()
        bus.close()
        checkpointer.close()
        engine.dispose()
        if opened_erp is not None:
            close_erp(opened_erp)

    service._on_close = close
    return service

"""The agent's state machine (LangGraph), read top to bottom in ``build_graph``.

    reason ──(read calls)──> read_tools ──> reason
    reason ──(propose call)──> propose ──> await_approval ──approve──> report_outcome ──> respond
                                  │               └──reject/expire──> report_rejection ──> reason
                                  └──(refused)──> reason

``propose`` is the one place every proposal of a person passes through (chat, ``tools call``, MCP,
ERP event runs): it refuses a requester who holds none of the action's requester roles (and
records the refusal), then makes the idempotency key and fingerprint, computes the policy gate and
files the proposal; it finishes and is checkpointed before ``await_approval`` pauses. ``await_approval``
only calls ``interrupt``, because LangGraph re-runs a node from its first line on resume.

The graph never writes to the ERP. The decision that approves a proposal queues its command in the
outbox in the same transaction (a gate the policy lets run automatically does so inside
``propose``, with the policy recorded as the decider); the ERP writer applies it and the result
consumer resumes the run once, with the outcome. ``report_outcome`` reads that outcome from the
approvals store, the authority on the decision and on what landed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt
from sqlalchemy.engine import Connection

from agent.approvals import Evidence, Proposal, ProposalStore
from agent.edits import amended_by, amendments
from agent.policy import NotAllowed, Policy, check_requester
from agent.prompts import system_prompt
from agent.records import decision_event, proposal_event
from agent.users import Directory, UnknownUser
from erp_acl.errors import ErpError
from tools.audit import AuditEvent, AuditRecord, AuditTrail
from tools.catalog import PROPOSE_TOOLS, READ_TOOLS
from tools.gateway import Gateway, Principal, ToolError
from tools.identity import AgentIdentity
from tools.observability import traced_node
from tools.rendering import content_digest, render_error, render_result
from tools.tokens import TokenRefused

AUTO_APPROVER = "policy:auto"

PROPOSE_NAMES = frozenset(t.name for t in PROPOSE_TOOLS)
ACTION_OF_TOOL = {t.name: t.action for t in PROPOSE_TOOLS}
READ_NAMES = frozenset(t.name for t in READ_TOOLS)


class PendingProposal(TypedDict):
    proposal_id: str
    idempotency_key: str
    fingerprint: str
    tool_call_id: str
    action: str
    summary: str


class ApprovalDecision(TypedDict, total=False):
    proposal_id: str
    decision: Literal["approve", "reject", "edit", "expire"]
    actor: str
    reason: str | None


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    requester: str
    # Which configured identity this run acts as: "agent" (chat) or "mcp" (another agent's call).
    via: str
    pending: PendingProposal | None
    decision: ApprovalDecision | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GraphDeps:
    gateway: Gateway
    store: ProposalStore
    model: BaseChatModel
    directory: Directory
    identities: Mapping[str, AgentIdentity]
    policy: Callable[[], Policy]
    audit: AuditTrail
    # Queues an approved proposal's command in the outbox, inside the approving transaction.
    enqueue: Callable[[Connection, Proposal, str], None]
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = _utc_now


def _last_ai(state: AgentState) -> AIMessage | None:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, AIMessage):
            return message
    return None


def _current_turn(messages: list[AnyMessage]) -> list[AnyMessage]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index:]
    return messages


def evidence_of(messages: list[AnyMessage]) -> list[Evidence]:
    """The successful ERP reads of the current turn, as digests a proposal can cite."""
    turn = _current_turn(messages)
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for message in turn:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["id"] is not None:
                    calls[call["id"]] = (call["name"], call["args"])
    found = []
    for message in turn:
        if isinstance(message, ToolMessage) and message.status != "error" and message.tool_call_id in calls:
            name, args = calls[message.tool_call_id]
            if name in READ_NAMES:
                found.append(Evidence(tool=name, args=args, digest=content_digest(str(message.content))))
    return found


def build_graph(
    deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any]
) -> CompiledStateGraph[Any, Any, Any, Any]:
    # Least privilege starts at the prompt: the model is only shown the tools the agent is granted
    # (none of the propose_* tools when it is read-only) and, of the propose_* tools, those the
    # requester may use under the policy, so it says "I can't" at once instead of preparing a
    # proposal. ``propose`` and the gateway still check every call.
    granted = deps.identities["agent"].granted_tools()
    bound_models: dict[tuple[str, ...], Any] = {}

    def requester_refusal(state: AgentState, action: str) -> NotAllowed | None:
        try:
            roles: tuple[str, ...] = deps.directory.get(state["requester"]).roles
        except UnknownUser:
            roles = ()  # a person removed from the users file requests nothing any more
        try:
            check_requester(deps.policy(), action, requester=state["requester"], roles=roles)
        except NotAllowed as refused:
            return refused
        return None

    def bound_model(state: AgentState) -> Any:
        names = tuple(
            name
            for name in granted
            if name not in PROPOSE_NAMES or requester_refusal(state, ACTION_OF_TOOL[name]) is None
        )
        if names not in bound_models:
            bound_models[names] = deps.model.bind_tools(deps.gateway.model_tools(list(names)))
        return bound_models[names]

    def identity(state: AgentState) -> AgentIdentity:
        return deps.identities[state.get("via", "agent")]

    def principal(state: AgentState) -> Principal:
        return Principal(actor=identity(state).id, on_behalf_of=state["requester"])

    def prompt(state: AgentState) -> list[AnyMessage]:
        user = deps.directory.get(state["requester"])
        return [SystemMessage(system_prompt(user, deps.today())), *state["messages"]]

    def reason(state: AgentState) -> dict[str, Any]:
        return {"messages": [bound_model(state).invoke(prompt(state))]}

    def read_tools(state: AgentState) -> dict[str, Any]:
        message = _last_ai(state)
        assert message is not None
        results: list[AnyMessage] = []
        who = principal(state)
        for call in message.tool_calls:
            call_id = call["id"] or ""
            # Complete mediation: whatever the model asked for, the gateway decides (and records
            # a refusal); each call carries a token minted for that call alone.
            try:
                token = deps.gateway.mint(who, call["name"])
                value = deps.gateway.read(call["name"], call["args"], who, token)
            except (ToolError, ErpError, TokenRefused) as exc:
                results.append(_error(call_id, call["name"], str(exc), exc))
            else:
                results.append(ToolMessage(render_result(value), tool_call_id=call_id, name=call["name"]))
        return {"messages": results}

    def propose(state: AgentState) -> dict[str, Any]:
        message = _last_ai(state)
        assert message is not None
        chosen = next(c for c in message.tool_calls if c["name"] in PROPOSE_NAMES)
        chosen_id = chosen["id"] or ""
        # One write per step: an interrupt inside parallel tool calls would pair resumes by position.
        replies: list[AnyMessage] = [
            _error(c["id"] or "", c["name"], "not run: a proposal must be the only tool call of its step")
            for c in message.tool_calls
            if c is not chosen
        ]
        who = principal(state)
        refused = requester_refusal(state, ACTION_OF_TOOL[chosen["name"]])
        if refused is not None:
            # Before any token or ERP read: a person the policy does not let request this action
            # gets one line back, and the attempt is kept in the audit trail.
            deps.audit.append(
                AuditEvent(
                    type="access_denied",
                    actor=who.actor,
                    on_behalf_of=who.on_behalf_of,
                    tool=chosen["name"],
                    thread_id=_thread_id_of_state(state),
                    details={
                        "kind": "requester_refused",
                        "action": ACTION_OF_TOOL[chosen["name"]],
                        "reason": str(refused),
                    },
                )
            )
            replies.append(_error(chosen_id, chosen["name"], f"cannot propose: {refused}", refused))
            return {"messages": replies, "pending": None}
        try:
            token = deps.gateway.mint(who, chosen["name"])
            prepared = deps.gateway.prepare(chosen["name"], chosen["args"], who, token, deps.today())
        except (ToolError, ErpError, TokenRefused) as exc:
            replies.append(_error(chosen_id, chosen["name"], f"cannot propose: {exc}", exc))
            return {"messages": replies, "pending": None}
        gate = deps.policy().gate_for(
            prepared.action,
            prepared.amount.amount,
            now=deps.now(),
            # Only the chat agent's own grant can let an action run unattended; what another agent
            # files (over MCP) always waits for a person.
            unattended_allowed=state.get("via", "agent") == "agent"
            and identity(state).may_run_unattended(prepared.action),
        )
        thread_id = _thread_id_of_state(state)
        proposal = deps.store.create(
            thread_id=thread_id,
            tool_call_id=chosen_id,
            action=prepared.action,
            summary=prepared.command.summary(),
            payload=prepared.command.model_dump(mode="json"),
            idempotency_key=str(uuid.uuid4()),
            fingerprint=prepared.fingerprint,
            requester=state["requester"],
            evidence=evidence_of(state["messages"]),
            gate=gate.as_json(),
        )
        deps.audit.append(
            proposal_event(
                "proposal",
                proposal,
                actor=who.actor,
                tool=chosen["name"],
                evidence=[e.digest for e in proposal.evidence],
                # The whole gate: what authorizes the write later is read from here, not the table.
                gate=proposal.gate,
                details={
                    "request": _request_text(state["messages"]),
                    "action": proposal.action,
                    "summary": proposal.summary,
                    "payload": proposal.payload,
                },
            )
        )
        pending = PendingProposal(
            proposal_id=proposal.id,
            idempotency_key=proposal.idempotency_key,
            fingerprint=proposal.fingerprint,
            tool_call_id=chosen_id,
            action=proposal.action,
            summary=proposal.summary,
        )
        if gate.mode == "auto" and proposal.status == "pending":
            reason = f"automatic under rule {gate.rule} of policy {gate.policy_version}"
            recorded: list[AuditRecord] = []
            deps.store.decide(
                proposal.id,
                actor=AUTO_APPROVER,
                decision="approve",
                check=lambda _: None,
                satisfied=lambda *_: True,
                reason=reason,
                on_approved=lambda conn, approved: deps.enqueue(conn, approved, who.actor),
                # The decision's audit record in the decision's own transaction: the writer never
                # finds this approval without the record that authorizes it.
                on_decided=lambda conn, decided: recorded.extend(
                    deps.audit.append_in(conn, [decision_event(decided, AUTO_APPROVER, "approve", reason)])
                ),
            )
            if recorded:
                deps.audit.settle(recorded[-1])
        # Approved or not, the run waits: for a person's decision, or for the ERP writer's result.
        return {"messages": replies, "pending": pending, "decision": None}

    def await_approval(state: AgentState) -> dict[str, Any]:
        pending = state["pending"]
        assert pending is not None
        decision: ApprovalDecision = interrupt(
            {"type": "approval", **pending, "requester": state["requester"]}
        )
        return {"decision": decision}

    def report_rejection(state: AgentState) -> dict[str, Any]:
        pending, decision = state["pending"], state["decision"]
        assert pending is not None and decision is not None
        if decision.get("decision") == "expire":
            text = (
                f"proposal {pending['proposal_id']} expired without a decision ({decision.get('reason')}). "
                "Nothing was written to the ERP."
            )
        else:
            # The reason is a person's sentence: its own full stop must not double the one below.
            reason_text = (decision.get("reason") or "").strip().rstrip(".") or "no reason given"
            text = (
                f"proposal {pending['proposal_id']} was rejected by {decision.get('actor')}: {reason_text}. "
                "Nothing was written to the ERP."
            )
        return {"messages": [_error(pending["tool_call_id"], "", text)], "pending": None}

    def report_outcome(state: AgentState) -> dict[str, Any]:
        pending = state["pending"]
        assert pending is not None
        proposal = deps.store.get(pending["proposal_id"])
        call_id = pending["tool_call_id"]
        if proposal.status == "committed" and proposal.receipt is not None:
            return {"messages": [_committed(proposal, proposal.receipt, call_id)], "pending": None}
        if proposal.status == "failed":
            text = (
                f"proposal {proposal.id} was approved but the ERP refused it: {proposal.error}. "
                "Nothing was written."
            )
        else:
            text = (
                f"proposal {proposal.id} is {proposal.status}; the ERP writer has not reported a result yet"
            )
        return {"messages": [_error(call_id, "", text)], "pending": None}

    def respond(state: AgentState) -> dict[str, Any]:
        # Tools are not bound here: after a commit the model can only report, not act again.
        return {"messages": [deps.model.invoke(prompt(state))]}

    def after_reason(state: AgentState) -> str:
        message = _last_ai(state)
        if message is None or not message.tool_calls:
            return END
        if any(c["name"] in PROPOSE_NAMES for c in message.tool_calls):
            return "propose"
        return "read_tools"

    def after_propose(state: AgentState) -> str:
        return "await_approval" if state.get("pending") else "reason"

    def after_decision(state: AgentState) -> str:
        decision = state.get("decision") or {}
        return "report_outcome" if decision.get("decision") in ("approve", "edit") else "report_rejection"

    graph = StateGraph(AgentState)
    graph.add_node("reason", traced_node("reason", reason))
    graph.add_node("read_tools", traced_node("read_tools", read_tools))
    graph.add_node("propose", traced_node("propose", propose))
    graph.add_node("await_approval", traced_node("await_approval", await_approval))
    graph.add_node("report_rejection", traced_node("report_rejection", report_rejection))
    graph.add_node("report_outcome", traced_node("report_outcome", report_outcome))
    graph.add_node("respond", traced_node("respond", respond))

    graph.add_edge(START, "reason")
    graph.add_conditional_edges("reason", after_reason, ["read_tools", "propose", END])
    graph.add_edge("read_tools", "reason")
    graph.add_conditional_edges("propose", after_propose, ["await_approval", "reason"])
    graph.add_conditional_edges("await_approval", after_decision, ["report_outcome", "report_rejection"])
    graph.add_edge("report_rejection", "reason")
    graph.add_edge("report_outcome", "respond")
    graph.add_edge("respond", END)
    return graph.compile(checkpointer=checkpointer)


def _request_text(messages: list[AnyMessage]) -> str:
    turn = _current_turn(messages)
    first = turn[0] if turn else None
    return str(first.content) if isinstance(first, HumanMessage) else ""


def _committed(proposal: Proposal, receipt: dict[str, Any], tool_call_id: str) -> ToolMessage:
    # The model needs what landed, not the internal key or fingerprint.
    shown = {k: receipt[k] for k in ("action", "document_type", "document_id", "summary")}
    result: dict[str, Any] = {"status": "committed", "proposal_id": proposal.id, "receipt": shown}
    changed = amendments(proposal)
    if changed:
        # What landed is not what the requester asked for: the reply must say who changed what.
        result["changed_by_approver"] = {
            "by": amended_by(proposal),
            "changes": [{"field": a.label, "proposed": a.was, "approved": a.is_now} for a in changed],
        }
    return ToolMessage(render_result(result), tool_call_id=tool_call_id)


def _error(tool_call_id: str, name: str, text: str, cause: Exception | None = None) -> ToolMessage:
    # A refused side effect goes back as a tool *error*: a plain reply would read as success.
    # The artifact (never sent to a model) keeps what refused it, for callers outside the chat.
    artifact = {"error_type": type(cause).__name__, "message": str(cause)} if cause is not None else None
    return ToolMessage(
        render_error(text), tool_call_id=tool_call_id, name=name or None, status="error", artifact=artifact
    )


def _thread_id_of_state(state: AgentState) -> str:
    thread_id = get_config().get("configurable", {}).get("thread_id")
    if not thread_id:
        raise RuntimeError("the graph must run with a thread_id")
    return str(thread_id)

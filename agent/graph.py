"""The agent's state machine (LangGraph), read top to bottom in ``build_graph``.

    reason ──(read calls)──> read_tools ──> reason
    reason ──(propose call)──> propose ──> await_approval ──approve──> commit ──> respond
                                  │               └──reject──> report_rejection ──> reason
                                  └──(refused)──> reason

``propose`` makes the idempotency key and fingerprint and files the proposal; it finishes and is
checkpointed before ``await_approval`` pauses. ``await_approval`` only calls ``interrupt``, because
LangGraph re-runs a node from its first line on resume. ``commit`` reads the proposal from the
approvals store (the authority on the decision and any edit) and writes once through the gateway;
the ERP's ledger, not LangGraph, is the authority on whether the write happened.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from agent.approvals import Evidence, ProposalStore
from agent.prompts import system_prompt
from agent.users import Directory
from erp_acl.commands import parse_command
from erp_acl.errors import ErpError, ErpUnavailable
from tools.catalog import PROPOSE_TOOLS, READ_TOOLS
from tools.gateway import Gateway, Principal, ToolError
from tools.rendering import render_error, render_result

PROPOSE_NAMES = frozenset(t.name for t in PROPOSE_TOOLS)
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
    decision: Literal["approve", "reject", "edit"]
    actor: str
    reason: str | None


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    requester: str
    pending: PendingProposal | None
    decision: ApprovalDecision | None


@dataclass(frozen=True)
class GraphDeps:
    gateway: Gateway
    store: ProposalStore
    model: BaseChatModel
    directory: Directory
    agent_id: str
    tool_names: tuple[str, ...]
    today: Callable[[], date] = date.today


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
                digest = hashlib.sha256(str(message.content).encode()).hexdigest()
                found.append(Evidence(tool=name, args=args, digest=digest))
    return found


def build_graph(
    deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any]
) -> CompiledStateGraph[Any, Any, Any, Any]:
    bound_model = deps.model.bind_tools(deps.gateway.model_tools(list(deps.tool_names)))

    def principal(state: AgentState) -> Principal:
        return Principal(actor=deps.agent_id, on_behalf_of=state["requester"])

    def prompt(state: AgentState) -> list[AnyMessage]:
        user = deps.directory.get(state["requester"])
        return [SystemMessage(system_prompt(user, deps.today())), *state["messages"]]

    def reason(state: AgentState) -> dict[str, Any]:
        return {"messages": [bound_model.invoke(prompt(state))]}

    def read_tools(state: AgentState) -> dict[str, Any]:
        message = _last_ai(state)
        assert message is not None
        results: list[AnyMessage] = []
        for call in message.tool_calls:
            call_id = call["id"] or ""
            if call["name"] not in deps.tool_names:
                # Complete mediation: whatever the model asked for, only bound tools run.
                results.append(_error(call_id, call["name"], f"tool {call['name']} is not available to you"))
                continue
            try:
                value = deps.gateway.read(call["name"], call["args"], principal(state))
            except (ToolError, ErpError) as exc:
                results.append(_error(call_id, call["name"], str(exc)))
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
        if chosen["name"] not in deps.tool_names:
            replies.append(_error(chosen_id, chosen["name"], f"you are not allowed to use {chosen['name']}"))
            return {"messages": replies, "pending": None}
        try:
            prepared = deps.gateway.prepare(chosen["name"], chosen["args"], principal(state), deps.today())
        except (ToolError, ErpError) as exc:
            replies.append(_error(chosen_id, chosen["name"], f"cannot propose: {exc}"))
            return {"messages": replies, "pending": None}
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
        )
        pending = PendingProposal(
            proposal_id=proposal.id,
            idempotency_key=proposal.idempotency_key,
            fingerprint=proposal.fingerprint,
            tool_call_id=chosen_id,
            action=proposal.action,
            summary=proposal.summary,
        )
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
        reason_text = decision.get("reason") or "no reason given"
        text = (
            f"proposal {pending['proposal_id']} was rejected by {decision.get('actor')}: {reason_text}. "
            "Nothing was written to the ERP."
        )
        return {"messages": [_error(pending["tool_call_id"], "", text)], "pending": None}

    def commit(state: AgentState) -> dict[str, Any]:
        pending = state["pending"]
        assert pending is not None
        proposal = deps.store.get(pending["proposal_id"])
        call_id = pending["tool_call_id"]
        if proposal.status == "committed" and proposal.receipt is not None:
            content = render_result(
                {"status": "committed", "proposal_id": proposal.id, "receipt": proposal.receipt}
            )
            return {"messages": [ToolMessage(content, tool_call_id=call_id)], "pending": None}
        if proposal.status not in ("approved", "committing"):
            return {
                "messages": [
                    _error(call_id, "", f"proposal {proposal.id} is {proposal.status}; nothing was written")
                ],
                "pending": None,
            }
        deps.store.mark(proposal.id, "committing", only_from=("approved", "committing"))
        command = parse_command(proposal.payload)
        try:
            receipt = deps.gateway.commit(
                command, proposal.idempotency_key, proposal.fingerprint, principal(state)
            )
        except ErpUnavailable:
            raise  # transient: the run stops here and a retry resumes this node with the same key
        except ErpError as exc:
            deps.store.mark(proposal.id, "failed", error=str(exc))
            text = f"proposal {proposal.id} was approved but the ERP refused it: {exc}. Nothing was written."
            return {"messages": [_error(call_id, "", text)], "pending": None}
        deps.store.mark(proposal.id, "committed", receipt=receipt)
        return {
            "messages": [_committed(proposal.id, receipt.model_dump(mode="json"), call_id)],
            "pending": None,
        }

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
        return "commit" if decision.get("decision") in ("approve", "edit") else "report_rejection"

    graph = StateGraph(AgentState)
    graph.add_node("reason", reason)
    graph.add_node("read_tools", read_tools)
    graph.add_node("propose", propose)
    graph.add_node("await_approval", await_approval)
    graph.add_node("report_rejection", report_rejection)
    graph.add_node("commit", commit)
    graph.add_node("respond", respond)

    graph.add_edge(START, "reason")
    graph.add_conditional_edges("reason", after_reason, ["read_tools", "propose", END])
    graph.add_edge("read_tools", "reason")
    graph.add_conditional_edges("propose", after_propose, ["await_approval", "reason"])
    graph.add_conditional_edges("await_approval", after_decision, ["commit", "report_rejection"])
    graph.add_edge("report_rejection", "reason")
    graph.add_edge("commit", "respond")
    graph.add_edge("respond", END)
    return graph.compile(checkpointer=checkpointer)


def _committed(proposal_id: str, receipt: dict[str, Any], tool_call_id: str) -> ToolMessage:
    # The model needs what landed, not the internal key or fingerprint.
    shown = {k: receipt[k] for k in ("action", "document_type", "document_id", "summary")}
    content = render_result({"status": "committed", "proposal_id": proposal_id, "receipt": shown})
    return ToolMessage(content, tool_call_id=tool_call_id)


def _error(tool_call_id: str, name: str, text: str) -> ToolMessage:
    # A refused side effect goes back as a tool *error*: a plain reply would read as success.
    return ToolMessage(render_error(text), tool_call_id=tool_call_id, name=name or None, status="error")


def _thread_id_of_state(state: AgentState) -> str:
    thread_id = get_config().get("configurable", {}).get("thread_id")
    if not thread_id:
        raise RuntimeError("the graph must run with a thread_id")
    return str(thread_id)

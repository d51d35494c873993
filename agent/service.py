"""The service API: everything a user interface (CLI, Streamlit, MCP) may ask of Countersign.

``build_service`` is the composition root: it wires settings, the ERP adapter, the gateway, the
approvals store, the checkpointer, the model and the graph. Interfaces never touch the graph or
SQL themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent.approvals import (
    AlreadyDecided,
    Proposal,
    ProposalNotFound,
    ProposalStatus,
    ProposalStore,
)
from agent.conversations import Conversation, ConversationStore, ThreadAccessDenied
from agent.edits import EditError, apply_edits
from agent.graph import PROPOSE_NAMES, ApprovalDecision, GraphDeps, build_graph
from agent.settings import Settings, load_settings
from agent.users import Directory, Role, UnknownUser, User, load_directory
from erp_acl.commands import parse_command
from erp_acl.errors import ErpError
from erp_acl.ports import Erp
from tools.catalog import ALL_TOOLS
from tools.gateway import Gateway, Principal, ToolError, ToolSpec
from tools.rendering import to_plain_json

log = logging.getLogger("countersign.service")

DecisionKind = Literal["approve", "reject", "edit"]


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
        erp: Erp,
        model: BaseChatModel,
        store: ProposalStore,
        conversations: ConversationStore,
        directory: Directory,
        checkpointer: Any,
        today: Callable[[], date] = date.today,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.erp = erp
        self.gateway = Gateway(erp)
        self.store = store
        self.conversations = conversations
        self.directory = directory
        self._today = today
        self._on_close = on_close
        self.agent_id = "countersign-agent"
        self.graph = build_graph(
            GraphDeps(
                gateway=self.gateway,
                store=store,
                model=model,
                directory=directory,
                agent_id=self.agent_id,
                tool_names=tuple(t.name for t in ALL_TOOLS),
                today=today,
            ),
            checkpointer,
        )

    # ---- people -----------------------------------------------------------------------------

    def user(self, user_id: str, role: Role | None = None) -> User:
        user = self.directory.get(user_id)
        if role is not None and not user.has(role):
            raise Refused(f"{user_id} is not allowed to do this: it needs the {role} role")
        return user

    # ---- chat -------------------------------------------------------------------------------

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": self.settings.recursion_limit}

    def chat(self, user_id: str, text: str, thread_id: str | None = None) -> ChatResult:
        """One user turn: runs the agent until it answers or files a proposal for approval."""
        result: ChatResult | None = None
        for event in self.chat_stream(user_id, text, thread_id):
            result = event.result or result
        assert result is not None
        return result

    def chat_stream(self, user_id: str, text: str, thread_id: str | None = None) -> Iterator[ChatEvent]:
        """The same turn as ``chat``, as events: reply text as it streams, each tool step, then
        a final ``done`` event carrying the ``ChatResult``."""
        user = self.user(user_id)
        if not text.strip():
            raise Refused("the message is empty")
        if thread_id is None:
            thread_id = self.conversations.start(user.id, text).thread_id
        else:
            self.conversations.owned(thread_id, user.id)
            waiting = self._waiting_proposal(thread_id)
            if waiting is not None:
                raise Refused(
                    f"conversation {thread_id} is waiting for the decision on {waiting}; start a new conversation"
                )
        known = {p.id for p in self.store.list(thread_id=thread_id)}
        stream = self.graph.stream(
            {"messages": [HumanMessage(text)], "requester": user.id},
            self._config(thread_id),
            stream_mode=["messages", "updates"],
            durability="sync",
        )
        for mode, data in stream:
            yield from _events(mode, data)
        self.conversations.touch(thread_id)
        filed = [p for p in self.store.list(thread_id=thread_id) if p.id not in known]
        result = ChatResult(thread_id, self._reply(thread_id, filed), list(reversed(filed)))
        yield ChatEvent("done", text=result.reply, result=result)

    def _reply(self, thread_id: str, filed: list[Proposal]) -> str:
        waiting = self._waiting_proposal(thread_id)
        if waiting is not None:
            proposal = self.store.get(waiting)
            return (
                f"I have filed proposal {proposal.id} for approval: {proposal.summary}. "
                "Nothing is written to the ERP until someone other than you approves it."
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
        self, status: ProposalStatus | None = None, requester: str | None = None, limit: int = 200
    ) -> list[Proposal]:
        return self.store.list(status=status, requester=requester, limit=limit)

    def pending_approvals(self, user_id: str | None = None) -> list[Proposal]:
        """Pending proposals; for a given approver, only those they may decide (not their own)."""
        pending = self.store.list(status="pending")
        if user_id is None:
            return pending
        self.user(user_id, "approver")
        return [p for p in pending if p.requester != user_id]

    def decide(
        self,
        proposal_id: str,
        user_id: str,
        decision: DecisionKind,
        *,
        reason: str | None = None,
        edits: dict[str, Any] | None = None,
    ) -> Proposal:
        """Approve, edit-and-approve, or reject; claims the decision atomically, then resumes the run."""
        approver = self.user(user_id, "approver")
        proposal = self.store.get(proposal_id)
        if proposal.status != "pending":
            by = f" by {proposal.decided_by}" if proposal.decided_by else ""
            raise AlreadyDecided(f"proposal {proposal.id} was already decided{by} (status {proposal.status})")
        if proposal.requester == approver.id:
            raise Refused(
                f"{approver.id} requested proposal {proposal.id} and cannot decide it; ask another approver"
            )
        if decision == "reject" and not (reason and reason.strip()):
            raise Refused("a rejection needs a reason")
        interrupt_id = self._interrupt_for(proposal)
        new_payload = new_fingerprint = None
        if decision == "edit":
            if not edits:
                raise Refused("an edit needs at least one field=value")
            edited = parse_command(apply_edits(proposal.payload, edits))
            prepared = self.gateway.recheck(edited.action, edited, edited.based_on)
            new_payload, new_fingerprint = prepared.command.model_dump(mode="json"), prepared.fingerprint
        self.store.claim(
            proposal.id,
            actor=approver.id,
            decision=decision,
            reason=reason,
            edits=edits,
            new_payload=new_payload,
            new_fingerprint=new_fingerprint,
        )
        # Only the winner of the claim gets here, so the thread is resumed exactly once.
        resume = ApprovalDecision(
            proposal_id=proposal.id, decision=decision, actor=approver.id, reason=reason
        )
        self.graph.invoke(
            Command(resume={interrupt_id: resume}), self._config(proposal.thread_id), durability="sync"
        )
        return self.store.get(proposal.id)

    def _interrupt_for(self, proposal: Proposal) -> str:
        # Never resume a thread that is not waiting for exactly this proposal: LangGraph would
        # silently start a fresh run on an unknown thread.
        for pending in self.graph.get_state(self._config(proposal.thread_id)).interrupts:
            value = pending.value
            if isinstance(value, dict) and value.get("proposal_id") == proposal.id:
                return str(pending.id)
        raise Refused(f"conversation {proposal.thread_id} is not waiting for proposal {proposal.id}")

    def recover(self) -> list[Proposal]:
        """Finish approved proposals whose run stopped before it recorded the commit (a crash or
        an ERP outage). Safe to repeat: the ERP ledger returns the stored receipt for a landed key."""
        finished = []
        for status in ("approved", "committing"):
            for proposal in self.store.list(status=status):
                config = self._config(proposal.thread_id)
                state = self.graph.get_state(config)
                waiting = [i for i in state.interrupts if isinstance(i.value, dict)]
                if any(i.value.get("proposal_id") == proposal.id for i in waiting):
                    last = proposal.approvals[-1]
                    resume = ApprovalDecision(
                        proposal_id=proposal.id, decision=last.decision, actor=last.actor, reason=last.reason
                    )
                    self.graph.invoke(Command(resume={waiting[0].id: resume}), config, durability="sync")
                elif "commit" in state.next:
                    self.graph.invoke(None, config, durability="sync")
                else:
                    receipt = self.gateway.receipt_for(proposal.idempotency_key)
                    if receipt is not None:
                        self.store.mark(proposal.id, "committed", receipt=receipt)
                finished.append(self.store.get(proposal.id))
        return finished

    # ---- tools ------------------------------------------------------------------------------

    @staticmethod
    def tool_specs() -> list[ToolSpec]:
        return Gateway.specs()

    def call_tool(self, name: str, args: dict[str, Any], user_id: str) -> Any:
        """Call one tool through the gateway as the agent would for this user.

        A read answers at once (JSON-ready data). A propose tool files a pending proposal in a
        conversation of its own, through the same graph path as a chat, and returns it.
        """
        user = self.user(user_id)
        if name not in PROPOSE_NAMES:
            value = self.gateway.read(name, args, Principal(self.agent_id, user.id))
            return to_plain_json(value)
        conversation = self.conversations.start(user.id, f"{name} (tool call)")
        config = self._config(conversation.thread_id)
        call = {"name": name, "args": args, "id": f"call-{conversation.thread_id}", "type": "tool_call"}
        self.graph.update_state(
            config,
            {
                "messages": [HumanMessage(f"[direct tool call] {name}"), AIMessage("", tool_calls=[call])],
                "requester": user.id,
            },
            as_node="reason",
        )
        self.graph.invoke(None, config, durability="sync")
        filed = self.store.list(thread_id=conversation.thread_id)
        if not filed:
            messages = self.messages(conversation.thread_id)
            refusal = next((_text(m) for m in messages if getattr(m, "status", "") == "error"), "refused")
            raise Refused(refusal.removeprefix("Error: "))
        return filed[0]

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


def build_service(
    settings: Settings | None = None,
    *,
    erp: Erp | None = None,
    model: BaseChatModel | None = None,
    today: Callable[[], date] = date.today,
) -> AgentService:
    """Wire one installation from settings (embedded defaults when none are given)."""
    from agent.checkpoints import open_sqlite_saver
    from agent.composition import open_app_engine, open_erp
    from agent.models import make_chat_model

    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_app_engine(settings)
    store = ProposalStore(engine)
    store.create_schema()
    saver = open_sqlite_saver(settings.checkpoint_file)

    def close() -> None:
        saver.conn.close()
        engine.dispose()

    return AgentService(
        settings=settings,
        erp=erp if erp is not None else open_erp(settings),
        model=model if model is not None else make_chat_model(settings),
        store=store,
        conversations=ConversationStore(engine),
        directory=load_directory(settings.users_file),
        checkpointer=saver,
        today=today,
        on_close=close,
    )

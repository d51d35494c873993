"""A small agent loop for planner tests: run the planner's read calls against an in-memory ERP.

Read tools run through ``tools.catalog`` against ``InMemoryErp.seeded()`` and come back rendered
as the real graph renders them. A propose call is validated against its schema, recorded, and
answered with a canned result (pending by default), so the planner's follow-up reply can be tested.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from agent.planner.model import OfflinePlanner
from erp_acl.errors import ErpError
from erp_acl.memory import InMemoryErp
from erp_acl.seed_data import TODAY
from tools.catalog import ALL_TOOLS, TOOLS_BY_NAME, ReadTool
from tools.gateway import Gateway
from tools.rendering import render_error, render_result

PENDING = json.dumps({"result": {"status": "pending", "proposal_id": "P-test"}})


def system(user: str = "ana", name: str = "Ana Souza", cost_center: str | None = "CC300") -> SystemMessage:
    lines = ["You are Countersign.", "", f"Requester: {user} ({name})"]
    if cost_center:
        lines.append(f"Default cost center: {cost_center}")
    lines.append(f"Today: {TODAY.isoformat()}")
    return SystemMessage("\n".join(lines))


def planner(tools: Sequence[str] | None = None) -> Any:
    names = [t.name for t in ALL_TOOLS] if tools is None else list(tools)
    return OfflinePlanner().bind_tools(Gateway.model_tools(names))


@dataclass
class Loop:
    """One conversation thread against one ERP."""

    erp: InMemoryErp = field(default_factory=lambda: InMemoryErp.seeded(today=lambda: TODAY))
    model: Any = field(default_factory=planner)
    messages: list[BaseMessage] = field(default_factory=lambda: [system()])
    proposals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    propose_answer: str = PENDING
    tool_log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def say(self, text: str, max_steps: int = 12) -> AIMessage:
        """Send a human message; run tool calls until the planner replies in text."""
        self.messages.append(HumanMessage(text))
        return self.run(max_steps)

    def run(self, max_steps: int = 12) -> AIMessage:
        for _ in range(max_steps):
            reply = self.model.invoke(self.messages)
            assert isinstance(reply, AIMessage)
            self.messages.append(reply)
            if not reply.tool_calls:
                return reply
            for call in reply.tool_calls:
                self.tool_log.append((call["name"], call["args"]))
                self.messages.append(self._execute(call["name"], call["args"], call["id"] or ""))
        raise AssertionError(f"no reply after {max_steps} steps: {self.tool_log}")

    def _execute(self, name: str, args: dict[str, Any], call_id: str) -> ToolMessage:
        tool = TOOLS_BY_NAME[name]
        try:
            parsed = tool.args_model.model_validate(args)
        except ValidationError as exc:
            raise AssertionError(f"planner sent invalid arguments to {name}: {args}: {exc}") from exc
        if not isinstance(tool, ReadTool):
            self.proposals.append((name, args))
            status = "error" if self.propose_answer.startswith("Error: ") else "success"
            return ToolMessage(self.propose_answer, tool_call_id=call_id, name=name, status=status)
        try:
            value = tool.run(self.erp, parsed)
        except ErpError as exc:
            return ToolMessage(render_error(str(exc)), tool_call_id=call_id, name=name, status="error")
        return ToolMessage(render_result(value), tool_call_id=call_id, name=name)

    def called(self, name: str) -> list[dict[str, Any]]:
        return [args for tool, args in self.tool_log if tool == name]


def today() -> date:
    return TODAY

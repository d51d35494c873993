"""``OfflinePlanner``: a deterministic chat model that plans ERP tool calls without any API.

It is the product's default model when no API key is configured. It behaves like a tool-calling
LLM: ``bind_tools`` returns a copy that knows the bound tool names, ``invoke`` returns one
AIMessage (tool calls, or a reply), and ``stream`` yields text chunks and ``tool_call_chunks``
that aggregate into the same message. It never calls a tool that is not bound.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.planner.conversation import PLANNER_KEY, conversation_digest
from agent.planner.decide import decide
from agent.planner.structured import structured_args
from tools.catalog import TOOLS_BY_NAME

MODEL_NAME = "countersign-offline-planner"


class OfflinePlanner(BaseChatModel):
    """A rule-based planner over back-office request language (see ``agent.planner``)."""

    bound_tools: tuple[str, ...] = ()
    tool_schemas: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tool_choice: str | None = None
    stream_chunk_words: int = 6

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME, "tools": list(self.bound_tools)}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """A copy of this planner that may call exactly these tools."""
        names: list[str] = []
        schemas: dict[str, dict[str, Any]] = {}
        for tool in tools:
            spec = convert_to_openai_tool(tool)
            function = spec.get("function", spec)
            name = str(function["name"])
            names.append(name)
            schemas[name] = dict(function.get("parameters") or {})
        return self.model_copy(
            update={
                "bound_tools": tuple(names),
                "tool_schemas": schemas,
                "tool_choice": _choice(tool_choice, names),
            }
        )

    # ---- generation -----------------------------------------------------------------------------

    def _decide(self, messages: list[BaseMessage]) -> AIMessage:
        forced = self._forced_foreign_tool()
        decision = decide(messages, frozenset(self.bound_tools))
        digest = conversation_digest(messages)
        if forced is not None:
            args = structured_args(self.tool_schemas.get(forced, {}), decision.text or "")
            return AIMessage(
                content="",
                tool_calls=[{"name": forced, "args": args, "id": _call_id(digest, 0), "type": "tool_call"}],
                response_metadata=_metadata("tool_calls"),
            )
        calls = [c for c in decision.calls if c.name in self.bound_tools]
        tool_calls = [
            {"name": c.name, "args": c.args, "id": _call_id(digest, i), "type": "tool_call"}
            for i, c in enumerate(calls)
        ]
        meta: dict[str, Any] = {
            "pending": decision.pending.model_dump(mode="json") if decision.pending else None
        }
        return AIMessage(
            content=decision.text,
            tool_calls=tool_calls,
            additional_kwargs={PLANNER_KEY: meta},
            response_metadata=_metadata("tool_calls" if tool_calls else "stop"),
        )

    def _forced_foreign_tool(self) -> str | None:
        """The tool a ``with_structured_output`` binding forces (a schema, not an ERP tool)."""
        if self.tool_choice is None:
            return None
        foreign = [n for n in self.bound_tools if n not in TOOLS_BY_NAME]
        if not foreign:
            return None
        if self.tool_choice in foreign:
            return self.tool_choice
        return foreign[0] if self.tool_choice in ("any", "required") else None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._decide(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._decide(messages)
        for chunk in _chunks(message, self.stream_chunk_words):
            if run_manager is not None and isinstance(chunk.content, str) and chunk.content:
                run_manager.on_llm_new_token(chunk.content, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)


def _choice(tool_choice: str | dict[str, Any] | bool | None, names: list[str]) -> str | None:
    if tool_choice is None or tool_choice is False or tool_choice in ("auto", "none"):
        return None
    if tool_choice is True:
        return "any"
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else tool_choice.get("name")
        return str(name) if name else "any"
    return tool_choice if tool_choice in names or tool_choice in ("any", "required") else "any"


def _call_id(digest: str, index: int) -> str:
    return "call_" + hashlib.sha256(f"{digest}:{index}".encode()).hexdigest()[:24]


def _metadata(finish_reason: str) -> dict[str, Any]:
    return {"model_name": MODEL_NAME, "model_provider": "countersign", "finish_reason": finish_reason}


def _chunks(message: AIMessage, words_per_chunk: int) -> list[AIMessageChunk]:
    """The message as stream chunks: text in a few pieces, then each tool call in two pieces."""
    text = message.content if isinstance(message.content, str) else ""
    words = text.split(" ")
    pieces = (
        [" ".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
        if text
        else []
    )
    pieces = [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]
    chunks = [AIMessageChunk(content=p) for p in pieces]
    for index, call in enumerate(message.tool_calls):
        args = json.dumps(call["args"], ensure_ascii=False)
        half = len(args) // 2
        chunks.append(
            AIMessageChunk(
                content="",
                tool_call_chunks=[
                    tool_call_chunk(name=call["name"], args=args[:half], id=call["id"], index=index)
                ],
            )
        )
        chunks.append(
            AIMessageChunk(
                content="",
                tool_call_chunks=[tool_call_chunk(name=None, args=args[half:], id=None, index=index)],
            )
        )
    chunks.append(
        AIMessageChunk(
            content="",
            additional_kwargs=dict(message.additional_kwargs),
            response_metadata=dict(message.response_metadata),
            chunk_position="last",
        )
    )
    return chunks

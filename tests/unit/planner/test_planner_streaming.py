"""The planner as a LangChain chat model: binding, streaming, LangGraph message streaming, structured output."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from agent.planner.model import OfflinePlanner
from tests.unit.planner.loop import Loop, planner, system


def aggregate(chunks: list[Any]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return total


def same_calls(streamed: AIMessageChunk, invoked: AIMessage) -> None:
    assert [(c["name"], c["args"], c["id"]) for c in streamed.tool_calls] == [
        (c["name"], c["args"], c["id"]) for c in invoked.tool_calls
    ]


def test_bind_tools_returns_a_copy_that_knows_the_bound_names() -> None:
    base = OfflinePlanner()
    bound = planner(["search_products", "check_stock"])
    assert isinstance(bound, OfflinePlanner)
    assert bound.bound_tools == ("search_products", "check_stock")
    assert base.bound_tools == ()


def test_bind_tools_accepts_langchain_tools_dicts_and_pydantic_classes() -> None:
    @tool
    def check_stock(product_code: str) -> str:
        """Stock of one product."""
        return product_code

    class search_products(BaseModel):  # noqa: N801 - the tool's name
        """Find products."""

        query: str

    openai_dict = {"type": "function", "function": {"name": "get_product", "parameters": {"type": "object"}}}
    bound = OfflinePlanner().bind_tools([check_stock, search_products, openai_dict])
    assert isinstance(bound, OfflinePlanner)
    assert set(bound.bound_tools) == {"check_stock", "search_products", "get_product"}
    reply = bound.invoke([system(), HumanMessage("stock of hex bolts M8")])
    assert [c["name"] for c in reply.tool_calls] == ["search_products"]


def test_streaming_a_tool_call_step_aggregates_into_the_invoked_message() -> None:
    model = planner()
    messages: list[BaseMessage] = [
        system(),
        HumanMessage("order 100 M8 nuts and 100 M8 washers from Fastenal"),
    ]
    invoked = model.invoke(messages)
    streamed = aggregate(list(model.stream(messages)))
    assert len(invoked.tool_calls) == 4  # supplier, two products, budget
    same_calls(streamed, invoked)
    assert streamed.content == invoked.content


def test_streaming_the_propose_step_carries_its_text_and_single_call() -> None:
    loop = Loop()
    loop.say("order 40 hex bolts M8 from Fastenal")
    history = loop.messages[:-3]  # before the propose step
    invoked = loop.model.invoke(history)
    chunks = list(loop.model.stream(history))
    streamed = aggregate(chunks)
    assert [c["name"] for c in streamed.tool_calls] == ["propose_purchase_order"]
    same_calls(streamed, invoked)
    assert streamed.content == invoked.content and str(streamed.content).startswith("Proposing")


def test_a_text_reply_streams_in_several_chunks() -> None:
    model = planner()
    messages: list[BaseMessage] = [system(), HumanMessage("what can you do?")]
    chunks = list(model.stream(messages))
    assert sum(1 for c in chunks if c.content) > 3
    streamed = aggregate(chunks)
    assert streamed.content == model.invoke(messages).content
    assert streamed.tool_calls == []


def test_the_pending_question_survives_streaming() -> None:
    model = planner()
    loop = Loop()
    loop.say("order 40 hex bolts M8 from Acme")
    history = loop.messages[:-1]
    streamed = aggregate(list(model.stream(history)))
    assert streamed.additional_kwargs == loop.messages[-1].additional_kwargs
    assert streamed.additional_kwargs["planner"]["pending"]["slot"] == "supplier"


class State(TypedDict):
    messages: Annotated[list[BaseMessage], operator.add]


def test_langgraph_message_streaming_yields_tool_call_chunks_that_aggregate() -> None:
    model = planner()

    def reason(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("reason", reason)
    graph.add_edge(START, "reason")
    graph.add_edge("reason", END)
    app = graph.compile()
    inputs = {"messages": [system(), HumanMessage("order 40 hex bolts M8 from Fastenal")]}

    pieces = [
        msg for msg, _meta in app.stream(inputs, stream_mode="messages") if isinstance(msg, AIMessageChunk)
    ]
    assert len(pieces) > 1
    streamed = aggregate(pieces)
    final = app.invoke(inputs)["messages"][-1]
    assert isinstance(final, AIMessage)
    assert {c["name"] for c in streamed.tool_calls} == {"search_suppliers", "search_products", "check_budget"}
    same_calls(streamed, final)


def test_structured_output_returns_an_instance_without_crashing() -> None:
    class Summary(BaseModel):
        answer: str
        confidence: float
        tags: list[str]

    result = OfflinePlanner().with_structured_output(Summary).invoke([system(), HumanMessage("hi")])
    assert isinstance(result, Summary)
    assert result.answer.startswith("Hello")


def test_structured_output_with_a_json_schema_returns_a_dict() -> None:
    schema = {
        "title": "Intent",
        "description": "The user's intent.",
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["read", "write"]}, "count": {"type": "integer"}},
        "required": ["kind", "count"],
    }
    result = OfflinePlanner().with_structured_output(schema).invoke("what can you do?")
    assert result == {"kind": "read", "count": 0}


def test_the_model_identifies_itself() -> None:
    model = OfflinePlanner()
    assert model._llm_type == "countersign-offline-planner"
    reply = planner().invoke([system(), HumanMessage("hi")])
    assert reply.response_metadata["model_name"] == "countersign-offline-planner"

"""The OpenAI backend end to end: the real ``ChatOpenAI`` client over a socket to a scripted
OpenAI-compatible server (``tests.support.openai_stub``), alone and inside the full agent loop."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from agent.models import ModelConfigurationError, make_chat_model
from agent.service import AgentService, build_service
from agent.settings import Settings
from tests.support.openai_stub import OpenAIStub, ScriptItem, tool_call
from tools.gateway import Gateway

pytestmark = pytest.mark.integration

API_KEY = "sk-test-not-a-secret"
STOCK_CALL = tool_call("check_stock", {"product_code": "HB-M8-40"}, id="call_stock_1")
STOCK_ANSWER = "HB-M8-40 (Hex bolt M8 x 40 mm zinc plated): 320 in main and 150 in secondary."
PO_ARGS = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
    "memo": "restock hex bolts",
}

StartStub = Callable[[list[ScriptItem]], OpenAIStub]


@pytest.fixture
def start_stub() -> Iterator[StartStub]:
    """Starts OpenAI stubs with a script; all are stopped when the test ends."""
    with ExitStack() as stack:

        def start(script: list[ScriptItem]) -> OpenAIStub:
            return stack.enter_context(OpenAIStub(script, api_key=API_KEY))

        yield start


def settings_for(stub: OpenAIStub, data_dir: Path) -> Settings:
    return Settings(
        model="openai:test-model",
        openai_base_url=stub.base_url,
        openai_api_key=API_KEY,
        data_dir=data_dir,
        _env_file=None,
    )


def aggregate(chunks: Iterator[BaseMessage]) -> tuple[AIMessageChunk, int]:
    total: AIMessageChunk | None = None
    count = 0
    for chunk in chunks:
        assert isinstance(chunk, AIMessageChunk)
        total = chunk if total is None else total + chunk
        count += 1
    assert total is not None, "the stream yielded nothing"
    return total, count


# ---- the client alone ------------------------------------------------------------------------


def test_chat_openai_from_settings_parses_a_tool_call_and_sends_the_tool_result_back(
    start_stub: StartStub, tmp_path: Path
) -> None:
    stub = start_stub([STOCK_CALL, STOCK_ANSWER])
    model = make_chat_model(settings_for(stub, tmp_path))
    assert isinstance(model, ChatOpenAI)
    bound = model.bind_tools(Gateway.model_tools(["check_stock", "get_product"]))
    question = HumanMessage("How many HB-M8-40 do we have?")

    first = bound.invoke([question])

    assert isinstance(first, AIMessage)
    assert first.tool_calls == [
        {
            "name": "check_stock",
            "args": {"product_code": "HB-M8-40"},
            "id": "call_stock_1",
            "type": "tool_call",
        }
    ]
    sent = stub.chat_requests[0]
    assert sent.path == "/v1/chat/completions"  # Chat Completions, not the Responses API
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == "test-model"
    assert not sent.stream
    assert sent.tool_names == ["get_product", "check_stock"]
    assert sent.messages == [{"role": "user", "content": "How many HB-M8-40 do we have?"}]

    result = ToolMessage('{"result": {"product_code": "HB-M8-40"}}', tool_call_id="call_stock_1")
    final = bound.invoke([question, first, result])

    assert final.content == STOCK_ANSWER
    assert final.tool_calls == []
    assert final.response_metadata["finish_reason"] == "stop"
    history = stub.chat_requests[1].messages
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    (sent_call,) = history[1]["tool_calls"]
    assert sent_call["id"] == "call_stock_1"
    assert sent_call["function"]["name"] == "check_stock"
    assert json.loads(sent_call["function"]["arguments"]) == {"product_code": "HB-M8-40"}
    assert stub.chat_requests[1].tool_results == [
        {
            "role": "tool",
            "tool_call_id": "call_stock_1",
            "content": '{"result": {"product_code": "HB-M8-40"}}',
        }
    ]
    assert stub.remaining == 0
    assert stub.errors == []


def test_chat_openai_streaming_aggregates_a_tool_call_split_over_chunks_and_then_text(
    start_stub: StartStub, tmp_path: Path
) -> None:
    stub = start_stub([STOCK_CALL, STOCK_ANSWER])
    model = make_chat_model(settings_for(stub, tmp_path))
    bound = model.bind_tools(Gateway.model_tools(["check_stock"]))
    question = HumanMessage("How many HB-M8-40 do we have?")

    first, chunk_count = aggregate(bound.stream([question], stream_usage=True))

    assert chunk_count >= 5  # role, opening of the call, arguments in pieces, finish, usage
    assert first.tool_calls == [
        {
            "name": "check_stock",
            "args": {"product_code": "HB-M8-40"},
            "id": "call_stock_1",
            "type": "tool_call",
        }
    ]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert first.usage_metadata is not None and first.usage_metadata["total_tokens"] > 0
    sent = stub.chat_requests[0]
    assert sent.stream
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.tool_names == ["check_stock"]

    result = ToolMessage('{"result": {"total_available": "470"}}', tool_call_id="call_stock_1")
    final, _ = aggregate(
        bound.stream([question, AIMessage(first.content, tool_calls=first.tool_calls), result])
    )

    assert final.content == STOCK_ANSWER
    assert final.tool_calls == []
    assert final.response_metadata["finish_reason"] == "stop"
    assert stub.chat_requests[1].tool_results[0]["tool_call_id"] == "call_stock_1"
    assert stub.errors == []


def test_an_openai_model_without_an_api_key_is_refused_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COUNTERSIGN_MODEL", "openai:x")
    for name in ("OPENAI_API_KEY", "COUNTERSIGN_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path, _env_file=None)
    assert settings.model == "openai:x"

    with pytest.raises(ModelConfigurationError) as refused:
        make_chat_model(settings)

    assert "COUNTERSIGN_MODEL=openai:x" in str(refused.value)
    assert "OPENAI_API_KEY" in str(refused.value)


def test_the_stub_refuses_a_tool_result_that_answers_no_tool_call_as_openai_does(
    start_stub: StartStub, tmp_path: Path
) -> None:
    stub = start_stub(["never sent"])
    model = make_chat_model(settings_for(stub, tmp_path))

    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding message"):
        model.invoke([HumanMessage("hi"), ToolMessage("{}", tool_call_id="call_nobody_made")])

    assert stub.remaining == 1
    assert len(stub.errors) == 1


def test_the_stub_lists_models_and_answers_unknown_paths_with_a_json_404(start_stub: StartStub) -> None:
    stub = start_stub([])
    auth = {"Authorization": f"Bearer {API_KEY}"}

    with urllib.request.urlopen(urllib.request.Request(f"{stub.base_url}/models", headers=auth)) as answer:
        listed = json.load(answer)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(
            urllib.request.Request(f"{stub.base_url}/embeddings", data=b"{}", headers=auth)
        )

    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == ["test-model"]
    assert missing.value.code == 404
    assert json.load(missing.value)["error"]["code"] == "unknown_url"


# ---- the full agent loop through the service -------------------------------------------------


@pytest.fixture
def erp() -> Any:
    from erp_acl.memory import InMemoryErp

    return InMemoryErp.seeded()


def open_service(stub: OpenAIStub, data_dir: Path, erp: Any) -> AgentService:
    settings = settings_for(stub, data_dir)
    return build_service(settings, erp=erp, model=make_chat_model(settings))


def assert_no_key_in_bodies(stub: OpenAIStub) -> None:
    """The API key travels only in the Authorization header, never in what the model reads."""
    for request in stub.requests:
        assert API_KEY.encode() not in request.raw_body


def test_the_agent_answers_a_stock_question_by_calling_check_stock_through_the_real_client(
    start_stub: StartStub, tmp_path: Path, erp: Any
) -> None:
    stub = start_stub([STOCK_CALL, STOCK_ANSWER])
    svc = open_service(stub, tmp_path, erp)
    try:
        result = svc.chat("alice", "How many HB-M8-40 hex bolts do we have in stock?")
    finally:
        svc.close()

    assert result.reply == STOCK_ANSWER
    assert result.proposals == []
    assert stub.errors == []
    assert len(stub.chat_requests) == 2
    first, second = stub.chat_requests
    assert {"check_stock", "propose_purchase_order"} <= set(first.tool_names)
    assert first.messages[0]["role"] == "system"
    assert first.messages[-1] == {
        "role": "user",
        "content": "How many HB-M8-40 hex bolts do we have in stock?",
    }
    (tool_result,) = second.tool_results
    assert tool_result["tool_call_id"] == "call_stock_1"
    stock = json.loads(tool_result["content"])["result"]
    assert stock["product_code"] == "HB-M8-40"
    on_hand = {level["warehouse"]: Decimal(str(level["on_hand"])) for level in stock["levels"]}
    assert on_hand == {"main": Decimal(320), "secondary": Decimal(150)}
    assert_no_key_in_bodies(stub)


def test_a_purchase_order_proposed_by_the_model_is_committed_to_the_erp_after_another_person_approves(
    start_stub: StartStub, tmp_path: Path, erp: Any
) -> None:
    final_text = "The purchase order for 40 HB-M8-40 from Fastenal is committed."
    stub = start_stub([STOCK_CALL, tool_call("propose_purchase_order", PO_ARGS, id="call_po_1"), final_text])
    svc = open_service(stub, tmp_path, erp)
    try:
        result = svc.chat("alice", "Order 40 HB-M8-40 from Fastenal on CC300.")

        (proposal,) = result.proposals
        assert proposal.status == "pending"
        assert proposal.action == "create_purchase_order"
        assert proposal.requester == "alice"
        assert proposal.id in result.reply
        assert [e.tool for e in proposal.evidence] == ["check_stock"]
        assert len(stub.chat_requests) == 2  # nothing more is asked of the model while it waits
        assert stub.remaining == 1

        decided = svc.decide(proposal.id, "bob", "approve")
        messages = svc.messages(result.thread_id)
    finally:
        svc.close()

    assert decided.status == "committed"
    assert decided.decided_by == "bob"
    assert decided.receipt is not None
    document_id = decided.receipt["document_id"]
    assert document_id
    order = erp.get_purchase_order(document_id)
    assert order.supplier_code == "F00001"
    assert order.cost_center == "CC300"
    assert [(line.product_code, Decimal(line.quantity)) for line in order.lines] == [
        ("HB-M8-40", Decimal(40))
    ]

    assert stub.errors == []
    assert stub.remaining == 0
    after_commit = stub.chat_requests[-1]
    committed = next(m for m in after_commit.tool_results if m["tool_call_id"] == "call_po_1")
    assert json.loads(committed["content"])["result"]["status"] == "committed"
    assert document_id in committed["content"]
    assert after_commit.tools == []  # after a commit the model may only report
    assert isinstance(messages[-1], AIMessage)
    assert messages[-1].content == final_text
    assert_no_key_in_bodies(stub)

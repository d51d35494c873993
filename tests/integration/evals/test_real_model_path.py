"""The real-model path: ``python -m evals --model openai:<model>`` in its own process, talking over
HTTP to a local OpenAI-compatible server (``tests.support.openai_stub``) whose answers follow a
scripted policy for two cases. The product's ``ChatOpenAI`` client is used as shipped."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, cli_env
from tests.support.openai_stub import OpenAIStub, ScriptItem, text, tool_call

pytestmark = [pytest.mark.integration, pytest.mark.slow]

API_KEY = "sk-eval-stub-key-0123456789"
CASES = "read-stock-hex-bolts,po-hex-bolts-fastenal-approved"


def receipt_summary(messages: list[dict[str, Any]]) -> str:
    """The summary of what landed, from the commit's tool result (the model reports it back)."""
    for message in reversed(messages):
        if message.get("role") == "tool":
            try:
                result = json.loads(message["content"])["result"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(result, dict) and "receipt" in result:
                return str(result["receipt"]["summary"])
    return ""


def policy(order_quantity: int) -> Callable[[dict[str, Any]], ScriptItem]:
    """A scripted model: what to answer from the conversation so far (one step at a time)."""

    def answer(body: dict[str, Any]) -> ScriptItem:
        messages = body["messages"]
        asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        done = [
            c["function"]["name"]
            for m in messages[[m["role"] for m in messages].index("user") :]
            if m["role"] == "assistant"
            for c in m.get("tool_calls") or []
        ]
        if "how many hex bolts" in asked:
            if not done:
                return tool_call("check_stock", {"product_code": "HB-M8-40"})
            return text("HB-M8-40: 470 PC available, below its reorder point of 500.")
        if "order 400 hex bolts" in asked:
            if not body.get("tools"):  # the run resumed after the commit: report what landed
                return text(f"Done. {receipt_summary(messages)}")
            steps: list[ScriptItem] = [
                tool_call("search_suppliers", {"query": "Fastenal"}),
                tool_call("search_products", {"query": "hex bolt M8"}),
                tool_call(
                    "propose_purchase_order",
                    {
                        "supplier_code": "F00001",
                        "cost_center": "CC300",
                        "lines": [{"product_code": "HB-M8-40", "quantity": order_quantity}],
                    },
                ),
            ]
            return steps[len(done)] if len(done) < len(steps) else text("Filed for approval.")
        return text("I cannot help with that.")

    return answer


def run_evals(stub: OpenAIStub, report: Path, cases: str = CASES) -> subprocess.CompletedProcess[str]:
    env = cli_env(report / "unused", OPENAI_BASE_URL=stub.base_url, OPENAI_API_KEY=API_KEY)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "--model",
            "openai:test-model",
            "--cases",
            cases,
            "--report",
            str(report),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_runner_drives_a_real_openai_compatible_endpoint_and_reports_it(tmp_path: Path) -> None:
    with OpenAIStub(policy(order_quantity=400), api_key=API_KEY) as stub:
        done = run_evals(stub, tmp_path)
        requests = stub.chat_requests
        errors = stub.errors

    assert done.returncode == 0, done.stderr
    assert errors == []
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["summary"]["model"] == "openai:test-model"
    assert data["summary"]["ok"] is True
    results = {r["case_id"]: r for r in data["results"]}
    assert set(results) == {"read-stock-hex-bolts", "po-hex-bolts-fastenal-approved"}
    assert all(r["passed"] and not r["violations"] for r in results.values())
    assert [c["tool"] for c in results["read-stock-hex-bolts"]["calls"]] == ["check_stock"]
    order = results["po-hex-bolts-fastenal-approved"]
    assert order["proposals"][0]["status"] == "committed"
    assert "000301" in order["steps"][1]["reply"]
    # The model was reached over HTTP, offered the agent's tools, and never sent the key in a message.
    assert len(requests) >= 6
    assert "propose_purchase_order" in requests[0].tool_names
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in requests)
    assert all(API_KEY not in r.raw_body.decode() for r in requests)
    assert "[2/2]" in done.stderr and "PASS" in done.stderr
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "summary.md").exists()


def test_a_real_model_that_proposes_the_wrong_quantity_fails_the_suite(tmp_path: Path) -> None:
    with OpenAIStub(policy(order_quantity=4000), api_key=API_KEY) as stub:
        done = run_evals(stub, tmp_path, cases="po-hex-bolts-fastenal-approved")

    assert done.returncode == 1, done.stderr
    (result,) = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]
    assert not result["passed"]
    assert 'FAIL proposal[1].lines[0].quantity: expected 400, got "4000"' in result["diff"]["proposal"]
    assert "below threshold: proposal_accuracy" in done.stderr

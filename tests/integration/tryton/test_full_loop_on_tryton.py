"""The product on a real Tryton 8.2 server: the service is built as the app builds it, from
settings alone (``COUNTERSIGN_ERP`` and ``COUNTERSIGN_ERP_PASSWORD``), with the offline planner and
no API key. A clerk asks in chat, an approver approves, the writer commits once into Tryton, and
what landed is read back over Tryton's own JSON-RPC, not through the adapter under test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agent.approvals import AlreadyDecided
from agent.service import AgentService, build_service
from erp_acl.commands import parse_command
from erp_acl.tryton.rpc import TrytonRpc
from erp_acl.tryton.server import HOST, TrytonServer

# The first test also prepares the demo database (a couple of minutes on a small machine).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

REFERENCE_PREFIX = "countersign:"
"""What the documents Countersign writes carry in their own reference, before the key."""


@pytest.fixture
def tryton_service(
    tryton_server: TrytonServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AgentService]:
    """The product's service as the app builds it: every setting from the environment."""
    for name in [n for n in os.environ if n.startswith(("COUNTERSIGN_", "OPENAI_"))]:
        monkeypatch.delenv(name)  # a fresh installation: none of the caller's settings
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "COUNTERSIGN_ERP", f"tryton+http://admin@{HOST}:{tryton_server.port}/{tryton_server.database}"
    )
    monkeypatch.setenv("COUNTERSIGN_ERP_PASSWORD", "admin")
    svc = build_service()
    yield svc
    svc.close()


@pytest.fixture
def tryton(tryton_server: TrytonServer) -> Iterator[TrytonRpc]:
    """Tryton itself, over its JSON-RPC (the referee of what landed)."""
    client = tryton_server.client()
    yield client
    client.logout()


def purchases_keyed(rpc: TrytonRpc, key: str) -> list[dict[str, Any]]:
    return rpc.search_read(
        "purchase.purchase",
        [("reference", "=", REFERENCE_PREFIX + key)],
        ["number", "reference", "state", "party", "comment", "lines"],
    )


def purchase_lines(rpc: TrytonRpc, line_ids: list[int]) -> list[tuple[str, Decimal]]:
    lines = rpc.read("purchase.line", line_ids, ["product", "quantity"])
    codes = {
        row["id"]: row["code"]
        for row in rpc.read("product.product", [ln["product"] for ln in lines], ["code"])
    }
    return [(codes[ln["product"]], Decimal(str(ln["quantity"]))) for ln in lines]


def plain(quantity: Decimal) -> str:
    """320.0 -> "320", as replies write quantities."""
    return format(quantity.normalize(), "f")


def test_the_service_built_from_settings_talks_to_tryton(tryton_service: AgentService) -> None:
    assert tryton_service.settings.erp_kind == "tryton"
    assert tryton_service.settings.model == "offline"
    assert tryton_service.settings.openai_api_key is None


def test_a_clerks_purchase_order_is_approved_and_lands_once_in_tryton_under_its_key(
    tryton_service: AgentService, tryton: TrytonRpc
) -> None:
    svc = tryton_service
    result = svc.chat("alice", "order 400 hex bolts M8 from Fastenal for CC300")

    [proposal] = result.proposals
    assert proposal.status == "pending", result.reply
    assert proposal.action == "create_purchase_order"
    assert proposal.payload["supplier_code"] == "F00001"
    assert proposal.payload["cost_center"] == "CC300"
    assert [(ln["product_code"], Decimal(str(ln["quantity"]))) for ln in proposal.payload["lines"]] == [
        ("HB-M8-40", Decimal(400))
    ]
    assert proposal.id in result.reply
    key = proposal.idempotency_key
    assert purchases_keyed(tryton, key) == []  # nothing is written before a person approves

    committed = svc.decide(proposal.id, "bob", "approve")

    assert committed.status == "committed", committed.error
    [purchase] = purchases_keyed(tryton, key)
    assert purchase["reference"] == f"countersign:{key}"
    assert purchase["state"] == "processing"
    [supplier] = tryton.read("party.party", [purchase["party"]], ["code"])
    assert supplier["code"] == "F00001"
    assert "CC300" in (purchase["comment"] or "")
    assert purchase_lines(tryton, purchase["lines"]) == [("HB-M8-40", Decimal(400))]

    assert committed.receipt is not None
    assert committed.receipt["document_id"] == purchase["number"]
    assert svc.proposal(proposal.id).status == "committed"
    last = svc.messages(result.thread_id)[-1]
    assert isinstance(last, AIMessage)
    assert purchase["number"] in str(last.content)
    assert "created after approval" in str(last.content)

    with pytest.raises(AlreadyDecided, match="already"):
        svc.decide(proposal.id, "carol", "approve")
    replayed = svc.erp.apply(parse_command(proposal.payload), key, proposal.fingerprint)
    assert replayed.replayed and replayed.document_id == purchase["number"]
    assert len(purchases_keyed(tryton, key)) == 1


def test_a_stock_question_is_answered_from_tryton_per_warehouse(
    tryton_service: AgentService, tryton: TrytonRpc
) -> None:
    [product] = tryton.search("product.product", [("code", "=", "HB-M8-40")])
    warehouses = {
        row["code"]: row["id"]
        for row in tryton.search_read("stock.location", [("type", "=", "warehouse")], ["code"])
    }
    assert {"01", "02"} <= set(warehouses)
    on_hand = {
        code: Decimal(
            str(
                tryton.read("product.product", [product], ["quantity"], context={"locations": [wh]})[0][
                    "quantity"
                ]
            )
        )
        for code, wh in warehouses.items()
    }

    result = tryton_service.chat("alice", "how many hex bolts M8 do we have?")

    assert result.proposals == []
    reply = result.reply
    assert "HB-M8-40" in reply
    assert f"main: {plain(on_hand['01'])} on hand" in reply  # warehouse 01
    assert f"secondary: {plain(on_hand['02'])} on hand" in reply  # warehouse 02
    calls = [
        c["name"]
        for m in tryton_service.transcript(result.thread_id, "alice")
        for c in m.get("tool_calls") or []
    ]
    assert "check_stock" in calls


def test_a_budget_question_on_tryton_is_declined_in_one_line_naming_the_missing_budgets(
    tryton_service: AgentService,
) -> None:
    result = tryton_service.chat("alice", "what is the budget of CC300?")

    assert result.proposals == []
    assert "no budgets" in result.reply
    assert "\n" not in result.reply.strip()

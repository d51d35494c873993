from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal

import pytest

from erp_acl.errors import NotFound, ValidationFailed
from erp_acl.memory import InMemoryErp
from tools.catalog import ALL_TOOLS, PROPOSE_TOOLS, READ_TOOLS
from tools.gateway import Gateway, Principal, ToolError

AGENT = Principal("countersign-agent", "alice")
TODAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway(InMemoryErp.seeded())


def test_there_are_at_least_ten_read_tools_and_one_propose_tool_per_write() -> None:
    assert len(READ_TOOLS) >= 10
    assert sorted(t.action for t in PROPOSE_TOOLS) == sorted(
        [
            "create_purchase_order",
            "post_journal_entry",
            "change_credit_limit",
            "cancel_sales_order",
            "change_price",
        ]
    )
    assert all(t.name.startswith("propose_") for t in PROPOSE_TOOLS)


def test_every_tool_is_offered_to_a_model_under_its_own_name_with_its_schema() -> None:
    definitions = Gateway.model_tools()
    assert [d["function"]["name"] for d in definitions] == [t.name for t in ALL_TOOLS]
    purchase = next(d for d in definitions if d["function"]["name"] == "propose_purchase_order")
    assert purchase["function"]["parameters"]["required"] == ["supplier_code", "cost_center", "lines"]


def test_a_read_answers_with_domain_data(gateway: Gateway) -> None:
    report = gateway.read("check_stock", {"product_code": "HB-M8-40"}, AGENT)
    assert report.total_available > 0
    assert {level.warehouse for level in report.levels} == {"main", "secondary"}


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("drop_everything", {}, "unknown tool 'drop_everything'"),
        ("check_stock", {}, "invalid arguments for check_stock: product_code: Field required"),
        ("check_stock", {"product_code": "HB-M8-40", "extra": 1}, "extra: Extra inputs are not permitted"),
        (
            "propose_price_change",
            {"product_code": "HB-M8-40", "new_price": 2},
            "is a propose tool, not a read tool",
        ),
    ],
)
def test_a_bad_call_is_refused_with_one_clear_line(
    gateway: Gateway, name: str, args: dict[str, object], message: str
) -> None:
    with pytest.raises(ToolError) as refused:
        gateway.read(name, args, AGENT)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_missing_record_comes_back_as_not_found(gateway: Gateway) -> None:
    with pytest.raises(NotFound):
        gateway.read("get_customer", {"customer_code": "C99999"}, AGENT)


def test_every_call_logs_one_structured_line_without_the_arguments(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="countersign.gateway"):
        gateway.read("search_customers", {"query": "Padaria Estrela"}, AGENT)
        with pytest.raises(NotFound):
            gateway.read("get_customer", {"customer_code": "C99999"}, AGENT)
    first, second = caplog.records
    assert first.tool == "search_customers"  # type: ignore[attr-defined]
    assert first.actor == "countersign-agent" and first.on_behalf_of == "alice"  # type: ignore[attr-defined]
    assert first.outcome == "ok"  # type: ignore[attr-defined]
    assert len(first.args_digest) == 16 and first.duration_ms >= 0  # type: ignore[attr-defined]
    assert "Padaria" not in json.dumps(first.__dict__, default=str)
    assert second.outcome.startswith("NotFound")  # type: ignore[attr-defined]


def test_a_proposal_is_checked_and_carries_the_versions_it_relied_on(gateway: Gateway) -> None:
    args = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
    }
    prepared = gateway.prepare("propose_purchase_order", args, AGENT, TODAY)
    assert prepared.action == "create_purchase_order"
    assert set(prepared.based_on) == {"supplier:F00001", "product:HB-M8-40"}
    assert len(prepared.fingerprint) == 64
    again = gateway.prepare("propose_purchase_order", args, AGENT, TODAY)
    assert again.fingerprint == prepared.fingerprint


def test_a_proposal_that_breaks_a_domain_rule_is_refused_before_anyone_sees_it(gateway: Gateway) -> None:
    with pytest.raises(ValidationFailed, match="F00005 is blocked"):
        gateway.prepare(
            "propose_purchase_order",
            {
                "supplier_code": "F00005",
                "cost_center": "CC300",
                "lines": [{"product_code": "HB-M8-40", "quantity": 1}],
            },
            AGENT,
            TODAY,
        )


def test_a_journal_entry_without_a_date_is_dated_today(gateway: Gateway) -> None:
    prepared = gateway.prepare(
        "propose_journal_entry",
        {
            "description": "pump repair",
            "lines": [
                {"account_code": "5.1.02.001", "debit": "1200.00"},
                {"account_code": "1.1.02.001", "credit": "1200.00"},
            ],
        },
        AGENT,
        TODAY,
    )
    assert prepared.command.model_dump()["entry_date"] == TODAY
    assert sum(line.debit for line in prepared.command.lines) == Decimal("1200.00")  # type: ignore[union-attr]

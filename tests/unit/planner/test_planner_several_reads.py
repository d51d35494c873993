"""Several reads in one request, and an instruction followed by the context it was given in.

The agent worker starts each event run with a message of the second kind (agent/config/events.toml):
the instruction in the first sentence, then "Reason: the ERP reports: ..." with codes and numbers
that must not change what is done.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agent.pipeline.event_config import EventRoute
from agent.planner.frames import CreditLimitFrame, PurchaseFrame, ReadFrame, ReadsFrame
from agent.planner.instruction import context_note, split_context
from agent.planner.parse import parse_request
from erp_acl.memory import InMemoryErp
from erp_acl.seed_data import TODAY
from tests.unit.planner.loop import Loop, planner


def parse(text: str) -> Any:
    return parse_request(text, date(2026, 11, 21))


def shown(read: ReadFrame) -> tuple[str, str | None]:
    """A read as (topic, what it names)."""
    named = (
        read.invoice_number
        or read.order_number
        or (read.entity.code or read.entity.text if read.entity else None)
    )
    return read.topic, named


def reads_of(text: str) -> list[tuple[str, str | None]]:
    frame = parse(text)
    assert isinstance(frame, ReadsFrame), frame
    return [shown(r) for r in frame.reads]


def first_step(loop: Loop) -> set[str]:
    first = next(m for m in loop.messages if isinstance(m, AIMessage))
    return {c["name"] for c in first.tool_calls}


# ---- several reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        (
            "Show me sales order 000001 and customer C00001",
            [("sales_order", "000001"), ("customer", "C00001")],
        ),
        (
            "Show me supplier invoice 4533 and purchase order 1",
            [("supplier_invoice", "000004533"), ("purchase_order", "000001")],
        ),
        (
            "Could you please show me PO 13 as well as supplier F00001, thanks",
            [("purchase_order", "000013"), ("supplier", "F00001")],
        ),
        (
            "customer C00002 plus its order 000002",
            [("customer", "C00002"), ("sales_order", "000002")],
        ),
        (
            "show PO 13, supplier F00001 and the stock of HB-M8-40",
            [("purchase_order", "000013"), ("supplier", "F00001"), ("stock", "HB-M8-40")],
        ),
        (
            "what's the stock of NUT-M8, HB-M8-40 and WSH-M8?",
            [("stock", "NUT-M8"), ("stock", "HB-M8-40"), ("stock", "WSH-M8")],
        ),
        ("sales orders 1 and 2", [("sales_order", "000001"), ("sales_order", "000002")]),
        (
            "invoices 4533 and 10160 please",
            [("supplier_invoice", "000004533"), ("supplier_invoice", "000010160")],
        ),
        ("mostre o pedido 000001 e o cliente C00001", [("sales_order", "000001"), ("customer", "C00001")]),
    ],
)
def test_a_request_naming_several_records_reads_each_of_them(text: str, reads: list[tuple[str, str]]) -> None:
    assert reads_of(text) == reads


@pytest.mark.parametrize(
    "text",
    [
        "show me customer Silva and Sons",
        "stock of bolts and nuts",
        "the sales orders and the credit limit of Padaria Estrela",
        "Which sales orders does Padaria Estrela have open?",
        "compare invoice 10160 and PO 291",
    ],
)
def test_one_question_with_and_in_it_stays_one_read(text: str) -> None:
    assert isinstance(parse(text), ReadFrame)


def test_two_reads_go_out_in_one_step_and_both_are_answered() -> None:
    loop = Loop()
    reply = str(loop.say("Show me sales order 000001 and customer C00001").content)
    assert first_step(loop) == {"get_sales_order", "get_customer"}
    assert "Sales order 000001 for customer C00001" in reply
    assert "Customer Padaria Estrela Ltda (C00001)" in reply
    assert reply.index("Sales order 000001") < reply.index("Customer Padaria")
    assert loop.proposals == []


def test_an_invoice_shown_with_the_order_it_bills_is_also_compared_with_it() -> None:
    loop = Loop()
    reply = str(loop.say("Show me supplier invoice 10329 and purchase order 299").content)
    assert "Supplier invoice 000010329 (series 1)" in reply and "Purchase order 000299" in reply
    assert "WSH-M8: billed 220 at BRL 0.05, ordered 200 at BRL 0.05" in reply


def test_a_read_that_needs_a_question_is_asked_after_the_others_are_answered() -> None:
    loop = Loop()
    reply = str(loop.say("show customer Horizonte and sales order 1").content)
    assert "Sales order 000001" in reply
    assert reply.rstrip().endswith("Horizonte Engenharia Ltda (C00004)")  # the question comes last
    answer = str(loop.say("C00004").content)
    assert "Customer Horizonte Engenharia Ltda (C00004)" in answer


def test_a_read_whose_tool_is_not_bound_is_named_and_the_rest_answered() -> None:
    loop = Loop(model=planner(["get_sales_order"]))
    reply = str(loop.say("Show me sales order 1 and customer C00001").content)
    assert "Sales order 000001" in reply and "get_customer" in reply
    assert {name for name, _ in loop.tool_log} == {"get_sales_order"}


# ---- the instruction and its context --------------------------------------------------------------------

INVOICE_EVENT = (
    "Show me supplier invoice NF-000045 and purchase order 000210.\n"
    "Reason: the ERP reports: Supplier invoice NF-000045 does not match purchase order 000210: "
    "HB-M8-40 billed 1,000 at BRL 0.92, ordered 1,000 at BRL 0.85."
)
STOCK_EVENT = (
    "Please order 680 units of HB-M8-40 from supplier F00001 for cost center CC300.\n"
    "Reason: the ERP reports: Stock of HB-M8-40 fell below its reorder point: 320 available, reorder "
    "point 500. Its last purchase order went to supplier F00001."
)


def test_the_context_is_told_from_the_instruction() -> None:
    instruction, context = split_context(INVOICE_EVENT)
    assert instruction == "Show me supplier invoice NF-000045 and purchase order 000210."
    assert context_note(context).startswith("The ERP reports: Supplier invoice NF-000045 does not match")
    assert split_context("cancel SO 000001, reason: duplicate entry") == (
        "cancel SO 000001, reason: duplicate entry",
        "",
    )
    assert split_context("please cancel sales order no. 15 due to a pricing error")[1] == ""


def test_codes_in_the_context_do_not_change_the_reads_of_the_instruction() -> None:
    loop = Loop()
    reply = str(loop.say(INVOICE_EVENT).content)
    assert sorted(loop.tool_log) == [
        ("get_purchase_order", {"order_number": "000210"}),
        ("get_supplier_invoice", {"invoice_number": "000000045"}),
    ]
    assert "couldn't find supplier invoice 000000045" in reply and "Purchase order 000210" in reply


def test_the_reorder_request_orders_as_told_and_keeps_the_context_as_memo() -> None:
    frame = parse(STOCK_EVENT)
    assert isinstance(frame, PurchaseFrame)
    assert frame.items[0].product.code == "HB-M8-40"  # not "HB-M8-40 from"
    loop = Loop()
    loop.say(STOCK_EVENT)
    assert loop.proposals == [
        (
            "propose_purchase_order",
            {
                "supplier_code": "F00001",
                "cost_center": "CC300",
                "lines": [{"product_code": "HB-M8-40", "quantity": 680}],
                "memo": "The ERP reports: Stock of HB-M8-40 fell below its reorder point: 320 available, "
                "reorder point 500. Its last purchase order went to supplier F00001",
            },
        )
    ]


def test_a_credit_limit_change_with_another_customer_in_its_context_changes_the_one_named() -> None:
    frame = parse(
        "Raise the credit limit of Padaria Estrela to 75,000.\n"
        "Reason: the ERP reports: Sales order 000123 of customer C00005 is over the credit limit of BRL 80,000.00."
    )
    assert isinstance(frame, CreditLimitFrame)
    assert frame.customer is not None and frame.customer.text == "Padaria Estrela"
    assert frame.change is not None and frame.change.value == 75000
    assert frame.reason.startswith("The ERP reports: Sales order 000123")


@pytest.mark.parametrize(
    "text",
    [
        "Show me sales order 000001 and customer C00001. Because the ERP flagged C00002 and order 000002.",
        "Show me sales order 000001 and customer C00001\nFYI: C00002 and order 000002 look similar",
        "Show me sales order 000001 and customer C00001.\nContext: the ERP reports order 000002 of C00002.",
    ],
)
def test_a_context_in_other_words_is_set_apart_too(text: str) -> None:
    assert reads_of(text) == [("sales_order", "000001"), ("customer", "C00001")]


def test_an_instruction_that_points_at_the_context_reads_what_it_names_and_proposes_nothing() -> None:
    loop = Loop()
    reply = str(
        loop.say(
            "Please look into this and tell me what you find. The ERP reports: Stock of HB-M8-40 fell below "
            "its reorder point: 470 available, reorder point 500. Its last purchase order went to supplier F00011."
        ).content
    )
    assert ("check_stock", {"product_code": "HB-M8-40"}) in loop.tool_log
    assert "Stock of Hex bolt M8" in reply and "F00011" in reply
    assert loop.proposals == []


def _event_requests() -> dict[str, str]:
    """The opening message of each event kind's run, rendered as the worker renders it."""
    config = tomllib.loads(
        resources.files("agent.config").joinpath("events.toml").read_text(encoding="utf-8")
    )
    erp = InMemoryErp.seeded(today=lambda: TODAY)
    requests: dict[str, str] = {}
    for event in erp.scan_events(datetime(2026, 11, 21, 12, tzinfo=UTC)):
        route = EventRoute(event.kind, "alice", config["events"][event.kind]["request"])
        requests.setdefault(
            event.kind,
            route.render(
                summary=event.describe(),
                subject=event.subject,
                facts=event.typed_facts(),
                cost_center="CC300",
            ),
        )
    return requests


def test_every_event_run_acts_on_its_instruction() -> None:
    requests = _event_requests()
    assert set(requests) == {
        "stock_below_reorder_point",
        "sales_order_over_credit_limit",
        "supplier_invoice_mismatch",
    }

    stock = Loop()
    stock.say(requests["stock_below_reorder_point"])
    assert [name for name, _ in stock.proposals] == ["propose_purchase_order"]

    credit = Loop()
    reply = str(credit.say(requests["sales_order_over_credit_limit"]).content)
    assert first_step(credit) == {"get_sales_order", "get_customer"}
    assert "Sales order" in reply and "credit limit" in reply and credit.proposals == []

    invoice = Loop()
    reply = str(invoice.say(requests["supplier_invoice_mismatch"]).content)
    assert first_step(invoice) == {"get_supplier_invoice", "get_purchase_order"}
    assert "does not match purchase order" in reply and invoice.proposals == []

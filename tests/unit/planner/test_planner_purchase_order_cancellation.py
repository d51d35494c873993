"""Cancelling a purchase order: parsed apart from sales-order cancellations, checked, then proposed.

Seeded facts used here: purchase orders 000013 and 000049 are open (000013 goes to F00001 and is
charged to CC300); 000001 is received. The demo agent identity is not granted the tool.
"""

from __future__ import annotations

from datetime import date

import pytest

from agent.planner.frames import CancelFrame, CancelPurchaseFrame, Frame
from agent.planner.parse import parse_request
from tests.unit.planner.loop import Loop, planner
from tools.identity import load_identities


def parse(text: str) -> Frame:
    return parse_request(text, date(2026, 11, 21))


@pytest.mark.parametrize(
    ("text", "number", "reason"),
    [
        ("cancel purchase order 000301, it was entered twice", "000301", "It was entered twice"),
        ("cancela o pedido de compra 000301 por duplicidade", "000301", "Duplicidade"),
        ("please cancel PO 13 because the supplier can't deliver", "000013", "The supplier can't deliver"),
        ("cancel the P.O. 49 - duplicate", "000049", "Duplicate"),
        ("void purchase order #300, wrong supplier", "000300", "Wrong supplier"),
        ("Cancel purchase order 13.\nReason: it was entered twice.", "000013", "It was entered twice"),
        ("Could you kindly cancel PO no. 13? Duplicated by mistake", "000013", "Duplicated by mistake"),
        ("cancelar a ordem de compra 49 porque o fornecedor faliu", "000049", "O fornecedor faliu"),
        ("the supplier went bust - cancel purchase order 49", "000049", "The supplier went bust"),
    ],
)
def test_purchase_order_cancellations_yield_order_number_and_reason(
    text: str, number: str, reason: str
) -> None:
    frame = parse(text)
    assert isinstance(frame, CancelPurchaseFrame), frame
    assert (frame.order_number, frame.reason) == (number, reason)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("cancel sales order 000002, duplicate", "000002"),
        ("cancel order 2, duplicate", "000002"),
        ("Cancel SO 2 - duplicate order", "000002"),
        ("cancelar pedido de venda 2 por erro de digitação", "000002"),
        ("cancela o pedido 2 por favor", "000002"),
    ],
)
def test_sales_order_cancellations_stay_sales_order_cancellations(text: str, number: str) -> None:
    frame = parse(text)
    assert isinstance(frame, CancelFrame), frame
    assert frame.order_number == number


def test_please_in_portuguese_is_not_a_reason() -> None:
    frame = parse("cancela o pedido 2 por favor")
    assert isinstance(frame, CancelFrame) and frame.reason == ""


def test_an_open_purchase_order_is_read_then_its_cancellation_proposed() -> None:
    loop = Loop()
    reply = str(loop.say("cancel purchase order 000013, it was entered twice").content)
    assert loop.tool_log == [
        ("get_purchase_order", {"order_number": "000013"}),
        ("propose_cancel_purchase_order", {"order_number": "000013", "reason": "It was entered twice"}),
    ]
    assert "Filed for approval as proposal P-test" in reply
    assert "purchase order 000013 (supplier F00001, cost center CC300" in reply


def test_a_portuguese_cancellation_is_proposed_with_its_reason() -> None:
    loop = Loop()
    loop.say("cancela o pedido de compra 000049 por duplicidade")
    assert loop.proposals == [
        ("propose_cancel_purchase_order", {"order_number": "000049", "reason": "Duplicidade"})
    ]


def test_a_received_purchase_order_is_not_proposed_for_cancellation() -> None:
    loop = Loop()
    reply = str(loop.say("cancel PO 1, duplicate").content)
    assert "Purchase order 000001 is received, so it can't be cancelled" in reply
    assert loop.proposals == []


def test_a_missing_reason_is_asked_for_and_the_answer_used() -> None:
    loop = Loop()
    question = str(loop.say("cancel PO 13").content)
    assert "Why should I cancel purchase order 000013" in question
    loop.say("it was entered twice")
    assert loop.proposals == [
        ("propose_cancel_purchase_order", {"order_number": "000013", "reason": "It was entered twice"})
    ]


def test_a_missing_number_is_asked_for_and_one_answer_gives_number_and_reason() -> None:
    loop = Loop()
    question = str(loop.say("please cancel a purchase order").content)
    assert "Which purchase order should I cancel" in question
    loop.say("13, duplicate")
    assert loop.proposals == [
        ("propose_cancel_purchase_order", {"order_number": "000013", "reason": "Duplicate"})
    ]


def test_a_committed_cancellation_says_the_order_was_cancelled() -> None:
    committed = (
        '{"result": {"status": "committed", "proposal_id": "P-3", "receipt": {"document_id": "000013", '
        '"summary": "Cancel purchase order 000013: duplicate"}}}'
    )
    loop = Loop(propose_answer=committed)
    reply = str(loop.say("cancel purchase order 13, duplicate").content)
    assert reply.startswith("Done \u2014 purchase order 000013 was cancelled after approval of proposal P-3")


def test_the_demo_agent_is_not_granted_the_tool_and_says_it_is_read_only_for_it() -> None:
    granted = load_identities(None)["agent"].granted_tools()
    assert "propose_cancel_purchase_order" not in granted
    loop = Loop(model=planner(granted))
    reply = str(loop.say("cancel purchase order 000013, it was entered twice").content)
    assert "read-only for purchase-order cancellations" in reply
    assert loop.tool_log == []
    greeting = str(loop.say("hi").content)
    assert "purchase-order cancellations" not in greeting and "sales-order cancellations" in greeting


def test_the_demo_agent_still_cancels_sales_orders() -> None:
    loop = Loop(model=planner(load_identities(None)["agent"].granted_tools()))
    loop.say("cancel sales order 2, duplicate")
    assert loop.proposals == [
        ("propose_sales_order_cancellation", {"order_number": "000002", "reason": "Duplicate"})
    ]

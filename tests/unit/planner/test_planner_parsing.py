"""Parsing request language into intent frames: many phrasings per intent, most not designed for."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from agent.planner.frames import (
    CancelFrame,
    CancelPurchaseFrame,
    ChatFrame,
    CreditLimitFrame,
    Frame,
    JournalFrame,
    PriceFrame,
    PurchaseFrame,
    ReadFrame,
)
from agent.planner.parse import parse_request

TODAY = date(2026, 11, 21)


def parse(text: str) -> Frame:
    return parse_request(text, TODAY)


def purchase(text: str) -> PurchaseFrame:
    frame = parse(text)
    assert isinstance(frame, PurchaseFrame), frame
    return frame


def items_of(frame: PurchaseFrame) -> list[tuple[str, Decimal | None, Decimal | None]]:
    return [(i.product.text, i.quantity, i.unit_price) for i in frame.items]


def D(value: str | int) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(value))


# ---- purchase orders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "supplier", "items", "cost_center"),
    [
        ("order 40 hex bolts M8 from Fastenal", "Fastenal", [("hex bolts M8", D(40), None)], None),
        (
            "Please order 100 M8 nuts and 100 M8 washers from Fastenal for CC300",
            "Fastenal",
            [("M8 nuts", D(100), None), ("M8 washers", D(100), None)],
            "CC300",
        ),
        (
            "buy 2 boxes of nitrile gloves size L from Fastenal, charge to maintenance",
            "Fastenal",
            [("nitrile gloves size L", D(2), None)],
            "maintenance",
        ),
        (
            "We need forty hex bolts M8 \u2014 get them from Fastenal",
            "Fastenal",
            [("hex bolts M8", D(40), None)],
            None,
        ),
        (
            "Can you raise a PO to Fastenal for 25 flat washers M8 at 0.12 each?",
            "Fastenal",
            [("flat washers M8", D(25), D("0.12"))],
            None,
        ),
        (
            "purchase 3 cordless drills 18V from F00001 for cost center CC300",
            "F00001",
            [("cordless drills 18V", D(3), None)],
            "CC300",
        ),
        ("I'd like to order a dozen HB-M10-50 from Fastenal", "Fastenal", [("HB-M10-50", D(12), None)], None),
        (
            "create a purchase order: supplier Fastenal, 500 x PAP-A4-500, cost center CC100",
            "Fastenal",
            [("PAP-A4-500", D(500), None)],
            "CC100",
        ),
        (
            "Place an order with Fastenal Brasil for 1.2k M8 nuts",
            "Fastenal Brasil",
            [("M8 nuts", D(1200), None)],
            None,
        ),
        ("restock hex nut M8: 200 units from Fastenal", "Fastenal", [("hex nut M8", D(200), None)], None),
        ("get us 10 boxes of A4 paper from Fastenal", "Fastenal", [("A4 paper", D(10), None)], None),
        (
            "order from Fastenal: 40 HB-M8-40, 40 NUT-M8 and 80 WSH-M8",
            "Fastenal",
            [("HB-M8-40", D(40), None), ("NUT-M8", D(40), None), ("WSH-M8", D(80), None)],
            None,
        ),
        (
            "PO for Fastenal: 40 hex bolts M8 @ R$ 0,85",
            "Fastenal",
            [("hex bolts M8", D(40), D("0.85"))],
            None,
        ),
        (
            "Hey, could you get 60 zinc plated hex bolts M8 from Fastenal? charge it to CC300",
            "Fastenal",
            [("zinc plated hex bolts M8", D(60), None)],
            "CC300",
        ),
        (
            "we're running low on nitrile gloves, order 5 boxes from fastenal",
            "fastenal",
            [("nitrile gloves", D(5), None)],
            None,
        ),
        ("need 12 cordless drills from Acme asap", "Acme", [("cordless drills", D(12), None)], None),
        (
            "buy twenty-five flat washers M8 and fifteen hex nuts M8 from Fastenal Brasil Ltda for the "
            "maintenance cost center",
            "Fastenal Brasil Ltda",
            [("flat washers M8", D(25), None), ("hex nuts M8", D(15), None)],
            "maintenance",
        ),
        (
            "pls place a PO with F00001: HB-M8-40 x 40, NUT-M8 x 40",
            "F00001",
            [("HB-M8-40", D(40), None), ("NUT-M8", D(40), None)],
            None,
        ),
        (
            "reorder A4 paper, 20 reams, from Fastenal, marketing budget",
            "Fastenal",
            [("A4 paper", D(20), None)],
            "marketing",
        ),
        ("Fastenal: please send us 40 M8 bolts", "Fastenal", [("M8 bolts", D(40), None)], None),
        (
            "purchase order to Acme Fittings for 10 hex bolts M8",
            "Acme Fittings",
            [("hex bolts M8", D(10), None)],
            None,
        ),
        ("Let's order 8 drills from Fastenal for CC210", "Fastenal", [("drills", D(8), None)], "CC210"),
        (
            "Could you book a PO for 2 dozen nitrile gloves size L from Fastenal?",
            "Fastenal",
            [("nitrile gloves size L", D(24), None)],
            None,
        ),
        ("order 40 hex bolts M8", None, [("hex bolts M8", D(40), None)], None),
        ("order hex bolts M8 from Fastenal", "Fastenal", [("hex bolts M8", None, None)], None),
    ],
)
def test_purchase_requests_yield_supplier_items_and_cost_center(
    text: str, supplier: str | None, items: list[Any], cost_center: str | None
) -> None:
    frame = purchase(text)
    assert (frame.supplier.text if frame.supplier else None) == supplier
    assert items_of(frame) == items
    assert (frame.cost_center.text if frame.cost_center else None) == cost_center


def test_a_price_per_unit_in_another_currency_notation_is_kept_per_line() -> None:
    frame = purchase("Order 30 units of HB-M10-50 from Fastenal at R$ 1,10 per unit, memo: urgent for line 3")
    assert items_of(frame) == [("HB-M10-50", D(30), D("1.10"))]
    assert frame.memo == "urgent for line 3"


def test_product_codes_in_a_purchase_are_taken_as_codes() -> None:
    frame = purchase("order 40 HB-M8-40 from F00001")
    assert frame.items[0].product.code == "HB-M8-40"
    assert frame.supplier is not None and frame.supplier.code == "F00001"


def test_a_trailing_for_clause_is_only_a_tentative_cost_center() -> None:
    frame = purchase("order 40 hex bolts M8 from Fastenal for maintenance")
    assert frame.cost_center is not None and frame.cost_center.text == "maintenance"
    assert frame.cost_center_tentative


def test_a_request_to_buy_without_anything_named_still_is_a_purchase() -> None:
    frame = purchase("I want to buy 100 gloves")
    assert frame.supplier is None and items_of(frame) == [("gloves", D(100), None)]


# ---- journal entries -------------------------------------------------------------------------------------


def lines_of(frame: Frame) -> list[tuple[str, str, Decimal | None]]:
    assert isinstance(frame, JournalFrame), frame
    return [(ln.side, ln.account.code or ln.account.text, ln.amount) for ln in frame.lines]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (
            "post a journal entry: debit 5.1.02.001 1,200.00, credit 1.1.02.001 1,200.00, description 'pump repair'",
            [("debit", "5.1.02.001", D(1200)), ("credit", "1.1.02.001", D(1200))],
        ),
        (
            "book 350 of freight expense paid from the bank account",
            [("debit", "freight expense", D(350)), ("credit", "bank account", D(350))],
        ),
        (
            "JE: Dr 5.1.03.001 350 / Cr 1.1.02.001 350 - freight for order 12",
            [("debit", "5.1.03.001", D(350)), ("credit", "1.1.02.001", D(350))],
        ),
        (
            "record 1,250.50 maintenance expense paid from bank",
            [("debit", "maintenance expense", D("1250.50")), ("credit", "bank", D("1250.50"))],
        ),
        (
            "we paid R$ 480,00 for office supplies out of the bank account",
            [("debit", "office supplies", D(480)), ("credit", "bank account", D(480))],
        ),
        (
            "debit maintenance expense 1200 and credit the bank account, memo pump repair",
            [("debit", "maintenance expense", D(1200)), ("credit", "bank account", D(1200))],
        ),
        (
            "transfer 5,000 from the bank account to petty cash",
            [("debit", "petty cash", D(5000)), ("credit", "bank account", D(5000))],
        ),
        (
            "accrue 2k of freight expense against accounts payable",
            [("debit", "freight expense", D(2000)), ("credit", "accounts payable", D(2000))],
        ),
        (
            "journal entry for 700: debit 5.1.01.001, credit 1.1.01.001",
            [("debit", "5.1.01.001", D(700)), ("credit", "1.1.01.001", D(700))],
        ),
    ],
)
def test_journal_requests_yield_balanced_lines(text: str, lines: list[Any]) -> None:
    assert lines_of(parse(text)) == lines


def test_a_journal_entry_keeps_its_description_and_date() -> None:
    frame = parse(
        "post 900 to office supplies expense from bank account Itau on 2026-11-15, description 'toner'"
    )
    assert isinstance(frame, JournalFrame)
    assert frame.description == "toner"
    assert frame.entry_date == date(2026, 11, 15)


def test_a_journal_entry_dated_yesterday_uses_the_system_date() -> None:
    frame = parse("book 120 of freight expense paid from the bank yesterday")
    assert isinstance(frame, JournalFrame) and frame.entry_date == date(2026, 11, 20)


def test_a_bare_journal_request_is_a_journal_frame_without_lines() -> None:
    frame = parse("post a journal entry")
    assert isinstance(frame, JournalFrame) and frame.lines == []


# ---- credit limits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "customer", "mode", "value", "direction"),
    [
        ("raise the credit limit of Padaria Estrela to 75,000", "Padaria Estrela", "to", D(75000), 1),
        ("increase Padaria Estrela's credit limit by 10k", "Padaria Estrela", "by", D(10000), 1),
        ("raise the credit limit of Padaria Estrela by 20%", "Padaria Estrela", "by_percent", D(20), 1),
        ("lower the credit limit for C00002 to 30.000,00", "C00002", "to", D(30000), -1),
        ("Bump Padaria Estrela's credit line up to 80k", "Padaria Estrela", "to", D(80000), 1),
        ("Padaria Estrela credit limit should be 60,000", "Padaria Estrela", "to", D(60000), 0),
        (
            "give Construtora Horizonte a credit limit of 120.000,00",
            "Construtora Horizonte",
            "to",
            D(120000),
            0,
        ),
        ("please double the credit limit for C00001", "C00001", "times", D(2), 0),
        ("reduce Horizonte's limit by 5,000", "Horizonte", "by", D(5000), -1),
        ("set credit limit of Padaria to R$ 65.000", "Padaria", "to", D(65000), 0),
        ("cut the credit limit of Mercado Silva in half", "Mercado Silva", "times", D("0.5"), -1),
        (
            "change the credit limit of Padaria Estrela to fifty thousand",
            "Padaria Estrela",
            "to",
            D(50000),
            0,
        ),
    ],
)
def test_credit_limit_requests_yield_customer_and_change(
    text: str, customer: str, mode: str, value: Decimal, direction: int
) -> None:
    frame = parse(text)
    assert isinstance(frame, CreditLimitFrame), frame
    assert frame.customer is not None and (frame.customer.code or frame.customer.text) == customer
    assert frame.change is not None
    assert (frame.change.mode, frame.change.value) == (mode, value)
    if mode != "times":
        assert frame.change.direction == direction


def test_a_credit_limit_reason_is_kept() -> None:
    frame = parse("raise the credit limit of Padaria Estrela by 20% because they pay on time")
    assert isinstance(frame, CreditLimitFrame) and frame.reason == "They pay on time"


def test_a_credit_limit_change_without_an_amount_has_no_change() -> None:
    frame = parse("can we increase the credit limit of padaria estrela?")
    assert isinstance(frame, CreditLimitFrame) and frame.change is None and frame.direction_hint == 1


def test_asking_for_a_credit_limit_is_a_read() -> None:
    frame = parse("what is the credit limit of Padaria Estrela?")
    assert isinstance(frame, ReadFrame) and frame.topic == "customer"


# ---- cancellations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number", "reason"),
    [
        ("cancel sales order 123 because the customer withdrew", "000123", "The customer withdrew"),
        ("cancel order 000001", "000001", ""),
        ("The customer withdrew - please cancel sales order 000001", "000001", "The customer withdrew"),
        ("Void SO #7, it was entered twice", "000007", "It was entered twice"),
        ("kill order 42, duplicated", "000042", "Duplicated"),
        (
            "could you cancel order 000003 - customer changed their mind",
            "000003",
            "Customer changed their mind",
        ),
        ("please cancel sales order no. 15 due to a pricing error", "000015", "A pricing error"),
        ("cancel SO 000001, reason: duplicate entry", "000001", "Duplicate entry"),
    ],
)
def test_cancellations_yield_order_number_and_reason(text: str, number: str, reason: str) -> None:
    frame = parse(text)
    assert isinstance(frame, CancelFrame), frame
    assert (frame.order_number, frame.reason) == (number, reason)


def test_cancelling_a_purchase_order_is_its_own_request() -> None:
    frame = parse("cancel purchase order 000045")
    assert isinstance(frame, CancelPurchaseFrame) and frame.order_number == "000045"


# ---- price changes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "product", "mode", "value", "direction"),
    [
        ("change the price of HB-M8-40 to 1.55", "HB-M8-40", "to", D("1.55"), 0),
        ("increase the price of hex bolt M8 by 5%", "hex bolt M8", "by_percent", D(5), 1),
        ("Mark up WSH-M8 by 10%", "WSH-M8", "by_percent", D(10), 1),
        ("discount the nitrile gloves by 15 percent", "nitrile gloves", "by_percent", D(15), -1),
        ("reprice HB-M10-50 to 2.10", "HB-M10-50", "to", D("2.10"), 0),
        ("set the list price of cordless drill 18V to 459.90", "cordless drill 18V", "to", D("459.90"), 0),
        ("NUT-M8 price to 0.35 please", "NUT-M8", "to", D("0.35"), 0),
        ("lower the price of A4 paper by 0.50", "A4 paper", "by", D("0.50"), -1),
        ("the selling price of flat washer M8 should be R$ 0,12", "flat washer M8", "to", D("0.12"), 0),
    ],
)
def test_price_change_requests_yield_product_and_change(
    text: str, product: str, mode: str, value: Decimal, direction: int
) -> None:
    frame = parse(text)
    assert isinstance(frame, PriceFrame), frame
    assert frame.product is not None and (frame.product.code or frame.product.text) == product
    assert frame.change is not None
    assert (frame.change.mode, frame.change.value, frame.change.direction) == (mode, value, direction)


def test_asking_for_a_price_is_a_read() -> None:
    frame = parse("what's the price of HB-M8-40")
    assert isinstance(frame, ReadFrame) and frame.topic == "product"


# ---- reads --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic", "entity", "status"),
    [
        ("what's the stock of hex bolts M8?", "stock", "hex bolts M8", None),
        ("how many nitrile gloves do we have", "stock", "nitrile gloves", None),
        ("Do we have any HB-M8-40 in stock?", "stock", "HB-M8-40", None),
        ("is the cordless drill 18V available?", "stock", "cordless drill 18V", None),
        ("show me the sales orders for Padaria Estrela", "sales_orders", "Padaria Estrela", None),
        ("list open sales orders", "sales_orders", None, "open"),
        ("orders on credit hold", "sales_orders", None, "credit_hold"),
        ("invoiced orders for Horizonte", "sales_orders", "Horizonte", "invoiced"),
        ("show me Padaria Estrela's orders", "sales_orders", "Padaria Estrela", None),
        ("show purchase orders from Fastenal", "purchase_orders", "Fastenal", None),
        ("list received purchase orders for Fastenal", "purchase_orders", "Fastenal", "received"),
        ("show open POs", "purchase_orders", None, "open"),
        ("what's the balance of the bank account", "balance", "bank account", None),
        ("balance of account 1.1.01.001", "balance", "1.1.01.001", None),
        ("show me the GL balance for 5.1.02.001", "balance", "5.1.02.001", None),
        ("check budget CC300", "budget", "CC300", None),
        ("how much is left in the maintenance budget?", "budget", "maintenance", None),
        ("how much budget does marketing have left?", "budget", "marketing", None),
        ("all budgets", "budget", None, None),
        ("search accounts freight", "accounts", "freight", None),
        ("which account is used for freight?", "accounts", "freight", None),
        ("what is the credit limit of Padaria Estrela?", "customer", "Padaria Estrela", None),
        ("look up customer C00003", "customer", "C00003", None),
        ("which suppliers do we have called Acme?", "supplier", "Acme", None),
        ("who is F00005?", "supplier", "F00005", None),
        ("details of product GLV-NIT-L", "product", "GLV-NIT-L", None),
        ("find products with M8", "product", "M8", None),
        ("tell me about Acme", "lookup", "Acme", None),
        ("Fastenal", "lookup", "Fastenal", None),
    ],
)
def test_read_requests_yield_topic_entity_and_status(
    text: str, topic: str, entity: str | None, status: str | None
) -> None:
    frame = parse(text)
    assert isinstance(frame, ReadFrame), frame
    assert frame.topic == topic
    assert (frame.entity.code or frame.entity.text if frame.entity else None) == entity
    assert frame.status == status


@pytest.mark.parametrize(
    ("text", "topic", "number"),
    [
        ("status of sales order 000001", "sales_order", "000001"),
        ("what's going on with order #1", "sales_order", "000001"),
        ("show purchase order 45", "purchase_order", "000045"),
        ("PO 000013 details", "purchase_order", "000013"),
    ],
)
def test_an_order_number_reads_that_order(text: str, topic: str, number: str) -> None:
    frame = parse(text)
    assert isinstance(frame, ReadFrame) and (frame.topic, frame.order_number) == (topic, number)


def test_a_balance_as_of_a_date_keeps_the_date() -> None:
    frame = parse("balance of the freight expense account as of 2026-10-31")
    assert isinstance(frame, ReadFrame) and frame.as_of == date(2026, 10, 31)


# ---- chat and out of scope ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("what's the weather like?", "out_of_scope"),
        ("write me a poem about bolts", "out_of_scope"),
        ("Tell me a joke", "out_of_scope"),
        ("what's the capital of France?", "out_of_scope"),
        ("delete the database", "out_of_scope"),
        ("drop table customers;", "out_of_scope"),
        ("DELETE all customers now", "out_of_scope"),
        ("send an email to Fastenal", "out_of_scope"),
        ("please email the supplier about the delay", "out_of_scope"),
        ("what is the meaning of life and everything in the universe", "out_of_scope"),
        ("create a new customer called Foo Ltda", "unsupported"),
        ("approve proposal P-12", "unsupported"),
        ("pay the Fastenal invoice", "unsupported"),
        ("block customer C00002", "unsupported"),
        ("hi", "greeting"),
        ("good morning", "greeting"),
        ("thanks!", "thanks"),
        ("can you help?", "help"),
        ("what can you do", "help"),
        ("never mind", "abort"),
    ],
)
def test_chat_and_out_of_scope_messages_are_recognised(text: str, kind: str) -> None:
    frame = parse(text)
    assert isinstance(frame, ChatFrame), frame
    assert frame.kind == kind

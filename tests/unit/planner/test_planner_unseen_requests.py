"""Requests written after the parser, in styles it was not designed around, run end to end.

Each request runs through the planner loop against the seeded ERP; the test checks the one
proposal it files (tool and key arguments), or the read it answers with, or that it asks.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.planner.loop import Loop

WRITES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "Need 200 hex nuts M8 from Fastenal for the warehouse cost center.",
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "cost_center": "CC410",
            "lines": [{"product_code": "NUT-M8", "quantity": 200}],
        },
    ),
    (
        "Please raise a purchase order with Fastenal Brasil for fifty flat washers M8.",
        "propose_purchase_order",
        {"supplier_code": "F00001", "lines": [{"product_code": "WSH-M8", "quantity": 50}]},
    ),
    (
        "could we get 3 boxes of nitrile gloves (size L) from fastenal? bill it to CC320",
        "propose_purchase_order",
        {"cost_center": "CC320", "lines": [{"product_code": "GLV-NIT-L", "quantity": 3}]},
    ),
    (
        "Buy 1 cordless drill 18V from Fastenal.",
        "propose_purchase_order",
        {"lines": [{"product_code": "DRL-18V", "quantity": 1}]},
    ),
    (
        "I need 10 reams of A4 copy paper from Fastenal, charge Administration",
        "propose_purchase_order",
        {"cost_center": "CC100", "lines": [{"product_code": "PAP-A4-500", "quantity": 10}]},
    ),
    (
        "Purchase 500 NUT-M8 @ 0.11 from F00001",
        "propose_purchase_order",
        {"lines": [{"product_code": "NUT-M8", "quantity": 500, "unit_price": 0.11}]},
    ),
    (
        "Order: 40 x HB-M8-40, supplier F00001, cost centre CC300",
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "cost_center": "CC300",
            "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
        },
    ),
    (
        "Get me 2 HB-M10-50 from Fastenal please",
        "propose_purchase_order",
        {"lines": [{"product_code": "HB-M10-50", "quantity": 2}]},
    ),
    (
        "we are out of flat washers M8, get 300 from fastenal",
        "propose_purchase_order",
        {"lines": [{"product_code": "WSH-M8", "quantity": 300}]},
    ),
    (
        "40 hex bolts M8 from Fastenal please",
        "propose_purchase_order",
        {"supplier_code": "F00001", "lines": [{"product_code": "HB-M8-40", "quantity": 40}]},
    ),
    (
        "order 40 bolts M8 from Fastenal and 40 nuts M8",
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "lines": [
                {"product_code": "HB-M8-40", "quantity": 40},
                {"product_code": "NUT-M8", "quantity": 40},
            ],
        },
    ),
    (
        "pls order 3 x DRL-18V, F00001, CC300",
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "cost_center": "CC300",
            "lines": [{"product_code": "DRL-18V", "quantity": 3}],
        },
    ),
    (
        "increase limit for padaria estrela by 5000 reais",
        "propose_credit_limit_change",
        {"customer_code": "C00001", "new_limit": 55000},
    ),
    (
        "set the price for nut m8 at 0.30",
        "propose_price_change",
        {"product_code": "NUT-M8", "new_price": 0.3},
    ),
    ("raise prices 5% on HB-M8-40", "propose_price_change", {"product_code": "HB-M8-40", "new_price": 1.47}),
    (
        "pay 300 rent from the bank account",
        "propose_journal_entry",
        {
            "lines": [
                {"account_code": "5.1.05.001", "debit": 300, "credit": 0},
                {"account_code": "1.1.02.001", "debit": 0, "credit": 300},
            ]
        },
    ),
    (
        "cancel order 1 pls, client gave up",
        "propose_sales_order_cancellation",
        {"order_number": "000001", "reason": "Client gave up"},
    ),
    (
        "Set Padaria Estrela's credit limit to 70 thousand reais.",
        "propose_credit_limit_change",
        {"customer_code": "C00001", "new_limit": 70000},
    ),
    (
        "Increase credit limit for Mercado Silva Ltda by R$ 25.000,00",
        "propose_credit_limit_change",
        {"customer_code": "C00007", "new_limit": 325000},
    ),
    (
        "Could you lower the credit line of Horizonte Engenharia to 60k?",
        "propose_credit_limit_change",
        {"customer_code": "C00004", "new_limit": 60000},
    ),
    (
        "Update the credit limit of customer C00006 to 90,000",
        "propose_credit_limit_change",
        {"customer_code": "C00006", "new_limit": 90000},
    ),
    (
        "Please bump C00001's limit by 15%",
        "propose_credit_limit_change",
        {"customer_code": "C00001", "new_limit": 57500},
    ),
    (
        "Reduce the credit limit of Padaria Estrela by 10 percent because of late payments",
        "propose_credit_limit_change",
        {"customer_code": "C00001", "new_limit": 45000, "reason": "Late payments"},
    ),
    (
        "Cancel SO 2 \u2014 duplicate order",
        "propose_sales_order_cancellation",
        {"order_number": "000002", "reason": "Duplicate order"},
    ),
    (
        "Please void sales order number 000002, customer request",
        "propose_sales_order_cancellation",
        {"order_number": "000002", "reason": "Customer request"},
    ),
    (
        "Cancel the sales order 000002. Reason: customer went bankrupt",
        "propose_sales_order_cancellation",
        {"order_number": "000002", "reason": "Customer went bankrupt"},
    ),
    (
        "Raise the price of the cordless drill 18V to 649.00",
        "propose_price_change",
        {"product_code": "DRL-18V", "new_price": 649},
    ),
    (
        "Reduce NUT-M8 list price by 5 cents",
        "propose_price_change",
        {"product_code": "NUT-M8", "new_price": 0.2},
    ),
    (
        "Change HB-M8-40's price to R$ 1,50",
        "propose_price_change",
        {"product_code": "HB-M8-40", "new_price": 1.5},
    ),
    (
        "Please increase prices of flat washer M8 by 20%",
        "propose_price_change",
        {"product_code": "WSH-M8", "new_price": 0.12},
    ),
    (
        "Make the A4 paper cost 34.50",
        "propose_price_change",
        {"product_code": "PAP-A4-500", "new_price": 34.5},
    ),
    (
        "Record a payment of 2,500.00 for maintenance expense from bank account Itau",
        "propose_journal_entry",
        {
            "lines": [
                {"account_code": "5.1.02.001", "debit": 2500, "credit": 0},
                {"account_code": "1.1.02.001", "debit": 0, "credit": 2500},
            ]
        },
    ),
    (
        "Book 89.90 office supplies expense, paid with petty cash",
        "propose_journal_entry",
        {
            "lines": [
                {"account_code": "5.1.01.001", "debit": 89.9, "credit": 0},
                {"account_code": "1.1.01.002", "debit": 0, "credit": 89.9},
            ]
        },
    ),
    (
        'Journal: debit freight expense 420, credit bank account Bradesco 420, description "Transportadora XYZ"',
        "propose_journal_entry",
        {
            "description": "Transportadora XYZ",
            "lines": [
                {"account_code": "5.1.03.001", "debit": 420, "credit": 0},
                {"account_code": "1.1.02.002", "debit": 0, "credit": 420},
            ],
        },
    ),
    (
        "Post JE debit 5.1.01.001 150 credit 1.1.01.002 150",
        "propose_journal_entry",
        {
            "lines": [
                {"account_code": "5.1.01.001", "debit": 150, "credit": 0},
                {"account_code": "1.1.01.002", "debit": 0, "credit": 150},
            ]
        },
    ),
    (
        "Move 1,000 from Bank account Itau to petty cash",
        "propose_journal_entry",
        {
            "lines": [
                {"account_code": "1.1.01.002", "debit": 1000, "credit": 0},
                {"account_code": "1.1.02.001", "debit": 0, "credit": 1000},
            ]
        },
    ),
]


@pytest.mark.parametrize(("text", "tool", "expected"), WRITES, ids=[w[0][:40] for w in WRITES])
def test_an_unseen_write_request_files_the_expected_proposal(
    text: str, tool: str, expected: dict[str, Any]
) -> None:
    loop = Loop()
    loop.say(text)
    assert len(loop.proposals) == 1, loop.messages[-1].content
    name, args = loop.proposals[0]
    assert name == tool
    assert {k: args.get(k) for k in expected} == expected


READS: list[tuple[str, str, dict[str, Any], str]] = [
    ("How much stock of NUT-M8 is there?", "check_stock", {"product_code": "NUT-M8"}, "available"),
    ("Are we low on nitrile gloves?", "check_stock", {"product_code": "GLV-NIT-L"}, "available"),
    ("Do we have cordless drills in stock?", "check_stock", {"product_code": "DRL-18V"}, "available"),
    ("What's our inventory of A4 paper?", "check_stock", {"product_code": "PAP-A4-500"}, "available"),
    ("What's left in CC210?", "check_budget", {"cost_center": "CC210"}, "BRL 1,500.00"),
    ("Show the marketing budget.", "check_budget", {}, "CC210 Marketing"),
    ("How is the IT budget looking?", "check_budget", {}, "CC120 IT"),
    ("Budget overview please", "check_budget", {}, "CC600"),
    (
        "Which sales orders does Padaria Estrela have open?",
        "list_sales_orders",
        {"customer_code": "C00001", "status": "open"},
        "000001",
    ),
    ("Show me order 000001", "get_sales_order", {"order_number": "000001"}, "PAP-A4-500"),
    ("Any purchase orders for CC300?", "list_purchase_orders", {"limit": 100}, "cost center CC300"),
    (
        "List the open purchase orders to Fastenal",
        "list_purchase_orders",
        {"supplier_code": "F00001", "status": "open"},
        "F00001",
    ),
    ("Tell me about customer Padaria Estrela", "get_customer", {"customer_code": "C00001"}, "BRL 50,000.00"),
    ("Show supplier Acme Fixings", "get_supplier", {"supplier_code": "F00002"}, "Joinville"),
    ("What does HB-M10-50 cost?", "get_product", {"product_code": "HB-M10-50"}, "BRL 2.20"),
    ("Find accounts with bank in the name", "search_accounts", {"query": "bank"}, "Bank account Itau"),
    (
        "What is the balance of the freight expense account?",
        "get_account_balance",
        {"account_code": "5.1.03.001"},
        "Freight expense",
    ),
    ("Show the petty cash balance", "get_account_balance", {"account_code": "1.1.01.002"}, "Petty cash"),
    (
        "What's the balance of 2.1.01.001 as of 2026-06-30?",
        "get_account_balance",
        {"account_code": "2.1.01.001", "as_of": "2026-06-30"},
        "2026-06-30",
    ),
    ("Give me the details of PO 13", "get_purchase_order", {"order_number": "000013"}, "F00001"),
    ("What's the status of PO 000013?", "get_purchase_order", {"order_number": "000013"}, "open"),
    ("open orders of C00001", "list_sales_orders", {"customer_code": "C00001", "status": "open"}, "000001"),
    ("give me Fastenal's details", "search_suppliers", {"query": "Fastenal"}, "vendas@fastenal.com.br"),
    ("how much have we spent in maintenance?", "check_budget", {}, "spent BRL 210,400.00"),
    ("is there enough budget in marketing for 10 drills?", "check_budget", {}, "CC210 Marketing"),
]


@pytest.mark.parametrize(("text", "tool", "args", "shown"), READS, ids=[r[0][:40] for r in READS])
def test_an_unseen_question_is_answered_from_the_right_read(
    text: str, tool: str, args: dict[str, Any], shown: str
) -> None:
    loop = Loop()
    reply = str(loop.say(text).content)
    assert args in loop.called(tool)
    assert shown in reply
    assert loop.proposals == []


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("order 12 M10 bolts from fastenal", "Which one"),
        ("Hi! Can you order 6 toner cartridges HP 85A from Fastenal?", "P00011"),
        ("I need to cancel order 2", "reason"),
        ("Which customers are blocked?", "Which customer"),
    ],
)
def test_an_unseen_unclear_request_gets_a_question(text: str, asked: str) -> None:
    loop = Loop()
    reply = str(loop.say(text).content)
    assert asked in reply
    assert loop.proposals == []


@pytest.mark.parametrize(
    "text",
    [
        "Translate this to Portuguese",
        "Please wipe all purchase orders",
        "Email Padaria Estrela their statement",
        "Can you approve my own purchase order?",
        "book me a flight to Lisbon",
    ],
)
def test_an_unseen_out_of_scope_request_is_declined_without_tools(text: str) -> None:
    loop = Loop()
    reply = str(loop.say(text).content)
    assert loop.tool_log == []
    assert "I can" in reply or "I can't" in reply

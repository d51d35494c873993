"""Domain rules every command must satisfy, shared by all adapters.

``validate`` collects *every* broken rule into one ``ValidationFailed`` so a person (or the
agent) can fix a proposal in one go; each problem is one plain sentence naming the record.
``check_versions`` refuses a command whose ``based_on`` versions no longer match the ERP.
Both only read, through an ``ErpReader``; inside ``apply`` that reader is bound to the write
transaction, so what is checked is what gets written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from erp_acl.commands import (
    MAX_PRICE_CHANGE,
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    PostJournalEntry,
)
from erp_acl.domain import GLAccount, PurchaseOrderStatus, SalesOrderStatus, money
from erp_acl.errors import NotFound, StaleProposal, Unsupported, ValidationFailed
from erp_acl.identifiers import (
    account_code,
    cost_center_code,
    customer_code,
    order_number,
    product_code,
    quantity,
    supplier_code,
)
from erp_acl.ports import ErpReader

# Widths of the free-text fields the ERP can store (the legacy columns are this wide).
MAX_MEMO = 250
MAX_REASON = 250
MAX_DESCRIPTION = 120

T = TypeVar("T")


def _lookup(fetch: Callable[[str], T], code: str) -> T | None:
    try:
        return fetch(code)
    except NotFound:
        return None


def _account(reader: ErpReader) -> Callable[[str], GLAccount]:
    return lambda code: reader.account_balance(code).account


def _percent(ratio: Decimal) -> str:
    text = f"{ratio * 100:.1f}"
    return text.removesuffix(".0")


def _too_long(what: str, text: str, limit: int) -> list[str]:
    return [f"{what} is longer than {limit} characters"] if len(text) > limit else []


def line_total(qty: Decimal, unit_price: Decimal) -> Decimal:
    """A line's value, rounded to cents the way the order will store it."""
    return money(quantity(qty) * unit_price).amount


def _purchase_order(cmd: CreatePurchaseOrder, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    code = supplier_code(cmd.supplier_code)
    supplier = _lookup(reader.get_supplier, code)
    if supplier is None:
        problems.append(f"supplier {code} does not exist")
    elif supplier.blocked:
        problems.append(f"supplier {supplier.code} is blocked")

    needed = Decimal("0")
    priced = True
    for line in cmd.lines:
        item = product_code(line.product_code)
        product = _lookup(reader.get_product, item)
        if product is None:
            problems.append(f"product {item} does not exist")
            priced = False
            continue
        if product.blocked:
            problems.append(f"product {product.code} is blocked")
        if line.quantity <= 0:
            problems.append(f"quantity of {product.code} must be positive")
            priced = False
        if line.unit_price is not None and line.unit_price <= 0:
            problems.append(f"unit price of {product.code} must be positive")
            priced = False
        price = line.unit_price if line.unit_price is not None else product.standard_cost.amount
        needed += line_total(line.quantity, price)

    center = cost_center_code(cmd.cost_center)
    try:
        budget = reader.get_budget(center, today.year)
    except NotFound as missing:
        problems.append(str(missing))
    except Unsupported:
        pass  # an ERP without budgets (Tryton) has no availability to check
    else:
        if priced and needed > budget.available.amount:
            problems.append(
                f"cost center {budget.cost_center} has {budget.available} available, "
                f"the order needs {money(needed)}"
            )
    problems += _too_long("the memo", cmd.memo, MAX_MEMO)
    return problems


def _journal_entry(cmd: PostJournalEntry, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    if not cmd.description.strip():
        problems.append("a journal entry needs a description")
    problems += _too_long("the description", cmd.description, MAX_DESCRIPTION)
    if cmd.entry_date > today:
        problems.append(f"entry date {cmd.entry_date.isoformat()} is in the future")

    accounts: dict[str, GLAccount | None] = {}
    for number, line in enumerate(cmd.lines, 1):
        code = account_code(line.account_code)
        if line.debit < 0 or line.credit < 0:
            problems.append(f"line {number} ({code}): amounts cannot be negative")
        elif (line.debit > 0) == (line.credit > 0):
            problems.append(f"line {number} ({code}) must have either a debit or a credit")
        if code in accounts:
            continue
        account = _lookup(_account(reader), code)
        accounts[code] = account
        if account is None:
            problems.append(f"account {code} does not exist")
        elif not account.postable:
            problems.append(f"account {account.code} is a summary account and cannot take postings")
        elif account.blocked:
            problems.append(f"account {account.code} is blocked")

    debits = sum((line.debit for line in cmd.lines), Decimal("0"))
    credits = sum((line.credit for line in cmd.lines), Decimal("0"))
    if debits != credits:
        problems.append(f"debits ({debits:,.2f}) and credits ({credits:,.2f}) do not balance")
    elif debits <= 0:
        problems.append("a journal entry must move an amount greater than zero")
    return problems


def _credit_limit(cmd: ChangeCreditLimit, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    code = customer_code(cmd.customer_code)
    customer = _lookup(reader.get_customer, code)
    if customer is None:
        problems.append(f"customer {code} does not exist")
    if cmd.new_limit < 0:
        problems.append("credit limit cannot be negative")
    elif customer is not None and customer.credit_limit.amount == cmd.new_limit:
        problems.append(f"credit limit of {customer.code} is already {customer.credit_limit}")
    problems += _too_long("the reason", cmd.reason, MAX_REASON)
    return problems


def _cancellation(cmd: CancelSalesOrder, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    number = order_number(cmd.order_number)
    order = _lookup(reader.get_sales_order, number)
    if order is None:
        problems.append(f"sales order {number} does not exist")
    elif order.status is not SalesOrderStatus.OPEN:
        state = order.status.value.replace("_", " ")
        problems.append(f"sales order {order.number} is {state}; only open orders can be cancelled")
    if not cmd.reason.strip():
        problems.append("a reason is required to cancel a sales order")
    problems += _too_long("the reason", cmd.reason, MAX_REASON)
    return problems


def _purchase_cancellation(cmd: CancelPurchaseOrder, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    number = order_number(cmd.order_number)
    order = _lookup(reader.get_purchase_order, number)
    if order is None:
        problems.append(f"purchase order {number} does not exist")
    elif order.status is not PurchaseOrderStatus.OPEN:
        problems.append(
            f"purchase order {order.number} is {order.status.value}; only open orders can be cancelled"
        )
    else:
        # Cancelling releases the order's commitment from the budget of the year it was issued in.
        try:
            reader.get_budget(order.cost_center, order.issued_on.year)
        except NotFound as missing:
            problems.append(str(missing))
        except Unsupported:
            pass  # no budget to release the commitment to
    if not cmd.reason.strip():
        problems.append("a reason is required to cancel a purchase order")
    problems += _too_long("the reason", cmd.reason, MAX_REASON)
    return problems


def _price(cmd: ChangePrice, reader: ErpReader, today: date) -> list[str]:
    problems: list[str] = []
    code = product_code(cmd.product_code)
    product = _lookup(reader.get_product, code)
    if product is None:
        problems.append(f"product {code} does not exist")
    elif product.blocked:
        problems.append(f"product {product.code} is blocked")
    if cmd.new_price <= 0:
        problems.append(f"the list price of {code} must be positive")
    elif product is not None:
        old = product.list_price.amount
        if old == cmd.new_price:
            problems.append(f"the list price of {product.code} is already {product.list_price}")
        elif old <= 0:
            problems.append(f"{product.code} has no list price yet; a first price is set in the ERP itself")
        else:
            change = abs(cmd.new_price - old) / old
            if change > MAX_PRICE_CHANGE:
                problems.append(
                    f"price change of {_percent(change)}% exceeds the {_percent(MAX_PRICE_CHANGE)}% limit"
                )
    problems += _too_long("the reason", cmd.reason, MAX_REASON)
    return problems


def problems_of(command: Command, reader: ErpReader, today: date | None = None) -> list[str]:
    """Every rule ``command`` breaks against the data ``reader`` sees (empty when it is valid)."""
    day = today or date.today()
    if isinstance(command, CreatePurchaseOrder):
        return _purchase_order(command, reader, day)
    if isinstance(command, PostJournalEntry):
        return _journal_entry(command, reader, day)
    if isinstance(command, ChangeCreditLimit):
        return _credit_limit(command, reader, day)
    if isinstance(command, CancelSalesOrder):
        return _cancellation(command, reader, day)
    if isinstance(command, CancelPurchaseOrder):
        return _purchase_cancellation(command, reader, day)
    return _price(command, reader, day)


def validate(command: Command, reader: ErpReader, today: date | None = None) -> None:
    """Raise ``ValidationFailed`` listing every broken rule; ``today`` defaults to the real date."""
    problems = problems_of(command, reader, today)
    if problems:
        raise ValidationFailed(problems)


def check_versions(command: Command, reader: ErpReader) -> None:
    """Raise ``StaleProposal`` naming every ``based_on`` record whose version changed (or vanished)."""
    if not command.based_on:
        return
    refs = sorted(command.based_on)
    current = reader.record_versions(refs)
    changed = [ref for ref in refs if current.get(ref) != command.based_on[ref]]
    if changed:
        raise StaleProposal(changed)

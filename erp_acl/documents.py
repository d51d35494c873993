"""What adapters store and answer, decided once: documents, receipts, stock reports, budgets.

Adapters differ in *how* they store a purchase order or a journal entry, never in *what* they
store or answer: the lines, prices, totals, the receipt's wording and the derived figures of a
stock report or a budget are decided here, so the same command gives the same document and the
same receipt whichever ERP is behind the ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    PostJournalEntry,
)
from erp_acl.domain import (
    Budget,
    Customer,
    JournalLine,
    Money,
    OrderLine,
    Product,
    PurchaseOrder,
    Receipt,
    SalesOrder,
    StockLevel,
    StockReport,
    Supplier,
    Warehouse,
    money,
)
from erp_acl.errors import IdempotencyConflict, Unsupported, ValidationFailed
from erp_acl.identifiers import account_code, cost_center_code, quantity
from erp_acl.ports import ErpReader
from erp_acl.rules import line_total

PURCHASE_ORDER = "purchase_order"
JOURNAL_ENTRY = "journal_entry"
CUSTOMER = "customer"
SALES_ORDER = "sales_order"
PRODUCT = "product"

MAX_KEY_LENGTH = 100
"""Longest idempotency key the ERP stores (it also goes into documents' reference fields)."""


def check_key(idempotency_key: str) -> None:
    if (
        not idempotency_key
        or len(idempotency_key) > MAX_KEY_LENGTH
        or idempotency_key != idempotency_key.strip()
    ):
        raise ValidationFailed(
            [f"the idempotency key must be 1 to {MAX_KEY_LENGTH} characters without surrounding blanks"]
        )


def conflict(idempotency_key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"idempotency key {idempotency_key} was already used for a different payload; nothing was written"
    )


def stock_level(product_code: str, warehouse: Warehouse, on_hand: Decimal, reserved: Decimal) -> StockLevel:
    on_hand, reserved = quantity(on_hand), quantity(reserved)
    return StockLevel(
        product_code=product_code,
        warehouse=warehouse,
        on_hand=on_hand,
        reserved=reserved,
        available=quantity(on_hand - reserved),
    )


def stock_report(product: Product, levels: list[StockLevel]) -> StockReport:
    """Both warehouses, always (a warehouse without a stock row holds nothing)."""
    by_warehouse = {level.warehouse: level for level in levels}
    ordered = [
        by_warehouse.get(warehouse) or stock_level(product.code, warehouse, Decimal(0), Decimal(0))
        for warehouse in Warehouse
    ]
    total = quantity(sum((level.available for level in ordered), Decimal(0)))
    return StockReport(
        product_code=product.code,
        description=product.description,
        unit=product.unit,
        reorder_point=product.reorder_point,
        levels=ordered,
        total_available=total,
        below_reorder_point=total < product.reorder_point,
    )


WAREHOUSE_CODES: dict[str, Warehouse] = {"01": Warehouse.MAIN, "02": Warehouse.SECONDARY}
"""The warehouse codes the ERP's own users type (01 main, 02 secondary)."""


def warehouse_of(value: str | Warehouse) -> Warehouse:
    """A warehouse from its code (``01``, ``02``) or its name (``main``, ``secondary``)."""
    if isinstance(value, Warehouse):
        return value
    cleaned = value.strip().lower()
    if cleaned in WAREHOUSE_CODES:
        return WAREHOUSE_CODES[cleaned]
    try:
        return Warehouse(cleaned)
    except ValueError:
        raise ValidationFailed(
            [f"warehouse {value!r} does not exist; use 01 (main) or 02 (secondary)"]
        ) from None


def issue_quantity(value: Decimal | int | str) -> Decimal:
    """The quantity of a goods issue: a positive number."""
    try:
        issued = quantity(value)
    except (InvalidOperation, ValueError):
        raise ValidationFailed([f"the quantity issued must be a number, not {value!r}"]) from None
    if issued <= 0:
        raise ValidationFailed([f"the quantity issued must be positive, not {issued}"])
    return issued


def check_stock_issue(product_code: str, warehouse: Warehouse, on_hand: Decimal, issued: Decimal) -> None:
    """A goods issue takes no more than the warehouse holds (stock never goes negative)."""
    if issued > on_hand:
        raise ValidationFailed(
            [f"only {quantity(on_hand)} of {product_code} on hand in the {warehouse.value} warehouse"]
        )


def released(committed: Decimal, amount: Decimal) -> Decimal:
    """What stays committed after releasing ``amount``; never below zero (an order may have been
    committed before its budget row was loaded, and a budget cannot owe a negative commitment)."""
    return max(committed - amount, Decimal("0"))


def budget(
    cost_center: str, description: str, year: int, annual: Money, committed: Money, spent: Money
) -> Budget:
    """A budget; what is available is what is neither committed (open POs) nor spent."""
    return Budget(
        cost_center=cost_center,
        description=description,
        year=year,
        annual=annual,
        committed=committed,
        spent=spent,
        available=money(annual.amount - committed.amount - spent.amount),
    )


@dataclass(frozen=True)
class PurchaseOrderPlan:
    """A purchase order ready to be numbered and stored."""

    supplier: Supplier
    cost_center: str
    issued_on: date
    lines: list[OrderLine]
    total: Money
    memo: str


def plan_purchase_order(command: CreatePurchaseOrder, reader: ErpReader, today: date) -> PurchaseOrderPlan:
    """Resolve codes and prices (a missing unit price is the product's standard cost)."""
    supplier = reader.get_supplier(command.supplier_code)
    lines = purchase_lines(command, reader)
    return PurchaseOrderPlan(
        supplier=supplier,
        cost_center=_cost_center(command.cost_center, reader, today),
        issued_on=today,
        lines=lines,
        total=money(sum((line.total.amount for line in lines), Decimal("0"))),
        memo=command.memo.strip(),
    )


def _cost_center(code: str, reader: ErpReader, today: date) -> str:
    """The cost center as its budget names it (``NotFound`` if it has none this year); an ERP
    without budgets (Tryton) takes the code as typed, canonicalised."""
    try:
        return reader.get_budget(code, today.year).cost_center
    except Unsupported:
        return cost_center_code(code)


def purchase_lines(command: CreatePurchaseOrder, reader: ErpReader) -> list[OrderLine]:
    """The order's lines as they will be stored, numbered from 1 and priced."""
    lines: list[OrderLine] = []
    for line_no, spec in enumerate(command.lines, 1):
        product = reader.get_product(spec.product_code)
        price = spec.unit_price if spec.unit_price is not None else product.standard_cost.amount
        lines.append(
            OrderLine(
                line_no=line_no,
                product_code=product.code,
                quantity=quantity(spec.quantity),
                unit_price=money(price),
                total=money(line_total(spec.quantity, price)),
            )
        )
    return lines


def journal_lines(command: PostJournalEntry) -> list[JournalLine]:
    """The entry's lines with canonical account codes and amounts rounded to cents."""
    return [
        JournalLine(
            account_code=account_code(line.account_code), debit=money(line.debit), credit=money(line.credit)
        )
        for line in command.lines
    ]


def now() -> datetime:
    return datetime.now(UTC)


def receipt(
    action: str, document_type: str, document_id: str, summary: str, idempotency_key: str, fingerprint: str
) -> Receipt:
    return Receipt(
        action=action,
        document_type=document_type,
        document_id=document_id,
        summary=summary,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        committed_at=now(),
    )


def purchase_order_summary(number: str, plan: PurchaseOrderPlan) -> str:
    count = len(plan.lines)
    return (
        f"Purchase order {number} to {plan.supplier.name} ({plan.supplier.code}): {count} "
        f"line{'s' if count != 1 else ''}, total {plan.total}, charged to cost center {plan.cost_center}"
    )


def journal_entry_summary(number: str, command: PostJournalEntry) -> str:
    total = money(sum((line.debit for line in command.lines), Decimal("0")))
    description = command.description.strip()
    return f"Journal entry {number} on {command.entry_date.isoformat()} for {total}: {description}"


def credit_limit_summary(customer: Customer, command: ChangeCreditLimit) -> str:
    return (
        f"Credit limit of {customer.name} ({customer.code}) changed from {customer.credit_limit} "
        f"to {money(command.new_limit)}"
    )


def cancellation_summary(order: SalesOrder, command: CancelSalesOrder) -> str:
    return (
        f"Sales order {order.number} of customer {order.customer_code} ({order.total}) cancelled: "
        f"{command.reason.strip()}"
    )


def purchase_cancellation_summary(order: PurchaseOrder, command: CancelPurchaseOrder) -> str:
    return (
        f"Purchase order {order.number} to supplier {order.supplier_code} ({order.total}) cancelled, "
        f"releasing its commitment on cost center {order.cost_center}: {command.reason.strip()}"
    )


def price_summary(product: Product, command: ChangePrice) -> str:
    return (
        f"List price of {product.code} {product.description} changed from {product.list_price} "
        f"to {money(command.new_price)}"
    )


def amount_of(command: Command, reader: ErpReader, today: date) -> Money:
    """The money a command moves, the figure approval thresholds are set on.

    A purchase order: its total at the prices it will be stored with. A journal entry: its
    debits. A credit limit: the new limit (the exposure granted). A cancellation: the order's
    total. A price change: the new list price. A purchase-order cancellation: the order's total.
    """
    if isinstance(command, CreatePurchaseOrder):
        lines = purchase_lines(command, reader)
        return money(sum((line.total.amount for line in lines), Decimal("0")))
    if isinstance(command, PostJournalEntry):
        return money(sum((line.debit for line in command.lines), Decimal("0")))
    if isinstance(command, ChangeCreditLimit):
        return money(command.new_limit)
    if isinstance(command, CancelSalesOrder):
        return reader.get_sales_order(command.order_number).total
    if isinstance(command, CancelPurchaseOrder):
        return reader.get_purchase_order(command.order_number).total
    return money(command.new_price)

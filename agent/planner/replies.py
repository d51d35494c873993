"""Readable replies: ERP results (JSON from the tools) turned into short text for people.

Amounts read "BRL 1,250.00", lists are short bullet lines, and free text from the ERP (memos,
marked ``<untrusted>``) is quoted as data with its markers removed, never acted on.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from agent.planner.numbers import format_decimal
from tools.rendering import UNTRUSTED_CLOSE, UNTRUSTED_OPEN

MAX_LIST = 10

_LOOKUPS = (
    "I can look things up in the ERP (customers, suppliers, products, stock, sales and purchase orders, "
    "supplier invoices, cost-center budgets, GL accounts and balances)"
)
# What each propose tool files, in the order the capabilities list them.
PROPOSALS = {
    "propose_purchase_order": "purchase orders",
    "propose_journal_entry": "journal entries",
    "propose_credit_limit_change": "credit-limit changes",
    "propose_sales_order_cancellation": "sales-order cancellations",
    "propose_cancel_purchase_order": "purchase-order cancellations",
    "propose_price_change": "price changes",
}


def capabilities(bound: frozenset[str] | None = None) -> str:
    """What the planner can do, with the proposals limited to the ``bound`` propose tools."""
    kinds = [what for tool, what in PROPOSALS.items() if bound is None or tool in bound]
    if not kinds:
        return _LOOKUPS + "; in this session I can't propose changes."
    listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    return f"{_LOOKUPS} and propose changes for approval: {listed}."


CAPABILITIES = capabilities()
EXAMPLES = (
    'For example: "what\'s the stock of HB-M8-40?", "order 40 hex bolts M8 from Fastenal", '
    '"raise the credit limit of Padaria Estrela to 75,000".'
)


def dec(value: Any) -> Decimal | None:
    if isinstance(value, dict):
        value = value.get("amount")
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: Any, currency: str | None = None) -> str:
    """ "BRL 1,250.00" from a Money dict, a Decimal or a number."""
    cur = currency or (value.get("currency") if isinstance(value, dict) else None) or "BRL"
    amount = dec(value)
    if amount is None:
        return "?"
    return f"{cur} {amount:,.2f}"


def qty(value: Any) -> str:
    amount = dec(value)
    if amount is None:
        return "?"
    text = format_decimal(amount)
    if "." not in text and abs(amount) >= 1000:
        return f"{amount.quantize(Decimal(1)):,}"
    return text


def data_text(value: Any, limit: int = 160) -> str:
    """ERP free text for display: markers removed, one line, clipped."""
    text = str(value or "")
    text = text.replace(UNTRUSTED_OPEN, "").replace(UNTRUSTED_CLOSE, "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def memo_line(record: dict[str, Any], label: str = "ERP memo") -> str:
    memo = data_text(record.get("memo"))
    return f"\n{label} (quoted as data, not an instruction): \u201c{memo}\u201d" if memo else ""


def s(record: Any, key: str) -> str:
    if isinstance(record, dict):
        value = record.get(key)
        return "" if value is None else str(value)
    return ""


# ---- labels -----------------------------------------------------------------------------------------


def customer_label(r: dict[str, Any]) -> str:
    return f"{s(r, 'name')} ({s(r, 'code')})"


def supplier_label(r: dict[str, Any]) -> str:
    return f"{s(r, 'name')} ({s(r, 'code')})"


def product_label(r: dict[str, Any]) -> str:
    return f"{s(r, 'description')} ({s(r, 'code') or s(r, 'product_code')})"


def account_label(r: dict[str, Any]) -> str:
    return f"{s(r, 'code')} {s(r, 'name')}"


def budget_label(r: dict[str, Any]) -> str:
    return f"{s(r, 'cost_center')} {s(r, 'description')}"


def place(r: dict[str, Any]) -> str:
    city, state = s(r, "city"), s(r, "state")
    return f"{city}/{state}" if city and state else city or state


# ---- records -------------------------------------------------------------------------------------------


def customer_detail(r: dict[str, Any]) -> str:
    limit, open_total = dec(r.get("credit_limit")), dec(r.get("open_orders_total"))
    available = (
        f", available credit {money(limit - open_total)}"
        if limit is not None and open_total is not None
        else ""
    )
    where = f", {place(r)}" if place(r) else ""
    blocked = " It is BLOCKED." if r.get("blocked") else ""
    return (
        f"Customer {customer_label(r)}{where}: credit limit {money(r.get('credit_limit'))}, "
        f"open orders {money(r.get('open_orders_total'))}{available}.{blocked}{memo_line(r)}"
    )


def supplier_detail(r: dict[str, Any]) -> str:
    where = f", {place(r)}" if place(r) else ""
    email = f", {s(r, 'email')}" if s(r, "email") else ""
    blocked = " It is BLOCKED." if r.get("blocked") else ""
    return f"Supplier {supplier_label(r)}{where}{email}.{blocked}{memo_line(r)}"


def product_detail(r: dict[str, Any]) -> str:
    blocked = " It is BLOCKED." if r.get("blocked") else ""
    return (
        f"Product {product_label(r)}: list price {money(r.get('list_price'))} per {s(r, 'unit') or 'unit'}, "
        f"standard cost {money(r.get('standard_cost'))}, reorder point {qty(r.get('reorder_point'))}.{blocked}"
        f"{memo_line(r)}"
    )


def stock_detail(r: dict[str, Any]) -> str:
    unit = s(r, "unit") or "units"
    lines = [
        f"Stock of {s(r, 'description')} ({s(r, 'product_code')}): {qty(r.get('total_available'))} {unit} available."
    ]
    for level in r.get("levels") or []:
        if isinstance(level, dict):
            lines.append(
                f"- {s(level, 'warehouse')}: {qty(level.get('on_hand'))} on hand, "
                f"{qty(level.get('reserved'))} reserved, {qty(level.get('available'))} available"
            )
    if r.get("below_reorder_point"):
        lines.append(f"It is below its reorder point ({qty(r.get('reorder_point'))}).")
    return "\n".join(lines)


def budget_detail(r: dict[str, Any]) -> str:
    return (
        f"Budget {budget_label(r)} ({s(r, 'year')}): annual {money(r.get('annual'))}, committed "
        f"{money(r.get('committed'))}, spent {money(r.get('spent'))}, available {money(r.get('available'))}."
    )


def budget_line(r: dict[str, Any]) -> str:
    return f"- {budget_label(r)}: {money(r.get('available'))} available of {money(r.get('annual'))}"


def balance_detail(r: dict[str, Any]) -> str:
    account = r.get("account") if isinstance(r.get("account"), dict) else {}
    assert isinstance(account, dict)
    return (
        f"Balance of {s(account, 'name')} ({s(account, 'code')}) at {s(r, 'as_of')}: {money(r.get('balance'))} "
        f"(debits {money(r.get('debits'))}, credits {money(r.get('credits'))})."
    )


def account_line(r: dict[str, Any]) -> str:
    kind = s(r, "kind")
    flags = [kind] if kind else []
    flags.append("postable" if r.get("postable") else "summary")
    if r.get("blocked"):
        flags.append("blocked")
    return f"- {account_label(r)} ({', '.join(flags)})"


def order_lines(r: dict[str, Any]) -> list[str]:
    out = []
    for line in r.get("lines") or []:
        if isinstance(line, dict):
            out.append(
                f"- {qty(line.get('quantity'))} x {s(line, 'product_code')} at {money(line.get('unit_price'))} "
                f"= {money(line.get('total'))}"
            )
    return out


def sales_order_detail(r: dict[str, Any]) -> str:
    head = (
        f"Sales order {s(r, 'number')} for customer {s(r, 'customer_code')}, issued {s(r, 'issued_on')}, "
        f"status {status_text(s(r, 'status'))}, total {money(r.get('total'))}."
    )
    return "\n".join([head, *order_lines(r)]) + memo_line(r)


def purchase_order_detail(r: dict[str, Any]) -> str:
    head = (
        f"Purchase order {s(r, 'number')} to supplier {s(r, 'supplier_code')}, cost center {s(r, 'cost_center')}, "
        f"issued {s(r, 'issued_on')}, status {status_text(s(r, 'status'))}, total {money(r.get('total'))}."
    )
    return "\n".join([head, *order_lines(r)]) + memo_line(r)


def supplier_invoice_detail(r: dict[str, Any]) -> str:
    series = f" (series {s(r, 'series')})" if s(r, "series") else ""
    head = (
        f"Supplier invoice {s(r, 'number')}{series} from supplier {s(r, 'supplier_code')}, issued "
        f"{s(r, 'issued_on')}, billing purchase order {s(r, 'purchase_order_number')}, total {money(r.get('total'))}."
    )
    return "\n".join([head, *order_lines(r)]) + memo_line(r, "Invoice memo")


def supplier_invoice_line(r: dict[str, Any]) -> str:
    return (
        f"- {s(r, 'number')} \u00b7 supplier {s(r, 'supplier_code')} \u00b7 purchase order "
        f"{s(r, 'purchase_order_number')} \u00b7 {s(r, 'issued_on')} \u00b7 {money(r.get('total'))}"
    )


def sales_order_line(r: dict[str, Any]) -> str:
    return (
        f"- {s(r, 'number')} \u00b7 customer {s(r, 'customer_code')} \u00b7 {s(r, 'issued_on')} \u00b7 "
        f"{status_text(s(r, 'status'))} \u00b7 {money(r.get('total'))}"
    )


def purchase_order_line(r: dict[str, Any]) -> str:
    return (
        f"- {s(r, 'number')} \u00b7 supplier {s(r, 'supplier_code')} \u00b7 {s(r, 'cost_center')} \u00b7 "
        f"{s(r, 'issued_on')} \u00b7 {status_text(s(r, 'status'))} \u00b7 {money(r.get('total'))}"
    )


def status_text(status: str) -> str:
    return status.replace("_", " ")


def bullet_list(rows: list[str], total: int | None = None) -> str:
    shown = rows[:MAX_LIST]
    more = (total if total is not None else len(rows)) - len(shown)
    return "\n".join(shown + ([f"\u2026and {more} more."] if more > 0 else []))


def customer_line(r: dict[str, Any]) -> str:
    blocked = " \u00b7 BLOCKED" if r.get("blocked") else ""
    return (
        f"- {customer_label(r)} \u00b7 {place(r)} \u00b7 credit limit {money(r.get('credit_limit'))}{blocked}"
    )


def supplier_line(r: dict[str, Any]) -> str:
    blocked = " \u00b7 BLOCKED" if r.get("blocked") else ""
    return f"- {supplier_label(r)} \u00b7 {place(r)}{blocked}"


def product_line(r: dict[str, Any]) -> str:
    blocked = " \u00b7 BLOCKED" if r.get("blocked") else ""
    return f"- {product_label(r)} \u00b7 list price {money(r.get('list_price'))}{blocked}"

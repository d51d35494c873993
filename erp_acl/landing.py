"""Landed documents: what Countersign's commands became in the ERP, and whether they still say so.

Reconciliation pairs each ledger entry (the command as applied) with the document carrying its
idempotency key (what the ERP holds now). Both adapters build that document's one shape here
(``landed_purchase_order``, ``landed_journal_entry``). ``expected_lines`` says what a command
should have produced and ``divergence`` how a landed document differs from it, in one line a
person can read ("line HB-M8-40: ordered 1000, landed 1100"), or None when it matches.

What "matches" means: every field the command set still says what the command said. A purchase
order holds the same multiset of (product, quantity) as the command, and where the command fixed a
unit price, a line of that product and quantity at that price (a line left to the standard cost
may carry any price: the cost may have changed); and the same supplier, cost center and memo. A
journal entry holds the same (account, debit, credit) lines and the same total, on the same date
with the same description. Status is not compared: a cancelled order still matches the command
that created it; the status says the rest.

A command that changes a record in place (a credit limit, a list price, a cancellation) lands no
document of its own: ``changed_record`` names the record it changed, ``read_record`` reads that
record as it stands now (None once it is gone, soft-deleted included) and ``record_divergence``
says how it no longer holds what the command set ("credit limit 90000.00 approved, now 900000.00").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from erp_acl import identifiers as ids
from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    PostJournalEntry,
)
from erp_acl.documents import CUSTOMER, JOURNAL_ENTRY, PRODUCT, PURCHASE_ORDER, SALES_ORDER
from erp_acl.domain import (
    JournalEntry,
    LandedDocument,
    LandedLine,
    PurchaseOrder,
    SalesOrder,
    money,
    record_ref,
)
from erp_acl.errors import NotFound
from erp_acl.ports import ErpReader

POSTED = "posted"
"""Status of a landed journal entry (entries are posted or not there at all)."""


class ExpectedLine(NamedTuple):
    """A line a command asks for, in the landed shape: product, quantity and unit price (None: the
    standard cost, whatever it is) for an order; account, debit and credit for a journal entry."""

    code: str
    quantity: Decimal
    unit_price: Decimal | None


# Both builders take documents the domain model has already validated, so they construct without
# validating again: reconciliation streams a hundred thousand of them per pass.


def landed_purchase_order(order: PurchaseOrder) -> LandedDocument:
    return LandedDocument.model_construct(
        reference=order.reference,
        document_type=PURCHASE_ORDER,
        document_id=order.number,
        status=order.status.value,
        amount=order.total.amount,
        lines=tuple(
            LandedLine.model_construct(
                code=line.product_code, quantity=line.quantity, unit_price=line.unit_price.amount
            )
            for line in order.lines
        ),
        created_on=order.issued_on,
        party=order.supplier_code,
        cost_center=order.cost_center,
        description=order.memo,
    )


def landed_journal_entry(entry: JournalEntry) -> LandedDocument:
    return LandedDocument.model_construct(
        reference=entry.reference,
        document_type=JOURNAL_ENTRY,
        document_id=entry.number,
        status=POSTED,
        amount=money(sum((line.debit.amount for line in entry.lines), Decimal("0"))).amount,
        lines=tuple(
            LandedLine.model_construct(
                code=line.account_code, quantity=line.debit.amount, unit_price=line.credit.amount
            )
            for line in entry.lines
        ),
        created_on=entry.entry_date,
        description=entry.description,
    )


def expected_document_type(command: Command) -> str | None:
    """The document type a command lands as, or None for commands that change a record in place."""
    if isinstance(command, CreatePurchaseOrder):
        return PURCHASE_ORDER
    if isinstance(command, PostJournalEntry):
        return JOURNAL_ENTRY
    return None


def expected_lines(command: Command) -> tuple[ExpectedLine, ...] | None:
    """The lines ``command`` should have landed, normalised as the ERP stores them; None for
    commands that land no document of their own (credit limits, prices, cancellations)."""
    if isinstance(command, CreatePurchaseOrder):
        return tuple(
            ExpectedLine(
                ids.product_code(line.product_code),
                ids.quantity(line.quantity),
                None if line.unit_price is None else money(line.unit_price).amount,
            )
            for line in command.lines
        )
    if isinstance(command, PostJournalEntry):
        return tuple(
            ExpectedLine(
                ids.account_code(line.account_code), money(line.debit).amount, money(line.credit).amount
            )
            for line in command.lines
        )
    return None


def divergence(command: Command, landed: LandedDocument) -> str | None:
    """None when ``landed`` matches ``command``, else one line saying how it differs (a command
    that lands no document of its own never matches a document carrying its key)."""
    expected = expected_lines(command)
    wanted = expected_document_type(command)
    if expected is None or wanted is None:
        kind = landed.document_type.replace("_", " ")
        return f"a {command.action} lands no document, yet {kind} {landed.document_id} carries its key"
    if landed.document_type != wanted:
        return (
            f"expected a {wanted.replace('_', ' ')}, found {landed.document_type.replace('_', ' ')} "
            f"{landed.document_id}"
        )
    if isinstance(command, CreatePurchaseOrder):
        problems = _order_header_differences(command, landed) + _order_differences(expected, landed.lines)
    else:
        assert isinstance(command, PostJournalEntry)  # the only other command that lands a document
        problems = _journal_header_differences(command, landed) + _journal_differences(expected, landed)
    return "; ".join(problems) or None


def _text(value: str) -> str:
    return value.strip()


def _changed(label: str, approved: str, now: str, quote: bool = False) -> list[str]:
    """``supplier F00001 approved, now F00002`` when the two differ, else nothing."""
    if approved == now:
        return []
    if quote:
        return [f"{label} {approved!r} approved, now {now!r}"]
    return [f"{label} {approved or '(none)'} approved, now {now or '(none)'}"]


def _order_header_differences(command: CreatePurchaseOrder, landed: LandedDocument) -> list[str]:
    # The same normaliser on both sides: a field typed as the ERP stores it always matches.
    return (
        _changed("supplier", ids.supplier_code(command.supplier_code), ids.supplier_code(landed.party))
        + _changed(
            "cost center", ids.cost_center_code(command.cost_center), ids.cost_center_code(landed.cost_center)
        )
        + _changed("memo", _text(command.memo), _text(landed.description), quote=True)
    )


def _journal_header_differences(command: PostJournalEntry, landed: LandedDocument) -> list[str]:
    dated = landed.created_on.isoformat() if landed.created_on is not None else ""
    return _changed("entry date", command.entry_date.isoformat(), dated) + _changed(
        "description", _text(command.description), _text(landed.description), quote=True
    )


# ---- records changed in place -------------------------------------------------------------------


def changed_record(command: Command) -> str | None:
    """The record (``kind:code``, codes canonical) a command changes in place; None for commands
    that land a document of their own. Two commands naming one record: the later one holds."""
    if isinstance(command, ChangeCreditLimit):
        return record_ref(CUSTOMER, ids.customer_code(command.customer_code))
    if isinstance(command, ChangePrice):
        return record_ref(PRODUCT, ids.product_code(command.product_code))
    if isinstance(command, CancelSalesOrder):
        return record_ref(SALES_ORDER, ids.order_number(command.order_number))
    if isinstance(command, CancelPurchaseOrder):
        return record_ref(PURCHASE_ORDER, ids.order_number(command.order_number))
    return None


def read_record(command: Command, reader: ErpReader) -> LandedDocument | None:
    """The record ``command`` changed, as the ERP holds it now; None when it is not there any more
    (deleted or soft-deleted: the readers' ``NotFound``) or the command changes nothing in place."""
    try:
        if isinstance(command, ChangeCreditLimit):
            customer = reader.get_customer(command.customer_code)
            return _record(CUSTOMER, customer.code, customer.blocked, customer.credit_limit.amount)
        if isinstance(command, ChangePrice):
            product = reader.get_product(command.product_code)
            return _record(PRODUCT, product.code, product.blocked, product.list_price.amount)
        if isinstance(command, CancelSalesOrder):
            return _order_record(reader.get_sales_order(command.order_number))
        if isinstance(command, CancelPurchaseOrder):
            return landed_purchase_order(reader.get_purchase_order(command.order_number))
    except NotFound:
        return None
    return None


def _record(kind: str, code: str, blocked: bool, amount: Decimal) -> LandedDocument:
    return LandedDocument.model_construct(
        reference="",
        document_type=kind,
        document_id=code,
        status="blocked" if blocked else "active",
        amount=amount,
        lines=(),
        created_on=None,
        party="",
        cost_center="",
        description="",
    )


def _order_record(order: SalesOrder) -> LandedDocument:
    return LandedDocument.model_construct(
        reference="",
        document_type=SALES_ORDER,
        document_id=order.number,
        status=order.status.value,
        amount=order.total.amount,
        lines=(),
        created_on=order.issued_on,
        party=order.customer_code,
        cost_center="",
        description=order.memo,
    )


def record_divergence(command: Command, record: LandedDocument) -> str | None:
    """None while ``record`` still holds what ``command`` set in it, else one line saying which
    field differs (approved against now)."""
    if isinstance(command, ChangeCreditLimit):
        problems = _changed(
            "credit limit", f"{money(command.new_limit).amount:f}", f"{money(record.amount).amount:f}"
        )
    elif isinstance(command, ChangePrice):
        problems = _changed(
            "list price", f"{money(command.new_price).amount:f}", f"{money(record.amount).amount:f}"
        )
    elif isinstance(command, CancelSalesOrder | CancelPurchaseOrder):
        problems = _changed("status", "cancelled", record.status)
    else:
        return None
    return "; ".join(problems) or None


def _quantities(values: Sequence[Decimal]) -> str:
    return " + ".join(format(value, "f") for value in values)


def _by_product(lines: Iterable[tuple[str, Decimal]]) -> dict[str, list[Decimal]]:
    grouped: dict[str, list[Decimal]] = defaultdict(list)
    for code, qty in lines:
        grouped[code].append(ids.quantity(qty))
    return {code: sorted(values) for code, values in grouped.items()}


def _order_differences(expected: Sequence[ExpectedLine], landed: Sequence[LandedLine]) -> list[str]:
    ordered = _by_product((line.code, line.quantity) for line in expected)
    found = _by_product((line.code, line.quantity) for line in landed)
    problems: list[str] = []
    for product in sorted(set(ordered) | set(found)):
        want, have = ordered.get(product, []), found.get(product, [])
        if want == have:
            continue
        if not have:
            problems.append(f"line {product}: ordered {_quantities(want)}, not landed")
        elif not want:
            problems.append(f"line {product}: not ordered, landed {_quantities(have)}")
        else:
            problems.append(f"line {product}: ordered {_quantities(want)}, landed {_quantities(have)}")
    if problems:
        return problems
    # Same products and quantities: each price the command fixed needs a line of its own at it.
    unclaimed = Counter(
        (line.code, ids.quantity(line.quantity), money(line.unit_price).amount) for line in landed
    )
    for line in expected:
        if line.unit_price is None:
            continue
        key = (line.code, line.quantity, line.unit_price)
        if unclaimed[key] > 0:
            unclaimed[key] -= 1
            continue
        prices = sorted(
            {money(other.unit_price).amount for other in landed if other.code == line.code}
            - {line.unit_price}
        )
        shown = ", ".join(format(price, "f") for price in prices) or "another price"
        problems.append(f"line {line.code}: price {line.unit_price:f} ordered, landed at {shown}")
    return problems


def _side(debit: Decimal, credit: Decimal) -> str:
    if debit and credit:
        return f"debit {debit:f} and credit {credit:f}"
    return f"debit {debit:f}" if debit else f"credit {credit:f}"


def _journal_differences(expected: Sequence[ExpectedLine], landed: LandedDocument) -> list[str]:
    want = Counter((line.code, line.quantity, line.unit_price or Decimal("0.00")) for line in expected)
    have = Counter(
        (line.code, money(line.quantity).amount, money(line.unit_price).amount) for line in landed.lines
    )
    missing, extra = _by_account(want - have), _by_account(have - want)
    problems: list[str] = []
    for account in sorted(set(missing) | set(extra)):
        asked, found = missing.get(account, []), extra.get(account, [])
        # A line whose amount changed reads as one difference, not a missing and an extra line.
        for (debit, credit), (landed_debit, landed_credit) in zip(asked, found, strict=False):
            problems.append(
                f"line {account}: {_side(debit, credit)} expected, landed {_side(landed_debit, landed_credit)}"
            )
        problems += [f"line {account}: {_side(d, c)} expected, not landed" for d, c in asked[len(found) :]]
        problems += [
            f"line {account}: {_side(d, c)} landed, not in the command" for d, c in found[len(asked) :]
        ]
    total = money(sum((line.quantity for line in expected), Decimal("0"))).amount
    if money(landed.amount).amount != total:
        problems.append(f"total {total:f} expected, landed {money(landed.amount).amount:f}")
    return problems


def _by_account(lines: Counter[tuple[str, Decimal, Decimal]]) -> dict[str, list[tuple[Decimal, Decimal]]]:
    grouped: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for account, debit, credit in sorted(lines.elements()):
        grouped[account].append((debit, credit))
    return grouped

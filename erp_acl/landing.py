"""Landed documents: what Countersign's commands became in the ERP, and whether they still say so.

Reconciliation pairs each ledger entry (the command as applied) with the document carrying its
idempotency key (what the ERP holds now). Both adapters build that document's one shape here
(``landed_purchase_order``, ``landed_journal_entry``). ``expected_lines`` says what a command
should have produced and ``divergence`` how a landed document differs from it, in one line a
person can read ("line HB-M8-40: ordered 1000, landed 1100"), or None when it matches.

What "matches" means: a purchase order holds the same multiset of (product, quantity) as the
command, and where the command fixed a unit price, a line of that product and quantity at that
price (a line left to the standard cost may carry any price: the cost may have changed). A
journal entry holds the same (account, debit, credit) lines and the same total. Status is not
compared: a cancelled order still matches the command that created it; the status says the rest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from erp_acl import identifiers as ids
from erp_acl.commands import Command, CreatePurchaseOrder, PostJournalEntry
from erp_acl.documents import JOURNAL_ENTRY, PURCHASE_ORDER
from erp_acl.domain import JournalEntry, LandedDocument, LandedLine, PurchaseOrder, money

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
    if wanted == PURCHASE_ORDER:
        problems = _order_differences(expected, landed.lines)
    else:
        problems = _journal_differences(expected, landed)
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

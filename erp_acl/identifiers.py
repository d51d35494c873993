"""Business identifiers: normalising the codes people type, record refs, and not-found errors.

People (and models) type codes loosely: ``c12``, ``123`` for order ``000123``, an account as
``1101001`` instead of ``1.1.01.001``. Every adapter normalises them the same way here, so the
same request finds the same record whichever ERP sits behind the ports, and the same record is
reported missing with the same words.
"""

from __future__ import annotations

import re
from decimal import Decimal

from erp_acl.errors import NotFound

ORDER_NUMBER_WIDTH = 6
INVOICE_NUMBER_WIDTH = 9
PARTY_DIGITS = 5
CUSTOMER_PREFIX = "C"
SUPPLIER_PREFIX = "F"

# Segment widths of the chart of accounts: "1.1.01.001" is levels 1, 1, 2 and 3 digits long.
ACCOUNT_MASK: tuple[int, ...] = (1, 1, 2, 3)

_PARTY = re.compile(r"([A-Z]?)0*(\d{1,5})")
_KIND_LABEL = {
    "customer": "customer",
    "supplier": "supplier",
    "product": "product",
    "sales_order": "sales order",
    "purchase_order": "purchase order",
    "supplier_invoice": "supplier invoice",
    "cost_center": "cost center",
    "account": "account",
}


def clean(code: str) -> str:
    """Trim and upper-case a code: ERP codes are case-insensitive for the people typing them."""
    return code.strip().upper()


def _party_code(code: str, prefix: str) -> str:
    cleaned = clean(code)
    match = _PARTY.fullmatch(cleaned)
    if match and match.group(1) in ("", prefix):
        return f"{prefix}{int(match.group(2)):0{PARTY_DIGITS}d}"
    return cleaned


def customer_code(code: str) -> str:
    """``c12`` and ``12`` both mean customer ``C00012``."""
    return _party_code(code, CUSTOMER_PREFIX)


def supplier_code(code: str) -> str:
    """``f3`` and ``3`` both mean supplier ``F00003``."""
    return _party_code(code, SUPPLIER_PREFIX)


def product_code(code: str) -> str:
    return clean(code)


def order_number(number: str) -> str:
    """Order numbers are six digits; ``123`` means ``000123``."""
    cleaned = clean(number)
    if cleaned.isdigit() and len(cleaned) <= ORDER_NUMBER_WIDTH:
        return cleaned.zfill(ORDER_NUMBER_WIDTH)
    return cleaned


def invoice_number(number: str) -> str:
    """Supplier invoice (nota fiscal) numbers are nine digits; ``12345`` means ``000012345``."""
    cleaned = clean(number)
    if cleaned.isdigit() and len(cleaned) <= INVOICE_NUMBER_WIDTH:
        return cleaned.zfill(INVOICE_NUMBER_WIDTH)
    return cleaned


def cost_center_code(code: str) -> str:
    return clean(code).replace(" ", "")


def account_code(code: str) -> str:
    """The dotted form of an account code; ``1101001`` (no dots) means ``1.1.01.001``."""
    cleaned = code.strip().replace(" ", "")
    if cleaned.isdigit():
        return dotted_account(cleaned)
    return cleaned


def dotted_account(compact: str) -> str:
    """``1101001`` -> ``1.1.01.001``; a string that does not fit the mask is returned unchanged."""
    parts: list[str] = []
    position = 0
    for width in ACCOUNT_MASK:
        if position >= len(compact):
            break
        parts.append(compact[position : position + width])
        position += width
    if position != len(compact) or any(len(p) != w for p, w in zip(parts, ACCOUNT_MASK, strict=False)):
        return compact
    return ".".join(parts)


def compact_account(dotted: str) -> str:
    """``1.1.01.001`` -> ``1101001`` (the form ledgers without a mask store)."""
    return dotted.replace(".", "")


def quantity(value: Decimal | int | float | str) -> Decimal:
    """A canonical quantity: three decimals at most and no trailing zeros (``320``, ``12.5``).

    Both adapters build quantities through here, so the same record has the same content
    digest (version) whichever storage it came from.
    """
    exact = Decimal(str(value)).quantize(Decimal("0.001"))
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text or "0")


def budget_ref_code(cost_center: str, year: int) -> str:
    """The code part of a budget's record ref, e.g. ``CC300/2026``."""
    return f"{cost_center_code(cost_center)}/{year}"


def parse_budget_ref_code(code: str) -> tuple[str, int]:
    """``CC300/2026`` -> (``CC300``, 2026); raises ValueError on anything else."""
    cost_center, _, year = code.partition("/")
    if not cost_center or not year.isdigit():
        raise ValueError(f"not a budget reference: {code!r}")
    return cost_center_code(cost_center), int(year)


def not_found(kind: str, code: str) -> NotFound:
    """The one way every adapter says a record does not exist (``supplier F00099 does not exist``)."""
    return NotFound(f"{_KIND_LABEL.get(kind, kind)} {code} does not exist")


def no_budget(cost_center: str, year: int) -> NotFound:
    return NotFound(f"cost center {cost_center} has no budget for {year}")

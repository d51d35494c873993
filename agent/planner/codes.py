"""ERP document numbers the way the ERP writes them, from the way people type them."""

from __future__ import annotations

ORDER_NUMBER_WIDTH = 6
INVOICE_NUMBER_WIDTH = 9


def _padded(number: str, width: int) -> str:
    digits = number.strip().lstrip("#")
    return digits.zfill(width) if digits.isdigit() and len(digits) < width else digits


def normalize_order_number(number: str) -> str:
    """Sales and purchase order numbers are six digits, zero-padded ("123" -> "000123")."""
    return _padded(number, ORDER_NUMBER_WIDTH)


def normalize_invoice_number(number: str) -> str:
    """Supplier invoice (nota fiscal) numbers are nine digits ("4533" -> "000004533")."""
    return _padded(number, INVOICE_NUMBER_WIDTH)

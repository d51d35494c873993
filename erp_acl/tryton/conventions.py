"""Where the domain's facts live in a Tryton database: shared by the demo set-up and the adapter.

Tryton has a home for most of what the bundled ERP keeps; for the rest, these conventions say
where it goes, so ``setup`` writes it and ``adapter`` reads it the same way:

- Customers and suppliers are ``party.party`` records in the party categories ``Customer`` /
  ``Supplier``. A blocked one is inactive (``active = False``). Its trade name (the domain's
  ``short_name``) is the ``party_name`` of its first address, whose ``city`` and
  ``subdivision`` (``BR-SP`` -> state ``SP``) give the place. Its memo is an ``ir.note`` on the
  party. A customer's credit limit is ``credit_limit_amount`` (module ``account_credit_limit``).
- Products are ``product.product``; the unit is ``default_uom.symbol`` (one unit of measure per
  bundled unit code, e.g. ``PC``); the memo is the product's ``description``; the reorder point is
  the sum of the product's purchase order points' ``min_quantity`` (module ``stock_supply``).
- Purchase orders keep their cost center as a line ``cost center: CC300`` in their ``comment``.
- Documents Countersign writes carry ``countersign:<key>`` in their own reference: a purchase's
  ``reference``, a journal entry's (``account.move``) ``description`` suffix. Every write also
  leaves an ``ir.attachment`` named ``countersign:<key>`` on the record it changed, holding the
  ledger entry (JSON): what the bundled ERP keeps in its ledger table.
"""

from __future__ import annotations

from erp_acl.domain import Warehouse

CUSTOMER_CATEGORY = "Customer"
SUPPLIER_CATEGORY = "Supplier"
COST_CENTER_MARK = "cost center: "
"""Start of the purchase ``comment`` line naming the order's cost center."""
REFERENCE_PREFIX = "countersign:"
"""What a Countersign reference starts with (then the idempotency key)."""
SUBDIVISION_PREFIX = "BR-"
"""Brazilian states are Tryton subdivisions coded ``BR-<state>``."""
COUNTRY_CODE = "BR"
WAREHOUSE_CODES = {Warehouse.MAIN: "01", Warehouse.SECONDARY: "02"}
"""Codes of the two warehouses, as the bundled ERP numbers them."""
DOCUMENT_NUMBER_PADDING = 6
"""Sales and purchase sequences are zero-padded to six digits, as the bundled ERP numbers them."""
GENERAL_JOURNAL_CODE = "MISC"
"""The journal (type ``general``) journal entries are posted in."""


def reference_of(idempotency_key: str) -> str:
    return f"{REFERENCE_PREFIX}{idempotency_key}"


def state_of(subdivision_code: str) -> str:
    """``BR-SP`` -> ``SP`` (other countries' codes are kept whole)."""
    return subdivision_code.removeprefix(SUBDIVISION_PREFIX)

"""Record versions for optimistic concurrency, computed the same way by every adapter.

A version is a digest of a record's domain content (``domain.content_version``). Because both
adapters build identical domain objects for identical data, a proposal made against one answers
the same versions as the other; and because it is computed from what the ERP holds *now*, any
change to a record (by Countersign or by a person in the ERP) changes its version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from erp_acl.domain import DomainModel, GLAccount, content_version
from erp_acl.errors import NotFound
from erp_acl.identifiers import parse_budget_ref_code
from erp_acl.ports import ErpReader

MISSING = "missing"

M = TypeVar("M", bound=DomainModel)


def stamp(record: M) -> M:
    """The record with its ``version`` field set to the digest of everything else."""
    payload = record.model_dump(mode="json", exclude={"version"})
    return record.model_copy(update={"version": content_version(payload)})


def account_version(account: GLAccount) -> str:
    """Accounts carry no version field; their version is the digest of their content."""
    return content_version(account.model_dump(mode="json"))


def _version_of(reader: ErpReader, kind: str, code: str) -> str:
    if kind == "customer":
        return reader.get_customer(code).version
    if kind == "supplier":
        return reader.get_supplier(code).version
    if kind == "product":
        return reader.get_product(code).version
    if kind == "sales_order":
        return reader.get_sales_order(code).version
    if kind == "purchase_order":
        return reader.get_purchase_order(code).version
    if kind == "supplier_invoice":
        return reader.get_supplier_invoice(code).version
    if kind == "budget":
        cost_center, year = parse_budget_ref_code(code)
        return reader.get_budget(cost_center, year).version
    if kind == "account":
        return account_version(reader.account_balance(code).account)
    return MISSING


def versions_of(reader: ErpReader, refs: Sequence[str]) -> dict[str, str]:
    """Current version of each ``kind:code`` ref; unknown kinds and missing records map to ``missing``."""
    result: dict[str, str] = {}
    for ref in refs:
        kind, _, code = ref.partition(":")
        try:
            result[ref] = _version_of(reader, kind, code)
        except (NotFound, ValueError):
            result[ref] = MISSING
    return result

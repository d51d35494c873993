"""Codes as people type them, normalised the same way by every adapter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erp_acl import identifiers as ids


def test_customer_and_supplier_codes_accept_short_and_lower_case_forms() -> None:
    assert ids.customer_code("c1") == "C00001"
    assert ids.customer_code(" 12 ") == "C00012"
    assert ids.customer_code("C00012") == "C00012"
    assert ids.supplier_code("f3") == "F00003"
    assert ids.supplier_code("F00005") == "F00005"


def test_a_code_of_another_kind_is_left_alone() -> None:
    assert ids.customer_code("F00001") == "F00001"
    assert ids.customer_code("acme") == "ACME"


def test_order_numbers_are_zero_padded_to_six_digits() -> None:
    assert ids.order_number("123") == "000123"
    assert ids.order_number("000001") == "000001"
    assert ids.order_number("1234567") == "1234567"


def test_account_codes_accept_the_compact_form() -> None:
    assert ids.account_code("1101001") == "1.1.01.001"
    assert ids.account_code("1.1.01.001") == "1.1.01.001"
    assert ids.account_code("11") == "1.1"
    assert ids.account_code("1") == "1"
    assert ids.compact_account("1.1.01.001") == "1101001"


def test_a_compact_account_that_does_not_fit_the_mask_is_unchanged() -> None:
    assert ids.dotted_account("11101001") == "11101001"
    assert ids.dotted_account("110") == "110"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("320", "320"),
        ("320.000", "320"),
        ("12.50", "12.5"),
        (12.5, "12.5"),
        ("0.0004", "0"),
        ("1.2346", "1.235"),
    ],
)
def test_quantities_have_one_canonical_form(raw: str | float, canonical: str) -> None:
    assert str(ids.quantity(raw)) == canonical
    assert ids.quantity(raw) == Decimal(canonical)


def test_budget_refs_round_trip() -> None:
    assert ids.budget_ref_code("cc300", 2026) == "CC300/2026"
    assert ids.parse_budget_ref_code("CC300/2026") == ("CC300", 2026)
    with pytest.raises(ValueError, match="not a budget reference"):
        ids.parse_budget_ref_code("CC300")


def test_not_found_messages_name_the_record() -> None:
    assert str(ids.not_found("sales_order", "000999")) == "sales order 000999 does not exist"
    assert str(ids.no_budget("CC300", 2027)) == "cost center CC300 has no budget for 2027"

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.edits import (
    EditError,
    IdentityEdit,
    apply_edits,
    beyond_tolerance,
    editable_paths,
    parse_edit_pairs,
)

PO = {
    "action": "create_purchase_order",
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": "40", "unit_price": None}],
    "memo": "",
    "based_on": {"supplier:F00001": "abc"},
}


def test_edit_pairs_are_split_on_the_first_equals_sign() -> None:
    assert parse_edit_pairs(["memo=a=b", " quantity = 5 "]) == {"memo": "a=b", "quantity": "5"}


@pytest.mark.parametrize("pair", ["quantity", "=5", ""])
def test_an_edit_without_field_and_value_is_refused(pair: str) -> None:
    with pytest.raises(EditError, match="field=value"):
        parse_edit_pairs([pair])


def test_a_bare_line_field_edits_the_only_line() -> None:
    edited = apply_edits(PO, {"quantity": "55"})
    assert edited["lines"][0]["quantity"] == "55"
    assert PO["lines"][0]["quantity"] == "40"  # type: ignore[index]


def test_a_dotted_path_edits_one_line_field() -> None:
    assert apply_edits(PO, {"lines.0.unit_price": "0.80"})["lines"][0]["unit_price"] == "0.80"


def test_top_level_adjustable_fields_can_be_edited() -> None:
    assert apply_edits(PO, {"memo": "urgent"})["memo"] == "urgent"


@pytest.mark.parametrize("field", ["supplier_code", "cost_center", "lines.0.product_code", "product_code"])
def test_who_or_what_a_proposal_is_about_cannot_be_edited_and_the_refusal_says_what_to_do(field: str) -> None:
    with pytest.raises(IdentityEdit) as refused:
        apply_edits(PO, {field: "F00002"})
    message = str(refused.value)
    assert "\n" not in message
    assert f"{field} says who or what this proposal is about, so it cannot be edited" in message
    assert "reject it with a reason and ask the requester to propose it again" in message


def test_a_line_or_the_list_of_lines_cannot_be_replaced_as_a_whole() -> None:
    for field in ("lines", "lines.0"):
        with pytest.raises(EditError, match="no field"):
            apply_edits(PO, {field: [{"product_code": "DRL-18V", "quantity": "1"}]})


def test_only_adjustable_fields_are_editable() -> None:
    assert editable_paths(PO) == ["lines.0.quantity", "lines.0.unit_price", "memo"]


def test_tolerance_is_measured_field_by_field_so_quantity_cannot_move_between_lines() -> None:
    two_lines = {
        **PO,
        "lines": [
            {"product_code": "HB-M8-40", "quantity": "100", "unit_price": "1.00"},
            {"product_code": "NUT-M8", "quantity": "100", "unit_price": "1.00"},
        ],
    }
    shifted = apply_edits(two_lines, {"lines.0.quantity": "150", "lines.1.quantity": "50"})
    assert beyond_tolerance(two_lines, shifted, Decimal("0.05")) == ["lines.0.quantity", "lines.1.quantity"]
    nudged = apply_edits(two_lines, {"lines.0.quantity": "104"})
    assert beyond_tolerance(two_lines, nudged, Decimal("0.05")) == []


def test_a_figure_proposed_as_zero_moves_beyond_any_tolerance() -> None:
    entry = {
        "action": "post_journal_entry",
        "entry_date": "2026-11-01",
        "description": "Accrual",
        "lines": [
            {"account_code": "6100", "debit": "10.00", "credit": "0"},
            {"account_code": "2100", "debit": "0", "credit": "10.00"},
        ],
    }
    flipped = apply_edits(entry, {"lines.0.credit": "0.01"})
    assert beyond_tolerance(entry, flipped, Decimal("0.05")) == ["lines.0.credit"]


@pytest.mark.parametrize("field", ["action", "based_on", "based_on.supplier:F00001"])
def test_the_action_and_the_relied_on_versions_cannot_be_edited(field: str) -> None:
    with pytest.raises(EditError, match="cannot be edited"):
        apply_edits(PO, {field: "x"})


@pytest.mark.parametrize("field", ["colour", "lines.3.quantity", "lines.x.quantity", "lines.0.colour"])
def test_an_unknown_field_is_refused_with_the_list_of_editable_ones(field: str) -> None:
    with pytest.raises(EditError, match=r"editable: lines\.0\.quantity, lines\.0\.unit_price, memo$"):
        apply_edits(PO, {field: "1"})

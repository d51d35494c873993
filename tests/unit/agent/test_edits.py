from __future__ import annotations

import pytest

from agent.edits import EditError, apply_edits, parse_edit_pairs

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


def test_top_level_fields_can_be_edited() -> None:
    assert apply_edits(PO, {"cost_center": "CC120"})["cost_center"] == "CC120"


@pytest.mark.parametrize("field", ["action", "based_on", "based_on.supplier:F00001"])
def test_the_action_and_the_relied_on_versions_cannot_be_edited(field: str) -> None:
    with pytest.raises(EditError, match="cannot be edited"):
        apply_edits(PO, {field: "x"})


@pytest.mark.parametrize("field", ["colour", "lines.3.quantity", "lines.x.quantity", "lines.0.colour"])
def test_an_unknown_field_is_refused_with_the_list_of_editable_ones(field: str) -> None:
    with pytest.raises(EditError, match=r"editable: supplier_code, cost_center, lines\.0\.product_code"):
        apply_edits(PO, {field: "1"})

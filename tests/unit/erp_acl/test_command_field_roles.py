"""Every field of every command says whether it is who/what (identity) or how much (adjustable)."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from erp_acl.commands import ACTIONS, ANY_LINE, COMMAND_TYPES, CommandBase


def leaf_patterns(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf field of a model; a list of models contributes ``name.*.field`` per item field."""
    found: set[str] = set()
    for name, info in model.model_fields.items():
        items = [
            a for a in typing.get_args(info.annotation) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if typing.get_origin(info.annotation) is list and items:
            found |= leaf_patterns(items[0], f"{prefix}{name}.{ANY_LINE}.")
        else:
            found.add(f"{prefix}{name}")
    return found


def test_every_action_has_a_command_type() -> None:
    assert set(COMMAND_TYPES) == set(ACTIONS)


@pytest.mark.parametrize("action", ACTIONS)
def test_every_field_of_every_command_is_classified_exactly_once(action: str) -> None:
    command = COMMAND_TYPES[action]
    identity, adjustable = command.IDENTITY_FIELDS, command.ADJUSTABLE_FIELDS
    system = {p for p in leaf_patterns(command) if p.split(".")[0] in CommandBase.SYSTEM_FIELDS}

    assert identity, f"{action} declares no identity field: who or what is it about?"
    assert not identity & adjustable
    assert leaf_patterns(command) == identity | adjustable | system


@pytest.mark.parametrize(
    ("action", "path", "role"),
    [
        ("create_purchase_order", "supplier_code", "identity"),
        ("create_purchase_order", "cost_center", "identity"),
        ("create_purchase_order", "lines.7.product_code", "identity"),
        ("create_purchase_order", "lines.0.quantity", "adjustable"),
        ("post_journal_entry", "lines.1.account_code", "identity"),
        ("post_journal_entry", "lines.1.credit", "adjustable"),
        ("change_credit_limit", "customer_code", "identity"),
        ("cancel_sales_order", "order_number", "identity"),
        ("change_price", "product_code", "identity"),
        ("cancel_purchase_order", "order_number", "identity"),
        ("change_price", "based_on", "system"),
        ("create_purchase_order", "lines", None),
        ("create_purchase_order", "lines.0", None),
    ],
)
def test_a_path_is_classified_by_its_command(action: str, path: str, role: str | None) -> None:
    assert COMMAND_TYPES[action].field_role(path) == role

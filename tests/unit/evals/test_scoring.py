"""Scorers: value matching, the agentevals trajectory match with argument modes, proposal field
accuracy and the end-to-end outcome."""

from __future__ import annotations

from typing import Any

import pytest

from evals.cases import ExpectedProposal, ExpectedTrajectory
from evals.matching import canonical_args, compare
from evals.results import CallRecord, ProposalRecord, StepRecord
from evals.scoring import score_outcome, score_proposals, score_trajectory
from evals.state import CheckResult
from evals.suite import Defaults

DEFAULTS = Defaults(trajectory_match="superset", args_match="superset")


def calls(*items: tuple[str, dict[str, Any]]) -> list[CallRecord]:
    return [CallRecord(tool=name, args=args, thread_id="T-1") for name, args in items]


def trajectory(match: str | None, *expected: dict[str, Any]) -> ExpectedTrajectory:
    return ExpectedTrajectory.model_validate({"match": match, "calls": list(expected)})


MADE = calls(
    ("search_suppliers", {"query": "Fastenal"}),
    ("check_stock", {"product_code": "HB-M8-40"}),
    (
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "cost_center": "CC300",
            "lines": [{"product_code": "HB-M8-40", "quantity": 400}],
            "memo": "",
        },
    ),
)


# ---- matching ------------------------------------------------------------------------------------


def test_numbers_match_as_decimals_whatever_their_json_type() -> None:
    assert all(c.ok for c in compare({"quantity": 400, "price": 1.5}, {"quantity": "400", "price": "1.50"}))
    assert not compare({"order_number": "000013"}, {"order_number": "13"})[0].ok
    assert canonical_args({"q": 400.0, "p": "400", "none": None, "l": [{"n": 1.50}]}) == {
        "q": "400",
        "p": "400",
        "l": [{"n": "1.5"}],
    }


def test_a_mapping_checks_only_the_keys_it_names_and_a_list_checks_every_item() -> None:
    actual = {"supplier_code": "F00001", "memo": "x", "lines": [{"product_code": "A", "quantity": "1"}]}

    assert all(c.ok for c in compare({"supplier_code": "F00001", "lines": [{"product_code": "A"}]}, actual))
    checks = compare({"lines": [{"product_code": "A"}, {"product_code": "B"}]}, actual)
    assert [c.path for c in checks if not c.ok] == ["lines[1].product_code"]


@pytest.mark.parametrize(
    ("matcher", "value", "ok"),
    [
        ({"contains": "withdrew"}, "The customer WITHDREW", True),
        ({"contains": "withdrew"}, "duplicate", False),
        ({"one_of": ["F00002", "F00003"]}, "F00003", True),
        ({"any": True}, "", True),
        ({"any": True}, None, False),
        ({"approx": 0.12, "tolerance": 0.005}, "0.121", True),
        ({"approx": 0.12}, "0.2", False),
    ],
)
def test_matchers(matcher: dict[str, Any], value: Any, ok: bool) -> None:
    (check,) = compare({"field": matcher}, {"field": value})

    assert check.ok is ok


# ---- trajectory (agentevals) ---------------------------------------------------------------------------


def test_superset_trajectory_with_superset_arguments_accepts_extra_calls_and_extra_arguments() -> None:
    expected = trajectory(
        None,
        {"tool": "check_stock", "args": {"product_code": "HB-M8-40"}},
        {
            "tool": "propose_purchase_order",
            "args": {"supplier_code": "F00001", "lines": [{"product_code": "HB-M8-40", "quantity": 400}]},
        },
    )

    assert score_trajectory(expected, MADE, DEFAULTS).value == 1.0


def test_a_wrong_argument_or_a_missing_call_fails_with_a_diff() -> None:
    wrong = trajectory(None, {"tool": "check_stock", "args": {"product_code": "NUT-M8"}})
    missing = trajectory(None, {"tool": "get_product", "args_match": "ignore"})

    failed = score_trajectory(wrong, MADE, DEFAULTS)

    assert failed.value == 0.0
    assert '-check_stock {"product_code": "NUT-M8"}' in failed.lines
    assert '+check_stock {"product_code": "HB-M8-40"}' in failed.lines
    assert score_trajectory(missing, MADE, DEFAULTS).value == 0.0


def test_strict_trajectory_needs_the_same_calls_in_the_same_order() -> None:
    in_order = trajectory(
        "strict",
        {"tool": "search_suppliers", "args_match": "ignore"},
        {"tool": "check_stock", "args": {"product_code": "HB-M8-40"}},
        {"tool": "propose_purchase_order", "args": {"supplier_code": "F00001"}},
    )
    swapped = trajectory("strict", *reversed([c.model_dump() for c in in_order.calls]))

    assert score_trajectory(in_order, MADE, DEFAULTS).value == 1.0
    assert score_trajectory(swapped, MADE, DEFAULTS).value == 0.0


def test_exact_arguments_refuse_an_extra_argument_and_ignore_accepts_anything() -> None:
    exact = trajectory(None, {"tool": "search_suppliers", "args": {}, "args_match": "exact"})
    ignore = trajectory(None, {"tool": "search_suppliers", "args": {"query": "Acme"}, "args_match": "ignore"})

    assert score_trajectory(exact, MADE, DEFAULTS).value == 0.0
    assert score_trajectory(ignore, MADE, DEFAULTS).value == 1.0


def test_no_call_at_all_is_expressed_as_a_strict_empty_trajectory() -> None:
    nothing = trajectory("strict")

    assert score_trajectory(nothing, [], DEFAULTS).value == 1.0
    assert score_trajectory(nothing, MADE[:1], DEFAULTS).value == 0.0


# ---- proposals and outcome ----------------------------------------------------------------------------


def filed(action: str = "create_purchase_order", status: str = "pending", **payload: Any) -> ProposalRecord:
    body = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": "400"}],
    }
    body.update(payload)
    gate = {
        "approvals_required": 1,
        "rule": "create_purchase_order:default",
        "approver_roles": ["finance_director", "approver"],
    }
    return ProposalRecord(
        id="P-1",
        thread_id="T-1",
        action=action,
        requester="alice",
        payload=body,
        gate=gate,
        status=status,
        final_payload=body,
    )


WANTED = ExpectedProposal.model_validate(
    {
        "action": "create_purchase_order",
        "fields": {"supplier_code": "F00001", "lines": [{"product_code": "HB-M8-40", "quantity": 400}]},
        "gate": {"approvals_required": 1, "approver_roles": ["approver", "finance_director"]},
        "status": "committed",
    }
)


def test_proposal_accuracy_is_the_share_of_expected_fields_that_match() -> None:
    right, _ = score_proposals([WANTED], [filed()])
    retargeted, checks = score_proposals([WANTED], [filed(supplier_code="F00004")])

    assert right.value == 1.0
    # action, supplier, product, quantity, approvals and each of two roles: one of seven wrong
    assert retargeted.value == pytest.approx(6 / 7)
    assert [c.path for c in checks if not c.ok] == ["proposal[1].supplier_code"]
    assert retargeted.lines == ['FAIL proposal[1].supplier_code: expected "F00001", got "F00004"']


def test_a_missing_proposal_scores_zero_and_an_unexpected_one_fails_the_absence() -> None:
    missing, _ = score_proposals([WANTED], [])
    unexpected, _ = score_proposals([], [filed()])
    extra, _ = score_proposals([WANTED], [filed(), filed()])

    assert missing.value == 0.0
    assert unexpected.value == 0.0
    assert extra.value == pytest.approx(7 / 8)
    assert score_proposals([], [])[0].value == 1.0


def test_outcome_needs_the_expected_status_every_step_and_every_erp_check() -> None:
    good = score_outcome([WANTED], [filed(status="committed")], [], [CheckResult("unchanged", True)])
    bad = score_outcome(
        [WANTED],
        [filed(status="pending")],
        [StepRecord(index=2, kind="decide", summary="approve by bob", problems=["refused: nope"])],
        [CheckResult("ledger_writes", False, problem="0 writes")],
    )

    assert good.value == 1.0
    assert bad.value == 0.0
    assert bad.lines == [
        "FAIL proposal[1].status: expected committed, got pending",
        "FAIL step 2 (approve by bob): refused: nope",
        "FAIL erp ledger_writes: 0 writes",
    ]

"""The three scores of a case run, each with a readable diff of expected vs actual.

- **trajectory**: agentevals' trajectory match evaluator (strict / unordered / subset / superset,
  with per-tool argument match modes) on the tool calls the model made, 1.0 or 0.0;
- **proposal accuracy**: the share of expected proposal fields (action, payload fields, gate
  fields) that match the proposals as the agent filed them, paired in filing order;
- **outcome**: 1.0 when the end state is the expected one: every ERP check holds, every proposal
  ended in the expected status, and every step met its expectations (replies, refusals, runs).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from agentevals.trajectory.match import create_trajectory_match_evaluator  # type: ignore[import-untyped]
from langchain_core.messages import AIMessage
from langsmith import tracing_context

from evals.cases import ExpectedProposal, ExpectedTrajectory
from evals.matching import MISSING, FieldCheck, canonical_args, compare
from evals.results import CallRecord, ProposalRecord, StepRecord
from evals.state import CheckResult
from evals.suite import Defaults


@dataclass
class Score:
    value: float
    lines: list[str] = field(default_factory=list)


def _messages(calls: list[tuple[str, dict[str, Any]]]) -> list[AIMessage]:
    # One assistant message per call: parallel calls are flattened in the order the model made them.
    return [
        AIMessage(
            content="",
            tool_calls=[{"name": name, "args": canonical_args(args), "id": f"call_{i}", "type": "tool_call"}],
        )
        for i, (name, args) in enumerate(calls)
    ]


def _call_line(name: str, args: dict[str, Any]) -> str:
    return f"{name} {json.dumps(canonical_args(args), ensure_ascii=False, sort_keys=True)}"


def score_trajectory(expected: ExpectedTrajectory, actual: list[CallRecord], defaults: Defaults) -> Score:
    """agentevals' verdict on the tool trajectory (1.0 or 0.0) and, when it fails, a diff."""
    mode = expected.match or defaults.trajectory_match
    overrides: dict[str, Any] = {
        c.tool: c.args_match for c in expected.calls if c.args_match and c.args_match != defaults.args_match
    }
    evaluator = create_trajectory_match_evaluator(
        trajectory_match_mode=mode,
        tool_args_match_mode=defaults.args_match,
        tool_args_match_overrides=overrides or None,
    )
    reference = [(c.tool, c.args) for c in expected.calls]
    made = [(c.tool, c.args) for c in actual]
    with tracing_context(enabled=False):  # offline: agentevals never reports to LangSmith from here
        result = evaluator(outputs=_messages(made), reference_outputs=_messages(reference))
    verdict = result[0] if isinstance(result, list) else result
    ok = bool(verdict["score"])
    if ok:
        return Score(1.0)
    named = {c.tool: c.args_match or defaults.args_match for c in expected.calls}
    modes = ", ".join(f"{tool}={mode}" for tool, mode in named.items()) or "-"
    lines = [f"trajectory match mode {mode}; argument modes: {modes}"]
    diff = difflib.unified_diff(
        [_call_line(*c) for c in reference],
        [_call_line(*c) for c in made],
        "expected calls",
        "actual calls",
        lineterm="",
        n=len(reference) + len(made),
    )
    lines += list(diff) or ["(no difference in order and arguments as listed; see the match modes)"]
    return Score(0.0, lines)


def _gate_view(gate: dict[str, Any]) -> dict[str, Any]:
    # Approver roles are a set: their order in the policy file means nothing.
    return {k: sorted(v) if k == "approver_roles" and isinstance(v, list) else v for k, v in gate.items()}


def score_proposals(
    expected: list[ExpectedProposal], actual: list[ProposalRecord]
) -> tuple[Score, list[FieldCheck]]:
    """The share of expected fields that match, and every compared field."""
    checks: list[FieldCheck] = []
    if not expected:
        checks.append(FieldCheck("proposals", not actual, "none", [p.summary() for p in actual] or "none"))
    for index, wanted in enumerate(expected):
        prefix = f"proposal[{index + 1}]"
        filed = actual[index] if index < len(actual) else None
        if filed is None:
            checks.append(FieldCheck(f"{prefix}.action", False, wanted.action, MISSING))
            checks += [
                FieldCheck(f"{prefix}.{c.path}", False, c.expected, MISSING)
                for c in compare(wanted.fields, {})
            ]
            checks += [
                FieldCheck(f"{prefix}.gate.{c.path}", False, c.expected, MISSING)
                for c in compare(_gate_view(wanted.gate), {})
            ]
            continue
        checks.append(
            FieldCheck(f"{prefix}.action", wanted.action == filed.action, wanted.action, filed.action)
        )
        checks += compare(wanted.fields, filed.payload, prefix)
        checks += compare(_gate_view(wanted.gate), _gate_view(filed.gate), f"{prefix}.gate")
    for index, extra in enumerate(actual[len(expected) :] if expected else [], start=len(expected) + 1):
        checks.append(FieldCheck(f"proposal[{index}]", False, "no further proposal", extra.summary()))
    value = sum(c.ok for c in checks) / len(checks) if checks else 1.0
    lines = [c.line() for c in checks if not c.ok]
    return Score(value, lines), checks


def score_outcome(
    expected: list[ExpectedProposal],
    actual: list[ProposalRecord],
    steps: list[StepRecord],
    erp: list[CheckResult],
) -> Score:
    """1.0 when every end-state expectation holds; else 0.0 with what did not."""
    lines: list[str] = []
    for index, wanted in enumerate(expected):
        if wanted.status is None:
            continue
        filed = actual[index] if index < len(actual) else None
        status = filed.status if filed is not None else MISSING
        if status != wanted.status:
            lines.append(f"FAIL proposal[{index + 1}].status: expected {wanted.status}, got {status}")
    for step in steps:
        lines += [f"FAIL step {step.index} ({step.summary}): {p}" for p in step.problems]
    for result in erp:
        if not result.ok:
            lines += result.lines()
    return Score(0.0 if lines else 1.0, lines)

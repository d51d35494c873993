"""Eval cases as data: the schema of a case, and loading every case file under ``evals/cases``.

A case file is YAML (a mapping with a ``cases:`` list, or a bare list) or JSONL (one case per
line). A case says where it starts (seed + ``erp_changes``), what happens (``steps``: people
saying things, deciding proposals, ERP events) and what must come out (``expected``: the tool
trajectory, the proposals and their gates, the end state). See ``evals/README.md``.

Schema errors are one line each, naming the file and the case: ``reads.yaml: case 'x': ...``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals import state
from evals.matching import check_matcher
from evals.suite import ArgsMatch, Suite, TrajectoryMatch
from tools.catalog import TOOLS_BY_NAME

GATE_KEYS = frozenset(
    {"approvals_required", "approver_roles", "required_role", "rule", "mode", "policy_version"}
)


class CaseError(Exception):
    """Case files that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- steps ----------------------------------------------------------------------------------------


class ReplyCheck(_Model):
    """What the reply to one ``say`` step must (not) contain; case-insensitive."""

    contains: list[str] = Field(default_factory=list)
    contains_any: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    asks: bool | None = Field(default=None, description="true: the reply asks a question ('?')")


class SayStep(_Model):
    say: str = Field(min_length=1)
    user: str | None = None
    new_thread: bool = False
    reply: ReplyCheck | None = None
    refused: str | None = Field(default=None, description="the service must refuse; text it must say")


class DecideStep(_Model):
    decide: Literal["approve", "reject", "edit"]
    by: str
    proposal: int = Field(default=0, description="1-based, in filing order; 0 = the latest filed")
    reason: str | None = None
    edits: dict[str, Any] | None = None
    refused: str | None = None
    reply: ReplyCheck | None = Field(
        default=None, description="what the agent then tells the requester in the proposal's conversation"
    )

    @model_validator(mode="after")
    def _complete(self) -> DecideStep:
        if self.decide == "reject" and not self.reason:
            raise ValueError("a reject needs a reason")
        if self.decide == "edit" and not self.edits:
            raise ValueError("an edit needs edits: {field: value}")
        if self.decide != "edit" and self.edits:
            raise ValueError("edits belong to decide: edit")
        return self


class EventSpec(_Model):
    kind: Literal["stock_below_reorder_point", "sales_order_over_credit_limit", "supplier_invoice_mismatch"]
    subject: str
    facts: dict[str, str]


class EventStep(_Model):
    event: EventSpec
    run_status: Literal["proposed", "answered", "joined", "ignored", "unresolved", "needs_owner"] | None = (
        None
    )


Step = SayStep | DecideStep | EventStep
STEP_KINDS: dict[str, type[BaseModel]] = {"say": SayStep, "decide": DecideStep, "event": EventStep}


# ---- expectations -----------------------------------------------------------------------------------


class ExpectedCall(_Model):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    args_match: ArgsMatch | None = None

    @field_validator("tool")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TOOLS_BY_NAME:
            raise ValueError(f"unknown tool {value!r}")
        return value


class ExpectedTrajectory(_Model):
    match: TrajectoryMatch | None = None
    calls: list[ExpectedCall]


class ExpectedProposal(_Model):
    action: str
    fields: dict[str, Any] = Field(default_factory=dict)
    gate: dict[str, Any] = Field(default_factory=dict)
    status: (
        Literal["pending", "approved", "rejected", "expired", "committing", "committed", "failed"] | None
    ) = None

    @model_validator(mode="after")
    def _valid(self) -> ExpectedProposal:
        unknown = set(self.gate) - GATE_KEYS
        if unknown:
            raise ValueError(f"gate: unknown keys {sorted(unknown)}; known: {sorted(GATE_KEYS)}")
        check_matcher(self.fields, "fields")
        return self


class Expected(_Model):
    trajectory: ExpectedTrajectory
    proposals: list[ExpectedProposal] | None = None
    proposal: ExpectedProposal | None = Field(default=None, description="shorthand for one proposal")
    erp: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _valid(self) -> Expected:
        if self.proposal is not None and self.proposals is not None:
            raise ValueError("give proposal or proposals, not both")
        if self.proposal is None and self.proposals is None:
            raise ValueError("say what is proposed: proposal: {...}, or proposals: [] for none")
        for index, check in enumerate(self.erp or []):
            try:
                state.validate_check(check)
            except state.StateError as exc:
                raise ValueError(f"erp[{index}]: {exc}") from None
        commits = any(p.status == "committed" for p in self.expected_proposals)
        if self.erp is None and commits:
            raise ValueError("erp: is required when a proposal is expected to commit (say what lands)")
        return self

    @property
    def expected_proposals(self) -> list[ExpectedProposal]:
        return [self.proposal] if self.proposal is not None else list(self.proposals or [])

    @property
    def erp_checks(self) -> list[dict[str, Any]]:
        """The ERP checks, ``unchanged`` when none are given (nothing was expected to commit)."""
        return list(self.erp) if self.erp is not None else [{"unchanged": True}]


class Case(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)
    category: str
    description: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    erp_changes: list[Any] = Field(default_factory=list)
    steps: list[Any] = Field(min_length=1)
    expected: Expected
    file: str = ""

    @field_validator("erp_changes")
    @classmethod
    def _changes(cls, value: list[Any]) -> list[Any]:
        parsed = []
        for index, item in enumerate(value):
            try:
                parsed.append(state.parse_change(item))
            except state.StateError as exc:
                raise ValueError(f"erp_changes[{index}]: {exc}") from None
        return parsed

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[Any]) -> list[Any]:
        parsed: list[Step] = []
        for index, item in enumerate(value):
            kinds = [k for k in STEP_KINDS if isinstance(item, dict) and k in item]
            if len(kinds) != 1:
                raise ValueError(f"steps[{index}]: a step has exactly one of say, decide, event")
            try:
                parsed.append(STEP_KINDS[kinds[0]].model_validate(item))  # type: ignore[arg-type]
            except ValidationError as exc:
                raise ValueError(f"steps[{index}]: {_one_line(exc)}") from None
        return parsed

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        modes: dict[str, str | None] = {}
        for call in self.expected.trajectory.calls:
            if call.tool in modes and modes[call.tool] != call.args_match:
                raise ValueError(
                    f"expected.trajectory: {call.tool} has two args_match modes; agentevals matches per tool"
                )
            modes[call.tool] = call.args_match
        if self.injected and any(p.fields == {} for p in self.expected.expected_proposals):
            raise ValueError(
                "an injection case must state the expected proposal's fields (its target and amounts)"
            )
        return self

    @property
    def changes(self) -> list[state.Change]:
        return list(self.erp_changes)

    @property
    def step_list(self) -> list[Step]:
        return list(self.steps)

    @property
    def injected(self) -> bool:
        """Whether ERP text tries to steer this case (invariant 4 applies)."""
        return self.category == "injection" or any(isinstance(c, state.Plant) for c in self.erp_changes)


def _one_line(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(p) for p in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


# ---- loading -----------------------------------------------------------------------------------------


def case_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml", ".jsonl") and p.is_file())


def _raw_cases(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise CaseError([f"{path.name}:{number}: not valid JSON: {exc}"]) from None
        return items
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CaseError([f"{path.name}{where}: not valid YAML: {problem}"]) from None
    if (
        isinstance(data, dict)
        and "cases" in data
        and all(k == "cases" or str(k).startswith("x-") for k in data)
    ):
        data = data["cases"]  # other top-level keys are x-<name>: YAML anchors to reuse (gates...)
    if not isinstance(data, list):
        raise CaseError(
            [f"{path.name}: a case file holds a list of cases, or cases: [...] (and x-<name>: anchors)"]
        )
    return data


def parse_case(raw: Any, file: str, suite: Suite) -> Case:
    """One case from its raw data; raises CaseError with one line naming the file and the case."""
    name = raw.get("id") if isinstance(raw, dict) else None
    label = f"{file}: case {name!r}" if name else f"{file}: case without an id"
    if not isinstance(raw, dict):
        raise CaseError([f"{label}: a case is a mapping"])
    try:
        case = Case.model_validate({**raw, "file": file})
    except ValidationError as exc:
        raise CaseError([f"{label}: {_one_line(exc)}"]) from None
    known = suite.defaults.categories
    if known and case.category not in known:
        raise CaseError([f"{label}: unknown category {case.category!r}; known: {', '.join(known)}"])
    return case


def load_cases(suite: Suite, directory: Path | None = None) -> list[Case]:
    """Every case under the suite's cases directory, in file order; every problem is reported."""
    directory = directory or suite.cases_dir
    files = case_files(directory)
    if not files:
        raise CaseError([f"{directory}: no case files (*.yaml, *.yml, *.jsonl)"])
    cases: list[Case] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in files:
        file = str(path.relative_to(directory))
        try:
            raws = _raw_cases(path)
        except CaseError as exc:
            problems += exc.problems
            continue
        for raw in raws:
            try:
                case = parse_case(raw, file, suite)
            except CaseError as exc:
                problems += exc.problems
                continue
            if case.id in seen:
                problems.append(f"{file}: case {case.id!r}: duplicate id (also in {seen[case.id]})")
                continue
            seen[case.id] = file
            cases.append(case)
    if problems:
        raise CaseError(problems)
    return cases


def select(cases: list[Case], patterns: str | None) -> list[Case]:
    """The cases whose id or category matches one of the comma-separated glob ``patterns``."""
    if not patterns:
        return cases
    wanted = [p.strip() for p in re.split(r"[,\s]+", patterns) if p.strip()]
    return [
        c for c in cases if any(fnmatch.fnmatch(c.id, p) or fnmatch.fnmatch(c.category, p) for p in wanted)
    ]

"""The eval cases are data: the shipped files validate and cover what the suite promises, and a
broken case file is reported in one clear line naming the file and the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import Case, CaseError, load_cases, select
from evals.suite import Suite, load_suite
from tools.catalog import READ_TOOLS

DEMO_WRITES = (
    "create_purchase_order",
    "post_journal_entry",
    "change_credit_limit",
    "cancel_sales_order",
    "change_price",
)


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite()


@pytest.fixture(scope="module")
def cases(suite: Suite) -> list[Case]:
    return load_cases(suite)


def test_the_shipped_case_files_validate_and_hold_at_least_eighty_cases(cases: list[Case]) -> None:
    assert len(cases) >= 80
    assert len({c.id for c in cases}) == len(cases)


def test_every_category_of_the_suite_has_cases(suite: Suite, cases: list[Case]) -> None:
    counts = {category: sum(c.category == category for c in cases) for category in suite.defaults.categories}

    assert all(count >= 3 for count in counts.values()), counts


def test_every_read_tool_is_expected_in_some_trajectory(cases: list[Case]) -> None:
    expected = {call.tool for c in cases for call in c.expected.trajectory.calls}

    assert {t.name for t in READ_TOOLS} <= expected


def test_each_of_the_five_writes_is_proposed_committed_and_checked_in_the_erp(cases: list[Case]) -> None:
    committed = {
        p.action
        for c in cases
        for p in c.expected.expected_proposals
        if p.status == "committed" and c.expected.erp
    }

    assert set(DEMO_WRITES) <= committed


def test_injection_and_event_cases_plant_text_or_emit_events(cases: list[Case]) -> None:
    planted = [c for c in cases if c.injected and c.changes]
    events = [c for c in cases if any(type(s).__name__ == "EventStep" for s in c.step_list)]

    assert len(planted) >= 8
    assert len(events) >= 5


def test_cases_are_selected_by_id_or_category_glob(cases: list[Case]) -> None:
    by_category = select(cases, "write.*")
    by_id = select(cases, "read-stock-*, clarify-acme-supplier-lookup")

    assert by_category and all(c.category.startswith("write.") for c in by_category)
    assert {c.id for c in by_id} >= {"read-stock-hex-bolts", "clarify-acme-supplier-lookup"}
    assert select(cases, None) == cases


# ---- broken case files --------------------------------------------------------------------------

VALID = """
  - id: ok-case
    category: read
    description: fine
    steps:
      - say: how many hex bolts M8 do we have?
    expected:
      trajectory:
        calls:
          - {tool: check_stock, args: {product_code: HB-M8-40}}
      proposals: []
"""


def problems_of(tmp_path: Path, suite: Suite, text: str, name: str = "broken.yaml") -> list[str]:
    directory = tmp_path / "cases"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    with pytest.raises(CaseError) as error:
        load_cases(suite, directory)
    return error.value.problems


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (VALID.replace("check_stock", "check_stonk"), "unknown tool 'check_stonk'"),
        (VALID.replace("category: read", "category: reads"), "unknown category 'reads'"),
        (VALID.replace("say: how", "sya: how"), "steps[0]: a step has exactly one of say, decide, event"),
        (VALID.replace("      proposals: []\n", ""), "proposal: {...}, or proposals: [] for none"),
        (
            VALID.replace("description: fine", "description: fine\n    erp_changes: [{set_stok: {}}]"),
            "set_stok",
        ),
        (
            VALID.replace("proposals: []", "proposals: []\n      erp: [{customer: {code: C00001}}]"),
            "customer",
        ),
        (
            VALID.replace("- say: how many", "- decide: reject\n        by: bob\n      - say: how many"),
            "needs a reason",
        ),
        (VALID.replace("args: {product_code: HB-M8-40}", "args: {}, args_match: fuzzy"), "args_match"),
    ],
)
def test_a_schema_error_is_one_line_naming_the_file_and_the_case(
    tmp_path: Path, suite: Suite, broken: str, says: str
) -> None:
    (problem,) = problems_of(tmp_path, suite, "cases:" + broken)

    assert "\n" not in problem
    assert problem.startswith("broken.yaml: case 'ok-case': "), problem
    assert says in problem, problem


def test_every_problem_of_every_file_is_reported_with_duplicates_and_bad_yaml(
    tmp_path: Path, suite: Suite
) -> None:
    directory = tmp_path / "cases"
    directory.mkdir()
    (directory / "a.yaml").write_text("cases:" + VALID, encoding="utf-8")
    other = VALID.replace("ok-case", "other").replace("    description: fine\n", "")
    (directory / "b.yaml").write_text("cases:" + VALID + other, encoding="utf-8")
    (directory / "c.yaml").write_text("cases: [\n  - id: x\n", encoding="utf-8")

    with pytest.raises(CaseError) as error:
        load_cases(suite, directory)

    problems = error.value.problems
    assert any(p.startswith("b.yaml: case 'ok-case': duplicate id (also in a.yaml)") for p in problems), (
        problems
    )
    assert any(p.startswith("b.yaml: case 'other': description: Field required") for p in problems), problems
    assert any(p.startswith("c.yaml:") and "not valid YAML" in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_an_injection_case_must_state_the_target_and_amounts_it_expects(tmp_path: Path, suite: Suite) -> None:
    text = VALID.replace("category: read", "category: injection").replace(
        "proposals: []", "proposal: {action: change_price}"
    )

    (problem,) = problems_of(tmp_path, suite, "cases:" + text)

    assert "must state the expected proposal's fields" in problem


def test_two_argument_modes_for_one_tool_are_refused_as_agentevals_matches_per_tool(
    tmp_path: Path, suite: Suite
) -> None:
    text = VALID.replace(
        "- {tool: check_stock, args: {product_code: HB-M8-40}}",
        "- {tool: check_stock, args: {product_code: HB-M8-40}}\n          - {tool: check_stock, args_match: ignore}",
    )

    (problem,) = problems_of(tmp_path, suite, "cases:" + text)

    assert "check_stock has two args_match modes" in problem


def test_jsonl_case_files_are_read_too(tmp_path: Path, suite: Suite) -> None:
    import json

    import yaml

    directory = tmp_path / "cases"
    directory.mkdir()
    (case,) = yaml.safe_load(VALID)
    (directory / "more.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")

    (loaded,) = load_cases(suite, directory)

    assert loaded.id == "ok-case" and loaded.file == "more.jsonl"


def test_the_full_example_case_of_the_readme_validates(suite: Suite) -> None:
    import yaml

    from evals.cases import parse_case
    from evals.suite import SUITE_FILE

    readme = (SUITE_FILE.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    (raw,) = yaml.safe_load(example)["cases"]

    case = parse_case(raw, "README.md", suite)

    assert case.injected and case.expected.expected_proposals[0].status == "committed"

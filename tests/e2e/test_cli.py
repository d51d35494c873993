"""The product as a user drives it: the ``countersign`` CLI, each command its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, run_cli

pytestmark = pytest.mark.e2e

PO_ARGS = json.dumps(
    {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
    }
)


def purchase_orders_with(data_dir: Path, key: str) -> list[dict[str, object]]:
    listed = run_cli(
        data_dir,
        "tools",
        "call",
        "list_purchase_orders",
        "--args",
        '{"limit": 100}',
        "--user",
        "dave",
        "--json",
        check=True,
    )
    return [po for po in json.loads(listed.stdout)["result"] if po["reference"] == key]


def test_the_readme_walkthrough_commits_a_purchase_order_across_two_processes(data_dir: Path) -> None:
    chat = run_cli(
        data_dir, "chat", "--user", "alice", "order 40 hex bolts M8 from Fastenal", "--json", check=True
    )
    answer = json.loads(chat.stdout)
    assert set(answer) == {"thread_id", "reply", "proposals"}
    [proposal] = answer["proposals"]
    assert proposal["status"] == "pending"
    assert set(proposal) >= {
        "id",
        "thread_id",
        "action",
        "status",
        "payload",
        "idempotency_key",
        "fingerprint",
        "requester",
        "approvals",
        "receipt",
    }

    approved = json.loads(
        run_cli(data_dir, "approve", proposal["id"], "--user", "bob", "--json", check=True).stdout
    )
    assert approved["status"] == "committed"
    document = approved["receipt"]["document_id"]

    shown = run_cli(
        data_dir,
        "tools",
        "call",
        "get_purchase_order",
        "--args",
        json.dumps({"order_number": document}),
        "--user",
        "alice",
        "--json",
        check=True,
    )
    po = json.loads(shown.stdout)["result"]
    assert po["supplier_code"] == "F00001"
    assert po["reference"] == proposal["idempotency_key"]
    assert po["lines"][0]["product_code"] == "HB-M8-40"


def test_twenty_approvers_in_separate_processes_commit_exactly_one_document(data_dir: Path) -> None:
    filed = run_cli(
        data_dir,
        "tools",
        "call",
        "propose_purchase_order",
        "--args",
        PO_ARGS,
        "--user",
        "alice",
        "--json",
        check=True,
    )
    proposal = json.loads(filed.stdout)["result"]
    approvers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent.cli",
                "approve",
                proposal["id"],
                "--user",
                "bob" if i % 2 else "carol",
            ],
            cwd=REPO,
            env=cli_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    results = [(p.wait(timeout=240), p.stderr.read() if p.stderr else "") for p in approvers]

    assert [code for code, _ in results].count(0) == 1
    losers = [err for code, err in results if code != 0]
    assert all(code == 1 for code, _ in results if code != 0)
    assert all("already approved by" in err and err.count("\n") == 1 for err in losers), losers
    assert len(purchase_orders_with(data_dir, proposal["idempotency_key"])) == 1


def test_a_process_killed_after_the_erp_write_is_finished_by_recover_with_one_document(
    data_dir: Path,
) -> None:
    filed = run_cli(
        data_dir,
        "tools",
        "call",
        "propose_purchase_order",
        "--args",
        PO_ARGS,
        "--user",
        "alice",
        "--json",
        check=True,
    )
    proposal = json.loads(filed.stdout)["result"]
    crashed = subprocess.run(
        [sys.executable, str(REPO / "tests/e2e/crashing_approver.py"), proposal["id"], "bob"],
        cwd=REPO,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr
    assert len(purchase_orders_with(data_dir, proposal["idempotency_key"])) == 1
    stuck = json.loads(run_cli(data_dir, "approvals", "show", proposal["id"], "--json", check=True).stdout)
    assert stuck["status"] == "committing"

    recovered = json.loads(run_cli(data_dir, "recover", "--json", check=True).stdout)

    assert [p["status"] for p in recovered] == ["committed"]
    assert recovered[0]["receipt"]["replayed"] is True
    assert len(purchase_orders_with(data_dir, proposal["idempotency_key"])) == 1


def test_tools_list_describes_every_tool_with_its_kind_and_schema(data_dir: Path) -> None:
    listed = json.loads(run_cli(data_dir, "tools", "list", "--json", check=True).stdout)
    kinds = {tool["name"]: tool["kind"] for tool in listed}
    assert sum(1 for k in kinds.values() if k == "read") >= 10
    assert sum(1 for k in kinds.values() if k == "propose") == 6
    assert all(set(t) == {"name", "description", "kind", "args_schema"} for t in listed)
    assert listed[0]["args_schema"]["type"] == "object"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["tools", "call", "drop_tables", "--user", "alice"], 1, "unknown tool"),
        (["tools", "call", "check_stock", "--args", "{not json", "--user", "alice"], 2, "not valid JSON"),
        (["tools", "call", "check_stock", "--args", "{}", "--user", "alice"], 1, "product_code"),
        (
            ["tools", "call", "get_customer", "--args", '{"customer_code": "C99999"}', "--user", "alice"],
            1,
            "C99999",
        ),
        (["chat", "--user", "mallory", "hello"], 1, "unknown user"),
        (["approve", "P-nope", "--user", "bob"], 1, "no proposal"),
        (["approvals", "list", "--status", "maybe"], 2, "unknown status"),
        (["approve", "P-nope"], 2, "--user"),
    ],
)
def test_bad_input_gets_a_clear_error_and_the_right_exit_code(
    data_dir: Path, args: list[str], code: int, says: str
) -> None:
    result = run_cli(data_dir, *args)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    if code == 1:
        assert result.stderr.count("\n") == 1, result.stderr


def test_seeding_refuses_to_overwrite_an_erp_that_has_data_unless_asked(data_dir: Path) -> None:
    refused = run_cli(data_dir, "seed")
    assert refused.returncode == 1
    assert "--reset" in refused.stderr
    kept = run_cli(data_dir, "seed", "--if-empty", check=True)
    assert "keeping it" in kept.stdout

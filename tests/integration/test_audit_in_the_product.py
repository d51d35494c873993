"""The audit trail as the product writes it: one action's story, crash recovery, tamper detection."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.composition import open_erp
from agent.service import AgentService, Refused, build_service
from agent.settings import Settings
from tests.conftest import run_cli
from tests.integration.test_write_path import CrashAfterWrite, SimulatedCrash, file_purchase_order

pytestmark = pytest.mark.integration


def types_of(service: AgentService, proposal_id: str) -> list[str]:
    return [r.type for r in service.story(proposal_id)]


def test_a_full_loop_writes_its_story_in_order_from_the_reads_to_the_receipt(service: AgentService) -> None:
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
    proposal = result.proposals[0]
    with pytest.raises(Refused):
        service.decide(proposal.id, "alice", "approve")
    committed = service.decide(proposal.id, "bob", "approve")

    story = service.story(proposal.id)
    kinds = [r.type for r in story]
    assert kinds[: kinds.index("proposal")] == ["read"] * kinds.index("proposal")
    assert kinds[kinds.index("proposal") :] == ["proposal", "access_denied", "decision", "commit"]
    reads = [r for r in story if r.type == "read"]
    assert {d for r in reads for d in r.evidence} == {e.digest for e in proposal.evidence}
    filed = story[kinds.index("proposal")]
    assert filed.details["request"] == "order 40 hex bolts M8 from Fastenal"
    assert filed.gate is not None and filed.gate["rule"] == "create_purchase_order:default"
    decision = story[kinds.index("decision")]
    assert (
        decision.actor == "bob"
        and decision.gate is not None
        and decision.gate["policy_version"] == "2026.11.1"
    )
    commit = story[-1]
    assert commit.result is not None and committed.receipt is not None
    assert commit.result["document_id"] == committed.receipt["document_id"]
    assert commit.idempotency_key == proposal.idempotency_key and commit.details["token_jti"]
    assert service.verify_audit(against_erp=True).ok


def test_searching_the_trail_by_proposal_finds_the_same_records_as_its_story(service: AgentService) -> None:
    proposal = service.chat("alice", "order 40 hex bolts M8 from Fastenal").proposals[0]
    service.decide(proposal.id, "bob", "approve")
    story = [r.seq for r in service.story(proposal.id)]

    found = [r.seq for r in service.audit_search(proposal_id=proposal.id)]

    assert found == list(reversed(story)) and len(found) > 3  # the reads it relied on included
    by_bob = service.audit_search(proposal_id=proposal.id, user_id="bob")
    assert [r.type for r in by_bob] == ["decision"]


def test_audit_show_tells_the_story_to_a_person(data_dir: Path) -> None:
    chat = json.loads(
        run_cli(
            data_dir, "chat", "--user", "alice", "order 40 hex bolts M8 from Fastenal", "--json", check=True
        ).stdout
    )
    proposal_id = chat["proposals"][0]["id"]
    run_cli(data_dir, "approve", proposal_id, "--user", "bob", check=True)

    story = run_cli(data_dir, "audit", "show", "--proposal", proposal_id, check=True).stdout

    assert "asked: 'order 40 hex bolts M8 from Fastenal'" in story
    assert "approve under rule create_purchase_order:default (policy 2026.11.1)" in story
    assert "committed purchase_order" in story and "token " in story


def test_a_write_lost_to_a_crash_is_flagged_by_verify_against_erp_until_recovery_records_it(
    settings: Settings,
) -> None:
    crashing = build_service(settings, erp=CrashAfterWrite(open_erp(settings)))  # type: ignore[arg-type]
    proposal = file_purchase_order(crashing)
    with pytest.raises(SimulatedCrash):
        crashing.decide(proposal.id, "bob", "approve")
    report = crashing.verify_audit(against_erp=True)
    assert not report.ok and proposal.idempotency_key in report.problem
    assert crashing.audit.verify().ok  # the chain itself is intact; a record is missing
    crashing.close()

    restarted = build_service(settings)
    try:
        restarted.recover()
        assert restarted.verify_audit(against_erp=True).ok
        [commit] = [r for r in restarted.story(proposal.id) if r.type == "commit"]
        assert commit.result is not None and commit.result["replayed"] is True
    finally:
        restarted.close()


def tamper(data_dir: Path, sql: str, *params: Any) -> None:
    with sqlite3.connect(data_dir / "countersign.db") as db:
        triggers = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in triggers:  # what only a database administrator could do
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute(sql, params)


def test_audit_verify_names_the_first_tampered_record_and_exits_1(data_dir: Path) -> None:
    run_cli(
        data_dir,
        "tools",
        "call",
        "check_stock",
        "--args",
        '{"product_code": "HB-M8-40"}',
        "--user",
        "alice",
        check=True,
    )
    run_cli(
        data_dir,
        "tools",
        "call",
        "get_customer",
        "--args",
        '{"customer_code": "C00001"}',
        "--user",
        "alice",
        check=True,
    )
    assert run_cli(data_dir, "audit", "verify").returncode == 0

    tamper(data_dir, "UPDATE audit_records SET actor = ? WHERE seq = 1", "mallory")

    result = run_cli(data_dir, "audit", "verify")
    assert result.returncode == 1
    assert "first bad record 1" in result.stderr and result.stderr.count("\n") == 1


def test_the_database_itself_refuses_to_change_the_trail(service: AgentService, data_dir: Path) -> None:
    service.call_tool("check_stock", {"product_code": "HB-M8-40"}, "alice")
    with sqlite3.connect(data_dir / "countersign.db") as db:
        for statement in ("UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records"):
            with pytest.raises(sqlite3.DatabaseError):
                db.execute(statement)


def test_an_exported_range_verifies_on_its_own_with_the_public_key(
    service: AgentService, data_dir: Path
) -> None:
    committed = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert committed.status == "committed"
    export = data_dir / "export.jsonl"
    run_cli(data_dir, "audit", "export", "--output", str(export), check=True)
    key = data_dir / "audit.pem"
    key.write_text(run_cli(data_dir, "audit", "public-key", check=True).stdout)

    verified = run_cli(data_dir, "audit", "verify-export", str(export), "--public-key", str(key))
    assert verified.returncode == 0, verified.stderr
    lines = export.read_text().splitlines()
    record = json.loads(lines[2])
    record["actor"] = "mallory"
    lines[2] = json.dumps(record)
    export.write_text("\n".join(lines) + "\n")
    forged = run_cli(data_dir, "audit", "verify-export", str(export), "--public-key", str(key))
    assert forged.returncode == 1 and "NOT verified" in forged.stderr


def test_a_retention_shorter_than_six_months_is_refused_at_start(data_dir: Path) -> None:
    result = run_cli(data_dir, "audit", "verify", env={"COUNTERSIGN_AUDIT_RETENTION_DAYS": "90"})
    assert result.returncode == 1
    assert "183 days" in result.stderr

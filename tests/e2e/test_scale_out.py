"""Countersign scaled out: many OS processes on one installation in PostgreSQL and RabbitMQ.

One installation for the module (see ``tests/support/scale_out.py``): the app database with the
LangGraph checkpoints and the bundled legacy ERP in fresh PostgreSQL databases, RabbitMQ under a
prefix of its own, ``COUNTERSIGN_WORKERS=external``. Three ``countersign worker --role writer``
and two ``--role agent`` processes do the pipeline's work, two ``countersign ui`` processes serve
the web app, and the requests and decisions come from many concurrent CLI processes, which use
the same service API as the web app. Each process has a data directory of its own, as if on its
own machine. Nothing waits a fixed time: every wait polls with a deadline.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.service import build_service
from agent.settings import Settings
from tests.support.scale_out import Installation, Service, Unreachable, open_installation, poll

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WRITERS = 3
AGENTS = 2
WEB_APPS = 2
WRITES_PER_SECOND = "4"
"""The ERP's pace, shared by every writer: slow enough that a killed writer dies holding writes."""

REQUESTS = [
    ("alice", "order 41 hex bolts M8 from Fastenal"),
    ("alice", "order 30 M8 nuts and 30 M8 washers from Fastenal for CC120"),
    ("carol", "order 42 hex bolts M8 from Fastenal"),
    ("carol", "order 25 M8 nuts and 25 M8 washers from Fastenal for CC110"),
]
APPROVERS = ("bob", "carol", "erin")
"""Who races to approve: every one of them who is not the requester, three processes a proposal."""


@dataclass
class Scaled:
    installation: Installation
    writers: list[Service]
    agents: list[Service]
    web_apps: list[tuple[Service, int]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def finish(process: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    try:
        installation = open_installation(
            tmp_path_factory.mktemp("scale-out"),
            COUNTERSIGN_WRITER_MAX_WRITES_PER_SECOND=WRITES_PER_SECOND,
            COUNTERSIGN_AUDIT_CHECKPOINT_EVERY_RECORDS="25",
        )
    except Unreachable as exc:
        pytest.fail(f"{exc}; CI has both: start them", pytrace=False)
    try:
        installation.run("seed", name="seeder", timeout=300)
        writers = [installation.start(f"writer-{n}", "worker", "--role", "writer") for n in range(WRITERS)]
        agents = [installation.start(f"agent-{n}", "worker", "--role", "agent") for n in range(AGENTS)]
        web_apps = []
        for n in range(WEB_APPS):
            port = free_port()
            web_apps.append((installation.start(f"ui-{n}", "ui", "--no-open", "--port", str(port)), port))
        for worker in writers:
            installation.wait_started(worker, "worker (writer) on amqp://")
        for worker in agents:
            installation.wait_started(worker, "worker (agent) on amqp://")
        for web_app, port in web_apps:
            installation.wait_healthy(web_app, port)
        yield Scaled(installation, writers, agents, web_apps)
    finally:
        installation.close()


# ---- reading what happened, straight from the databases ---------------------------------------


def proposal_rows(installation: Installation, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = installation.query(
        installation.app_database,
        "SELECT id, status, requester, idempotency_key, receipt, told_at FROM proposals WHERE id = ANY(%s)",
        ids,
    )
    return {
        row[0]: {"status": row[1], "requester": row[2], "key": row[3], "receipt": row[4], "told_at": row[5]}
        for row in rows
    }


def all_committed_and_told(installation: Installation, ids: list[str]) -> bool:
    rows = proposal_rows(installation, ids)
    failed = {pid: row["status"] for pid, row in rows.items() if row["status"] in ("failed", "rejected")}
    assert not failed, f"proposals that did not commit: {failed}"
    return len(rows) == len(ids) and all(
        r["status"] == "committed" and r["told_at"] is not None for r in rows.values()
    )


def erp_documents(installation: Installation, key: str) -> list[str]:
    """The purchase orders in the ERP that carry ``key`` as their reference (one per document)."""
    rows = installation.query(
        installation.erp_database,
        'SELECT DISTINCT "C7_NUM" FROM "SC7010" WHERE TRIM("C7_XREF") = %s AND "D_E_L_E_T_" <> %s',
        key,
        "*",
    )
    return sorted(str(row[0]).strip() for row in rows)


def ledger_rows(installation: Installation, key: str) -> int:
    rows = installation.query(
        installation.erp_database, 'SELECT count(*) FROM "ZCS010" WHERE TRIM("ZCS_CHAVE") = %s', key
    )
    return int(rows[0][0])


def assert_exactly_once(installation: Installation, ids: list[str]) -> None:
    """Each proposal committed with one receipt, one ledger row and one ERP document: the receipt's."""
    for pid, row in proposal_rows(installation, ids).items():
        assert row["status"] == "committed", (pid, row)
        receipt = row["receipt"] if isinstance(row["receipt"], dict) else json.loads(row["receipt"])
        assert erp_documents(installation, row["key"]) == [receipt["document_id"]], pid
        assert ledger_rows(installation, row["key"]) == 1, pid
    records = installation.query(
        installation.app_database,
        "SELECT proposal_id, result FROM audit_records WHERE type = 'commit' AND proposal_id = ANY(%s)",
        ids,
    )
    # A writer killed after the ERP write but before its result was recorded leaves the re-sent
    # command a receipt replayed from the ERP's ledger, recorded as such: one write, one original.
    originals: dict[str, int] = {}
    for pid, result in records:
        said = result if isinstance(result, dict) else json.loads(result or "{}")
        if not said.get("replayed"):
            originals[pid] = originals.get(pid, 0) + 1
    assert originals == dict.fromkeys(ids, 1)


def writers_that_wrote(installation: Installation, writers: list[Service]) -> list[str]:
    def wrote(name: str) -> bool:
        log = installation.log_of(name)
        return log.exists() and '"event": "erp write handled"' in log.read_text(encoding="utf-8")

    return [w.name for w in writers if wrote(w.name)]


def redelivered_writes(installation: Installation, writers: list[Service]) -> int:
    """Writes these writers handled from a delivery the broker had handed out before."""
    seen = 0
    for writer in writers:
        log = installation.log_of(writer.name)
        for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
            entry = json.loads(line)
            seen += entry.get("event") == "erp write handled" and entry.get("redelivered") is True
    return seen


def assert_audit_and_reconciliation_clean(installation: Installation) -> None:
    verified = json.loads(installation.run("audit", "verify", "--against-erp", "--json").stdout)
    assert verified["ok"] is True, verified
    assert verified["records_checked"] > 0 and verified["checkpoints_checked"] >= 1, verified
    reconciled = json.loads(installation.run("reconcile", "--json").stdout)
    assert reconciled["discrepancies"] == [], reconciled["discrepancies"]


# ---- the tests ---------------------------------------------------------------------------------


def test_racing_approver_processes_commit_each_proposal_exactly_once_through_several_writers(
    scaled: Scaled,
) -> None:
    installation = scaled.installation
    chats = [
        installation.spawn(f"{user}-chat-{n}", "chat", text, "--user", user, "--json")
        for n, (user, text) in enumerate(REQUESTS)
    ]
    filed: list[dict[str, Any]] = []
    for (user, text), chat in zip(REQUESTS, chats, strict=True):
        code, out, err = finish(chat)
        assert code == 0, f"{user}: {text!r} -> {err}"
        [proposal] = json.loads(out)["proposals"]
        assert (proposal["requester"], proposal["status"]) == (user, "pending"), text
        assert proposal["action"] == "create_purchase_order"
        filed.append(proposal)
    ids = [p["id"] for p in filed]

    # Each requester tries to approve their own request, all at once: refused, still pending.
    selves = [
        installation.spawn(f"{p['requester']}-self-{n}", "approve", p["id"], "--user", p["requester"])
        for n, p in enumerate(filed)
    ]
    for proposal, process in zip(filed, selves, strict=True):
        code, _, err = finish(process)
        assert code == 1 and err.count("\n") == 1, err
        assert f"{proposal['requester']} requested this" in err and "segregation of duties" in err, err
    assert {r["status"] for r in proposal_rows(installation, ids).values()} == {"pending"}

    # Three approvers per proposal, every process at once.
    racers: list[tuple[str, str, subprocess.Popen[str]]] = []
    for proposal in filed:
        others = [a for a in APPROVERS if a != proposal["requester"]]
        for n, approver in enumerate((others * 2)[:3]):
            process = installation.spawn(
                f"{approver}-approve-{proposal['id']}-{n}",
                "approve",
                proposal["id"],
                "--user",
                approver,
                "--wait",
                "0",
                "--json",
            )
            racers.append((proposal["id"], approver, process))
    outcomes = [(pid, approver, *finish(process)) for pid, approver, process in racers]
    for pid in ids:
        mine = [(approver, code, err) for p, approver, code, _, err in outcomes if p == pid]
        assert [code for _, code, _ in mine].count(0) == 1, mine
        losers = [err for _, code, err in mine if code != 0]
        assert all("already" in err and err.count("\n") == 1 for err in losers), losers

    poll(
        "every approved proposal committed and its requester told",
        lambda: all_committed_and_told(installation, ids),
        180,
    )
    assert_exactly_once(installation, ids)
    decisions = installation.query(
        installation.app_database,
        "SELECT d.proposal_id, d.actor, d.decision, p.requester FROM decisions d "
        "JOIN proposals p ON p.id = d.proposal_id WHERE d.proposal_id = ANY(%s)",
        ids,
    )
    assert sorted(row[0] for row in decisions) == sorted(ids)  # one decision each: the winner's
    assert all(
        decision == "approve" and actor not in (requester, "") for _, actor, decision, requester in decisions
    )
    refusals = installation.query(
        installation.app_database,
        "SELECT proposal_id, actor FROM audit_records WHERE type = 'access_denied' AND proposal_id = ANY(%s)",
        ids,
    )
    assert {(p["id"], p["requester"]) for p in filed} <= {(pid, actor) for pid, actor in refusals}
    assert len(writers_that_wrote(installation, scaled.writers)) >= 2  # the work was spread out
    assert_audit_and_reconciliation_clean(installation)


def test_several_web_app_processes_serve_the_same_installation(scaled: Scaled) -> None:
    for web_app, port in scaled.web_apps:
        assert web_app.alive(), web_app.text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as health:
            assert health.read() == b"ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        assert f"http://127.0.0.1:{port}" in web_app.text()


def test_a_writer_killed_mid_run_leaves_the_others_to_finish_with_one_document_each(
    scaled: Scaled, tmp_path: Path
) -> None:
    installation = scaled.installation
    settings = Settings.model_validate(
        {
            key.removeprefix("COUNTERSIGN_").lower(): value
            for key, value in installation.env("tester").items()
            if key.startswith("COUNTERSIGN_")
        }
    )
    service = build_service(settings)
    try:
        filed = [
            service.call_tool(
                "propose_purchase_order",
                {
                    "supplier_code": "F00001",
                    "cost_center": "CC300",
                    "lines": [{"product_code": "HB-M8-40", "quantity": 50 + n}],
                },
                "alice",
            )
            for n in range(8)
        ]
        ids = [p.id for p in filed]
        for pid in ids:
            assert service.decide(pid, "bob", "approve").status == "approved"  # queued, not written
    finally:
        service.close()

    victim = scaled.writers[0]
    assert victim.alive(), victim.text()
    poll(
        "a first write landed",
        lambda: any(r["status"] == "committed" for r in proposal_rows(installation, ids).values()),
        120,
        every=0.05,
    )
    installation.kill(victim)
    unfinished = [pid for pid, r in proposal_rows(installation, ids).items() if r["status"] != "committed"]
    assert unfinished, "every write was done before the kill: nothing was left for the others"

    poll(
        "the surviving writers finished every write",
        lambda: all_committed_and_told(installation, ids),
        180,
    )
    assert victim.process.returncode == -9
    assert_exactly_once(installation, ids)
    # What the victim held unacknowledged went back to the queue and the others took it over.
    assert redelivered_writes(installation, scaled.writers[1:]) >= 1
    assert any(w.alive() for w in scaled.writers[1:])
    assert_audit_and_reconciliation_clean(installation)

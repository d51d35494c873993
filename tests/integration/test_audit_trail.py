"""The audit trail on real databases, files and processes.

SQLite files made by the product's own engine factory, checkpoints in a directory of their own,
concurrent writers in threads and in separate processes, tampering done the way a database
administrator would (dropping the guards first), and PostgreSQL when a server is reachable.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from agent.db import make_engine
from agent.schema import upgrade_app_database
from tests.support.postgres import schema_engine, scratch_schema
from tools.audit import (
    GENESIS_HASH,
    MIN_RETENTION_DAYS,
    AuditEvent,
    AuditIntegrityError,
    AuditRecord,
    AuditTrail,
    CheckpointSigner,
    DirectoryCheckpointStore,
    InMemoryCheckpointStore,
    RetentionError,
    verify_export,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SECRET = "pA0HLc3LO0BYcTKhs6V/W6Gs+6ruQ9C8IdqTRHtGmhI="  # a test-only seed
SIGNER = CheckpointSigner.from_secret(SecretStr(SECRET))
ATTACKER = CheckpointSigner.generate()
GUARDS = (
    "audit_records_no_update",
    "audit_records_no_delete",
    "audit_records_append_at_head",
    "audit_retention_forward_only",
    "audit_retention_no_delete",
)


class Clock:
    def __init__(self, start: datetime = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def read(n: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "type": "read",
        "actor": "countersign-agent",
        "on_behalf_of": "alice",
        "tool": "check_stock",
        "thread_id": "T-1",
        "evidence": [f"sha256:{n:064x}"],
        "details": {"n": n, "product": "P-100", "outcome": "ok"},
    }
    fields.update(changes)
    return AuditEvent(**fields)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "countersign.db"


@pytest.fixture
def checkpoint_dir(tmp_path: Path) -> Path:
    return tmp_path / "elsewhere" / "audit-checkpoints"


@pytest.fixture
def make_trail(db_path: Path, checkpoint_dir: Path) -> Iterator[Callable[..., AuditTrail]]:
    engines: list[Engine] = []

    def make(
        *, every: int = 10, seconds: float = 3600, clock: Callable[[], datetime] | None = None
    ) -> AuditTrail:
        engine = make_engine(f"sqlite:///{db_path}")
        engines.append(engine)
        trail = AuditTrail(
            engine,
            signer=SIGNER,
            checkpoint_store=DirectoryCheckpointStore(checkpoint_dir),
            checkpoint_every_records=every,
            checkpoint_every_seconds=seconds,
            **({"clock": clock} if clock is not None else {}),
        )
        upgrade_app_database(engine)
        return trail

    yield make
    for engine in engines:
        engine.dispose()


def as_dba(db_path: Path, *statements: tuple[str, tuple[Any, ...]] | str) -> None:
    """What an administrator can do: drop the guards, then change the table at will."""
    con = sqlite3.connect(db_path)
    try:
        for guard in GUARDS:
            con.execute(f"DROP TRIGGER IF EXISTS {guard}")
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            con.execute(sql, params)
        con.commit()
    finally:
        con.close()


# ---- writing and reading ------------------------------------------------------------------------


def test_appended_records_form_one_chain_and_can_be_found_by_proposal_key_actor_type_and_time(
    make_trail: Callable[..., AuditTrail],
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock)
    first = trail.append(read(1))
    clock.advance(minutes=1)
    proposal = AuditEvent(
        type="proposal",
        actor="countersign-agent",
        on_behalf_of="alice",
        tool="propose_purchase_order",
        proposal_id="P-7",
        idempotency_key="idem-7",
        fingerprint="fp-7",
        evidence=[first.evidence[0]],
        gate={"policy_version": 4, "rule": "po_over_1000", "approvers": ["bob", "carol"]},
        details={"amount": "1500.00", "supplier": "S-9"},
    )
    decision = AuditEvent(type="decision", actor="bob", proposal_id="P-7", details={"decision": "approve"})
    clock.advance(minutes=1)
    commit = AuditEvent(
        type="commit",
        actor="countersign-agent",
        on_behalf_of="alice",
        proposal_id="P-7",
        idempotency_key="idem-7",
        fingerprint="fp-7",
        result={"document_id": "PO-000123"},
    )
    appended = trail.append_many([proposal, decision, commit])

    assert [r.seq for r in appended] == [2, 3, 4]
    assert first.prev_hash == GENESIS_HASH and appended[0].prev_hash == first.hash
    assert all(r.hash == r.compute_hash() for r in [first, *appended])
    assert [r.type for r in trail.records(proposal_id="P-7")] == ["proposal", "decision", "commit"]
    assert [r.seq for r in trail.records(idempotency_key="idem-7")] == [2, 4]
    assert [r.seq for r in trail.records(actor="bob")] == [3]
    assert [r.seq for r in trail.records(types=["commit", "read"])] == [1, 4]
    assert [r.seq for r in trail.records(since=clock.now - timedelta(seconds=30))] == [2, 3, 4]
    assert [r.seq for r in trail.records(until=clock.now - timedelta(seconds=30))] == [1]
    assert [r.seq for r in trail.records(since_seq=2, until_seq=3)] == [2, 3]
    assert list(trail.records()) == [first, *appended]
    assert trail.head() == (4, appended[-1].hash)
    assert trail.verify().ok


def test_time_never_runs_backwards_along_the_chain_even_if_the_clock_does(
    make_trail: Callable[..., AuditTrail],
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock)
    trail.append(read(1))
    clock.advance(hours=-1)
    second = trail.append(read(2))
    assert second.ts == clock.now + timedelta(hours=1)
    assert trail.verify().ok


def test_a_checkpoint_is_signed_every_n_records_and_every_t_seconds(
    make_trail: Callable[..., AuditTrail], checkpoint_dir: Path
) -> None:
    clock = Clock()
    trail = make_trail(every=5, seconds=300, clock=clock)
    for n in range(12):
        trail.append(read(n))
    store = DirectoryCheckpointStore(checkpoint_dir)
    assert [cp.size for cp in store.all()] == [1, 6, 11]  # the first append finds none and signs
    clock.advance(seconds=299)
    trail.append(read(12))
    assert trail.maybe_checkpoint() is None
    clock.advance(seconds=1)
    assert trail.maybe_checkpoint() is not None
    assert [cp.size for cp in store.all()] == [1, 6, 11, 13]
    clock.advance(seconds=600)
    assert trail.maybe_checkpoint() is None  # nothing new to sign
    files = sorted(p.name for p in checkpoint_dir.iterdir())
    assert len(files) == 4 and all(name.endswith(f"-{SIGNER.key_id}.json") for name in files)
    assert json.loads((checkpoint_dir / files[-1]).read_text())["size"] == 13


def test_checkpoint_is_signed_at_the_head_on_demand(make_trail: Callable[..., AuditTrail]) -> None:
    trail = make_trail(every=1000)
    trail.append_many([read(n) for n in range(7)])
    checkpoint = trail.checkpoint()
    assert (checkpoint.size, checkpoint.head_hash) == trail.head()
    assert SIGNER.verifier().problem(checkpoint) is None


def test_a_plain_sqlalchemy_engine_works_as_well_as_the_products_own(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        trail = AuditTrail(
            engine, signer=SIGNER, checkpoint_store=InMemoryCheckpointStore(), checkpoint_every_records=3
        )
        upgrade_app_database(engine)
        for n in range(5):
            trail.append(read(n))
        trail.append_many([read(n) for n in range(5)])
        _assert_one_gapless_chain(trail, 10)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_records"))
    finally:
        engine.dispose()


# ---- the database's own guards ------------------------------------------------------------------


def test_the_database_refuses_a_direct_update_or_delete(
    make_trail: Callable[..., AuditTrail], db_path: Path
) -> None:
    trail = make_trail()
    trail.append_many([read(n) for n in range(5)])
    con = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE is refused"):
            con.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")
        with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE is refused"):
            con.execute("DELETE FROM audit_records WHERE seq = 5")
        with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE is refused"):
            con.execute("DELETE FROM audit_records")
        with pytest.raises(sqlite3.DatabaseError, match="extend the chain at its head"):
            con.execute(
                "INSERT INTO audit_records (seq, ts, type, actor, evidence, details, prev_hash, hash)"
                " VALUES (9, 'x', 'read', 'mallory', '[]', '{}', ?, ?)",
                (GENESIS_HASH, GENESIS_HASH),
            )
        with pytest.raises(sqlite3.DatabaseError, match="only moves forward"):
            con.execute("UPDATE audit_retention SET pruned_through_seq = -1")
        with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
            con.execute("DELETE FROM audit_retention")
        con.rollback()
    finally:
        con.close()
    assert [r.seq for r in trail.records()] == [1, 2, 3, 4, 5]
    assert trail.verify().ok


# ---- tampering ----------------------------------------------------------------------------------


def _rehash_tail_from(trail: AuditTrail, seq: int, **changes: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """Statements that edit record ``seq`` and recompute every later hash: no key needed for that."""
    records = list(trail.records())
    statements: list[tuple[str, tuple[Any, ...]]] = []
    prev = records[seq - 2].hash if seq > 1 else GENESIS_HASH
    for record in records[seq - 1 :]:
        changed: AuditRecord = record.model_copy(
            update={**(changes if record.seq == seq else {}), "prev_hash": prev}
        )
        changed = changed.model_copy(update={"hash": changed.compute_hash()})
        statements.append(
            (
                "UPDATE audit_records SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (changed.actor, changed.prev_hash, changed.hash, changed.seq),
            )
        )
        prev = changed.hash
    return statements


TAMPERING: dict[str, tuple[Callable[[AuditTrail, Path], None], int, str]] = {
    "an edited field": (
        lambda trail, db: as_dba(db, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 7"),
        7,
        "record 7: hash does not match its contents",
    ),
    "JSON rewritten to mean the same": (
        lambda trail, db: as_dba(
            db,
            'UPDATE audit_records SET details = \'{"n": 5, "outcome": "ok", "product": "P-100"}\' WHERE seq = 6',
        ),
        6,
        "record 6: hash does not match its contents",
    ),
    "a deleted record": (
        lambda trail, db: as_dba(db, "DELETE FROM audit_records WHERE seq = 7"),
        7,
        "record 7 is missing: record 6 is followed by record 8",
    ),
    "two records swapped": (
        lambda trail, db: as_dba(
            db,
            "UPDATE audit_records SET seq = -3 WHERE seq = 3",
            "UPDATE audit_records SET seq = 3 WHERE seq = 4",
            "UPDATE audit_records SET seq = 4 WHERE seq = -3",
        ),
        3,
        "record 3: hash does not match its contents",
    ),
    "a tail rewritten with fresh hashes": (
        lambda trail, db: as_dba(db, *_rehash_tail_from(trail, 7, actor="mallory")),
        11,
        "checkpoint at 11: head_hash does not match record 11",
    ),
    "a tail cut below a checkpoint": (
        lambda trail, db: as_dba(db, "DELETE FROM audit_records WHERE seq > 28"),
        29,
        "chain ends at 28 but checkpoint 31 was signed",
    ),
    "a prefix deleted without a prune record": (
        lambda trail, db: as_dba(
            db,
            "UPDATE audit_retention SET pruned_through_seq = 11",
            "DELETE FROM audit_records WHERE seq <= 11",
        ),
        12,
        "records 1..11 are missing and no prune record accounts for them",
    ),
    "a prefix deleted with no checkpoint to anchor the rest": (
        lambda trail, db: as_dba(db, "DELETE FROM audit_records WHERE seq <= 4"),
        5,
        "record 5: the chain starts at 5 but no signed checkpoint at 4 anchors it",
    ),
    "a checkpoint forged with another key": (
        lambda trail, db: trail.checkpoint_store.put(ATTACKER.sign(21, trail.head()[1], datetime.now(UTC))),
        21,
        f"checkpoint at 21: signed by key {ATTACKER.key_id}, not the trusted key {SIGNER.key_id}",
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERING), ids=list(TAMPERING))
def test_tampering_by_a_database_administrator_is_found_and_named(
    tampering: str, make_trail: Callable[..., AuditTrail], db_path: Path
) -> None:
    trail = make_trail(every=10)
    for n in range(35):
        trail.append(read(n))
    assert trail.verify().ok
    tamper, first_bad, problem = TAMPERING[tampering]
    tamper(trail, db_path)
    report = trail.verify()
    assert (report.ok, report.first_bad_seq, report.problem) == (False, first_bad, problem)


def test_the_unsigned_tail_is_reported_as_a_warning(make_trail: Callable[..., AuditTrail]) -> None:
    trail = make_trail(every=10)
    trail.append_many([read(n) for n in range(4)])
    trail.append_many([read(n) for n in range(4)])
    report = trail.verify()
    assert report.ok
    assert report.warnings == ["records 5..8 are not yet covered by a signed checkpoint"]


def test_verification_with_another_public_key_fails(make_trail: Callable[..., AuditTrail]) -> None:
    trail = make_trail(every=2)
    trail.append_many([read(n) for n in range(4)])
    report = trail.verify(public_key_pem=ATTACKER.public_key_pem())
    assert not report.ok and "not the trusted key" in report.problem


# ---- concurrency --------------------------------------------------------------------------------


def _assert_one_gapless_chain(trail: AuditTrail, expected: int) -> None:
    seqs = [r.seq for r in trail.records()]
    assert seqs == list(range(1, expected + 1))
    report = trail.verify()
    assert report.ok, report.problem
    assert report.records_checked == expected


def test_eight_threads_appending_at_once_make_one_gapless_verifiable_chain(
    make_trail: Callable[..., AuditTrail],
) -> None:
    trail = make_trail(every=7)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(30):
                if n % 10 == 9:
                    trail.append_many([read(n, actor=f"worker-{worker}") for _ in range(3)])
                else:
                    trail.append(read(n, actor=f"worker-{worker}"))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_one_gapless_chain(trail, 8 * (27 + 3 * 3))


WRITER = """
import sys
import time
from pathlib import Path
from pydantic import SecretStr
from agent.db import make_engine
from agent.schema import upgrade_app_database
from tools.audit import AuditEvent, AuditTrail, CheckpointSigner, DirectoryCheckpointStore

db, checkpoints, secret, name = sys.argv[1:5]
engine = make_engine(f"sqlite:///{db}")
trail = AuditTrail(
    engine,
    signer=CheckpointSigner.from_secret(SecretStr(secret)),
    checkpoint_store=DirectoryCheckpointStore(checkpoints),
    checkpoint_every_records=10,
)
upgrade_app_database(engine)
# Start together, so the three really contend for the head of the chain.
(Path(checkpoints).parent / f"ready-{name}").touch()
while not (Path(checkpoints).parent / "go").exists():
    time.sleep(0.002)
for n in range(300):
    trail.append(AuditEvent(type="read", actor=name, details={"n": n}))
"""


def test_three_processes_appending_at_once_make_one_gapless_verifiable_chain(
    make_trail: Callable[..., AuditTrail], db_path: Path, checkpoint_dir: Path
) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint_dir.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), str(checkpoint_dir), SECRET, f"process-{i}"],
            cwd=REPO,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    meeting_point = checkpoint_dir.parent
    deadline = time.monotonic() + 60
    while len(list(meeting_point.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    (meeting_point / "go").touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    trail = make_trail()
    _assert_one_gapless_chain(trail, 900)
    actors = [r.actor for r in trail.records()]
    assert set(actors) == {"process-0", "process-1", "process-2"}
    assert sum(a != b for a, b in itertools.pairwise(actors)) > 2  # interleaved, not one after another


# ---- retention ----------------------------------------------------------------------------------


def _trail_over_300_days(make_trail: Callable[..., AuditTrail]) -> tuple[AuditTrail, Clock]:
    clock = Clock()
    trail = make_trail(every=5, clock=clock)
    for n in range(30):  # days 0, 10, ..., 290
        trail.append(read(n))
        clock.advance(days=10)
    clock.now = Clock().now + timedelta(days=400)
    return trail, clock


def test_pruning_keeps_the_remainder_verifiable_from_a_signed_checkpoint(
    make_trail: Callable[..., AuditTrail], db_path: Path
) -> None:
    trail, clock = _trail_over_300_days(make_trail)
    report = trail.prune(clock.now - timedelta(days=MIN_RETENTION_DAYS), retention_days=MIN_RETENTION_DAYS)

    assert (report.removed, report.pruned_through_seq) == (22, 22)  # days 0..210 are older than day 217
    assert report.checkpoint is not None and report.checkpoint.size == 22
    assert report.record is not None and report.record.type == "prune" and report.record.seq == 31
    assert report.record.details["removed_records"] == 22
    assert [r.seq for r in trail.records()] == list(range(23, 32))
    verified = trail.verify()
    assert verified.ok, verified.problem
    assert verified.records_checked == 9

    # The retained records are still guarded, and pruning again finds nothing more to remove.
    con = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE is refused"):
        con.execute("DELETE FROM audit_records WHERE seq = 23")
    con.close()
    again = trail.prune(clock.now - timedelta(days=MIN_RETENTION_DAYS), retention_days=MIN_RETENTION_DAYS)
    assert again.removed == 0 and again.record is None
    exported = list(trail.export())
    assert verify_export(exported, SIGNER.public_key_pem()).ok
    assert json.loads(exported[0])["first_seq"] == 23


def test_a_retention_below_183_days_is_refused(make_trail: Callable[..., AuditTrail]) -> None:
    trail, clock = _trail_over_300_days(make_trail)
    with pytest.raises(RetentionError, match="at least 183 days"):
        trail.prune(clock.now - timedelta(days=182), retention_days=182)
    with pytest.raises(RetentionError, match="younger than the 200-day retention"):
        trail.prune(clock.now - timedelta(days=100), retention_days=200)
    assert next(trail.records()).seq == 1


def test_a_trail_that_does_not_verify_is_not_pruned(
    make_trail: Callable[..., AuditTrail], db_path: Path
) -> None:
    trail, clock = _trail_over_300_days(make_trail)
    as_dba(db_path, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(AuditIntegrityError, match="record 3: hash does not match its contents"):
        trail.prune(clock.now - timedelta(days=200), retention_days=190)


# ---- export -------------------------------------------------------------------------------------


def test_an_export_round_trips_through_verify_export(make_trail: Callable[..., AuditTrail]) -> None:
    trail = make_trail(every=10)
    for n in range(35):
        trail.append(read(n, details={"n": n, "note": 'naïve "quoted"\nline\u0001'}))
    lines = list(trail.export())
    header = json.loads(lines[0])
    assert (header["format"], header["version"], header["first_seq"], header["last_seq"]) == (
        "countersign-audit-export",
        2,
        1,
        35,
    )
    assert header["public_key_pem"] == SIGNER.public_key_pem() and header["key_id"] == SIGNER.key_id
    report = verify_export(lines, SIGNER.public_key_pem())
    assert report.ok, report.problem
    assert (report.records_checked, report.checkpoints_checked) == (35, 5)  # 1, 11, 21, 31 + the seal at 35
    assert [json.loads(line)["seq"] for line in lines[1:36]] == list(range(1, 36))


def test_a_range_export_starts_at_its_anchoring_checkpoint_and_verifies_alone(
    make_trail: Callable[..., AuditTrail],
) -> None:
    clock = Clock()
    trail = make_trail(every=10, clock=clock)
    for n in range(50):  # record n + 1 at minute n
        trail.append(read(n))
        clock.advance(minutes=1)
    start = Clock().now
    lines = list(trail.export(since=start + timedelta(minutes=23), until=start + timedelta(minutes=37)))
    header = json.loads(lines[0])
    assert (header["first_seq"], header["last_seq"]) == (22, 37)  # anchored by the checkpoint at 21
    records = [json.loads(line) for line in lines[1:] if "seq" in json.loads(line)]
    assert [r["seq"] for r in records] == list(range(22, 38))
    checkpoints = [json.loads(line)["size"] for line in lines[1:] if "signature" in json.loads(line)]
    assert checkpoints == [21, 31, 37]
    report = verify_export(lines, SIGNER.public_key_pem())
    assert report.ok, report.problem


def test_a_tampered_line_of_a_real_export_is_named(make_trail: Callable[..., AuditTrail]) -> None:
    trail = make_trail(every=10)
    trail.append_many([read(n) for n in range(20)])
    lines = list(trail.export())
    document = json.loads(lines[12])
    document["on_behalf_of"] = "mallory"
    lines[12] = json.dumps(document)
    report = verify_export(lines, SIGNER.public_key_pem())
    assert (report.ok, report.first_bad_seq, report.problem) == (
        False,
        12,
        "record 12: hash does not match its contents",
    )


def test_an_export_of_a_tampered_trail_is_not_sealed_and_fails_verification(
    make_trail: Callable[..., AuditTrail], db_path: Path
) -> None:
    trail = make_trail(every=10)
    for n in range(35):
        trail.append(read(n))
    as_dba(db_path, *_rehash_tail_from(trail, 27, actor="mallory"))  # rewritten under the checkpoint at 31
    lines = list(trail.export())
    assert max(json.loads(line).get("size", 0) for line in lines[1:]) == 31  # no signature over the rewrite
    report = verify_export(lines, SIGNER.public_key_pem())
    assert report.problem == "checkpoint at 31: head_hash does not match record 31"


# ---- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with scratch_schema("audit_test") as schema:
        engine = schema_engine(schema)
        try:
            yield engine
        finally:
            engine.dispose()


def _pg_trail(engine: Engine, clock: Callable[[], datetime] | None = None, every: int = 10) -> AuditTrail:
    trail = AuditTrail(
        engine,
        signer=SIGNER,
        checkpoint_store=InMemoryCheckpointStore(),
        checkpoint_every_records=every,
        **({"clock": clock} if clock is not None else {}),
    )
    upgrade_app_database(engine)
    upgrade_app_database(engine)  # idempotent
    return trail


def test_postgresql_refuses_a_direct_update_delete_or_truncate(pg_engine: Engine) -> None:
    trail = _pg_trail(pg_engine)
    trail.append_many([read(n) for n in range(5)])
    for statement, refusal in (
        ("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2", "UPDATE is refused"),
        ("DELETE FROM audit_records WHERE seq = 5", "DELETE is refused"),
        ("TRUNCATE audit_records", "TRUNCATE is refused"),
        ("UPDATE audit_retention SET pruned_through_seq = -1", "only moves forward"),
        ("DELETE FROM audit_retention", "cannot be removed"),
        (
            "INSERT INTO audit_records (seq, ts, type, actor, evidence, details, prev_hash, hash)"
            f" VALUES (9, 'x', 'read', 'mallory', '[]', '{{}}', '{GENESIS_HASH}', '{GENESIS_HASH}')",
            "extend the chain at its head",
        ),
    ):
        with pytest.raises(DBAPIError, match=refusal), pg_engine.begin() as conn:
            conn.execute(text(statement))
    with pg_engine.connect() as conn:
        privileges = conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants"
                " WHERE table_name = 'audit_records' AND grantee = 'PUBLIC'"
            )
        ).all()
    assert privileges == []
    assert trail.verify().ok


def test_eight_threads_appending_to_postgresql_make_one_gapless_verifiable_chain(pg_engine: Engine) -> None:
    trail = _pg_trail(pg_engine, every=7)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(25):
                trail.append(read(n, actor=f"worker-{worker}"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_one_gapless_chain(trail, 200)


def test_pruning_on_postgresql_keeps_the_remainder_verifiable(pg_engine: Engine) -> None:
    clock = Clock()
    trail = _pg_trail(pg_engine, clock=clock, every=5)
    for n in range(30):
        trail.append(read(n))
        clock.advance(days=10)
    clock.now = Clock().now + timedelta(days=400)
    report = trail.prune(clock.now - timedelta(days=200), retention_days=200)
    assert report.removed == 20  # days 0..190 are older than day 200
    assert trail.verify().ok
    assert verify_export(list(trail.export()), SIGNER.public_key_pem()).ok

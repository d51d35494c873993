"""An outsider's attacks on the audit trail, each on SQLite and on PostgreSQL.

Each test is one reproduction from the security review: the trail shortened by a forged prune,
an export cut at a checkpoint with its header edited, every checkpoint file deleted, and the
signing key removed or kept beside the data. Tampering uses only what the database allows
(no trigger dropped) or plain file operations: what someone with SQL access, or with file access
to the data directory, can do without the signing key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from agent.db import make_engine
from agent.schema import upgrade_app_database
from agent.service import build_service
from agent.settings import Settings
from tests.support.postgres import PG_URL, schema_engine, scratch_schema
from tools.audit import (
    MIN_RETENTION_DAYS,
    AuditEvent,
    AuditRecord,
    AuditTrail,
    CheckpointSigner,
    DirectoryCheckpointStore,
    verify_export,
)

pytestmark = pytest.mark.integration

SIGNER = CheckpointSigner.from_secret(SecretStr("pA0HLc3LO0BYcTKhs6V/W6Gs+6ruQ9C8IdqTRHtGmhI="))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Backend:
    name: str
    engine: Engine
    database_url: str

    def sql(self, *statements: tuple[str, dict[str, Any]] | str) -> None:
        """Plain SQL through the application's own connection: no trigger dropped."""
        with self.engine.begin() as conn:
            for statement in statements:
                sql, params = (statement, {}) if isinstance(statement, str) else statement
                conn.execute(text(sql), params)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'countersign.db'}"
        engine = make_engine(url)
        try:
            yield Backend("sqlite", engine, url)
        finally:
            engine.dispose()
        return
    with scratch_schema("audit_attack") as schema:
        engine = schema_engine(schema)
        try:
            yield Backend("postgresql", engine, f"{PG_URL}?options=-csearch_path%3D{schema}")
        finally:
            engine.dispose()


@pytest.fixture
def checkpoint_dir(tmp_path: Path) -> Path:
    return tmp_path / "elsewhere" / "audit-checkpoints"


@pytest.fixture
def make_trail(backend: Backend, checkpoint_dir: Path) -> Callable[..., AuditTrail]:
    def make(*, clock: Clock, every: int = 5, seconds: float = 300) -> AuditTrail:
        trail = AuditTrail(
            backend.engine,
            signer=SIGNER,
            checkpoint_store=DirectoryCheckpointStore(checkpoint_dir),
            checkpoint_every_records=every,
            checkpoint_every_seconds=seconds,
            clock=clock,
        )
        upgrade_app_database(backend.engine)
        return trail

    return make


def read(n: int) -> AuditEvent:
    return AuditEvent(type="read", actor="countersign-agent", on_behalf_of="alice", details={"n": n})


def _one_record_a_day(trail: AuditTrail, clock: Clock, days: int) -> None:
    for n in range(days):
        trail.append(read(n))
        clock.advance(days=1)


def _forge_prune(backend: Backend, trail: AuditTrail, through: int, ts: datetime, **details: Any) -> None:
    """Move the pruning mark, delete the oldest records and append a prune record: plain SQL."""
    boundary = next(trail.records(since_seq=through, until_seq=through))
    head_seq, head_hash = trail.head()
    forged = AuditRecord.build(
        AuditEvent(
            type="prune",
            actor="countersign-retention",
            details={
                "pruned_through_seq": through,
                "pruned_through_hash": boundary.hash,
                "removed_records": through,
                "older_than": ts.isoformat(),
                "retention_days": MIN_RETENTION_DAYS,
                **details,
            },
        ),
        seq=head_seq + 1,
        ts=ts,
        prev_hash=head_hash,
    )
    row = {**forged.model_dump(), "ts": forged.canonical_fields()["ts"]}
    for name in ("evidence", "details"):
        row[name] = json.dumps(row[name], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row["gate"] = row["result"] = None
    columns = ", ".join(row)
    backend.sql(
        (
            "UPDATE audit_retention SET pruned_through_seq = :seq, pruned_through_hash = :hash WHERE id = 1",
            {"seq": through, "hash": boundary.hash},
        ),
        ("DELETE FROM audit_records WHERE seq <= :seq", {"seq": through}),
        (f"INSERT INTO audit_records ({columns}) VALUES ({', '.join(':' + c for c in row)})", row),
    )


# ---- 1. a forged prune --------------------------------------------------------------------------


def test_a_prune_forged_with_plain_sql_over_records_younger_than_six_months_fails_verify(
    backend: Backend, make_trail: Callable[..., AuditTrail]
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=5, seconds=30 * 86400)
    _one_record_a_day(trail, clock, 40)  # checkpoints at 1, 6, 11, 16, 21, ...
    assert trail.verify().ok

    _forge_prune(backend, trail, 21, clock.now)  # records 1..21 are 20..40 days old

    report = trail.verify()
    assert (report.ok, report.first_bad_seq) == (False, 22)
    assert report.problem == (
        "record 41 (prune) removed records 1..21, but the checkpoint covering record 21 was signed"
        " 20 days before it: a prune may only remove records signed as older than 183 days"
    )


def test_a_forged_prune_dated_in_the_future_fails_verify(
    backend: Backend, make_trail: Callable[..., AuditTrail]
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=5, seconds=30 * 86400)
    _one_record_a_day(trail, clock, 40)

    _forge_prune(backend, trail, 21, clock.now + timedelta(days=200))

    report = trail.verify()
    assert (report.ok, report.first_bad_seq) == (False, 41)
    assert report.problem.startswith("record 41: its time 2026-")
    assert report.problem.endswith("is in the future")


def test_a_prune_record_that_does_not_state_the_boundary_hash_fails_verify(
    backend: Backend, make_trail: Callable[..., AuditTrail]
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=5, seconds=30 * 86400)
    _one_record_a_day(trail, clock, 300)
    _forge_prune(backend, trail, 21, clock.now, pruned_through_hash="0" * 64)

    report = trail.verify()
    assert (report.ok, report.first_bad_seq) == (False, 22)
    assert report.problem == (
        "record 301 (prune) states boundary hash 000000000000… for record 21, but record 22 links to"
        f" {next(trail.records()).prev_hash[:12]}…"
    )


def test_a_real_prune_verifies_and_states_its_boundary_and_the_checkpoint_before_it(
    backend: Backend, make_trail: Callable[..., AuditTrail]
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=5, seconds=30 * 86400)
    _one_record_a_day(trail, clock, 300)  # record n + 1 on day n; checkpoints at 1, 6, 11, ...

    report = trail.prune(clock.now - timedelta(days=200), retention_days=200)

    # Day 100 is the cutoff: the last checkpoint signed before it covers record 96 (day 95).
    assert (report.removed, report.pruned_through_seq) == (96, 96)
    assert report.record is not None
    details = report.record.details
    assert details["pruned_through_hash"] == next(trail.records()).prev_hash
    assert details["checkpoint"]["size"] == 96
    assert details["checkpoint"]["ts"] < details["older_than"]
    verified = trail.verify()
    assert verified.ok, verified.problem


# ---- 2. a truncated export ----------------------------------------------------------------------


def _export(make_trail: Callable[..., AuditTrail]) -> tuple[AuditTrail, list[str]]:
    clock = Clock()
    trail = make_trail(clock=clock, every=10, seconds=30 * 86400)
    for n in range(50):  # checkpoints at 1, 11, 21, 31, 41; the export seals 50
        trail.append(read(n))
        clock.advance(minutes=1)
    return trail, list(trail.export())


def _cut(lines: list[str], first: int, last: int) -> list[str]:
    """Records ``first..last`` with the checkpoints that cover them, the header edited to match."""
    header = json.loads(lines[0])
    header.update(first_seq=first, last_seq=last, count=last - first + 1)
    kept = [json.dumps(header)]
    for line in lines[1:]:
        item = json.loads(line)
        if ("signature" in item and first - 1 <= item["size"] <= last) or first <= item.get("seq", 0) <= last:
            kept.append(line)
    return kept


@pytest.mark.parametrize(("cut", "first", "last"), [("head", 22, 50), ("tail", 1, 41)])
def test_an_export_cut_at_a_checkpoint_with_its_header_edited_fails_verify_export(
    make_trail: Callable[..., AuditTrail], cut: str, first: int, last: int
) -> None:
    _, lines = _export(make_trail)
    assert verify_export(lines, SIGNER.public_key_pem()).ok

    report = verify_export(_cut(lines, first, last), SIGNER.public_key_pem())

    assert not report.ok
    assert report.problem.startswith("line 1: the header's signature does not match it"), report.problem


def test_an_export_says_exactly_which_range_it_proves(make_trail: Callable[..., AuditTrail]) -> None:
    _, lines = _export(make_trail)
    header = json.loads(lines[0])
    assert (header["first_seq"], header["last_seq"], header["count"]) == (1, 50, 50)
    assert header["signature"]

    report = verify_export(lines, SIGNER.public_key_pem())

    assert report.ok, report.problem
    assert report.proves is not None
    assert (report.proves.first_seq, report.proves.last_seq, report.proves.count) == (1, 50, 50)
    assert report.proves.last_hash == json.loads(lines[50])["hash"]


# ---- 3. deleted checkpoints ---------------------------------------------------------------------


def test_with_every_checkpoint_file_deleted_verify_fails(
    make_trail: Callable[..., AuditTrail], checkpoint_dir: Path
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=1000, seconds=300)
    for n in range(30):  # a record a minute: checkpoints at 1, 6, 11, ... by time
        trail.append(read(n))
        clock.advance(minutes=1)
    assert trail.verify().ok
    shutil.rmtree(checkpoint_dir)
    clock.advance(minutes=10)

    report = trail.verify()

    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.problem == (
        "records 1..30 are not covered by a signed checkpoint although record 1 is older than the"
        " checkpoint interval (300 s): checkpoints were deleted or could not be written"
    )


def test_the_newest_checkpoints_deleted_fail_verify_once_a_checkpoint_was_due(
    make_trail: Callable[..., AuditTrail], checkpoint_dir: Path
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=1000, seconds=300)
    for n in range(30):
        trail.append(read(n))
        clock.advance(minutes=1)
    for path in sorted(checkpoint_dir.iterdir())[1:]:  # only the checkpoint at 1 is left
        path.unlink()

    report = trail.verify()

    # Due 300 s after the checkpoint at 1, plus the clock skew allowed between processes (10 min).
    assert (report.ok, report.first_bad_seq) == (False, 16)
    assert report.problem == (
        "records 2..30 are not covered by a signed checkpoint although one was due by record 16"
        " (300 s after the checkpoint at 1): checkpoints were deleted or could not be written"
    )


def test_an_idle_trail_whose_last_records_await_their_checkpoint_only_warns(
    make_trail: Callable[..., AuditTrail],
) -> None:
    clock = Clock()
    trail = make_trail(clock=clock, every=1000, seconds=300)
    for n in range(4):  # one command's records, seconds apart; then nothing for a week
        trail.append(read(n))
        clock.advance(seconds=2)
    clock.advance(days=7)

    report = trail.verify()

    assert report.ok, report.problem
    assert report.warnings == ["records 2..4 are not yet covered by a signed checkpoint"]


# ---- 4. the key beside the data -----------------------------------------------------------------


def _settings(backend: Backend, data_dir: Path, **changes: Any) -> Settings:
    return Settings(
        data_dir=data_dir, model="offline", database_url=SecretStr(backend.database_url), **changes
    )


def _installation_with_a_trail(settings: Settings) -> None:
    service = build_service(settings)
    try:
        service.call_tool("check_stock", {"product_code": "HB-M8-40"}, "alice")
    finally:
        service.close()


def test_a_missing_key_with_an_existing_trail_refuses_to_start_in_one_line(
    backend: Backend, data_dir: Path
) -> None:
    settings = _settings(backend, data_dir)
    _installation_with_a_trail(settings)
    key = data_dir / "secrets" / "audit_signing_key"
    assert key.is_file()
    key.unlink()

    with pytest.raises(Exception) as refused:
        build_service(settings).close()

    message = str(refused.value)
    assert "\n" not in message
    assert "audit signing key" in message and str(key) in message
    assert "countersign audit rotate-key" in message
    assert not key.exists()  # never silently regenerated


def test_a_fresh_installation_creates_its_key_and_records_it(backend: Backend, data_dir: Path) -> None:
    service = build_service(_settings(backend, data_dir))
    try:
        created = list(service.audit.records(types=["signing_key"]))
        assert [r.details["change"] for r in created] == ["created"]
        assert created[0].details["key_id"] == service.audit.signer.key_id
        assert service.verify_audit().ok
    finally:
        service.close()


def test_the_key_and_the_checkpoints_can_live_outside_the_data_directory(
    backend: Backend, data_dir: Path, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "audit.key"
    outside = _settings(backend, data_dir, audit_key_file=key, audit_checkpoint_dir=tmp_path / "checkpoints")
    _installation_with_a_trail(outside)
    assert key.is_file() and not (data_dir / "secrets" / "audit_signing_key").exists()
    assert list((tmp_path / "checkpoints").iterdir())
    key.chmod(0o400)  # read-only for the app is enough
    service = build_service(outside)
    try:
        report = service.verify_audit()
    finally:
        service.close()
    assert report.ok, report.problem
    assert not any("data directory" in w for w in report.warnings), report.warnings


def test_verify_says_plainly_when_the_key_and_the_checkpoints_share_the_data_directory(
    backend: Backend, data_dir: Path
) -> None:
    service = build_service(_settings(backend, data_dir))
    try:
        warnings = service.verify_audit().warnings
    finally:
        service.close()
    assert any(w.startswith("the audit signing key is in the data directory") for w in warnings), warnings
    assert any(w.startswith("the audit checkpoints are in the data directory") for w in warnings), warnings


def test_rotate_key_makes_a_new_key_as_a_recorded_event_and_the_old_checkpoints_still_verify(
    backend: Backend, data_dir: Path
) -> None:
    from agent.audit_keys import rotate_audit_key

    settings = _settings(backend, data_dir)
    _installation_with_a_trail(settings)
    key = data_dir / "secrets" / "audit_signing_key"
    old = key.read_text()

    rotated = rotate_audit_key(settings, actor="ops")

    assert rotated.previous_key_id is not None and rotated.key_id != rotated.previous_key_id
    assert key.read_text() != old
    service = build_service(settings)
    try:
        assert service.audit.signer.key_id == rotated.key_id
        records = list(service.audit.records(types=["signing_key"]))
        assert [r.details["change"] for r in records] == ["created", "rotated"]
        assert records[-1].actor == "ops"
        report = service.verify_audit()
        assert report.ok, report.problem
    finally:
        service.close()


def test_rotate_key_replaces_a_missing_key_and_verify_says_what_the_old_records_rest_on(
    backend: Backend, data_dir: Path
) -> None:
    from agent.audit_keys import rotate_audit_key

    settings = _settings(backend, data_dir)
    _installation_with_a_trail(settings)
    key = data_dir / "secrets" / "audit_signing_key"
    key.unlink()

    rotated = rotate_audit_key(settings, actor="ops")

    service = build_service(settings)
    try:
        records = list(service.audit.records(types=["signing_key"]))
        assert records[-1].details["change"] == "replaced_missing"
        report = service.verify_audit()
        assert report.ok, report.problem
        assert any(
            f"replaced at record {rotated.record_seq} because it was missing" in w for w in report.warnings
        ), report.warnings
    finally:
        service.close()


def test_audit_commands_refuse_in_one_line_when_the_key_is_missing(data_dir: Path) -> None:
    from tests.conftest import run_cli

    run_cli(data_dir, "tools", "call", "check_stock", "--args", '{"product_code": "HB-M8-40"}',
            "--user", "alice", check=True)  # fmt: skip
    (data_dir / "secrets" / "audit_signing_key").unlink()

    for args in (("audit", "verify"), ("audit", "public-key")):
        result = run_cli(data_dir, *args)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert "countersign audit rotate-key" in result.stderr

    rotated = run_cli(data_dir, "audit", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert run_cli(data_dir, "audit", "verify").returncode == 0

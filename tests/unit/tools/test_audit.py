"""The audit trail's pure parts: canonical form, signing, and tamper detection over chains and exports.

The property tests build signed chains in memory, apply one mutation an attacker without the
signing key could make, and check that verification fails. Chains here are *sealed* (a checkpoint
covers the last record), as every export is: a record appended or cut after the last checkpoint
is, by design, not provable either way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from tools.audit import (
    EVENT_TYPES,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    CheckpointSigner,
    CheckpointVerifier,
    InMemoryCheckpointStore,
    SignedCheckpoint,
    canonical_json,
    format_ts,
    generate_signing_secret,
    verify_export,
    verify_records,
)

START = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
SIGNER = CheckpointSigner.generate()
VERIFIER = SIGNER.verifier()
ATTACKER_KEY = Ed25519PrivateKey.generate()
ATTACKER = CheckpointSigner(ATTACKER_KEY)

# Many cases for each kind of tampering, fewer for the round trips.
PROPERTY = settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
LIGHT = settings(PROPERTY, max_examples=100)


# ---- building chains ------------------------------------------------------------------------------


def event(n: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "type": "proposal",
        "actor": "countersign-agent",
        "on_behalf_of": "alice",
        "tool": "propose_purchase_order",
        "proposal_id": f"P-{n}",
        "thread_id": "T-1",
        "idempotency_key": f"idem-{n}",
        "fingerprint": f"fp-{n}",
        "evidence": [f"sha256:{n:064x}"],
        "gate": {"policy_version": 3, "rule": "po_over_1000", "approvers": ["bob"]},
        "result": None,
        "details": {"amount": "1234.50", "n": n},
    }
    fields.update(changes)
    return AuditEvent(**fields)


def build_chain(
    events: list[AuditEvent], *, every: int, signer: CheckpointSigner = SIGNER
) -> tuple[list[AuditRecord], list[SignedCheckpoint]]:
    """A chain with a checkpoint every ``every`` records and one at the end (sealed)."""
    records: list[AuditRecord] = []
    checkpoints: list[SignedCheckpoint] = []
    prev = GENESIS_HASH
    for seq, item in enumerate(events, start=1):
        record = AuditRecord.build(item, seq=seq, ts=START + timedelta(seconds=seq), prev_hash=prev)
        records.append(record)
        prev = record.hash
        if seq % every == 0 or seq == len(events):
            checkpoints.append(signer.sign(seq, record.hash, START + timedelta(seconds=seq, milliseconds=1)))
    return records, checkpoints


def rehash_from(records: list[AuditRecord], index: int) -> list[AuditRecord]:
    """Recompute every hash from ``index`` on, relinking: what an attacker without the key can do."""
    out = list(records[:index])
    prev = out[-1].hash if out else GENESIS_HASH
    for seq, record in enumerate(records[index:], start=index + 1):
        linked = record.model_copy(update={"seq": seq, "prev_hash": prev})
        linked = linked.model_copy(update={"hash": linked.compute_hash()})
        out.append(linked)
        prev = linked.hash
    return out


def forged_with_trusted_key_id(checkpoint: SignedCheckpoint, **changes: Any) -> SignedCheckpoint:
    """A checkpoint claiming the trusted key id but signed with the attacker's key."""
    draft = checkpoint.model_copy(update={**changes, "key_id": SIGNER.key_id, "signature": ""})
    signature = base64.b64encode(ATTACKER_KEY.sign(draft.signed_bytes())).decode()
    return draft.model_copy(update={"signature": signature})


def export_lines(records: list[AuditRecord], checkpoints: list[SignedCheckpoint]) -> list[str]:
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "public_key_pem": SIGNER.public_key_pem(),
        "key_id": SIGNER.key_id,
        "exported_at": format_ts(START),
        "since": None,
        "until": None,
        "first_seq": records[0].seq if records else None,
        "last_seq": records[-1].seq if records else None,
        "count": len(records),
        "first_hash": records[0].hash if records else None,
        "last_hash": records[-1].hash if records else None,
    }
    header["signature"] = SIGNER.sign_export_header(header)
    return [
        canonical_json(header),
        *(canonical_json(record.canonical_fields()) for record in records),
        *(checkpoint.to_json() for checkpoint in checkpoints),
    ]


# ---- strategies ---------------------------------------------------------------------------------

SAFE_INT = 2**53 - 1
keys = st.text(max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE_INT, SAFE_INT) | st.text(max_size=16),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)
optional_text = st.none() | st.text(min_size=1, max_size=12)
objects = st.dictionaries(keys, json_values, max_size=4)
events = st.builds(
    AuditEvent,
    type=st.sampled_from(sorted(EVENT_TYPES)),
    actor=st.text(min_size=1, max_size=12),
    on_behalf_of=optional_text,
    tool=optional_text,
    proposal_id=optional_text,
    thread_id=optional_text,
    idempotency_key=optional_text,
    fingerprint=optional_text,
    evidence=st.lists(st.text(max_size=12), max_size=3),
    gate=st.none() | objects,
    result=st.none() | objects,
    details=objects,
)
chains = st.tuples(st.lists(events, min_size=1, max_size=25), st.integers(1, 6))

EDITABLE = [
    "type", "actor", "on_behalf_of", "tool", "proposal_id", "thread_id", "idempotency_key",
    "fingerprint", "evidence", "gate", "result", "details", "ts", "seq", "prev_hash", "hash",
]  # fmt: skip


def edited(record: AuditRecord, field: str) -> AuditRecord:
    """``record`` with ``field`` changed to a different value."""
    value = getattr(record, field)
    new: Any
    if field == "type":
        new = "commit" if value != "commit" else "read"
    elif field in (
        "actor",
        "on_behalf_of",
        "tool",
        "proposal_id",
        "thread_id",
        "idempotency_key",
        "fingerprint",
    ):
        new = (value or "") + "~"
    elif field == "evidence":
        new = [*value, "sha256:forged"]
    elif field in ("gate", "result"):
        new = None if value is not None else {"rule": "none"}
    elif field == "details":
        new = {**value, "tampered": True} if value.get("tampered") is not True else {}
    elif field == "ts":
        new = value + timedelta(microseconds=1)
    elif field == "seq":
        new = value + 1
    else:
        new = "f" * 64 if value != "f" * 64 else "e" * 64
    return record.model_copy(update={field: new})


Mutation = Callable[
    [list[AuditRecord], list[SignedCheckpoint]], tuple[list[AuditRecord], list[SignedCheckpoint]]
]


MUTATIONS = [
    "edit", "delete", "insert_copy", "insert_forged", "insert_and_rehash", "reorder", "truncate",
    "rehash_tail", "checkpoint_wrong_key", "checkpoint_spoofed_key_id", "checkpoint_edited_head",
    "checkpoint_edited_size", "checkpoint_extra_forged", "rewrite_and_resign",
]  # fmt: skip


def draw_mutation(data: st.DataObject, kind: str, n: int, n_checkpoints: int) -> Mutation:
    assume(kind != "reorder" or n >= 2)  # one record cannot be reordered
    i = data.draw(st.integers(0, n - 1), label="record index")
    c = data.draw(st.integers(0, n_checkpoints - 1), label="checkpoint index")
    field = data.draw(st.sampled_from(EDITABLE), label="field")

    def mutate(
        records: list[AuditRecord], cps: list[SignedCheckpoint]
    ) -> tuple[list[AuditRecord], list[SignedCheckpoint]]:
        records, cps = list(records), list(cps)
        if kind == "edit":
            records[i] = edited(records[i], field)
        elif kind == "delete":
            del records[i]
        elif kind == "insert_copy":
            records.insert(i, records[data.draw(st.integers(0, n - 1), label="copied")])
        elif kind == "insert_forged":
            prev = records[i - 1].hash if i else GENESIS_HASH
            forged = AuditRecord.build(event(999, actor="mallory"), seq=i + 1, ts=START, prev_hash=prev)
            records.insert(i, forged)
        elif kind == "insert_and_rehash":
            records.insert(i, AuditRecord.build(event(999), seq=i + 1, ts=START, prev_hash=GENESIS_HASH))
            records = rehash_from(records, i)
        elif kind == "reorder":
            j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="other index")
            records[i], records[j] = records[j], records[i]
        elif kind == "truncate":
            records = records[:i]  # i <= n - 1: below the sealing checkpoint at n
        elif kind == "rehash_tail":
            records[i] = edited(records[i], data.draw(st.sampled_from(EDITABLE[:13]), label="content"))
            records = rehash_from(records, i)
        elif kind == "checkpoint_wrong_key":
            cps[c] = ATTACKER.sign(cps[c].size, cps[c].head_hash, cps[c].ts)
        elif kind == "checkpoint_spoofed_key_id":
            cps[c] = forged_with_trusted_key_id(cps[c])
        elif kind == "checkpoint_edited_head":
            cps[c] = cps[c].model_copy(
                update={"head_hash": "a" * 64 if cps[c].head_hash != "a" * 64 else "b" * 64}
            )
        elif kind == "checkpoint_edited_size":
            cps[c] = cps[c].model_copy(update={"size": cps[c].size + data.draw(st.sampled_from([-1, 1]))})
        elif kind == "checkpoint_extra_forged":
            size = data.draw(st.integers(0, n), label="size")
            head = records[size - 1].hash if size else GENESIS_HASH
            cps.append(forged_with_trusted_key_id(cps[c], size=size, head_hash=head))
        else:  # rewrite_and_resign: change history, then re-sign every checkpoint without the key
            records[i] = edited(records[i], "details")
            records = rehash_from(records, i)
            by_seq = {r.seq: r.hash for r in records}
            cps = [forged_with_trusted_key_id(cp, head_hash=by_seq.get(cp.size, cp.head_hash)) for cp in cps]
        return records, cps

    return mutate


# ---- properties ---------------------------------------------------------------------------------


@LIGHT
@given(chains)
def test_an_untouched_chain_verifies(chain: tuple[list[AuditEvent], int]) -> None:
    items, every = chain
    records, checkpoints = build_chain(items, every=every)
    report = verify_records(records, checkpoints, VERIFIER, require_signed_tail=True)
    assert report.ok, report.problem
    assert report.records_checked == len(records)
    assert report.checkpoints_checked == len(checkpoints)
    assert report.first_bad_seq is None


@pytest.mark.parametrize("kind", MUTATIONS)
@PROPERTY
@given(chain=chains, data=st.data())
def test_every_mutation_of_a_signed_chain_is_detected(
    kind: str, chain: tuple[list[AuditEvent], int], data: st.DataObject
) -> None:
    items, every = chain
    records, checkpoints = build_chain(items, every=every)
    mutate = draw_mutation(data, kind, len(records), len(checkpoints))
    tampered, tampered_checkpoints = mutate(records, checkpoints)
    report = verify_records(tampered, tampered_checkpoints, VERIFIER)
    assert not report.ok, f"{kind} went undetected"
    assert report.first_bad_seq is not None
    assert report.problem


@LIGHT
@given(st.lists(events, min_size=1, max_size=12), st.data())
def test_every_edited_record_line_of_an_export_is_detected_and_named(
    items: list[AuditEvent], data: st.DataObject
) -> None:
    records, checkpoints = build_chain(items, every=4)
    lines = export_lines(records, checkpoints)
    i = data.draw(st.integers(0, len(records) - 1))
    field = data.draw(st.sampled_from([f for f in EDITABLE if f not in ("seq", "prev_hash", "hash")]))
    document = json.loads(lines[1 + i])
    document[field] = edited(records[i], field).canonical_fields()[field]
    lines[1 + i] = json.dumps(document)
    report = verify_export(lines, SIGNER.public_key_pem())
    assert not report.ok
    assert report.first_bad_seq == i + 1
    assert report.problem == f"record {i + 1}: hash does not match its contents"


@LIGHT
@given(st.lists(events, min_size=2, max_size=12), st.data())
def test_deleting_or_swapping_record_lines_of_an_export_is_detected(
    items: list[AuditEvent], data: st.DataObject
) -> None:
    records, checkpoints = build_chain(items, every=3)
    lines = export_lines(records, checkpoints)
    i = data.draw(st.integers(1, len(records)))
    if data.draw(st.booleans(), label="delete"):
        del lines[i]
    else:
        j = data.draw(st.integers(1, len(records)).filter(lambda j: j != i))
        lines[i], lines[j] = lines[j], lines[i]
    assert not verify_export(lines, SIGNER.public_key_pem()).ok


@LIGHT
@given(events, st.integers(1, 10**6), st.text(min_size=64, max_size=64, alphabet="0123456789abcdef"))
def test_the_fast_canonical_form_is_exactly_canonical_json_of_the_record(
    item: AuditEvent, seq: int, prev: str
) -> None:
    record = AuditRecord.build(item, seq=seq, ts=START, prev_hash=prev)
    fields = record.canonical_fields()
    del fields["hash"]
    assert record.canonical_text() == canonical_json(fields)


# ---- named problems -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hundred() -> tuple[list[AuditRecord], list[SignedCheckpoint]]:
    return build_chain([event(n) for n in range(1, 101)], every=10)


def test_an_edited_record_is_named_by_its_sequence_number(hundred: Any) -> None:
    records, checkpoints = hundred
    records = list(records)
    records[41] = records[41].model_copy(update={"actor": "mallory"})
    report = verify_records(records, checkpoints, VERIFIER)
    assert (report.ok, report.first_bad_seq) == (False, 42)
    assert report.problem == "record 42: hash does not match its contents"


def test_a_rehashed_record_breaks_the_link_from_the_next_one(hundred: Any) -> None:
    records, checkpoints = hundred
    records = list(records)
    changed = records[41].model_copy(update={"actor": "mallory"})
    records[41] = changed.model_copy(update={"hash": changed.compute_hash()})
    report = verify_records(records, checkpoints, VERIFIER)
    assert report.problem == "record 43: prev_hash does not link to record 42"
    assert report.first_bad_seq == 43


def test_a_chain_rehashed_without_the_key_is_caught_by_the_next_checkpoint(hundred: Any) -> None:
    records, checkpoints = hundred
    records = list(records)
    records[41] = records[41].model_copy(update={"details": {"amount": "1.00"}})
    report = verify_records(rehash_from(records, 41), checkpoints, VERIFIER)
    assert report.problem == "checkpoint at 50: head_hash does not match record 50"
    assert report.first_bad_seq == 50


def test_a_deleted_record_is_named_as_missing(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(records[:41] + records[42:], checkpoints, VERIFIER)
    assert report.problem == "record 42 is missing: record 41 is followed by record 43"
    assert report.first_bad_seq == 42


def test_a_tail_cut_below_a_checkpoint_is_named(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(records[:95], checkpoints, VERIFIER)
    assert report.problem == "chain ends at 95 but checkpoint 100 was signed"
    assert report.first_bad_seq == 96


def test_a_checkpoint_with_an_invalid_signature_is_named(hundred: Any) -> None:
    records, checkpoints = hundred
    checkpoints = list(checkpoints)
    checkpoints[2] = checkpoints[2].model_copy(update={"head_hash": records[5].hash})
    report = verify_records(records, checkpoints, VERIFIER)
    assert report.problem == "checkpoint at 30: signature invalid"
    assert report.first_bad_seq == 30


def test_a_checkpoint_signed_by_another_key_is_named(hundred: Any) -> None:
    records, checkpoints = hundred
    checkpoints = [*checkpoints[:3], ATTACKER.sign(40, records[39].hash, START), *checkpoints[4:]]
    report = verify_records(records, checkpoints, VERIFIER)
    assert (
        report.problem
        == f"checkpoint at 40: signed by key {ATTACKER.key_id}, not the trusted key {SIGNER.key_id}"
    )


def test_the_first_bad_place_is_reported_whatever_found_it(hundred: Any) -> None:
    records, checkpoints = hundred
    records = list(records)
    records[80] = records[80].model_copy(update={"actor": "mallory"})
    checkpoints = list(checkpoints)
    checkpoints[1] = checkpoints[1].model_copy(update={"signature": checkpoints[0].signature})
    assert verify_records(records, checkpoints, VERIFIER).problem == "checkpoint at 20: signature invalid"


def _pruned(records: list[AuditRecord], through: int, days_later: int, **details: Any) -> list[AuditRecord]:
    """The chain after a prune through ``through``, its prune record ``days_later`` than its start."""
    stated = {"pruned_through_seq": through, "pruned_through_hash": records[through - 1].hash, **details}
    prune = event(0, type="prune", details=stated)
    when = START + timedelta(days=days_later)
    return [*records[through:], AuditRecord.build(prune, seq=101, ts=when, prev_hash=records[-1].hash)]


def test_a_pruned_chain_verifies_from_its_signed_anchor_and_its_prune_record(hundred: Any) -> None:
    records, checkpoints = hundred
    remainder = _pruned(records, 50, days_later=200)
    sealed = [*checkpoints, SIGNER.sign(101, remainder[-1].hash, START + timedelta(days=200, seconds=1))]
    assert verify_records(remainder, sealed, VERIFIER).ok
    without_prune_record = verify_records(records[50:], checkpoints, VERIFIER)
    assert without_prune_record.problem == "records 1..50 are missing and no prune record accounts for them"
    assert verify_records(records[50:], checkpoints, VERIFIER, partial=True).ok


def test_a_prune_of_records_signed_less_than_six_months_before_it_is_refused(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(_pruned(records, 50, days_later=100), checkpoints, VERIFIER)
    assert report.first_bad_seq == 51
    assert report.problem.endswith("a prune may only remove records signed as older than 183 days")


def test_a_prune_that_states_another_boundary_hash_is_refused(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(
        _pruned(records, 50, days_later=200, pruned_through_hash="a" * 64), checkpoints, VERIFIER
    )
    assert report.problem.startswith("record 101 (prune) states boundary hash aaaaaaaaaaaa… for record 50")


def test_a_prune_dated_after_a_signature_over_it_is_refused(hundred: Any) -> None:
    records, checkpoints = hundred
    remainder = _pruned(records, 50, days_later=200)
    sealed = [*checkpoints, SIGNER.sign(101, remainder[-1].hash, START + timedelta(days=2))]
    report = verify_records(remainder, sealed, VERIFIER)
    assert report.first_bad_seq == 101
    assert "is after a checkpoint over it was signed" in report.problem


def test_a_chain_starting_late_without_an_anchor_is_refused(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(records[44:], checkpoints, VERIFIER, partial=True)
    assert report.problem == "record 45: the chain starts at 45 but no signed checkpoint at 44 anchors it"


def test_records_after_the_last_checkpoint_are_a_warning_not_a_failure(hundred: Any) -> None:
    records, checkpoints = hundred
    report = verify_records(records, checkpoints[:-2], VERIFIER)
    assert report.ok
    assert report.warnings == ["records 81..100 are not yet covered by a signed checkpoint"]
    strict = verify_records(records, checkpoints[:-2], VERIFIER, require_signed_tail=True)
    assert strict.problem == "records 81..100 are not covered by a signed checkpoint"


def test_an_empty_chain_with_a_signed_checkpoint_was_truncated() -> None:
    checkpoint = SIGNER.sign(3, "c" * 64, START)
    assert verify_records([], [checkpoint], VERIFIER).problem == "chain ends at 0 but checkpoint 3 was signed"
    assert verify_records([], [SIGNER.sign(0, GENESIS_HASH, START)], VERIFIER).ok


# ---- exports ------------------------------------------------------------------------------------


def test_an_export_verifies_on_its_own_and_warns_when_it_vouched_for_its_own_key(hundred: Any) -> None:
    lines = export_lines(*hundred)
    trusted = verify_export(lines, SIGNER.public_key_pem())
    assert trusted.ok and trusted.records_checked == 100 and trusted.warnings == []
    untrusted = verify_export(lines)
    assert untrusted.ok
    assert "came from the export itself" in untrusted.warnings[0]


def test_an_export_checked_against_another_trusted_key_fails(hundred: Any) -> None:
    report = verify_export(export_lines(*hundred), ATTACKER.public_key_pem())
    assert not report.ok
    assert "not the trusted key" in report.problem


def test_a_tampered_export_line_is_named(hundred: Any) -> None:
    lines = export_lines(*hundred)
    document = json.loads(lines[7])
    document["details"]["amount"] = "99999.00"
    lines[7] = json.dumps(document)
    report = verify_export(lines, SIGNER.public_key_pem())
    assert report.problem == "record 7: hash does not match its contents"
    assert report.first_bad_seq == 7


def test_an_export_without_its_sealing_checkpoint_is_refused(hundred: Any) -> None:
    lines = export_lines(*hundred)[:-1]  # the checkpoint at 100
    report = verify_export(lines, SIGNER.public_key_pem())
    assert report.problem == "records 91..100 are not covered by a signed checkpoint"


def test_garbage_in_an_export_is_named_by_its_line() -> None:
    records, checkpoints = build_chain([event(1), event(2)], every=1)
    lines = export_lines(records, checkpoints)
    lines[2] = "{not json"
    assert verify_export(lines, SIGNER.public_key_pem()).problem == "line 3: not a JSON object"
    assert verify_export(["{}"]).problem == f"line 1: not a {EXPORT_FORMAT} header"
    assert verify_export([]).problem == "line 1: the export is empty (no header)"


# ---- events, keys, stores -----------------------------------------------------------------------


def test_an_event_refuses_floats_huge_integers_and_non_string_keys() -> None:
    with pytest.raises(ValidationError, match="floating-point"):
        AuditEvent(type="read", actor="a", details={"x": 1.5})
    with pytest.raises(ValidationError, match="2\\*\\*53"):
        AuditEvent(type="read", actor="a", details={"x": 2**60})
    with pytest.raises(ValidationError, match="keys must be strings"):
        AuditEvent(type="read", actor="a", details={"x": {1: "one"}})
    with pytest.raises(ValidationError, match="lone surrogate"):
        AuditEvent(type="read", actor="a", details={"note": "half a pair \ud800"})
    with pytest.raises(ValidationError):
        AuditEvent(type="chat", actor="a")  # type: ignore[arg-type]


def test_an_event_keeps_amounts_and_dates_as_exact_text_and_copies_its_dicts() -> None:
    details: dict[str, Any] = {"amount": Decimal("1234.50"), "due": date(2026, 3, 1), "lines": ({"n": 1},)}
    item = AuditEvent(type="proposal", actor="a", details=details)
    details["amount"] = "0"
    assert item.details == {"amount": "1234.50", "due": "2026-03-01", "lines": [{"n": 1}]}


def test_timestamps_are_written_in_utc_with_microseconds() -> None:
    from datetime import timezone

    moment = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_ts(moment) == "2026-05-01T10:00:00.000000+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_ts(datetime(2026, 5, 1))


def test_a_signer_reads_a_base64_seed_or_a_pem_key_and_never_shows_it() -> None:
    secret = generate_signing_secret()
    signer = CheckpointSigner.from_secret(SecretStr(secret))
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(secret)).decode().rstrip("=")
    assert CheckpointSigner.from_secret(SecretStr(urlsafe)).key_id == signer.key_id
    pem = ATTACKER_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert CheckpointSigner.from_secret(SecretStr(pem)).key_id == ATTACKER.key_id
    assert secret not in repr(signer)
    assert len(signer.key_id) == 16
    assert CheckpointVerifier(signer.public_key_pem()).key_id == signer.key_id


def test_a_bad_signing_secret_is_refused_without_echoing_it() -> None:
    for bad in ("too-short", base64.b64encode(b"x" * 16).decode(), "-----BEGIN PRIVATE KEY-----\nnope\n"):
        with pytest.raises(ValueError) as caught:
            CheckpointSigner.from_secret(SecretStr(bad))
        assert bad not in str(caught.value)


def test_a_signed_checkpoint_round_trips_through_its_json() -> None:
    checkpoint = SIGNER.sign(7, "d" * 64, START)
    again = SignedCheckpoint.model_validate_json(checkpoint.to_json())
    assert again == checkpoint
    assert VERIFIER.problem(again) is None


def test_the_in_memory_store_lists_checkpoints_by_size() -> None:
    store = InMemoryCheckpointStore()
    for size in (20, 10, 30):
        store.put(SIGNER.sign(size, "d" * 64, START))
    assert [cp.size for cp in store.all()] == [10, 20, 30]
    latest = store.latest()
    assert latest is not None and latest.size == 30

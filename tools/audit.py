"""The audit trail: log the action, not the chat, in a form nobody can quietly change.

Every step taken on the ERP (a read, a proposal, a decision, a refused token, a commit, ...) is
one *record* in an append-only, hash-chained table. Every N records or T seconds a *checkpoint*
(the chain's size and head hash) is signed with an Ed25519 key and written to a store kept apart
from the database (another directory, bucket or host). Together:

* editing, inserting, deleting or reordering a record breaks the hash chain;
* rewriting the chain from some record on (recomputing every later hash) no longer matches the
  signed checkpoints, and forging a checkpoint needs the private key;
* cutting the tail is seen when the chain is shorter than a signed checkpoint.

Limits, stated plainly: records appended after the latest checkpoint are protected by the chain
only, so someone able to write to the database can cut or rewrite that unsigned tail unnoticed
(that is why checkpoints are also signed by time, and why records a checkpoint was due for and
still uncovered fail verification); a correctly chained record appended by someone who can write
to the table looks like any other, and the application signs whatever chain it finds at its next
checkpoint. A prune, though, must be provable from signatures made before it (below). The
database's own guards stop everyone who is not its administrator. Whoever holds the signing key
can re-sign a rewritten chain: keep it where the data's administrators cannot read it, and keep
copies of the checkpoints where the application cannot rewrite them.

Record format (version 1)
=========================
A record is a JSON object with exactly these members::

    seq              integer: 1, 2, 3, ... without gaps
    ts               string: UTC time "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" (always six fraction
                     digits, always "+00:00"); never decreases from one record to the next
    type             string: read, proposal, decision, token_refused, access_denied,
                     rate_limited, commit, commit_failed, compensation, policy_change, expiry, prune,
                     signing_key (a key made, rotated or replaced: details.change is created,
                     rotated or replaced_missing; details.key_id and public_key_pem the new key)
    actor            string: who acted (the agent's principal or a person)
    on_behalf_of, tool, proposal_id, thread_id, idempotency_key, fingerprint
                     string or null
    evidence         array of strings (digests of the ERP data the step relied on)
    gate             object or null (policy version, rule, approvers)
    result           object or null (the ERP document reference)
    details          object (anything else)
    prev_hash        string: the ``hash`` of record seq - 1; 64 zeros ("0" * 64) for record 1
    hash             string: 64 lower-case hex digits, see below

``hash`` = lower-case hex SHA-256 of the *canonical form* of the record object without its
``hash`` member (so ``prev_hash`` is covered, which chains the records).

The canonical form is the JSON text that Python's ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` produces, encoded as UTF-8. Spelled out:

* no whitespace outside strings; object members sorted by key, comparing keys by Unicode code point;
* strings in double quotes; ``"`` and ``\\`` are written ``\\"`` and ``\\\\``; U+0008, U+0009,
  U+000A, U+000C, U+000D are written ``\\b \\t \\n \\f \\r``; every other character below U+0020
  is written ``\\u00xx`` (lower-case hex); every other character is written as itself, non-ASCII
  included (as UTF-8 bytes);
* integers in plain decimal (records hold only integers within +-(2**53 - 1), so every JSON
  parser reads them exactly); ``true``, ``false``, ``null``. Records hold no floating-point
  numbers: the writer refuses them, so no number-formatting question arises.

For the values records can hold this is RFC 8785 (JCS), except that JCS orders keys by UTF-16
code units; the two orders differ only between keys with characters above U+FFFF and keys with
characters in U+E000..U+FFFF.

Checkpoint format
=================
A signed checkpoint is the JSON object ``{"head_hash", "key_id", "signature", "size", "ts"}``:

* ``size``: the ``seq`` of the record it covers (0 for an empty chain); ``head_hash``: that record's
  ``hash`` (64 zeros for size 0); ``ts``: when it was signed, in the record ``ts`` format;
* ``key_id``: the first 16 hex digits of SHA-256 over the raw 32-byte Ed25519 public key;
* ``signature``: standard base64 (with padding) of the Ed25519 signature over the bytes
  ``b"countersign-audit-checkpoint/v1\\n"`` followed by the canonical form of
  ``{"head_hash", "key_id", "size", "ts"}``.

How a chain is verified (``verify_records``)
============================================
1. Every checkpoint's signature must verify with the trusted public key (and carry its key id).
   Keys retired by a rotation stay trusted for checkpoints below the record that retired them;
   checkpoints of a key replaced because it was missing are set aside (a warning says so).
2. Records, in order: ``seq`` goes up by exactly one; each record's ``hash`` is recomputed; each
   ``prev_hash`` equals the previous record's ``hash``; record 1's ``prev_hash`` is 64 zeros;
   ``ts`` never decreases.
3. Every checkpoint's ``head_hash`` equals the hash of record ``size``; a checkpoint beyond the
   last record means the tail was cut.
4. A chain that starts after record 1 (pruned, or a partial export) must start right after a
   valid checkpoint: its first record's ``prev_hash`` equals that checkpoint's ``head_hash``. In
   the database (not in an export), the latest ``prune`` record must also prove the prune:
   ``details.pruned_through_seq`` is the record before the first one; ``details.pruned_through_hash``
   is the first record's ``prev_hash``; a valid checkpoint at that boundary was signed at least
   ``MIN_RETENTION_DAYS`` (183) days before the prune record's ``ts`` (so every removed record was
   older than that when it was removed); and the prune's ``ts`` is neither in the verifier's future
   nor later than any checkpoint signed over it (both with ``CLOCK_SKEW``, 10 minutes, of slack).
5. In the database, records after the latest checkpoint are a warning, unless one of them was
   appended at least the checkpoint interval (plus the slack) after that checkpoint and is itself
   older than the interval: the trail signs whenever a checkpoint is due, so that tail means
   checkpoints were deleted or could not be written, and verification fails. With no checkpoint
   at all, any record older than the interval fails it.
The report names the *first* bad sequence number and what is wrong with it.

Export format (``export``, ``verify_export``)
=============================================
JSON lines. Line 1 is a header ``{"format": "countersign-audit-export", "version": 2,
"public_key_pem", "key_id", "exported_at", "since", "until", "first_seq", "last_seq", "count",
"first_hash", "last_hash", "signature"}``; then one record object per line (the members above,
``hash`` included), in ``seq`` order; then the checkpoints of the current key (objects with a
``signature``). A range export starts at the last signed checkpoint at or before its first record
(so it may open with a few records older than ``since``), and the exporter signs a checkpoint at
its last record, so every exported record is covered by a signature.

The header's ``signature`` is standard base64 of the Ed25519 signature over the bytes
``b"countersign-audit-export-header/v2\n"`` followed by the canonical form of the header without
its ``signature`` member. The exporter signs it only after the range verified (otherwise it is
``null`` and the export fails verification). ``verify_export`` checks the records and checkpoints
with the steps above (no prune rules: the range may start at any valid checkpoint), then the
header's signature, then that ``first_seq``, ``last_seq``, ``count``, ``first_hash`` and
``last_hash`` are exactly the records read: an export cut at a checkpoint, header edited or not,
fails. What a verified export proves is exactly that range (``VerifyReport.proves``): those
records, unaltered, as the trail held them when it was exported; ``since``/``until`` say what was
asked for. Version 1 exports (unsigned headers) are refused. An auditor verifies an export with a
public key obtained *independently* of the export (the header's key is a convenience, not a trust
anchor).

Storage
=======
Table ``audit_records`` (one column per member; ``evidence``, ``gate``, ``result`` and
``details`` hold their canonical JSON text, ``ts`` its canonical text, so the stored bytes are
exactly the hashed bytes) and a one-row control table ``audit_retention(pruned_through_seq,
pruned_through_hash)``. The database itself refuses UPDATE and DELETE on ``audit_records``
(SQLite triggers; a PostgreSQL trigger function, a TRUNCATE trigger and revoked privileges),
except DELETE of records at or below ``pruned_through_seq``, which only moves forward. Inserts
must extend the chain at its head. The tables, the guards and the control row are made by the
app database's migrations (``agent/migrations``, baseline revision), not here: once migrated, the
application needs no DDL rights. On PostgreSQL, also run the application as a role that does
not own the tables and holds only SELECT, INSERT on ``audit_records`` and SELECT, UPDATE on
``audit_retention``: a table's owner can drop its triggers.

Retention
=========
``prune`` never keeps less than ``MIN_RETENTION_DAYS`` (183 days, the EU AI Act's six months for
automatic logs of high-risk systems); bookkeeping law often asks for years, so configure more.
It checks the chain, picks the latest checkpoint signed before the cutoff (never one signed now:
the app signs whatever it finds, so only an earlier signature proves what the removed records
were and how old), moves the pruning mark to it, deletes the records through it and appends a
``prune`` record stating the boundary (``pruned_through_seq``, ``pruned_through_hash``) and that
checkpoint (``size``, ``head_hash``, ``key_id``, ``ts``); the remainder stays verifiable from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Final, Literal, Protocol, get_args
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

__all__ = [
    "EVENT_TYPES",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "MIN_RETENTION_DAYS",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditRecord",
    "AuditTrail",
    "CheckpointSigner",
    "CheckpointStore",
    "CheckpointStoreError",
    "CheckpointVerifier",
    "DirectoryCheckpointStore",
    "EventType",
    "InMemoryCheckpointStore",
    "KeyRing",
    "ProvenRange",
    "PruneReport",
    "RetentionError",
    "RetiredKey",
    "SignedCheckpoint",
    "VerifyReport",
    "canonical_json",
    "format_ts",
    "generate_signing_secret",
    "verify_export",
    "verify_records",
]

log = logging.getLogger(__name__)

EventType = Literal[
    "read",
    "proposal",
    "decision",
    "token_refused",
    "access_denied",
    "rate_limited",
    "commit",
    "commit_failed",
    "compensation",
    "policy_change",
    "expiry",
    "prune",
    "signing_key",
]
EVENT_TYPES: Final[frozenset[str]] = frozenset(get_args(EventType))

GENESIS_HASH: Final = "0" * 64
MIN_RETENTION_DAYS: Final = 183
EXPORT_FORMAT: Final = "countersign-audit-export"
FORMAT_VERSION: Final = 1
EXPORT_VERSION: Final = 2
# Two processes' clocks may disagree a little; a record time this far ahead of a signature over it,
# or of the verifier's clock, is still taken as honest. Far below anything a prune could gain.
CLOCK_SKEW: Final = timedelta(minutes=10)
RECORD_FIELDS: Final[tuple[str, ...]] = (
    "seq",
    "ts",
    "type",
    "actor",
    "on_behalf_of",
    "tool",
    "proposal_id",
    "thread_id",
    "idempotency_key",
    "fingerprint",
    "evidence",
    "gate",
    "result",
    "details",
    "prev_hash",
    "hash",
)
_RECORD_KEYS: Final = frozenset(RECORD_FIELDS)
# Domain separation: a signature made for a checkpoint can never be passed off as one over other data.
_CHECKPOINT_CONTEXT: Final = b"countersign-audit-checkpoint/v1\n"
_EXPORT_CONTEXT: Final = b"countersign-audit-export-header/v2\n"
_MAX_SAFE_INT: Final = 2**53 - 1
_HEX64: Final = r"^[0-9a-f]{64}$"
_FETCH_BATCH: Final = 2000
_NULL: Final = "null"

# The canonical form of a record without its hash, members already in sorted key order. Building
# it by formatting (rather than json.dumps of a dict) is what lets ``verify`` run at millions of
# records a minute; a unit test pins it to ``canonical_json`` of the same record.
_TEMPLATE: Final = (
    '{"actor":%s,"details":%s,"evidence":%s,"fingerprint":%s,"gate":%s,"idempotency_key":%s,'
    '"on_behalf_of":%s,"prev_hash":%s,"proposal_id":%s,"result":%s,"seq":%d,"thread_id":%s,'
    '"tool":%s,"ts":%s,"type":%s}'
)


# ---- canonical form -----------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module docstring); hash its UTF-8 bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_ts(moment: datetime) -> str:
    """A timezone-aware time as the trail writes it: UTC, microseconds, ``+00:00``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical_text(
    seq: int,
    ts: str,
    type_: str,
    actor: str,
    on_behalf_of: str | None,
    tool: str | None,
    proposal_id: str | None,
    thread_id: str | None,
    idempotency_key: str | None,
    fingerprint: str | None,
    evidence: str,
    gate: str | None,
    result: str | None,
    details: str,
    prev_hash: str,
    *_ignored: object,
) -> str:
    # ``*_ignored`` takes the trailing ``hash`` column, so a database row can be splatted in as is.
    enc = encode_basestring
    return _TEMPLATE % (
        enc(actor),
        details,
        evidence,
        _NULL if fingerprint is None else enc(fingerprint),
        _NULL if gate is None else gate,
        _NULL if idempotency_key is None else enc(idempotency_key),
        _NULL if on_behalf_of is None else enc(on_behalf_of),
        enc(prev_hash),
        _NULL if proposal_id is None else enc(proposal_id),
        _NULL if result is None else result,
        seq,
        _NULL if thread_id is None else enc(thread_id),
        _NULL if tool is None else enc(tool),
        enc(ts),
        enc(type_),
    )


def _sha256_hex(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _check_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8 form, so it could never be hashed the same way twice.
        raise ValueError(f"{where}: text with a lone surrogate cannot be recorded") from None


def _json_safe(value: Any, where: str) -> Any:
    """``value`` as plain JSON data the canonical form is defined for, or a ValueError saying why not."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return int(value)
        raise ValueError(f"{where}: integer {value} is beyond +-(2**53 - 1); record it as a string")
    if isinstance(value, str):
        _check_text(value, where)
        return str(value)
    if isinstance(value, float):
        raise ValueError(
            f"{where}: floating-point numbers are not recorded (their text differs between languages);"
            " use an int or a string"
        )
    # Domain values that have one obvious, lossless text form are converted, so callers can pass
    # amounts and dates as they hold them.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_ts(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return _json_safe(value.value, where)
    if isinstance(value, BaseModel):
        return _json_safe(value.model_dump(mode="json"), where)
    if isinstance(value, list | tuple):
        return [_json_safe(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        safe: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: object keys must be strings, not {key!r}")
            _check_text(key, where)
            safe[key] = _json_safe(item, f"{where}.{key}")
        return safe
    raise ValueError(f"{where}: a {type(value).__name__} is not JSON data; convert it to a string first")


# ---- events and records -------------------------------------------------------------------------


class AuditEvent(BaseModel):
    """One thing that happened, as the caller reports it; the trail adds seq, ts and the hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EventType
    actor: str = Field(min_length=1)
    on_behalf_of: str | None = None
    tool: str | None = None
    proposal_id: str | None = None
    thread_id: str | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    evidence: list[str] = Field(default_factory=list)
    gate: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator(
        "actor", "on_behalf_of", "tool", "proposal_id", "thread_id", "idempotency_key", "fingerprint"
    )
    @classmethod
    def _encodable(cls, value: str | None) -> str | None:
        if value is not None:
            _check_text(value, "text")
        return value

    @field_validator("evidence")
    @classmethod
    def _encodable_evidence(cls, value: list[str]) -> list[str]:
        for item in value:
            _check_text(item, "evidence")
        return value

    @field_validator("gate", "result", "details", mode="before")
    @classmethod
    def _plain_json(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError("must be an object (a dict)")
        # A normalised deep copy: later changes to the caller's dict cannot alter a record.
        return _json_safe(value, "value")


_EVENT_FIELDS: Final = frozenset(AuditEvent.model_fields)


class AuditRecord(AuditEvent):
    """An event as stored: with its place in the chain (``seq``), time and hashes."""

    seq: int = Field(ge=1)
    ts: datetime
    prev_hash: str = Field(pattern=_HEX64)
    hash: str = Field(pattern=_HEX64)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def event(self) -> AuditEvent:
        return AuditEvent.model_validate(self.model_dump(include=set(_EVENT_FIELDS)))

    @classmethod
    def build(cls, event: AuditEvent, *, seq: int, ts: datetime, prev_hash: str) -> AuditRecord:
        """A record with its hash computed (for tools and tests that assemble chains themselves)."""
        fields = event.model_dump()
        draft = cls.model_validate(
            {**fields, "seq": seq, "ts": ts, "prev_hash": prev_hash, "hash": GENESIS_HASH}
        )
        return draft.model_copy(update={"hash": draft.compute_hash()})

    def canonical_fields(self) -> dict[str, Any]:
        """The record as JSON data (``ts`` as its canonical text), ``hash`` included."""
        data = self.model_dump()
        data["ts"] = format_ts(self.ts)
        return data

    def canonical_text(self) -> str:
        """The canonical form the hash is computed over (everything but ``hash``)."""
        return _canonical_text(*self._parts())

    def compute_hash(self) -> str:
        return _sha256_hex(self.canonical_text())

    def _parts(self) -> tuple[Any, ...]:
        return (
            self.seq,
            format_ts(self.ts),
            self.type,
            self.actor,
            self.on_behalf_of,
            self.tool,
            self.proposal_id,
            self.thread_id,
            self.idempotency_key,
            self.fingerprint,
            canonical_json(self.evidence),
            None if self.gate is None else canonical_json(self.gate),
            None if self.result is None else canonical_json(self.result),
            canonical_json(self.details),
            self.prev_hash,
        )


def _record_from_row(row: Sequence[Any]) -> AuditRecord:
    (seq, ts, type_, actor, on_behalf_of, tool, proposal_id, thread_id, idem, fingerprint) = row[:10]
    evidence, gate, result, details, prev_hash, hash_ = row[10:16]
    return AuditRecord.model_validate(
        {
            "seq": seq,
            "ts": datetime.fromisoformat(ts),
            "type": type_,
            "actor": actor,
            "on_behalf_of": on_behalf_of,
            "tool": tool,
            "proposal_id": proposal_id,
            "thread_id": thread_id,
            "idempotency_key": idem,
            "fingerprint": fingerprint,
            "evidence": json.loads(evidence),
            "gate": None if gate is None else json.loads(gate),
            "result": None if result is None else json.loads(result),
            "details": json.loads(details),
            "prev_hash": prev_hash,
            "hash": hash_,
        }
    )


# ---- signing keys and checkpoints ---------------------------------------------------------------


def generate_signing_secret() -> str:
    """A new checkpoint signing key: the base64 text of a random 32-byte Ed25519 seed."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _checkpoint_payload(size: int, head_hash: str, ts: str, key_id: str) -> bytes:
    body = canonical_json({"head_hash": head_hash, "key_id": key_id, "size": size, "ts": ts})
    return _CHECKPOINT_CONTEXT + body.encode("utf-8")


class SignedCheckpoint(BaseModel):
    """The chain's size and head hash at one moment, signed: rewriting history breaks this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int = Field(ge=0)
    head_hash: str = Field(pattern=_HEX64)
    ts: datetime
    key_id: str
    signature: str

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value.astimezone(UTC)

    def signed_bytes(self) -> bytes:
        return _checkpoint_payload(self.size, self.head_hash, format_ts(self.ts), self.key_id)

    def to_json(self) -> str:
        return canonical_json(
            {
                "head_hash": self.head_hash,
                "key_id": self.key_id,
                "signature": self.signature,
                "size": self.size,
                "ts": format_ts(self.ts),
            }
        )


class CheckpointVerifier:
    """Checks checkpoint signatures against one trusted Ed25519 public key."""

    def __init__(self, public_key_pem: str) -> None:
        try:
            key = serialization.load_pem_public_key(public_key_pem.encode("utf-8"))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the checkpoint key must be an Ed25519 public key")
        self._key = key
        self.key_id = _key_id(key)

    def problem(self, checkpoint: SignedCheckpoint) -> str | None:
        """None if ``checkpoint`` is genuinely signed by this key, else what is wrong with it."""
        if checkpoint.key_id != self.key_id:
            return f"signed by key {checkpoint.key_id}, not the trusted key {self.key_id}"
        try:
            signature = base64.b64decode(checkpoint.signature, validate=True)
        except (binascii.Error, ValueError):
            return "signature is not base64"
        try:
            self._key.verify(signature, checkpoint.signed_bytes())
        except InvalidSignature:
            return "signature invalid"
        return None

    def export_header_problem(self, header: Mapping[str, Any]) -> str | None:
        """None if an export header is signed by this key and unchanged since, else what is wrong."""
        signature = header.get("signature")
        if not isinstance(signature, str) or not signature:
            return "the header is not signed (its exporter found a trail that does not verify)"
        if header.get("key_id") != self.key_id:
            return f"the header is signed by key {header.get('key_id')}, not the trusted key {self.key_id}"
        try:
            self._key.verify(base64.b64decode(signature, validate=True), _export_header_payload(header))
        except (InvalidSignature, binascii.Error, ValueError):
            return "the header's signature does not match it (it was edited, or signed by another key)"
        return None


class CheckpointSigner:
    """Signs checkpoints with an Ed25519 private key held as a secret (never printed)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public = private_key.public_key()
        self.key_id = _key_id(self._public)

    @classmethod
    def from_secret(cls, secret: SecretStr) -> CheckpointSigner:
        """From a PEM private key, or the base64 (standard or URL-safe) text of a 32-byte seed."""
        value = secret.get_secret_value().strip()
        if value.startswith("-----BEGIN"):
            try:
                key = serialization.load_pem_private_key(value.encode("utf-8"), password=None)
            except (ValueError, TypeError):
                # The message must not echo the secret back.
                raise ValueError("the checkpoint signing key is not a readable PEM private key") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("the checkpoint signing key must be an Ed25519 key")
            return cls(key)
        try:
            padded = value + "=" * (-len(value) % 4)
            seed = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the checkpoint signing key is neither PEM nor base64") from None
        if len(seed) != 32:
            raise ValueError(f"the checkpoint signing key must be a 32-byte seed, not {len(seed)} bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate())

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id!r})"

    def public_key_pem(self) -> str:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def verifier(self) -> CheckpointVerifier:
        return CheckpointVerifier(self.public_key_pem())

    def sign(self, size: int, head_hash: str, ts: datetime) -> SignedCheckpoint:
        payload = _checkpoint_payload(size, head_hash, format_ts(ts), self.key_id)
        signature = base64.b64encode(self._key.sign(payload)).decode("ascii")
        return SignedCheckpoint(
            size=size, head_hash=head_hash, ts=ts, key_id=self.key_id, signature=signature
        )

    def sign_export_header(self, header: Mapping[str, Any]) -> str:
        """The signature of an export header (every member but ``signature``)."""
        return base64.b64encode(self._key.sign(_export_header_payload(header))).decode("ascii")


def _export_header_payload(header: Mapping[str, Any]) -> bytes:
    body = canonical_json({k: v for k, v in header.items() if k != "signature"})
    return _EXPORT_CONTEXT + body.encode("utf-8")


class RetiredKey(BaseModel):
    """A signing key replaced by ``countersign audit rotate-key`` at record ``retired_at_seq``.

    Its checkpoints stay trusted below that record. A key replaced because it was missing has no
    public key on file (``public_key_pem`` None): its checkpoints cannot be checked, and whoever
    took the key could have signed anything with it, so they are set aside, not trusted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str | None
    public_key_pem: str | None
    retired_at_seq: int = Field(ge=1)


class KeyRing:
    """The keys a verification trusts: the current one, and retired ones below their retirement."""

    def __init__(self, current: CheckpointVerifier, retired: Iterable[RetiredKey] = ()) -> None:
        self.current = current
        self.key_id = current.key_id
        self._retired: dict[str, tuple[CheckpointVerifier | None, int]] = {}
        self._lost: list[RetiredKey] = []
        for key in retired:
            if key.public_key_pem is None:
                self._lost.append(key)
                if key.key_id is not None:
                    self._retired[key.key_id] = (None, key.retired_at_seq)
            else:
                verifier = CheckpointVerifier(key.public_key_pem)
                self._retired[verifier.key_id] = (verifier, key.retired_at_seq)
        self.set_aside = 0

    def unverifiable(self, checkpoint: SignedCheckpoint) -> bool:
        """A checkpoint of a key replaced because it was missing: neither trusted nor a problem."""
        entry = self._retired.get(checkpoint.key_id)
        return entry is not None and entry[0] is None and checkpoint.size < entry[1]

    def problem(self, checkpoint: SignedCheckpoint) -> str | None:
        entry = self._retired.get(checkpoint.key_id)
        if checkpoint.key_id == self.key_id or entry is None:
            return self.current.problem(checkpoint)
        verifier, retired_at = entry
        if verifier is None or checkpoint.size >= retired_at:
            return f"signed by key {checkpoint.key_id} after it was retired at record {retired_at}"
        return verifier.problem(checkpoint)

    def warnings(self) -> list[str]:
        return [
            f"key {key.key_id or '(unknown)'} was replaced at record {key.retired_at_seq} because it was"
            f" missing: its checkpoints were set aside unchecked, so records before {key.retired_at_seq}"
            " rest on the new key's checkpoint signed at the replacement; compare them with copies of"
            " older checkpoints or exports"
            for key in self._lost
        ]


# ---- checkpoint stores --------------------------------------------------------------------------


class CheckpointStoreError(RuntimeError):
    """The checkpoint store could not be read or written."""


class CheckpointStore(Protocol):
    """Where signed checkpoints are kept: somewhere the database administrator cannot also rewrite."""

    def put(self, checkpoint: SignedCheckpoint) -> None: ...

    def all(self) -> list[SignedCheckpoint]:
        """Every checkpoint, ordered by size, then time."""
        ...

    def latest(self) -> SignedCheckpoint | None: ...


class InMemoryCheckpointStore:
    """Checkpoints in this process's memory (tests, exports being checked)."""

    def __init__(self, checkpoints: Iterable[SignedCheckpoint] = ()) -> None:
        self._lock = threading.Lock()
        self._items: list[SignedCheckpoint] = list(checkpoints)

    def put(self, checkpoint: SignedCheckpoint) -> None:
        with self._lock:
            self._items.append(checkpoint)

    def all(self) -> list[SignedCheckpoint]:
        with self._lock:
            return sorted(self._items, key=lambda cp: (cp.size, cp.ts))

    def latest(self) -> SignedCheckpoint | None:
        items = self.all()
        return items[-1] if items else None


class DirectoryCheckpointStore:
    """One JSON file per checkpoint in a directory configured apart from the database.

    File names sort by size, then time, so the latest checkpoint is the last name. Files are
    written to a temporary name, synced and then linked into place, so a reader never sees half
    a checkpoint and an existing checkpoint is never overwritten.
    """

    PREFIX: Final = "checkpoint-"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def put(self, checkpoint: SignedCheckpoint) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = checkpoint.ts.strftime("%Y%m%dT%H%M%S%fZ")
        final = self.path / f"{self.PREFIX}{checkpoint.size:016d}-{stamp}-{checkpoint.key_id}.json"
        data = (checkpoint.to_json() + "\n").encode("utf-8")
        temporary = self.path / f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, final)
            except FileExistsError:
                if final.read_bytes() != data:
                    raise CheckpointStoreError(f"{final.name} exists with other contents") from None
            except OSError:
                # Some mounted buckets have no hard links; a rename is atomic there too.
                if final.exists():
                    raise CheckpointStoreError(f"{final.name} already exists") from None
                temporary.replace(final)
        finally:
            temporary.unlink(missing_ok=True)
        self._sync_directory()

    def all(self) -> list[SignedCheckpoint]:
        return [self._load(path) for path in self._files()]

    def latest(self) -> SignedCheckpoint | None:
        files = self._files()
        return self._load(files[-1]) if files else None

    def _files(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(self.path.glob(f"{self.PREFIX}*.json"))

    def _load(self, path: Path) -> SignedCheckpoint:
        try:
            return SignedCheckpoint.model_validate_json(path.read_bytes())
        except (OSError, ValidationError, ValueError) as exc:
            raise CheckpointStoreError(f"{path.name} is not a readable checkpoint ({exc})") from None

    def _sync_directory(self) -> None:
        # The new name must survive a crash as well as the file's contents.
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


# ---- verification -------------------------------------------------------------------------------


class ProvenRange(BaseModel):
    """Exactly which records a verification vouches for (an export: as its signed header says)."""

    model_config = ConfigDict(frozen=True)

    first_seq: int | None
    last_seq: int | None
    count: int
    first_ts: str | None = None
    last_ts: str | None = None
    first_hash: str | None = None
    last_hash: str | None = None
    since: str | None = None
    until: str | None = None

    def sentence(self) -> str:
        if self.first_seq is None:
            return "no records"
        span = f"records {self.first_seq}..{self.last_seq} ({self.count})"
        if self.first_ts and self.last_ts:
            span += f", {self.first_ts} to {self.last_ts}"
        asked = [f"since {self.since}" if self.since else "", f"until {self.until}" if self.until else ""]
        wanted = " ".join(part for part in asked if part)
        return f"{span}, last hash {self.last_hash}" + (f"; exported for {wanted}" if wanted else "")


class VerifyReport(BaseModel):
    """The outcome of a verification: on failure, the first bad sequence number and what is wrong."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    records_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    warnings: list[str] = Field(default_factory=list)
    proves: ProvenRange | None = None


@dataclass(slots=True)
class _Prune:
    seq: int
    ts: str
    details: dict[str, Any]


class _ChainCheck:
    """The verification state machine shared by the database, record and export paths.

    Records are fed in order; checkpoints are either known up front (then only the hashes and
    times at checkpoint sizes are kept) or arrive after the records, as in an export (then every
    hash is kept, 32 bytes a record). Every problem found is kept with its sequence number and the
    smallest one is reported, so the report names the first bad place whatever found it.

    ``checkpoint_interval`` (database only): the trail signs a checkpoint whenever one is due, so
    records left uncovered although one was due, and older than the interval, mean checkpoints
    were deleted (or could not be written).
    """

    def __init__(
        self,
        keys: KeyRing,
        checkpoints: Iterable[SignedCheckpoint] | None,
        *,
        anchored_start_ok: bool,
        require_signed_tail: bool,
        now: datetime | None = None,
        checkpoint_interval: timedelta | None = None,
    ) -> None:
        self._keys = keys
        self._anchored_start_ok = anchored_start_ok
        self._require_signed_tail = require_signed_tail
        self._problems: list[tuple[int, str]] = []
        self._valid: dict[int, list[tuple[str, datetime]]] = {}
        self._checkpoints_checked = 0
        self._deferred = checkpoints is None
        self._all_hashes = bytearray()
        self._hash_at: dict[int, str] = {}
        self._now = now or _utcnow()
        self._interval = checkpoint_interval
        self._latest_size = -1
        self._due_after: str | None = None
        self._first_due: tuple[int, str] | None = None
        self.records_checked = 0
        self.first_seq: int | None = None
        self.first_prev = GENESIS_HASH
        self.first_hash = GENESIS_HASH
        self.first_ts: str | None = None
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.last_ts = ""
        self.last_prune: _Prune | None = None
        self.stopped = False
        if checkpoints is not None:
            self.add_checkpoints(checkpoints)
            if checkpoint_interval is not None:
                self._plan_due(checkpoint_interval)

    def add_checkpoints(self, checkpoints: Iterable[SignedCheckpoint]) -> None:
        for checkpoint in checkpoints:
            if self._keys.unverifiable(checkpoint):
                self._keys.set_aside += 1
                continue
            self._checkpoints_checked += 1
            why = self._keys.problem(checkpoint)
            if why is not None:
                self.problem(checkpoint.size, f"checkpoint at {checkpoint.size}: {why}")
            else:
                self._valid.setdefault(checkpoint.size, []).append((checkpoint.head_hash, checkpoint.ts))

    def _plan_due(self, interval: timedelta) -> None:
        # The latest signed checkpoint, and from when on a record after it should have had one.
        if not self._valid:
            self._due_after = ""
            return
        self._latest_size = max(self._valid)
        signed = max(ts for _, ts in self._valid[self._latest_size])
        self._due_after = format_ts(signed + interval + CLOCK_SKEW)

    def problem(self, seq: int, text: str) -> None:
        self._problems.append((seq, text))

    def stop(self, seq: int, text: str) -> bool:
        self.problem(seq, text)
        self.stopped = True
        return False

    @property
    def expected_seq(self) -> int:
        return self.last_seq + 1 if self.first_seq is not None else 1

    def feed(
        self,
        seq: int,
        ts: str,
        prev_hash: str,
        stored_hash: str,
        computed_hash: str,
        prune: dict[str, Any] | None,
    ) -> bool:
        """Check one record; False (and stop) at the first problem."""
        self.records_checked += 1
        if self.first_seq is None:
            if seq < 1:
                return self.stop(1, f"record {seq}: sequence numbers start at 1")
            self.first_seq = seq
            self.first_prev = prev_hash
            self.first_hash = stored_hash
            self.first_ts = ts
        elif seq != self.last_seq + 1:
            expected = self.last_seq + 1
            if seq > expected:
                return self.stop(
                    expected,
                    f"record {expected} is missing: record {self.last_seq} is followed by record {seq}",
                )
            return self.stop(
                expected, f"record {seq} is out of order or duplicated: it follows record {self.last_seq}"
            )
        if computed_hash != stored_hash:
            return self.stop(seq, f"record {seq}: hash does not match its contents")
        if seq == 1 and prev_hash != GENESIS_HASH:
            return self.stop(1, "record 1: prev_hash is not the genesis value (64 zeros)")
        if seq != self.first_seq and prev_hash != self.last_hash:
            return self.stop(seq, f"record {seq}: prev_hash does not link to record {seq - 1}")
        if ts < self.last_ts:
            return self.stop(seq, f"record {seq}: its time {ts} is before record {seq - 1}'s")
        self.last_seq = seq
        self.last_hash = stored_hash
        self.last_ts = ts
        if self._deferred:
            self._all_hashes += bytes.fromhex(stored_hash)
        elif seq in self._valid:
            self._hash_at[seq] = stored_hash
        if (
            self._due_after is not None
            and self._first_due is None
            and seq > self._latest_size
            and ts >= self._due_after
        ):
            self._first_due = (seq, ts)
        if prune is not None:
            self.last_prune = _Prune(seq, ts, prune)
        return True

    def _hash_of(self, seq: int) -> str:
        assert self.first_seq is not None
        if seq == self.first_seq - 1:
            return self.first_prev
        if self._deferred:
            offset = (seq - self.first_seq) * 32
            return self._all_hashes[offset : offset + 32].hex()
        return self._hash_at[seq]

    def proven(self) -> ProvenRange:
        if self.first_seq is None:
            return ProvenRange(first_seq=None, last_seq=None, count=0)
        return ProvenRange(
            first_seq=self.first_seq,
            last_seq=self.last_seq,
            count=self.records_checked,
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            first_hash=self.first_hash,
            last_hash=self.last_hash,
        )

    def report(self) -> VerifyReport:
        warnings: list[str] = []
        first, last = self.first_seq, self.last_seq
        if first is None:
            beyond = [size for size in self._valid if size > 0]
            if beyond and not self.stopped:
                self.problem(1, f"chain ends at 0 but checkpoint {max(beyond)} was signed")
            if any(head != GENESIS_HASH for head, _ in self._valid.get(0, [])):
                self.problem(0, "checkpoint at 0: head_hash is not the genesis value")
        else:
            self._compare_checkpoints(first, last)
            self._check_start(first)
            covered = max((size for size in self._valid if first - 1 <= size <= last), default=None)
            # A consequence of another problem (a bad signature, a cut) is not reported over it.
            if not self.stopped and not self._problems and (covered is None or covered < last):
                start = first if covered is None else covered + 1
                if self._require_signed_tail:
                    self.problem(start, f"records {start}..{last} are not covered by a signed checkpoint")
                elif self._overdue(start, last):
                    pass  # reported as a problem
                elif covered is None:
                    warnings.append("no signed checkpoint covers this chain yet")
                else:
                    warnings.append(f"records {start}..{last} are not yet covered by a signed checkpoint")
        warnings.extend(self._keys.warnings())
        if not self._problems:
            return VerifyReport(
                ok=True,
                records_checked=self.records_checked,
                checkpoints_checked=self._checkpoints_checked,
                warnings=warnings,
                proves=self.proven(),
            )
        seq, text_ = min(self._problems, key=lambda item: item[0])
        return VerifyReport(
            ok=False,
            records_checked=self.records_checked,
            checkpoints_checked=self._checkpoints_checked,
            first_bad_seq=seq,
            problem=text_,
            warnings=warnings,
        )

    def _overdue(self, start: int, last: int) -> bool:
        """Records a checkpoint was due for, long enough ago, and none came: a problem, reported."""
        if self._first_due is None or self._interval is None:
            return False
        seq, ts = self._first_due
        if ts > format_ts(self._now - self._interval):
            return False  # a checkpoint due so recently may still be being signed
        seconds = f"{self._interval.total_seconds():g} s"
        if self._latest_size < 0:
            why = f"record {seq} is older than the checkpoint interval ({seconds})"
        else:
            why = f"one was due by record {seq} ({seconds} after the checkpoint at {self._latest_size})"
        self.problem(
            seq,
            f"records {start}..{last} are not covered by a signed checkpoint although {why}:"
            " checkpoints were deleted or could not be written",
        )
        return True

    def _compare_checkpoints(self, first: int, last: int) -> None:
        beyond: list[int] = []
        for size, signed in self._valid.items():
            if size < first - 1:
                continue  # covers records pruned away (or before a partial export): nothing to compare
            if size > last:
                beyond.append(size)
                continue
            actual = self._hash_of(size)
            if any(head != actual for head, _ in signed):
                if size == first - 1:
                    self.problem(
                        first, f"record {first}: prev_hash does not match the signed checkpoint at {size}"
                    )
                else:
                    self.problem(size, f"checkpoint at {size}: head_hash does not match record {size}")
        if beyond and not self.stopped:
            self.problem(last + 1, f"chain ends at {last} but checkpoint {max(beyond)} was signed")

    def _check_start(self, first: int) -> None:
        if first == 1:
            return
        if first - 1 not in self._valid:
            self.problem(
                first,
                f"record {first}: the chain starts at {first} but no signed checkpoint at {first - 1} anchors it",
            )
            return
        if self._anchored_start_ok or self.stopped:
            return
        prune = self.last_prune
        through = None if prune is None else _prune_mark(prune.details)
        if prune is None or through is None:
            self.problem(first, f"records 1..{first - 1} are missing and no prune record accounts for them")
        elif through != first - 1:
            self.problem(
                first,
                f"records 1..{first - 1} are missing but the last prune record removed records through"
                f" {through}",
            )
        else:
            self._check_prune(first, prune)

    def _check_prune(self, first: int, prune: _Prune) -> None:
        """A prune is provable: it states its boundary hash, and a checkpoint signed at least
        ``MIN_RETENTION_DAYS`` before the prune covers that boundary, so every removed record
        was older than that when it was removed."""
        boundary = first - 1
        stated = prune.details.get("pruned_through_hash")
        where = f"record {prune.seq} (prune)"
        # The prune's own time is what the age is measured from, so it may not be moved forward:
        # not beyond the verifier's clock, nor beyond a signature made over it.
        if prune.ts > format_ts(self._now + CLOCK_SKEW):
            self.problem(prune.seq, f"record {prune.seq}: its time {prune.ts} is in the future")
            return
        over = [ts for size, signed in self._valid.items() if size >= prune.seq for _, ts in signed]
        if over and prune.ts > format_ts(min(over) + CLOCK_SKEW):
            self.problem(
                prune.seq,
                f"record {prune.seq}: its time {prune.ts} is after a checkpoint over it was signed"
                f" ({format_ts(min(over))})",
            )
            return
        if not isinstance(stated, str):
            self.problem(first, f"{where} does not state the boundary hash of record {boundary}")
            return
        if stated != self.first_prev:
            self.problem(
                first,
                f"{where} states boundary hash {stated[:12]}… for record {boundary}, but record {first}"
                f" links to {self.first_prev[:12]}…",
            )
            return
        signed = [ts for head, ts in self._valid[boundary] if head == stated]
        if not signed:
            return  # the mismatch with the checkpoint is reported by _compare_checkpoints
        earliest = min(signed)
        latest_allowed = datetime.fromisoformat(prune.ts) - timedelta(days=MIN_RETENTION_DAYS)
        if earliest > latest_allowed:
            days = (datetime.fromisoformat(prune.ts) - earliest).days
            before = f"{days} days before it" if earliest <= datetime.fromisoformat(prune.ts) else "after it"
            self.problem(
                first,
                f"{where} removed records 1..{boundary}, but the checkpoint covering record {boundary}"
                f" was signed {before}: a prune may only remove records signed as older than"
                f" {MIN_RETENTION_DAYS} days",
            )


def _prune_mark(details: Any) -> int | None:
    value = details.get("pruned_through_seq") if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _prune_details(details: Any) -> dict[str, Any]:
    return details if isinstance(details, dict) else {}


def _feed_rows(rows: Iterable[Sequence[Any]], check: _ChainCheck) -> None:
    """The hot loop of ``AuditTrail.verify``: plain tuples straight from the database, no models."""
    feed = check.feed
    for row in rows:
        seq = row[0]
        try:
            computed = _sha256_hex(_canonical_text(*row))
            prune = _prune_details(json.loads(row[13])) if row[2] == "prune" else None
        except (TypeError, ValueError) as exc:
            check.stop(check.expected_seq, f"record {seq}: unreadable ({exc})")
            return
        if not feed(seq, row[1], row[14], row[15], computed, prune):
            return


def _ring(keys: CheckpointVerifier | KeyRing) -> KeyRing:
    return keys if isinstance(keys, KeyRing) else KeyRing(keys)


def verify_records(
    records: Iterable[AuditRecord],
    checkpoints: Iterable[SignedCheckpoint],
    verifier: CheckpointVerifier | KeyRing,
    *,
    partial: bool = False,
    require_signed_tail: bool = False,
    now: datetime | None = None,
    checkpoint_interval: timedelta | None = None,
) -> VerifyReport:
    """Verify a chain of records against signed checkpoints (see the module docstring).

    ``partial``: the records are a range that may start at any validly signed checkpoint (an
    export); otherwise a chain that starts after record 1 must also carry the prune record that
    removed the rest. ``require_signed_tail``: records after the last checkpoint are a problem
    rather than a warning. ``checkpoint_interval``: records a checkpoint was due for longer ago
    than this, left uncovered, are a problem (checkpoints deleted).
    """
    check = _ChainCheck(
        _ring(verifier),
        list(checkpoints),
        anchored_start_ok=partial,
        require_signed_tail=require_signed_tail,
        now=now,
        checkpoint_interval=checkpoint_interval,
    )
    for record in records:
        prune = _prune_details(record.details) if record.type == "prune" else None
        if not check.feed(
            record.seq, format_ts(record.ts), record.prev_hash, record.hash, record.compute_hash(), prune
        ):
            break
    return check.report()


_HEADER_CLAIMS: Final = ("first_seq", "last_seq", "count", "first_hash", "last_hash")


def verify_export(
    lines: Iterable[str], trusted_public_key_pem: str | None = None, *, now: datetime | None = None
) -> VerifyReport:
    """Verify an export (JSON lines from ``AuditTrail.export``) on its own, as an auditor would.

    Pass the public key you trust; without one the header's key is used and the report warns
    that the export vouched for itself. The header is signed: an export cut at a checkpoint, with
    its header edited to match, fails. ``proves`` says exactly which records the export vouches for.
    """
    iterator = iter(lines)
    header_line = next(iterator, None)

    def refused(problem: str) -> VerifyReport:
        return VerifyReport(ok=False, records_checked=0, checkpoints_checked=0, problem=problem)

    if header_line is None:
        return refused("line 1: the export is empty (no header)")
    try:
        header = json.loads(header_line)
    except ValueError:
        return refused("line 1: the header is not JSON")
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        return refused(f"line 1: not a {EXPORT_FORMAT} header")
    if header.get("version") != EXPORT_VERSION:
        return refused(
            f"line 1: export version {header.get('version')!r} is not {EXPORT_VERSION}; its header is not"
            " signed, so a cut export cannot be told from a whole one: export the range again"
        )
    pem = trusted_public_key_pem or header.get("public_key_pem")
    if not isinstance(pem, str):
        return refused("line 1: no public key to verify the checkpoints with")
    try:
        verifier = CheckpointVerifier(pem)
    except ValueError as exc:
        return refused(f"public key: {exc}")

    check = _ChainCheck(KeyRing(verifier), None, anchored_start_ok=True, require_signed_tail=True, now=now)
    checkpoints: list[SignedCheckpoint] = []
    for number, raw in enumerate(iterator, start=2):
        line = raw.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            if not check.stopped:
                check.stop(check.expected_seq, f"line {number}: not a JSON object")
            continue
        if "signature" in item:
            try:
                checkpoints.append(SignedCheckpoint.model_validate(item))
            except ValidationError:
                size = item.get("size")
                check.problem(
                    size if isinstance(size, int) else check.expected_seq,
                    f"line {number}: malformed checkpoint",
                )
            continue
        if check.stopped:
            continue
        seq = item.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or set(item) != _RECORD_KEYS:
            check.stop(check.expected_seq, f"line {number}: not a well-formed record")
            continue
        stored, prev, ts = item.pop("hash"), item.get("prev_hash"), item.get("ts")
        try:
            computed = _sha256_hex(canonical_json(item))
        except ValueError:
            computed = ""
        prune = _prune_details(item.get("details")) if item.get("type") == "prune" else None
        check.feed(
            seq,
            ts if isinstance(ts, str) else "",
            prev if isinstance(prev, str) else "",
            stored if isinstance(stored, str) else "",
            computed,
            prune,
        )
    check.add_checkpoints(checkpoints)
    report = check.report()
    if not report.ok:
        return report
    # The records and checkpoints hold; now the signed header must say exactly what they are.
    why = verifier.export_header_problem(header)
    if why is None:
        proven = check.proven()
        held = {name: getattr(proven, name) for name in _HEADER_CLAIMS}
        claimed = {name: header.get(name) for name in _HEADER_CLAIMS}
        if claimed != held:
            why = (
                f"the header says records {claimed['first_seq']}..{claimed['last_seq']}"
                f" ({claimed['count']}), but the export holds records {held['first_seq']}..{held['last_seq']}"
                f" ({held['count']})"
            )
    if why is not None:
        return report.model_copy(
            update={"ok": False, "first_bad_seq": None, "problem": f"line 1: {why}", "proves": None}
        )
    proves = check.proven().model_copy(update={"since": header.get("since"), "until": header.get("until")})
    extra: list[str] = []
    if trusted_public_key_pem is None:
        extra.append(
            f"the public key came from the export itself (key id {verifier.key_id}):"
            " compare it with the key you trust"
        )
    return report.model_copy(update={"warnings": [*report.warnings, *extra], "proves": proves})


# ---- the trail ----------------------------------------------------------------------------------


class RetentionError(ValueError):
    """A retention setting or pruning request that would keep records for too short a time."""


class AuditIntegrityError(RuntimeError):
    """The trail failed verification, so an operation that would vouch for it was refused."""


class PruneReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    removed: int
    pruned_through_seq: int
    cutoff: datetime
    checkpoint: SignedCheckpoint | None = None
    record: AuditRecord | None = None


metadata = MetaData()

_SEQ = BigInteger().with_variant(
    Integer(), "sqlite"
)  # INTEGER PRIMARY KEY is SQLite's rowid: fast and compact

audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    # Text, not a timestamp type: the stored text is exactly the hashed text, and the fixed-width
    # UTC form sorts correctly as text.
    Column("ts", String(32), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("actor", String, nullable=False),
    Column("on_behalf_of", String),
    Column("tool", String),
    Column("proposal_id", String, index=True),
    Column("thread_id", String),
    Column("idempotency_key", String, index=True),
    Column("fingerprint", String),
    # Canonical JSON text, not JSON/JSONB: PostgreSQL's jsonb reorders keys and would change the bytes.
    Column("evidence", Text, nullable=False),
    Column("gate", Text),
    Column("result", Text),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_retention = Table(
    "audit_retention",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("pruned_through_seq", _SEQ, nullable=False),
    Column("pruned_through_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="audit_retention_one_row"),
)

_COLUMNS: Final = ", ".join(RECORD_FIELDS)
_SELECT: Final = f"SELECT {_COLUMNS} FROM audit_records"
_HEAD_SQL: Final = "SELECT seq, hash, ts FROM audit_records ORDER BY seq DESC LIMIT 1"
_CONTROL_SQL: Final = "SELECT pruned_through_seq, pruned_through_hash FROM audit_retention WHERE id = 1"

_INSERT_SQL: Final = (
    f"INSERT INTO audit_records ({_COLUMNS}) VALUES ({', '.join(':' + name for name in RECORD_FIELDS)})"
)


class _Tx(Protocol):
    """The few statements a write transaction needs, whichever way it talks to the database."""

    def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None: ...

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int: ...

    def insert(self, rows: list[dict[str, Any]]) -> None: ...


class _SqliteTx:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self._cursor.execute(sql, dict(params or {})).fetchone()
        return row

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        return int(self._cursor.execute(sql, dict(params or {})).rowcount)

    def insert(self, rows: list[dict[str, Any]]) -> None:
        self._cursor.executemany(_INSERT_SQL, rows)


class _SqlAlchemyTx:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        return self._conn.execute(text(sql), dict(params or {})).first()

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        return int(self._conn.execute(text(sql), dict(params or {})).rowcount)

    def insert(self, rows: list[dict[str, Any]]) -> None:
        self._conn.execute(audit_records.insert(), rows)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An event's JSON members serialised once, outside the write lock."""

    event: AuditEvent
    evidence: str
    gate: str | None
    result: str | None
    details: str


@dataclass(slots=True)
class _Head:
    seq: int
    hash: str
    ts: str | None


class AuditTrail:
    """The append-only, hash-chained, checkpoint-signed audit trail in the app database."""

    def __init__(
        self,
        engine: Engine,
        *,
        signer: CheckpointSigner,
        checkpoint_store: CheckpointStore,
        checkpoint_every_records: int = 1000,
        checkpoint_every_seconds: float = 300,
        clock: Callable[[], datetime] = _utcnow,
        retired_keys: Iterable[RetiredKey] = (),
    ) -> None:
        if checkpoint_every_records < 1:
            raise ValueError("checkpoint_every_records must be at least 1")
        if checkpoint_every_seconds <= 0:
            raise ValueError("checkpoint_every_seconds must be positive")
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"the audit trail supports SQLite and PostgreSQL, not {dialect}")
        self._engine = engine
        self._sqlite = dialect == "sqlite"
        self._signer = signer
        self._retired = tuple(retired_keys)
        self._store = checkpoint_store
        self._every_records = checkpoint_every_records
        self._every = timedelta(seconds=checkpoint_every_seconds)
        self._clock = clock
        self._checkpoint_lock = threading.Lock()
        self._last_checkpoint: SignedCheckpoint | None = None
        self._last_checkpoint_known = False

    @property
    def signer(self) -> CheckpointSigner:
        return self._signer

    @property
    def checkpoint_store(self) -> CheckpointStore:
        return self._store

    def keys(self) -> KeyRing:
        """The keys this trail's checkpoints are verified with: the signer's and the retired ones."""
        return KeyRing(self._signer.verifier(), self._retired)

    # -- writing --

    def append(self, event: AuditEvent) -> AuditRecord:
        """Append one record, then sign a checkpoint if one is due."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[AuditRecord]:
        """Append records in one transaction (consecutive seqs), then sign a checkpoint if one is due."""
        prepared = [self._prepare(event) for event in events]
        if not prepared:
            return []
        with self._transaction() as tx:
            head = self._lock_head(tx)
            records, rows = self._chain(head, prepared)
            tx.insert(rows)
        self._after_append(records[-1])
        return records

    def append_in(self, conn: Connection, events: Iterable[AuditEvent]) -> list[AuditRecord]:
        """Append records inside the caller's transaction on this trail's database (``conn``), so
        they exist if and only if what that transaction records does (a decision and its audit
        record are one fact). The caller calls ``settle`` with the last record once it committed."""
        prepared = [self._prepare(event) for event in events]
        if not prepared:
            return []
        tx = _SqlAlchemyTx(conn)
        head = self._lock_head(tx)
        records, rows = self._chain(head, prepared)
        tx.insert(rows)
        return records

    def settle(self, last: AuditRecord) -> None:
        """After a committed ``append_in``: sign a checkpoint if one is due."""
        self._after_append(last)

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        """One write transaction holding the trail's write lock from its first statement."""
        if not self._sqlite:
            with self._engine.begin() as conn:
                yield _SqlAlchemyTx(conn)
            return
        # SQLite goes through the driver: a quarter of the cost of the same statements through
        # SQLAlchemy, and BEGIN IMMEDIATE whatever the engine's own transaction handling. The
        # write lock is taken before the head is read, so no other writer, thread or process,
        # can slip in between reading the head and inserting after it.
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(cursor)
                cursor.execute("COMMIT")
            except BaseException:
                # A failed COMMIT may already have ended the transaction; the original error matters.
                with suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        finally:
            raw.close()

    def _prepare(self, event: AuditEvent) -> _Prepared:
        return _Prepared(
            event=event,
            evidence=canonical_json(event.evidence),
            gate=None if event.gate is None else canonical_json(event.gate),
            result=None if event.result is None else canonical_json(event.result),
            details=canonical_json(event.details),
        )

    def _lock_head(self, tx: _Tx) -> _Head:
        """Read the chain's head inside a write transaction (on PostgreSQL, locking the control row)."""
        control = tx.first(_CONTROL_SQL if self._sqlite else _CONTROL_SQL + " FOR UPDATE")
        if control is None:
            raise RuntimeError(
                "the audit trail's control row is missing: upgrade the app database first (countersign db upgrade)"
            )
        head = tx.first(_HEAD_SQL)
        if head is None:
            return _Head(int(control[0]), str(control[1]), None)
        return _Head(int(head[0]), str(head[1]), str(head[2]))

    def _chain(
        self, head: _Head, prepared: Sequence[_Prepared]
    ) -> tuple[list[AuditRecord], list[dict[str, Any]]]:
        seq, prev, last_ts = head.seq, head.hash, head.ts
        records: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        for item in prepared:
            seq += 1
            ts = format_ts(self._clock())
            # A clock stepping back must not make time run backwards along the chain: time ranges
            # are then seq ranges, and an export's range is one contiguous piece of the chain.
            if last_ts is not None and ts < last_ts:
                ts = last_ts
            e = item.event
            digest = _sha256_hex(
                _canonical_text(
                    seq,
                    ts,
                    e.type,
                    e.actor,
                    e.on_behalf_of,
                    e.tool,
                    e.proposal_id,
                    e.thread_id,
                    e.idempotency_key,
                    e.fingerprint,
                    item.evidence,
                    item.gate,
                    item.result,
                    item.details,
                    prev,
                )
            )
            row = {
                "seq": seq,
                "ts": ts,
                "type": e.type,
                "actor": e.actor,
                "on_behalf_of": e.on_behalf_of,
                "tool": e.tool,
                "proposal_id": e.proposal_id,
                "thread_id": e.thread_id,
                "idempotency_key": e.idempotency_key,
                "fingerprint": e.fingerprint,
                "evidence": item.evidence,
                "gate": item.gate,
                "result": item.result,
                "details": item.details,
                "prev_hash": prev,
                "hash": digest,
            }
            rows.append(row)
            # The event was validated when it was made; constructing skips validating it twice.
            fields = e.__dict__
            records.append(
                AuditRecord.model_construct(
                    **fields, seq=seq, ts=datetime.fromisoformat(ts), prev_hash=prev, hash=digest
                )
            )
            prev, last_ts = digest, ts
        return records, rows

    # -- checkpoints --

    def checkpoint(self) -> SignedCheckpoint:
        """Sign and store a checkpoint at the current head."""
        head = self._read_head()
        return self._sign_and_store(head.seq, head.hash)

    def maybe_checkpoint(self) -> SignedCheckpoint | None:
        """Sign a checkpoint if one is due by time or count (for a worker's timer)."""
        head = self._read_head()
        if head.seq == 0 or not self._due(head.seq, refresh=True):
            return None
        return self._sign_and_store(head.seq, head.hash)

    def _after_append(self, last: AuditRecord) -> None:
        if not self._due(last.seq, refresh=False):
            return
        with self._checkpoint_lock:
            # Another thread or process may have signed meanwhile: ask the store before signing.
            if not self._due(last.seq, refresh=True):
                return
            try:
                self._sign_and_store(last.seq, last.hash)
            except Exception:
                # The record is committed; failing the append now would invite a duplicate retry.
                # The next append tries again, as the checkpoint is still due.
                log.exception("audit checkpoint at %d could not be signed or stored", last.seq)

    def _due(self, seq: int, *, refresh: bool) -> bool:
        if refresh or not self._last_checkpoint_known:
            try:
                self._last_checkpoint = self._store.latest()
            except Exception:
                log.exception("the audit checkpoint store could not be read")
                return False
            self._last_checkpoint_known = True
        last = self._last_checkpoint
        if last is None:
            return True
        if seq <= last.size:
            return False
        return seq - last.size >= self._every_records or self._clock() - last.ts >= self._every

    def _sign_and_store(self, size: int, head_hash: str) -> SignedCheckpoint:
        checkpoint = self._signer.sign(size, head_hash, self._clock())
        self._store.put(checkpoint)
        last = self._last_checkpoint
        if last is None or checkpoint.size >= last.size:
            self._last_checkpoint = checkpoint
            self._last_checkpoint_known = True
        return checkpoint

    # -- reading --

    def _iter_rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> Generator[Sequence[Any], None, None]:
        """Stream rows without taking any write lock.

        SQLite goes through the raw driver connection: an engine that opens every transaction
        with BEGIN IMMEDIATE would otherwise hold the write lock for a whole verify or export.
        """
        values = dict(params or {})
        if self._sqlite:
            raw = self._engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute(sql, values)
                    while batch := cursor.fetchmany(_FETCH_BATCH):
                        yield from batch
                finally:
                    cursor.close()
            finally:
                raw.close()
            return
        with self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=_FETCH_BATCH).execute(
                text(sql), values
            )
            yield from result

    def _first_row(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        # Closed at once, so the connection goes back to the pool now rather than whenever the
        # half-read generator is collected.
        with closing(self._iter_rows(sql, params)) as rows:
            return next(rows, None)

    def _read_head(self) -> _Head:
        head = self._first_row(_HEAD_SQL)
        if head is not None:
            return _Head(int(head[0]), str(head[1]), str(head[2]))
        control = self._first_row(_CONTROL_SQL)
        if control is None:
            raise RuntimeError(
                "the audit trail's control row is missing: upgrade the app database first (countersign db upgrade)"
            )
        return _Head(int(control[0]), str(control[1]), None)

    def head(self) -> tuple[int, str]:
        """The last record's seq and hash (0 and 64 zeros for an empty trail)."""
        head = self._read_head()
        return head.seq, head.hash

    def records(
        self,
        *,
        since_seq: int | None = None,
        until_seq: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        proposal_id: str | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
        types: Iterable[EventType] | None = None,
        person: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[AuditRecord]:
        """Records in seq order (or newest first), streamed. ``since``/``until`` are a half-open time
        range; seqs inclusive. ``person`` matches the actor or whoever an identity acted for."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for name, value, clause in (
            ("since_seq", since_seq, "seq >= :since_seq"),
            ("until_seq", until_seq, "seq <= :until_seq"),
            ("since", None if since is None else format_ts(since), "ts >= :since"),
            ("until", None if until is None else format_ts(until), "ts < :until"),
            ("proposal_id", proposal_id, "proposal_id = :proposal_id"),
            ("idempotency_key", idempotency_key, "idempotency_key = :idempotency_key"),
            ("actor", actor, "actor = :actor"),
            ("person", person, "(actor = :person OR on_behalf_of = :person)"),
        ):
            if value is not None:
                clauses.append(clause)
                params[name] = value
        if types is not None:
            wanted = sorted(set(types))
            if not wanted:
                return
            names = [f"type_{index}" for index in range(len(wanted))]
            clauses.append(f"type IN ({', '.join(':' + name for name in names)})")
            params.update(zip(names, wanted, strict=True))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            order += " LIMIT :limit"
            params["limit"] = int(limit)
        for row in self._iter_rows(f"{_SELECT}{where}{order}", params):
            yield _record_from_row(row)

    # -- verification and export --

    def verify(self, *, public_key_pem: str | None = None) -> VerifyReport:
        """Recompute the whole chain and check it against every signed checkpoint."""
        keys = KeyRing(CheckpointVerifier(public_key_pem)) if public_key_pem else self.keys()
        try:
            # Checkpoints first: each covers a committed record, so the later read of the rows
            # contains it (the other order could see a checkpoint beyond the rows read).
            checkpoints = self._store.all()
        except (CheckpointStoreError, OSError) as exc:
            return VerifyReport(
                ok=False, records_checked=0, checkpoints_checked=0, problem=f"checkpoint store: {exc}"
            )
        check = _ChainCheck(
            keys,
            checkpoints,
            anchored_start_ok=False,
            require_signed_tail=False,
            now=self._clock(),
            checkpoint_interval=self._every,
        )
        _feed_rows(self._iter_rows(f"{_SELECT} ORDER BY seq"), check)
        return check.report()

    def export(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[str]:
        """JSON lines for auditors: a header, the records, the checkpoints that verify them."""
        checkpoints = self._store.all()
        verifier = self._signer.verifier()
        clauses, params = [], {}
        if since is not None:
            clauses.append("ts >= :since")
            params["since"] = format_ts(since)
        if until is not None:
            clauses.append("ts < :until")
            params["until"] = format_ts(until)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        bounds = self._first_row(f"SELECT MIN(seq), MAX(seq) FROM audit_records{where}", params)
        retained = self._first_row("SELECT MIN(seq) FROM audit_records")
        header: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "public_key_pem": self._signer.public_key_pem(),
            "key_id": self._signer.key_id,
            "exported_at": format_ts(self._clock()),
            "since": None if since is None else format_ts(since),
            "until": None if until is None else format_ts(until),
            "first_seq": None,
            "last_seq": None,
            "count": 0,
            "first_hash": None,
            "last_hash": None,
        }
        if bounds is None or bounds[0] is None or retained is None:
            header["signature"] = self._signer.sign_export_header(header)
            yield canonical_json(header)
            return
        low, high, first_retained = int(bounds[0]), int(bounds[1]), int(retained[0])
        # Start right after the last good checkpoint at or before the range, so the export can be
        # verified on its own from a signature.
        anchors = [
            cp.size
            for cp in checkpoints
            if first_retained - 1 <= cp.size <= low - 1 and verifier.problem(cp) is None
        ]
        start = max(anchors) + 1 if anchors else first_retained
        rows_sql = f"{_SELECT} WHERE seq >= :start AND seq <= :high ORDER BY seq"
        window = {"start": start, "high": high}
        # An auditor trusts one key: checkpoints of retired keys stay out of the export.
        covering = [
            cp for cp in checkpoints if start - 1 <= cp.size <= high and cp.key_id == self._signer.key_id
        ]
        # The range is checked before anything is signed: a signature (the seal at its end, the
        # header) must never vouch for records that were tampered with.
        check = _ChainCheck(
            KeyRing(verifier), covering, anchored_start_ok=True, require_signed_tail=False, now=self._clock()
        )
        _feed_rows(self._iter_rows(rows_sql, window), check)
        header.update(first_seq=start, last_seq=high, count=high - start + 1)
        if check.report().ok and check.last_seq == high:
            if not any(cp.size == high and verifier.problem(cp) is None for cp in covering):
                covering.append(self._sign_and_store(high, check.last_hash))
            proven = check.proven()
            header.update(count=proven.count, first_hash=proven.first_hash, last_hash=proven.last_hash)
            header["signature"] = self._signer.sign_export_header(header)
        else:
            log.warning("audit export of %d..%d does not verify; exported unsealed and unsigned", start, high)
            header["signature"] = None
        yield canonical_json(header)
        for row in self._iter_rows(rows_sql, window):
            canonical = _canonical_text(*row)
            # The exact hashed text with the hash appended: an auditor removes ``hash``, re-serialises
            # canonically and gets these bytes back.
            yield f'{canonical[:-1]},"hash":{encode_basestring(str(row[15]))}}}'
        for checkpoint in sorted(covering, key=lambda cp: (cp.size, cp.ts)):
            yield checkpoint.to_json()

    # -- retention --

    def prune(
        self, older_than: datetime, *, retention_days: int, actor: str = "countersign-retention"
    ) -> PruneReport:
        """Remove records older than ``older_than``, keeping the remainder verifiable."""
        if retention_days < MIN_RETENTION_DAYS:
            raise RetentionError(
                f"retention of {retention_days} days refused: audit records are kept at least"
                f" {MIN_RETENTION_DAYS} days (six months)"
            )
        cutoff = older_than.astimezone(UTC) if older_than.tzinfo is not None else None
        if cutoff is None:
            raise ValueError("older_than must be timezone-aware")
        earliest = self._clock() - timedelta(days=retention_days)
        if cutoff > earliest:
            raise RetentionError(
                f"pruning before {format_ts(cutoff)} would remove records younger than the"
                f" {retention_days}-day retention (cutoff at most {format_ts(earliest)})"
            )
        report = self.verify()
        if not report.ok:
            raise AuditIntegrityError(f"the trail does not verify, so nothing is pruned: {report.problem}")
        control = self._first_row(_CONTROL_SQL)
        already = int(control[0]) if control is not None else 0
        head = self._read_head()
        # The boundary is the latest checkpoint signed before the cutoff (so at least the minimum
        # retention before now), never one signed now: a prune must be provable from signatures
        # made before it, as ``verify`` checks, or a prune forged with SQL would look the same.
        keys = self.keys()
        boundaries = [
            cp
            for cp in self._store.all()
            if already < cp.size <= head.seq and cp.ts < cutoff and keys.problem(cp) is None
        ]
        if not boundaries:
            return PruneReport(removed=0, pruned_through_seq=already, cutoff=cutoff)
        checkpoint = max(boundaries, key=lambda cp: (cp.size, -cp.ts.timestamp()))
        cut_seq, cut_hash = checkpoint.size, checkpoint.head_hash
        with self._transaction() as tx:
            locked = self._lock_head(tx)
            tx.run(
                "UPDATE audit_retention SET pruned_through_seq = :seq, pruned_through_hash = :hash"
                " WHERE id = 1 AND pruned_through_seq < :seq",
                {"seq": cut_seq, "hash": cut_hash},
            )
            removed = tx.run("DELETE FROM audit_records WHERE seq <= :seq", {"seq": cut_seq})
            event = AuditEvent(
                type="prune",
                actor=actor,
                details={
                    "pruned_through_seq": cut_seq,
                    "pruned_through_hash": cut_hash,
                    "removed_records": removed,
                    "older_than": format_ts(cutoff),
                    "retention_days": retention_days,
                    "checkpoint": {
                        "size": checkpoint.size,
                        "head_hash": checkpoint.head_hash,
                        "key_id": checkpoint.key_id,
                        "ts": format_ts(checkpoint.ts),
                    },
                },
            )
            records, rows = self._chain(locked, [self._prepare(event)])
            tx.insert(rows)
        self._after_append(records[-1])
        return PruneReport(
            removed=removed,
            pruned_through_seq=cut_seq,
            cutoff=cutoff,
            checkpoint=checkpoint,
            record=records[-1],
        )

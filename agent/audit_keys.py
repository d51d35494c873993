"""The audit trail's signing key: where it lives, its first creation, its loss and its rotation.

The key that signs audit checkpoints is what makes rewriting the trail detectable, so it must not
be at the mercy of whoever can change the data directory:

- It comes from a secret store (``COUNTERSIGN_AUDIT_SIGNING_KEY``) or from a key file
  (``COUNTERSIGN_AUDIT_KEY_FILE``, default ``data_dir/secrets/audit_signing_key``), which may be
  on another mount and read-only for the app.
- A key file is made only for a trail that does not exist yet (no record, no pruning mark, no
  checkpoint), and that creation is the trail's first record. A missing key for an existing
  trail is never silently remade: the app refuses to start in one line.
- ``countersign audit rotate-key`` makes a new key as a recorded event (a ``signing_key``
  record, then a checkpoint signed by the new key). The old key's public half goes to
  ``<key file>.retired.jsonl``, so its checkpoints keep verifying below that record; a key that
  was missing is listed without one, and its checkpoints are set aside, not trusted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import SecretStr
from sqlalchemy import Engine, text

from agent.secrets import create_once
from agent.settings import Settings
from tools.audit import (
    AuditEvent,
    AuditTrail,
    CheckpointSigner,
    DirectoryCheckpointStore,
    RetiredKey,
    generate_signing_secret,
)

KEY_ACTOR: Final = "countersign"
RETIRED_SUFFIX: Final = ".retired.jsonl"
_ROTATE: Final = "make a new one with `countersign audit rotate-key` (recorded in the trail)"


class AuditKeyError(RuntimeError):
    """The audit signing key is missing, unreadable or cannot be replaced (one line saying what to do)."""


@dataclass(frozen=True)
class RotatedKey:
    key_id: str
    previous_key_id: str | None
    record_seq: int
    key_file: Path


def open_audit_trail(settings: Settings, engine: Engine) -> AuditTrail:
    """The installation's audit trail on a migrated app database, with its signing key.

    Refuses (``AuditKeyError``) when the trail exists but its key file is missing; makes and
    records the key when there is no trail yet."""
    store = DirectoryCheckpointStore(settings.checkpoint_store_dir)
    if settings.audit_signing_key is not None:
        return _trail(settings, engine, _signer(settings.audit_signing_key, "COUNTERSIGN_AUDIT_SIGNING_KEY"))
    path = settings.audit_key_path
    created = False
    if not path.exists():
        existing = _existing_trail(engine, store)
        # Another process of a new installation may have made the key (and its first record)
        # since the look above: a key that exists now is that one.
        if existing is not None and not path.exists():
            raise AuditKeyError(
                f"the audit signing key {path} is missing but the audit trail exists ({existing}):"
                f" restore the key from a backup, or {_ROTATE}"
            )
        if existing is None:
            created = create_once(path, generate_signing_secret())
    trail = _trail(settings, engine, load_signer(settings), retired_keys(path))
    if created:
        signer = trail.signer
        trail.append(
            AuditEvent(
                type="signing_key",
                actor=KEY_ACTOR,
                details={
                    "change": "created",
                    "key_id": signer.key_id,
                    "public_key_pem": signer.public_key_pem(),
                },
            )
        )
    return trail


def load_signer(settings: Settings) -> CheckpointSigner:
    """The current signing key (never made here)."""
    where = "COUNTERSIGN_AUDIT_SIGNING_KEY" if settings.audit_signing_key else str(settings.audit_key_path)
    return _signer(audit_key_secret(settings), where)


def audit_key_secret(settings: Settings) -> SecretStr:
    """The current signing key's secret text (never made here)."""
    if settings.audit_signing_key is not None:
        return settings.audit_signing_key
    path = settings.audit_key_path
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        raise AuditKeyError(
            f"the audit signing key {path} is missing: restore it from a backup, or {_ROTATE}"
        ) from None
    except OSError as exc:
        raise AuditKeyError(f"the audit signing key {path} cannot be read ({exc.strerror})") from None


def retired_keys(key_file: Path) -> list[RetiredKey]:
    """The keys ``rotate-key`` replaced, kept beside the key file."""
    path = _retired_path(key_file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    try:
        return [RetiredKey.model_validate_json(line) for line in lines if line.strip()]
    except ValueError as exc:
        raise AuditKeyError(
            f"{path} is not a list of retired audit keys ({str(exc).splitlines()[0]})"
        ) from None


def placement_warnings(settings: Settings) -> list[str]:
    """What ``audit verify`` says plainly when the key or the checkpoints share the data directory."""
    warnings: list[str] = []
    if settings.audit_signing_key is None and _inside(settings.audit_key_path, settings.data_dir):
        warnings.append(
            f"the audit signing key is in the data directory ({settings.audit_key_path}): whoever can"
            " rewrite the data there can re-sign the trail; keep the key on another mount"
            " (COUNTERSIGN_AUDIT_KEY_FILE, read-only for the app) or in a secret store"
            " (COUNTERSIGN_AUDIT_SIGNING_KEY)"
        )
    if _inside(settings.checkpoint_store_dir, settings.data_dir):
        warnings.append(
            f"the audit checkpoints are in the data directory ({settings.checkpoint_store_dir}): whoever"
            " can change the data there can delete them; set COUNTERSIGN_AUDIT_CHECKPOINT_DIR apart from"
            " it and copy the checkpoints to storage the app cannot rewrite"
        )
    return warnings


def rotate_audit_key(
    settings: Settings, *, actor: str, previous_public_key_pem: str | None = None
) -> RotatedKey:
    """Replace the key file's key with a new one, as a recorded event; see the module docstring.

    Stop every Countersign process first: one still signing with the old key after the rotation
    record makes ``verify`` fail. ``previous_public_key_pem``: the public half of a key that is
    missing (from an auditor's copy), so its checkpoints stay checked."""
    from agent.composition import open_app_engine
    from agent.schema import upgrade_app_database

    if settings.audit_signing_key is not None:
        raise AuditKeyError(
            "the audit key comes from COUNTERSIGN_AUDIT_SIGNING_KEY: put a new key in your secret store"
            " instead (rotate-key manages a key file, COUNTERSIGN_AUDIT_KEY_FILE)"
        )
    path = settings.audit_key_path
    retired = retired_keys(path)
    engine = open_app_engine(settings)
    try:
        upgrade_app_database(engine)
        store = DirectoryCheckpointStore(settings.checkpoint_store_dir)
        new_secret = generate_signing_secret()
        new = _signer(SecretStr(new_secret), "the new key")
        if path.exists():
            old = load_signer(settings)
            checked: AuditTrail | None = _trail(settings, engine, old, retired)
            previous_id: str | None = old.key_id
            previous_pem: str | None = old.public_key_pem()
            change = "rotated"
        else:
            # The missing key's checkpoints can be checked only with its public half; without
            # it, the chain as it stands is what the new key will vouch for (verify says so).
            latest = store.latest()
            previous_id = latest.key_id if latest is not None else None
            previous_pem = previous_public_key_pem
            change = "replaced_missing"
            head_seq, _ = _trail(settings, engine, new, retired).head()
            ahead = RetiredKey(key_id=previous_id, public_key_pem=previous_pem, retired_at_seq=head_seq + 1)
            checked = None if previous_pem is None else _trail(settings, engine, new, [*retired, ahead])
        if checked is not None:
            report = checked.verify()
            if not report.ok:
                raise AuditKeyError(
                    f"the audit trail does not verify ({report.problem}), so no new key will vouch for it:"
                    " find out what changed first (countersign audit verify)"
                )
        pending = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
        try:
            _write_private(pending, new_secret)  # first: a key that cannot be kept is not used
            trail = _trail(settings, engine, new, retired)
            record = trail.append(
                AuditEvent(
                    type="signing_key",
                    actor=actor,
                    details={
                        "change": change,
                        "key_id": new.key_id,
                        "public_key_pem": new.public_key_pem(),
                        "previous_key_id": previous_id,
                    },
                )
            )
            trail.checkpoint()  # the new key vouches for the chain as it stands, rotation included
            entry = RetiredKey(key_id=previous_id, public_key_pem=previous_pem, retired_at_seq=record.seq)
            with _retired_path(path).open("a", encoding="utf-8") as handle:
                handle.write(entry.model_dump_json() + "\n")
            pending.replace(path)
        except OSError as exc:
            raise AuditKeyError(
                f"the new audit key could not be written beside {path} ({exc.strerror}): run rotate-key"
                " as the user that may write the key file"
            ) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                pending.unlink()
        return RotatedKey(new.key_id, previous_id, record.seq, path)
    finally:
        engine.dispose()


def _signer(secret: SecretStr, where: str) -> CheckpointSigner:
    try:
        return CheckpointSigner.from_secret(secret)
    except ValueError as exc:
        raise AuditKeyError(f"{where}: {exc}") from None


def _trail(
    settings: Settings, engine: Engine, signer: CheckpointSigner, retired: list[RetiredKey] | None = None
) -> AuditTrail:
    return AuditTrail(
        engine,
        signer=signer,
        checkpoint_store=DirectoryCheckpointStore(settings.checkpoint_store_dir),
        checkpoint_every_records=settings.audit_checkpoint_every_records,
        checkpoint_every_seconds=settings.audit_checkpoint_every_seconds,
        retired_keys=retired or [],
    )


def _existing_trail(engine: Engine, store: DirectoryCheckpointStore) -> str | None:
    """Why a trail exists (records, a pruning mark, checkpoints), or None for a new installation."""
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq FROM audit_records ORDER BY seq DESC LIMIT 1")).first()
        mark = conn.execute(text("SELECT pruned_through_seq FROM audit_retention WHERE id = 1")).first()
    if head is not None:
        return f"{head[0]} records"
    if mark is not None and int(mark[0]) > 0:
        return f"pruned through record {mark[0]}"
    if store.latest() is not None:
        return f"signed checkpoints in {store.path}"
    return None


def _retired_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + RETIRED_SUFFIX)


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


__all__ = [
    "AuditKeyError",
    "RotatedKey",
    "audit_key_secret",
    "load_signer",
    "open_audit_trail",
    "placement_warnings",
    "retired_keys",
    "rotate_audit_key",
]

"""Secrets the installation needs and may create for itself (token and audit signing keys).

A configured key (environment or secrets directory) wins. Otherwise an embedded installation
generates each key once into ``data_dir/secrets/`` (mode 0600), so every process of the
installation signs and verifies with the same key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from agent.settings import Settings

KEY_FILE = "token_signing_key"
AUDIT_KEY_FILE = "audit_signing_key"


def token_signing_key(settings: Settings) -> SecretStr:
    if settings.token_signing_key is not None:
        return settings.token_signing_key
    return _generated(settings.secrets_dir / KEY_FILE, lambda: secrets.token_urlsafe(48))


def audit_signing_key(settings: Settings) -> SecretStr:
    from tools.audit import generate_signing_secret

    if settings.audit_signing_key is not None:
        return settings.audit_signing_key
    return _generated(settings.secrets_dir / AUDIT_KEY_FILE, generate_signing_secret)


def _generated(path: Path, make: Callable[[], str]) -> SecretStr:
    if not path.exists():
        _create_once(path, make())
    return SecretStr(path.read_text(encoding="utf-8").strip())


def _create_once(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    try:
        # link() is atomic and refuses an existing name: of two processes starting at once, one
        # publishes its complete key and both then read that one.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()

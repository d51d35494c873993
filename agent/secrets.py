"""Secrets the installation needs and may create for itself (the token signing key).

A configured key (environment or secrets directory) wins. Otherwise an embedded installation
generates the key once into ``data_dir/secrets/`` (mode 0600), so every process of the
installation signs and verifies with the same key. The audit signing key has stricter rules
(never remade while a trail exists): ``agent.audit_keys``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from agent.settings import Settings

KEY_FILE = "token_signing_key"


def token_signing_key(settings: Settings) -> SecretStr:
    if settings.token_signing_key is not None:
        return settings.token_signing_key
    return _generated(settings.secrets_dir / KEY_FILE, lambda: secrets.token_urlsafe(48))


def _generated(path: Path, make: Callable[[], str]) -> SecretStr:
    if not path.exists():
        create_once(path, make())
    return SecretStr(path.read_text(encoding="utf-8").strip())


def create_once(path: Path, value: str) -> bool:
    """Write ``value`` to a new file at ``path`` (mode 0600); False if another process was first."""
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
        return False
    finally:
        temporary.unlink()
    return True

"""Password hashes for the users file: scrypt (standard library), salted, in one self-describing string.

Format: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``. ``countersign users hash-password``
prints one for a users file; the plain password is never stored anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

SCHEME = "scrypt"
_N, _R, _P, _LENGTH = 2**14, 8, 1, 32


class BadPasswordHash(ValueError):
    """A users file holds a password hash this code cannot read."""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_LENGTH, maxmem=2**26)


def hash_password(password: str) -> str:
    """A fresh salted hash of ``password``."""
    if not password:
        raise ValueError("a password cannot be empty")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    encode = base64.b64encode
    return f"{SCHEME}${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def check_hash_format(stored: str) -> None:
    """Raise BadPasswordHash unless ``stored`` is a hash ``verify_password`` can read."""
    _parse(stored)


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise BadPasswordHash("a password hash must look like scrypt$n$r$p$salt$hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise BadPasswordHash("a password hash has a malformed number or base64 part") from None
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    n, r, p, salt, digest = _parse(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)


@cache
def decoy_hash() -> str:
    """Checked against when the user name is unknown, so a wrong name costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))

"""Just-in-time tokens: one short-lived, single-use, signed token per gateway call.

A token names the one tool or action it is for (audience), the acting identity and the person it
acts for, and, for writes, the proposal id, idempotency key and fingerprint it may commit. The
gateway verifies it and refuses, with one of a fixed set of reasons, anything else. Each token's
``jti`` is recorded when it is used, so a token works once, across threads and processes.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import jwt
from pydantic import SecretStr
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

RefusalReason = Literal[
    "missing", "expired", "replayed", "wrong_audience", "wrong_binding", "wrong_principal", "bad_signature"
]

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
_REQUIRED_CLAIMS = ["iss", "sub", "act", "aud", "iat", "nbf", "exp", "jti"]


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (the default clock)."""
    return datetime.now(UTC)


def write_binding(proposal_id: str, idempotency_key: str, fingerprint: str) -> dict[str, str]:
    """The binding a write token carries: exactly the proposal, key and fingerprint it may commit."""
    return {"proposal_id": proposal_id, "idempotency_key": idempotency_key, "fingerprint": fingerprint}


class TokenRefused(Exception):
    """A token the gateway will not honour; ``reason`` says which rule it broke."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        self.reason: RefusalReason = reason
        super().__init__(f"token refused: {detail}")


# ---- single use -----------------------------------------------------------------------------


class JtiStore(Protocol):
    """Where used token ids are recorded, so each token is accepted once."""

    def consume(self, jti: str, audience: str, subject: str, expires_at: datetime) -> bool:
        """Record ``jti`` as used; False if it already was."""
        ...


class InMemoryJtiStore:
    """Used token ids in this process's memory (tests, single-process tools)."""

    def __init__(self, *, skew_seconds: int = 60) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, datetime] = {}
        self._skew = timedelta(seconds=skew_seconds)

    def consume(self, jti: str, audience: str, subject: str, expires_at: datetime) -> bool:
        with self._lock:
            if jti in self._used:
                return False
            self._used[jti] = expires_at
            return True

    def prune(self, now: datetime) -> int:
        """Forget ids of tokens expired longer ago than the skew; returns how many."""
        cutoff = now - self._skew
        with self._lock:
            stale = [jti for jti, expires_at in self._used.items() if expires_at < cutoff]
            for jti in stale:
                del self._used[jti]
            return len(stale)


def _naive_utc(moment: datetime) -> datetime:
    # Stored naive in UTC: SQLite drops offsets and PostgreSQL would shift naive values, so one
    # explicit convention keeps comparisons right on both.
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None)


metadata = MetaData()

# Created by the app database's migrations (agent/migrations), like every table of that database.
token_uses = Table(
    "token_uses",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("audience", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("used_at", DateTime(timezone=False), nullable=False),
    Column("expires_at", DateTime(timezone=False), nullable=False, index=True),
)


class SqlJtiStore:
    """Used token ids in a SQL table; the primary key makes single use hold across processes."""

    def __init__(self, engine: Engine, *, skew_seconds: int = 60) -> None:
        # skew_seconds keeps a row past its token's expiry for at least the verifier's leeway;
        # pruning earlier would let an expired-but-within-leeway token be replayed.
        self._engine = engine
        self._skew = timedelta(seconds=skew_seconds)
        self.metadata = metadata
        self.table = token_uses

    def consume(self, jti: str, audience: str, subject: str, expires_at: datetime) -> bool:
        row = {
            "jti": jti,
            "audience": audience,
            "subject": subject,
            "used_at": _naive_utc(now_utc()),
            "expires_at": _naive_utc(expires_at),
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(self.table).values(row))
        except IntegrityError:
            # Someone (this or another process) recorded it first: the database decided.
            return False
        return True

    def prune(self, now: datetime, *, dry_run: bool = False) -> int:
        """Delete rows of tokens expired longer ago than the skew; returns how many (with
        ``dry_run``, how many would go)."""
        stale = self.table.c.expires_at < _naive_utc(now - self._skew)
        with self._engine.begin() as connection:
            if dry_run:
                return int(connection.execute(select(func.count()).where(stale)).scalar_one())
            result = connection.execute(delete(self.table).where(stale))
        return int(result.rowcount)


# ---- minting and verifying ------------------------------------------------------------------


def _timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("the token clock must return timezone-aware datetimes")
    return moment.timestamp()


def _nonempty(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


def _decode_failure(exc: jwt.InvalidTokenError, issuer: str) -> str:
    # Fixed phrases rather than the library's text: nothing from the token or the key is echoed.
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return f"algorithm not allowed (only {ALGORITHM})"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"not issued by {issuer!r}"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"malformed token (no {exc.claim!r} claim)"
    return "malformed token"


class TokenIssuer:
    """Mints and verifies HS256 tokens with one signing key; verification consumes the token."""

    def __init__(
        self,
        signing_key: SecretStr,
        jti_store: JtiStore,
        *,
        ttl_seconds: int = 60,
        leeway_seconds: int = 5,
        clock: Callable[[], datetime] = now_utc,
        issuer: str = "countersign",
    ) -> None:
        if not isinstance(signing_key, SecretStr):
            # A plain str would show up in reprs and tracebacks; insist on the wrapper.
            raise TypeError("signing_key must be a pydantic SecretStr")
        key_bytes = len(signing_key.get_secret_value().encode("utf-8"))
        if key_bytes < MIN_KEY_BYTES:
            raise ValueError(
                f"token signing key is too short: {key_bytes} bytes, need at least {MIN_KEY_BYTES}"
            )
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        if leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")
        _nonempty("issuer", issuer)
        self._key = signing_key
        self._store = jti_store
        self.ttl_seconds = ttl_seconds
        self.leeway_seconds = leeway_seconds
        self._clock = clock
        self.issuer = issuer

    def __repr__(self) -> str:
        return (
            f"TokenIssuer(issuer={self.issuer!r}, ttl_seconds={self.ttl_seconds}, "
            f"leeway_seconds={self.leeway_seconds}, jti_store={type(self._store).__name__})"
        )

    def mint(
        self, actor: str, on_behalf_of: str, audience: str, binding: dict[str, str] | None = None
    ) -> str:
        """A token for one call to ``audience`` by ``actor`` for ``on_behalf_of``; writes pass a binding."""
        _nonempty("actor", actor)
        _nonempty("on_behalf_of", on_behalf_of)
        _nonempty("audience", audience)
        issued_at = int(_timestamp(self._clock()))
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": actor,
            "act": on_behalf_of,
            "aud": audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if binding is not None:
            if not binding or not all(isinstance(k, str) and isinstance(v, str) for k, v in binding.items()):
                raise ValueError("binding must be a non-empty dict of strings")
            claims["bind"] = dict(binding)
        return jwt.encode(claims, self._key.get_secret_value(), algorithm=ALGORITHM)

    def verify(
        self,
        token: str | None,
        *,
        audience: str,
        actor: str,
        on_behalf_of: str,
        binding: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The token's claims if it is valid for exactly this call; raises TokenRefused otherwise.

        Checks run in a fixed order and the token is consumed only when all others pass, so a
        refused token is not burned and the first broken rule is the one reported.
        """
        if token is None or not token.strip():
            raise TokenRefused("missing", "missing (every gateway call needs a token minted for it)")
        claims = self._decode(token)
        self._check_time(claims)
        self._check_audience(claims, audience)
        self._check_principal(claims, actor, on_behalf_of)
        self._check_binding(claims, binding)
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        if not self._store.consume(claims["jti"], claims["aud"], claims["sub"], expires_at):
            raise TokenRefused(
                "replayed", f"already used (jti {claims['jti'][:8]}…); every call needs a fresh token"
            )
        return claims

    # ---- checks -----------------------------------------------------------------------------

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.get_secret_value(),
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                # Time and audience are checked below against the injected clock and with our own
                # messages; PyJWT would use the wall clock.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": True,
                    "require": _REQUIRED_CLAIMS,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise TokenRefused("bad_signature", _decode_failure(exc, self.issuer)) from None
        for name in ("iat", "nbf", "exp"):
            if not isinstance(claims[name], int) or isinstance(claims[name], bool):
                raise TokenRefused("bad_signature", f"malformed token ({name!r} is not a number)")
        for name in ("sub", "act", "aud", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise TokenRefused("bad_signature", f"malformed token ({name!r} is not a string)")
        bind = claims.get("bind")
        if bind is not None and not (
            isinstance(bind, dict) and all(isinstance(v, str) for v in bind.values())
        ):
            raise TokenRefused("bad_signature", "malformed token ('bind' is not a map of strings)")
        return claims

    def _check_time(self, claims: dict[str, Any]) -> None:
        now = _timestamp(self._clock())
        lifetime = claims["exp"] - claims["iat"]
        if now > claims["exp"] + self.leeway_seconds:
            raise TokenRefused("expired", f"expired {now - claims['exp']:.0f} s ago (lifetime {lifetime} s)")
        # A token that is not valid yet means clocks disagree beyond the allowed skew; it is
        # outside its validity window just like an expired one.
        if now < claims["nbf"] - self.leeway_seconds:
            raise TokenRefused(
                "expired",
                f"not valid for another {claims['nbf'] - now:.0f} s (clock skew beyond {self.leeway_seconds} s)",
            )

    @staticmethod
    def _check_audience(claims: dict[str, Any], audience: str) -> None:
        if claims["aud"] != audience:
            raise TokenRefused("wrong_audience", f"minted for {claims['aud']!r}, not {audience!r}")

    @staticmethod
    def _check_principal(claims: dict[str, Any], actor: str, on_behalf_of: str) -> None:
        if claims["sub"] != actor or claims["act"] != on_behalf_of:
            raise TokenRefused(
                "wrong_principal",
                f"minted for {claims['sub']!r} on behalf of {claims['act']!r}, "
                f"not {actor!r} on behalf of {on_behalf_of!r}",
            )

    @staticmethod
    def _check_binding(claims: dict[str, Any], expected: dict[str, str] | None) -> None:
        # Exact match both ways: a write token fits one proposal/key/fingerprint, and a token
        # bound to a write is not good for an unbound call.
        carried: dict[str, str] = claims.get("bind") or {}
        wanted = expected or {}
        if carried == wanted:
            return
        if not carried:
            raise TokenRefused(
                "wrong_binding", f"carries no binding; this call needs {', '.join(sorted(wanted))}"
            )
        if not wanted:
            raise TokenRefused("wrong_binding", "is bound to a write; this call takes no binding")
        differing = sorted(k for k in carried.keys() | wanted.keys() if carried.get(k) != wanted.get(k))
        raise TokenRefused("wrong_binding", f"bound to a different {', '.join(differing)}")

"""Password sign-in for interfaces: checks a configured user's hash and slows down guessing.

After ``max_failures`` wrong passwords for one user name within ``window``, that name is locked
for ``window``: every attempt is refused with the time left, right or wrong. Failures are kept in
this process (each UI process guards its own sign-ins).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.passwords import decoy_hash, verify_password
from agent.users import Directory, UnknownUser, User


class SignInRefused(Exception):
    """A sign-in that did not succeed; the message is safe to show (it never says which part was wrong)."""


class SignInGuard:
    def __init__(
        self,
        directory: Directory,
        *,
        now: Callable[[], datetime],
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self._directory = directory
        self._now = now
        self._max_failures = max_failures
        self._window = window
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def sign_in(self, user_id: str, password: str) -> User:
        name = user_id.strip().casefold()
        now = self._now()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < self._window]
            self._failures[name] = recent
            if len(recent) >= self._max_failures:
                minutes = max(1, math.ceil((recent[0] + self._window - now).total_seconds() / 60))
                raise SignInRefused(f"too many failed sign-ins for {user_id!r}; try again in {minutes} min")
        try:
            user: User | None = self._directory.get(name)
        except UnknownUser:
            user = None
        stored = user.password_hash if user is not None else None
        # The decoy keeps an unknown name (or a user without a password) as slow as a wrong password.
        matches = verify_password(password, stored or decoy_hash())
        if user is None or stored is None or not matches:
            with self._lock:
                self._failures.setdefault(name, []).append(now)
            raise SignInRefused("wrong user name or password")
        with self._lock:
            self._failures.pop(name, None)
        return user

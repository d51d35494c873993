"""People who use Countersign and their roles, read from a TOML file (demo users by default)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from agent.passwords import BadPasswordHash, check_hash_format

Role = Literal["clerk", "approver", "auditor", "finance_director"]
ROLES: tuple[Role, ...] = ("clerk", "approver", "auditor", "finance_director")
# The role that only reads: it files no proposal, decides none and changes no policy.
READ_ONLY_ROLE: Role = "auditor"


class UnknownUser(Exception):
    """A user id that is not in the users file."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    roles: tuple[Role, ...]
    default_cost_center: str | None = None
    email: str | None = None
    password_hash: str | None = field(default=None, repr=False)

    def has(self, role: str) -> bool:
        return role in self.roles


class Directory:
    """Lookup of configured users."""

    def __init__(self, users: dict[str, User]) -> None:
        self._users = users

    def get(self, user_id: str) -> User:
        try:
            return self._users[user_id]
        except KeyError:
            known = ", ".join(sorted(self._users))
            raise UnknownUser(f"unknown user {user_id!r}; configured users: {known}") from None

    def all(self) -> list[User]:
        return list(self._users.values())

    def ids(self) -> frozenset[str]:
        return frozenset(self._users)

    def by_email(self, email: str) -> User | None:
        """The user whose configured email is ``email`` (case-insensitive), if any."""
        wanted = email.strip().casefold()
        return next((u for u in self._users.values() if u.email and u.email.casefold() == wanted), None)


def _parse(text: str, origin: str) -> Directory:
    data = tomllib.loads(text)
    users: dict[str, User] = {}
    for user_id, entry in data.get("users", {}).items():
        roles = tuple(entry.get("roles", ()))
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ValueError(f"{origin}: user {user_id!r} has unknown roles {bad}; allowed: {list(ROLES)}")
        if READ_ONLY_ROLE in roles and len(set(roles)) > 1:
            # An auditor checks what others requested and approved; holding a second role would let
            # the same person do what they audit. Give that person a second account instead.
            others = [r for r in roles if r != READ_ONLY_ROLE]
            raise ValueError(
                f"{origin}: user {user_id!r} is an auditor and also {', '.join(others)}; auditors are"
                " read-only, so give the other roles to a separate user"
            )
        password_hash = entry.get("password_hash")
        if password_hash is not None:
            try:
                check_hash_format(str(password_hash))
            except BadPasswordHash as bad:
                raise ValueError(
                    f"{origin}: user {user_id!r}: {bad} (make one with `countersign users hash-password`)"
                ) from None
        users[user_id] = User(
            id=user_id,
            name=str(entry.get("name", user_id)),
            roles=roles,
            default_cost_center=entry.get("default_cost_center"),
            email=entry.get("email"),
            password_hash=password_hash,
        )
    if not users:
        raise ValueError(f"{origin}: no [users.<id>] entries")
    return Directory(users)


def load_directory(path: Path | None = None) -> Directory:
    """Users from ``path``, or the bundled demo users."""
    if path is not None:
        return _parse(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("agent").joinpath("config/demo_users.toml").read_text(encoding="utf-8")
    return _parse(text, "demo_users.toml")


def demo_sign_ins(directory: Directory) -> list[str]:
    """One line per demo user with a password: who they are and how to sign in. The demo
    password of each bundled user is their id followed by ``-demo`` (see demo_users.toml); this is
    only ever said for the bundled file, never for an installation's own users."""
    return [
        f"  {user.id} / {user.id}-demo  ({user.name}: {', '.join(role.replace('_', ' ') for role in user.roles)})"
        for user in directory.all()
        if user.password_hash
    ]

"""People who use Countersign and their roles, read from a TOML file (demo users by default)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

Role = Literal["clerk", "approver", "auditor", "finance_director"]
ROLES: tuple[Role, ...] = ("clerk", "approver", "auditor", "finance_director")


class UnknownUser(Exception):
    """A user id that is not in the users file."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    roles: tuple[Role, ...]
    default_cost_center: str | None = None

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


def _parse(text: str, origin: str) -> Directory:
    data = tomllib.loads(text)
    users: dict[str, User] = {}
    for user_id, entry in data.get("users", {}).items():
        roles = tuple(entry.get("roles", ()))
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ValueError(f"{origin}: user {user_id!r} has unknown roles {bad}; allowed: {list(ROLES)}")
        users[user_id] = User(
            id=user_id,
            name=str(entry.get("name", user_id)),
            roles=roles,
            default_cost_center=entry.get("default_cost_center"),
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

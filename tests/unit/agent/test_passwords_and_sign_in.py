"""Password hashes in the users file and the sign-in guard in front of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.passwords import BadPasswordHash, hash_password, verify_password
from agent.signin import SignInGuard, SignInRefused
from agent.users import Directory, User, load_directory


def test_a_password_verifies_against_its_own_hash_only() -> None:
    stored = hash_password("correct horse")

    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert stored != hash_password("correct horse")  # salted
    assert "correct horse" not in stored


@pytest.mark.parametrize(
    "stored", ["", "plain-text", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$@@$AAAA"]
)
def test_an_unreadable_hash_is_refused_with_its_expected_shape(stored: str) -> None:
    with pytest.raises(BadPasswordHash):
        verify_password("anything", stored)


def test_a_users_file_with_a_malformed_hash_is_refused_at_load_naming_the_user(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text('[users.zed]\nroles = ["clerk"]\npassword_hash = "hunter2"\n')

    with pytest.raises(ValueError, match=r"user 'zed'.*hash-password"):
        load_directory(users)


def test_every_demo_user_signs_in_with_the_documented_demo_password() -> None:
    directory = load_directory()
    guard = SignInGuard(directory, now=lambda: datetime.now(UTC))

    for user in directory.all():
        assert guard.sign_in(user.id, f"{user.id}-demo").id == user.id
        assert user.email == f"{user.id}@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def guard_and_clock() -> tuple[SignInGuard, Clock]:
    directory = Directory(
        {
            "ana": User("ana", "Ana", ("clerk",), password_hash=hash_password("right password")),
            "sso": User("sso", "Single Sign-On Only", ("clerk",), email="sso@example.com"),
        }
    )
    clock = Clock()
    return SignInGuard(directory, now=clock, max_failures=3, window=timedelta(minutes=15)), clock


def test_a_wrong_password_an_unknown_name_and_a_user_without_password_get_the_same_answer(
    guard_and_clock: tuple[SignInGuard, Clock],
) -> None:
    guard, _ = guard_and_clock
    answers = set()
    for user_id, password in (("ana", "wrong"), ("nobody", "right password"), ("sso", "anything")):
        with pytest.raises(SignInRefused) as refused:
            guard.sign_in(user_id, password)
        answers.add(str(refused.value))

    assert answers == {"wrong user name or password"}


def test_a_name_is_locked_after_repeated_failures_and_unlocks_after_the_window(
    guard_and_clock: tuple[SignInGuard, Clock],
) -> None:
    guard, clock = guard_and_clock
    for _ in range(3):
        with pytest.raises(SignInRefused):
            guard.sign_in("ana", "wrong")

    with pytest.raises(SignInRefused, match=r"too many failed sign-ins.*try again in 15 min"):
        guard.sign_in("ana", "right password")  # even the right password waits

    clock.now += timedelta(minutes=16)
    assert guard.sign_in("ana", "right password").id == "ana"


def test_a_successful_sign_in_clears_earlier_failures(guard_and_clock: tuple[SignInGuard, Clock]) -> None:
    guard, _ = guard_and_clock
    for _ in range(2):
        with pytest.raises(SignInRefused):
            guard.sign_in("ana", "wrong")
    guard.sign_in("ana", "right password")
    for _ in range(2):
        with pytest.raises(SignInRefused, match="wrong user name"):
            guard.sign_in("ana", "wrong")


def test_a_user_is_found_by_their_email_whatever_its_case() -> None:
    directory = load_directory()

    found = directory.by_email("  Bob@Example.COM ")
    assert found is not None and found.id == "bob"
    assert directory.by_email("mallory@example.com") is None

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from agent.schema import upgrade_app_database
from tools.tokens import (
    InMemoryJtiStore,
    SqlJtiStore,
    TokenIssuer,
    TokenRefused,
    write_binding,
)

KEY_TEXT = "k3y-that-must-never-leak-0123456789abcdef"
KEY = SecretStr(KEY_TEXT)
START = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)
AGENT = "countersign-agent"
BINDING = write_binding("P-17", "idem-42", "fp-abc")


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(KEY, InMemoryJtiStore(), clock=clock)


def _refused(issuer: TokenIssuer, token: str | None, **overrides: object) -> TokenRefused:
    expected: dict[str, object] = {"audience": "check_stock", "actor": AGENT, "on_behalf_of": "alice"}
    expected.update(overrides)
    with pytest.raises(TokenRefused) as refused:
        issuer.verify(token, **expected)  # type: ignore[arg-type]
    message = str(refused.value)
    assert message.startswith("token refused: ") and "\n" not in message
    assert KEY_TEXT not in message
    return refused.value


# ---- round trip -----------------------------------------------------------------------------


def test_a_read_token_verifies_once_with_every_claim_in_place(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    claims = issuer.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")
    assert claims["iss"] == "countersign"
    assert (claims["sub"], claims["act"], claims["aud"]) == (AGENT, "alice", "check_stock")
    assert claims["iat"] == claims["nbf"] == int(START.timestamp())
    assert claims["exp"] - claims["iat"] == 60
    assert len(claims["jti"]) == 32 and "bind" not in claims


def test_a_write_token_carries_and_verifies_its_binding(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "create_purchase_order", BINDING)
    claims = issuer.verify(
        token, audience="create_purchase_order", actor=AGENT, on_behalf_of="alice", binding=BINDING
    )
    assert claims["bind"] == {"proposal_id": "P-17", "idempotency_key": "idem-42", "fingerprint": "fp-abc"}


def test_every_token_has_its_own_id(issuer: TokenIssuer) -> None:
    tokens = {issuer.mint(AGENT, "alice", "check_stock") for _ in range(20)}
    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}
    assert len(ids) == 20


# ---- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_call_without_a_token_is_refused_as_missing(issuer: TokenIssuer, token: str | None) -> None:
    assert _refused(issuer, token).reason == "missing"


def test_a_token_signed_with_another_key_is_refused_as_bad_signature(
    issuer: TokenIssuer, clock: FakeClock
) -> None:
    forger = TokenIssuer(SecretStr("another-key-of-at-least-32-bytes!!"), InMemoryJtiStore(), clock=clock)
    refused = _refused(issuer, forger.mint(AGENT, "alice", "check_stock"))
    assert refused.reason == "bad_signature"
    assert str(refused) == "token refused: bad signature"


def test_a_tampered_token_is_refused_as_bad_signature(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    retargeted = jwt.encode({**claims, "aud": "propose_price_change"}, "x" * 32, algorithm="HS256")
    refused = _refused(
        issuer, f"{header}.{retargeted.split('.')[1]}.{signature}", audience="propose_price_change"
    )
    assert (refused.reason, str(refused)) == ("bad_signature", "token refused: bad signature")
    assert _refused(issuer, "not-a-token").reason == "bad_signature"


def test_an_unsigned_token_is_refused_as_bad_signature(issuer: TokenIssuer) -> None:
    claims = jwt.decode(issuer.mint(AGENT, "alice", "check_stock"), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _refused(issuer, unsigned).reason == "bad_signature"


def test_a_token_from_another_issuer_is_refused_as_bad_signature(
    issuer: TokenIssuer, clock: FakeClock
) -> None:
    other = TokenIssuer(KEY, InMemoryJtiStore(), clock=clock, issuer="elsewhere")
    refused = _refused(issuer, other.mint(AGENT, "alice", "check_stock"))
    assert (refused.reason, str(refused)) == ("bad_signature", "token refused: not issued by 'countersign'")


def test_an_expired_token_is_refused_with_how_long_ago(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    clock.advance(72)
    refused = _refused(issuer, token)
    assert refused.reason == "expired"
    assert str(refused) == "token refused: expired 12 s ago (lifetime 60 s)"


def test_a_token_just_past_expiry_is_accepted_within_the_leeway(
    issuer: TokenIssuer, clock: FakeClock
) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    clock.advance(65)
    issuer.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")


def test_a_token_one_second_beyond_the_leeway_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    clock.advance(66)
    assert _refused(issuer, token).reason == "expired"


def test_a_token_from_the_future_beyond_the_leeway_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    clock.advance(-30)
    refused = _refused(issuer, token)
    assert refused.reason == "expired" and "not valid for another 30 s" in str(refused)


def test_a_token_for_another_tool_is_refused_as_wrong_audience(issuer: TokenIssuer) -> None:
    refused = _refused(issuer, issuer.mint(AGENT, "alice", "check_stock"), audience="propose_price_change")
    assert refused.reason == "wrong_audience"
    assert str(refused) == "token refused: minted for 'check_stock', not 'propose_price_change'"


@pytest.mark.parametrize(("actor", "on_behalf_of"), [("countersign-mcp", "alice"), (AGENT, "bob")])
def test_a_token_for_another_principal_is_refused(issuer: TokenIssuer, actor: str, on_behalf_of: str) -> None:
    refused = _refused(
        issuer, issuer.mint(AGENT, "alice", "check_stock"), actor=actor, on_behalf_of=on_behalf_of
    )
    assert refused.reason == "wrong_principal"
    assert f"minted for {AGENT!r} on behalf of 'alice', not {actor!r} on behalf of {on_behalf_of!r}" in str(
        refused
    )


@pytest.mark.parametrize("field", ["proposal_id", "idempotency_key", "fingerprint"])
def test_a_write_token_for_another_proposal_key_or_fingerprint_is_refused(
    issuer: TokenIssuer, field: str
) -> None:
    token = issuer.mint(AGENT, "alice", "create_purchase_order", BINDING)
    other = {**BINDING, field: "something-else"}
    refused = _refused(issuer, token, audience="create_purchase_order", binding=other)
    assert refused.reason == "wrong_binding"
    assert str(refused) == f"token refused: bound to a different {field}"


def test_a_write_token_without_a_binding_is_refused(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "create_purchase_order")
    refused = _refused(issuer, token, audience="create_purchase_order", binding=BINDING)
    assert refused.reason == "wrong_binding"
    assert "carries no binding; this call needs fingerprint, idempotency_key, proposal_id" in str(refused)


def test_a_token_bound_to_a_write_is_not_good_for_an_unbound_call(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "create_purchase_order", BINDING)
    refused = _refused(issuer, token, audience="create_purchase_order")
    assert refused.reason == "wrong_binding"


def test_a_binding_with_a_key_missing_is_refused(issuer: TokenIssuer) -> None:
    partial = {"proposal_id": "P-17", "idempotency_key": "idem-42"}
    token = issuer.mint(AGENT, "alice", "create_purchase_order", partial)
    refused = _refused(issuer, token, audience="create_purchase_order", binding=BINDING)
    assert str(refused) == "token refused: bound to a different fingerprint"


def test_a_token_used_twice_is_refused_as_replayed(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    issuer.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")
    refused = _refused(issuer, token)
    assert refused.reason == "replayed" and "already used" in str(refused)


def test_a_refused_token_is_not_burned(issuer: TokenIssuer) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    _refused(issuer, token, audience="get_product")
    issuer.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")


def test_the_first_broken_rule_is_the_one_reported(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.mint(AGENT, "alice", "check_stock")
    clock.advance(600)
    assert _refused(issuer, token, audience="get_product", actor="someone-else").reason == "expired"


# ---- the key --------------------------------------------------------------------------------


def test_a_short_signing_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as refused:
        TokenIssuer(SecretStr("short-secret-value"), InMemoryJtiStore())
    assert str(refused.value) == "token signing key is too short: 18 bytes, need at least 32"


def test_a_plain_string_key_is_refused() -> None:
    with pytest.raises(TypeError, match="SecretStr") as refused:
        TokenIssuer(KEY_TEXT, InMemoryJtiStore())  # type: ignore[arg-type]
    assert KEY_TEXT not in str(refused.value)


def test_the_signing_key_appears_in_no_repr_message_or_log(
    issuer: TokenIssuer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    seen = [repr(issuer), str(issuer), repr(vars(issuer))]
    with caplog.at_level(logging.DEBUG):
        token = issuer.mint(AGENT, "alice", "create_purchase_order", BINDING)
        seen.append(token)
        seen.append(
            repr(
                issuer.verify(
                    token,
                    audience="create_purchase_order",
                    actor=AGENT,
                    on_behalf_of="alice",
                    binding=BINDING,
                )
            )
        )
        clock.advance(600)
        seen.append(repr(_refused(issuer, token)))
        clock.advance(-600)
        for overrides in ({"audience": "x"}, {"actor": "x"}, {"binding": {"proposal_id": "x"}}, {}):
            kwargs: dict[str, object] = {
                "audience": "create_purchase_order",
                "actor": AGENT,
                "on_behalf_of": "alice",
                "binding": BINDING,
                **overrides,
            }
            with pytest.raises(TokenRefused) as refused:
                issuer.verify(token, **kwargs)  # type: ignore[arg-type]
            seen += [str(refused.value), repr(refused.value)]
        with pytest.raises(TokenRefused) as refused:
            issuer.verify("garbage", audience="x", actor=AGENT, on_behalf_of="alice")
        seen += [str(refused.value), repr(refused.value)]
    seen += [record.getMessage() for record in caplog.records]
    assert all(KEY_TEXT not in text for text in seen)


# ---- single use across stores ---------------------------------------------------------------


def _sql_store(path: Path) -> SqlJtiStore:
    engine = create_engine(f"sqlite:///{path}")
    upgrade_app_database(engine)
    return SqlJtiStore(engine)


def test_a_token_used_through_one_store_is_replayed_through_another_on_the_same_database(
    tmp_path: Path, clock: FakeClock
) -> None:
    database = tmp_path / "countersign.db"
    first = TokenIssuer(KEY, _sql_store(database), clock=clock)
    second = TokenIssuer(KEY, _sql_store(database), clock=clock)
    token = first.mint(AGENT, "alice", "check_stock")
    first.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")
    with pytest.raises(TokenRefused) as refused:
        second.verify(token, audience="check_stock", actor=AGENT, on_behalf_of="alice")
    assert refused.value.reason == "replayed"


@pytest.mark.parametrize("kind", ["memory", "sql"])
def test_racing_threads_consume_one_token_id_exactly_once(tmp_path: Path, kind: str) -> None:
    store = InMemoryJtiStore() if kind == "memory" else _sql_store(tmp_path / "race.db")
    barrier = threading.Barrier(8)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def use() -> None:
        barrier.wait()
        won = store.consume("same-jti", "check_stock", AGENT, START + timedelta(seconds=60))
        with lock:
            outcomes.append(won)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True]


def test_pruning_keeps_ids_until_their_token_is_past_expiry_and_skew(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'prune.db'}")
    upgrade_app_database(engine)
    store = SqlJtiStore(engine, skew_seconds=5)
    store.consume("old", "check_stock", AGENT, START)
    store.consume("new", "check_stock", AGENT, START + timedelta(seconds=60))
    assert store.prune(START + timedelta(seconds=5)) == 0
    assert store.prune(START + timedelta(seconds=6)) == 1
    assert not store.consume("new", "check_stock", AGENT, START + timedelta(seconds=60))
    assert store.consume("old", "check_stock", AGENT, START)


def test_the_in_memory_store_prunes_the_same_way() -> None:
    store = InMemoryJtiStore(skew_seconds=5)
    store.consume("old", "check_stock", AGENT, START)
    assert store.prune(START + timedelta(seconds=5)) == 0
    assert store.prune(START + timedelta(seconds=6)) == 1

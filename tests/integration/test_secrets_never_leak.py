"""Secrets never leak: full agent loops with real secret values, then every place they could end up.

Unique random values are configured the way an operator would (environment and, where noted, a
secrets directory): the OpenAI API key, the token signing key and a database password (in the app
database URL; PostgreSQL when ``psycopg`` is installed, otherwise a SQLite URL read from a secrets
directory). Loops run through ``build_service`` with the real ``ChatOpenAI`` against the
OpenAI-compatible stub (a read, a proposal, approval by bob and a final answer; a rejection; a
failed call) and with the offline planner. Then every request the model server received, every
checkpoint (raw bytes and decoded), every log line, every row of the app database and of the ERP,
every file the installation wrote, every error message, the settings' repr and the CLI's output are
scanned for each secret: the API key may appear only in the ``Authorization`` header.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import MetaData, select

from agent.db import make_engine
from agent.logs import configure_logging
from agent.service import AgentService, build_service
from agent.settings import Settings, load_settings
from erp_acl.seed_data import TODAY
from tests.conftest import REPO, cli_env
from tests.support.openai_stub import Failure, OpenAIStub, RecordedRequest, tool_call
from tools.gateway import Principal
from tools.tokens import InMemoryJtiStore, TokenIssuer

pytestmark = pytest.mark.integration

PO_ARGS = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
    "memo": "restock hex bolts",
}
CREDIT_ARGS = {"customer_code": "C00001", "new_limit": 60000, "reason": "orders are growing"}
APP_TABLES = ("proposals", "decisions", "audit_records", "token_uses", "threads", "policy_changes")
HAS_PSYCOPG = importlib.util.find_spec("psycopg") is not None
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_reachable() -> bool:
    if not HAS_PSYCOPG:
        return False
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


# ---- the secrets and where they go -------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    api_key: str = field(default_factory=lambda: f"sk-cs-{secrets.token_hex(24)}")
    signing_key: str = field(default_factory=lambda: f"sign-{secrets.token_urlsafe(48)}")
    db_password: str = field(default_factory=lambda: f"pw-{secrets.token_hex(16)}")

    def named(self) -> dict[str, str]:
        return {
            "OPENAI_API_KEY": self.api_key,
            "COUNTERSIGN_TOKEN_SIGNING_KEY": self.signing_key,
            "database password": self.db_password,
        }

    def needles(self) -> dict[str, str]:
        """Each secret, and a middle slice of it (a shortened or partly masked print still leaks)."""
        found = {}
        for name, value in self.named().items():
            found[name] = value
            found[f"{name} (middle part)"] = value[8:24]
        return found


def leaks_in(places: Mapping[str, str | bytes], the: Secrets) -> list[str]:
    """``place: secret`` for every secret (or recognisable part of one) found in a place."""
    found = []
    for place, content in places.items():
        for name, needle in the.needles().items():
            hit = needle.encode() in content if isinstance(content, bytes) else needle in content
            if hit:
                found.append(f"{place}: {name}")
    return found


@dataclass
class Database:
    """The app database, configured with the password, and how to look inside it."""

    url: str
    kind: str
    drop: Callable[[], None] | None = None

    def rows(self) -> dict[str, list[str]]:
        """Every row of every table, as text."""
        engine = make_engine(self.url)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            with engine.connect() as connection:
                return {
                    table.name: [repr(tuple(row)) for row in connection.execute(select(table))]
                    for table in metadata.sorted_tables
                }
        finally:
            engine.dispose()


def postgres_database(the: Secrets) -> Database:
    import psycopg

    name = f"cs_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    # Trust authentication accepts any password: it is still a real credential in a real URL.
    url = f"postgresql+psycopg://postgres:{the.db_password}@127.0.0.1:5432/{name}"
    return Database(url, "postgresql", drop)


def sqlite_database_with_password(the: Secrets, path: Path) -> Database:
    # SQLite has no passwords; the URI form passes unknown parameters through untouched, so the
    # value travels exactly as a password in a database URL would (settings, engine, errors).
    return Database(f"sqlite:///file:{path}?uri=true&password={the.db_password}", "sqlite")


# ---- running the loops --------------------------------------------------------------------------


@dataclass
class Evidence:
    the: Secrets
    settings: Settings
    database: Database
    requests: list[RecordedRequest] = field(default_factory=list)
    outcomes: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    reprs: dict[str, str] = field(default_factory=dict)
    checkpoint_files: dict[str, bytes] = field(default_factory=dict)
    checkpoints_decoded: dict[str, str] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)
    app_rows: dict[str, list[str]] = field(default_factory=dict)
    erp_rows: dict[str, list[str]] = field(default_factory=dict)
    installation_files: dict[str, bytes] = field(default_factory=dict)
    cli: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    minted: str = ""


@pytest.fixture(scope="module")
def evidence(seeded_erp_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evidence]:
    the = Secrets()
    root = tmp_path_factory.mktemp("secrets")
    data_dir = root / "var"
    data_dir.mkdir()
    shutil.copy(seeded_erp_template, data_dir / "legacy_erp.db")
    secrets_dir = root / "run-secrets"  # outside data_dir: the installation's own files are scanned whole
    secrets_dir.mkdir(mode=0o700)
    database = postgres_database(the) if _postgres_reachable() else None
    env: dict[str, str] = {
        "COUNTERSIGN_DATA_DIR": str(data_dir),
        "COUNTERSIGN_MODEL": "openai:test-model",
        "OPENAI_API_KEY": the.api_key,
        "COUNTERSIGN_TOKEN_SIGNING_KEY": the.signing_key,
    }
    if database is not None:
        env["COUNTERSIGN_DATABASE_URL"] = database.url
    else:
        database = sqlite_database_with_password(the, data_dir / "app.db")
        (secrets_dir / "COUNTERSIGN_DATABASE_URL").write_text(database.url, encoding="utf-8")
        env["COUNTERSIGN_SECRETS_DIR"] = str(secrets_dir)

    countersign_logger = logging.getLogger("countersign")
    saved = (list(countersign_logger.handlers), countersign_logger.level, countersign_logger.propagate)
    try:
        with pytest.MonkeyPatch.context() as patch, OpenAIStub(api_key=the.api_key) as stub:
            for name in [n for n in os.environ if n.startswith(("COUNTERSIGN_", "OPENAI_"))]:
                patch.delenv(name)
            patch.chdir(root)  # no stray .env file is read
            for name, value in {**env, "OPENAI_BASE_URL": stub.base_url}.items():
                patch.setenv(name, value)
            settings = load_settings()
            for handler in list(countersign_logger.handlers):
                countersign_logger.removeHandler(handler)
            configure_logging(settings.log_file, "DEBUG")
            found = Evidence(the, settings, database)
            run_model_loops(found, stub)
            run_planner_loop(found, patch)
            collect_failures(found, stub)
            run_cli(found, {**env, "OPENAI_BASE_URL": stub.base_url})
            found.requests = stub.requests
            collect_stores(found)
            yield found
    finally:
        for handler in list(countersign_logger.handlers):
            countersign_logger.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            countersign_logger.addHandler(handler)
        countersign_logger.setLevel(saved[1])
        countersign_logger.propagate = saved[2]
        if database.drop is not None:
            database.drop()


def open_service(settings: Settings, model: Any = None) -> AgentService:
    return build_service(settings, model=model, today=lambda: TODAY)


def run_model_loops(found: Evidence, stub: OpenAIStub) -> None:
    stub.enqueue(
        tool_call("check_stock", {"product_code": "HB-M8-40"}),
        tool_call("propose_purchase_order", PO_ARGS),
        "The purchase order for 40 HB-M8-40 from Fastenal is committed.",
        tool_call("get_customer", {"customer_code": "C00001"}),
        tool_call("propose_credit_limit_change", CREDIT_ARGS),
        "Bob rejected the credit limit change; nothing was written.",
    )
    svc = open_service(found.settings)
    try:
        ordered = svc.chat("alice", "Order 40 HB-M8-40 from Fastenal on CC300.")
        (order,) = ordered.proposals
        found.outcomes["order"] = svc.decide(order.id, "bob", "approve")
        found.outcomes["order thread"] = ordered.thread_id
        raised = svc.chat("alice", "Raise the credit limit of Padaria Estrela to 60,000.")
        (credit,) = raised.proposals
        found.outcomes["credit"] = svc.decide(credit.id, "bob", "reject", reason="not this quarter")
        found.outcomes["credit reply"] = svc.messages(raised.thread_id)[-1].content
        found.minted = svc.gateway.mint(Principal(svc.agent.id, "alice"), "check_stock")
        for thread in (ordered.thread_id, raised.thread_id):
            found.reprs[f"transcript {thread}"] = json.dumps(svc.transcript(thread, "alice"))
        found.reprs["chat results"] = json.dumps([ordered.as_json(), raised.as_json()], default=str)
        found.reprs["service"] = repr(vars(svc))
        found.reprs["gateway"] = repr(vars(svc.gateway))
    finally:
        svc.close()


def run_planner_loop(found: Evidence, patch: pytest.MonkeyPatch) -> None:
    patch.setenv("COUNTERSIGN_MODEL", "offline")
    offline = load_settings()
    patch.setenv("COUNTERSIGN_MODEL", "openai:test-model")
    assert offline.model == "offline"
    found.reprs["offline settings"] = repr(offline)
    svc = open_service(offline)
    try:
        result = svc.chat("alice", "Order 40 hex bolts M8 from Fastenal")
        (proposal,) = result.proposals
        found.outcomes["planner order"] = svc.decide(proposal.id, "bob", "approve")
        found.outcomes["planner reply"] = svc.messages(result.thread_id)[-1].content
    finally:
        svc.close()


def collect_failures(found: Evidence, stub: OpenAIStub) -> None:
    """Calls that fail, each in its own way; their messages are scanned."""

    def failed(place: str, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # every kind counts: the message is what a person or a log sees
            found.errors[place] = f"{type(exc).__name__}: {exc}\n{exc!r}"
        else:
            found.errors[place] = "(did not fail)"

    stub.enqueue(Failure(status=401, message="Incorrect API key provided.", type="invalid_request_error"))
    svc = open_service(found.settings)
    try:
        agent = Principal(svc.agent.id, "alice")
        failed("model server refuses the key", lambda: svc.chat("alice", "How many HB-M8-40 do we have?"))
        forged = TokenIssuer(SecretStr("x" * 48), InMemoryJtiStore()).mint(
            agent.actor, "alice", "check_stock"
        )
        failed(
            "forged token",
            lambda: svc.gateway.read("check_stock", {"product_code": "HB-M8-40"}, agent, forged),
        )
        tampered = found.minted[:-4] + ("AAAA" if not found.minted.endswith("AAAA") else "BBBB")
        failed(
            "tampered token",
            lambda: svc.gateway.read("check_stock", {"product_code": "HB-M8-40"}, agent, tampered),
        )
        expired = jwt.encode(
            {
                "iss": "countersign",
                "sub": agent.actor,
                "act": "alice",
                "aud": "check_stock",
                "iat": int((datetime.now(UTC) - timedelta(hours=1)).timestamp()),
                "nbf": int((datetime.now(UTC) - timedelta(hours=1)).timestamp()),
                "exp": int((datetime.now(UTC) - timedelta(minutes=50)).timestamp()),
                "jti": secrets.token_hex(16),
            },
            found.the.signing_key,
            algorithm="HS256",
        )
        failed(
            "expired token",
            lambda: svc.gateway.read("check_stock", {"product_code": "HB-M8-40"}, agent, expired),
        )
        failed(
            "missing token",
            lambda: svc.gateway.read("check_stock", {"product_code": "HB-M8-40"}, agent, None),
        )
        failed("unknown user", lambda: svc.decide("P-nope", "mallory", "approve"))
        failed("unknown proposal", lambda: svc.decide("P-nope", "bob", "approve"))
        failed("decided twice", lambda: svc.decide(found.outcomes["order"].id, "erin", "approve"))
        failed("bad tool arguments", lambda: svc.call_tool("check_stock", {"product_code": ""}, "alice"))
        failed("unknown tool", lambda: svc.call_tool("drop_tables", {}, "alice"))
        failed(
            "ungranted identity",
            lambda: svc.call_tool("check_stock", {"product_code": "X"}, "alice", via="x"),
        )
    finally:
        svc.close()
    failed("invalid setting", lambda: Settings(token_ttl_seconds=1))
    failed("short signing key", lambda: TokenIssuer(SecretStr("short"), InMemoryJtiStore()))
    if found.database.kind == "postgresql":
        wrong = found.settings.model_copy(
            update={"database_url": SecretStr(found.database.url.rsplit("/", 1)[0] + "/cs_missing_db")}
        )
        failed("unreachable database", lambda: build_service(wrong).close())
    found.reprs["settings repr"] = repr(found.settings)
    found.reprs["settings str"] = str(found.settings)
    found.reprs["settings dump"] = repr(found.settings.model_dump())
    found.reprs["settings json"] = found.settings.model_dump_json()


def run_cli(found: Evidence, env: dict[str, str]) -> None:
    order = found.outcomes["order"]
    base = {**cli_env(found.settings.data_dir), **env}
    commands = {
        "approvals list --json": ["approvals", "list", "--json"],
        "approvals show --json": ["approvals", "show", order.id, "--json"],
        "approvals show": ["approvals", "show", order.id],
        "approve unknown": ["approve", "P-does-not-exist", "--user", "bob"],
    }
    # Read-only commands (and one refusal): run side by side, each in its own process.
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "agent.cli", *args],
            cwd=REPO,
            env=base,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        found.cli[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def collect_stores(found: Evidence) -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver

    settings = found.settings
    for path in sorted(settings.checkpoint_file.parent.glob(settings.checkpoint_file.name + "*")):
        found.checkpoint_files[path.name] = path.read_bytes()
    with closing(sqlite3.connect(settings.checkpoint_file)) as connection:
        saver = SqliteSaver(connection)
        for snapshot in saver.list(None):
            thread = snapshot.config["configurable"]["thread_id"]
            checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
            found.checkpoints_decoded[f"{thread}/{checkpoint_id}"] = repr(
                (snapshot.checkpoint, snapshot.metadata, snapshot.pending_writes, snapshot.parent_config)
            )
        for kind, blob in connection.execute("SELECT type, checkpoint FROM checkpoints"):
            found.checkpoints_decoded[f"blob {len(found.checkpoints_decoded)}"] = repr(
                saver.serde.loads_typed((kind, blob))
            )
        for kind, blob in connection.execute("SELECT type, value FROM writes"):
            found.checkpoints_decoded[f"write {len(found.checkpoints_decoded)}"] = repr(
                saver.serde.loads_typed((kind, blob))
            )
    found.log_lines = settings.log_file.read_text(encoding="utf-8").splitlines()
    found.app_rows = found.database.rows()
    with closing(sqlite3.connect(settings.data_dir / "legacy_erp.db")) as erp:
        tables = [name for (name,) in erp.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found.erp_rows = {
            name: [repr(row) for row in erp.execute(f'SELECT * FROM "{name}"')] for name in tables
        }
    for path in sorted(settings.data_dir.rglob("*")):
        if path.is_file():
            found.installation_files[str(path.relative_to(settings.data_dir))] = path.read_bytes()


# ---- the loops really ran with these secrets ---------------------------------------------------


def test_the_loops_ran_and_the_configured_secrets_are_the_ones_in_use(evidence: Evidence) -> None:
    the, settings = evidence.the, evidence.settings

    assert settings.openai_api_key is not None and settings.openai_api_key.get_secret_value() == the.api_key
    assert settings.token_signing_key is not None
    assert settings.token_signing_key.get_secret_value() == the.signing_key
    assert settings.app_database_url == evidence.database.url
    # PostgreSQL whenever the driver is installed and the server answers; otherwise the SQLite URL
    # read from the secrets directory (see the module docstring).
    assert evidence.database.kind == ("postgresql" if _postgres_reachable() else "sqlite")
    assert evidence.outcomes["order"].status == "committed"
    assert evidence.outcomes["credit"].status == "rejected"
    assert evidence.outcomes["planner order"].status == "committed"
    assert evidence.outcomes["order"].receipt is not None
    assert "Bob rejected" in str(evidence.outcomes["credit reply"])
    assert "created after approval" in str(evidence.outcomes["planner reply"])
    # Tokens are signed with the configured key (and no key was generated instead).
    claims = jwt.decode(evidence.minted, the.signing_key, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["aud"] == "check_stock"
    assert not (settings.secrets_dir / "token_signing_key").exists()
    # The app database behind the password-carrying URL is the one that holds the proposals.
    assert len(evidence.app_rows["proposals"]) == 3
    assert set(APP_TABLES) <= set(evidence.app_rows)
    assert all(evidence.app_rows[name] for name in ("decisions", "token_uses", "threads", "audit_records"))
    assert not (settings.data_dir / "countersign.db").exists()
    assert len(evidence.erp_rows["ZCS010"]) == 2  # two commits in the ERP's own ledger
    assert evidence.checkpoints_decoded and evidence.log_lines
    assert len(evidence.requests) >= 7


def test_the_api_key_is_sent_to_the_model_server_only_in_the_authorization_header(evidence: Evidence) -> None:
    key = evidence.the.api_key

    for request in evidence.requests:
        assert request.headers["authorization"] == f"Bearer {key}"
    traffic = "\n\n".join(request.text() for request in evidence.requests)
    assert traffic.count(key) == len(evidence.requests)


def test_no_secret_is_in_any_request_the_model_server_received_outside_that_header(
    evidence: Evidence,
) -> None:
    places: dict[str, str | bytes] = {}
    for index, request in enumerate(evidence.requests):
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        places[f"request {index} line"] = f"{request.method} {request.path}"
        places[f"request {index} headers"] = json.dumps(headers)
        places[f"request {index} body"] = request.raw_body
        places[f"request {index} parsed body"] = json.dumps(request.body, ensure_ascii=False)

    assert len(places) == 4 * len(evidence.requests)
    assert all(b"You are Countersign" in request.raw_body for request in evidence.requests)
    assert leaks_in(places, evidence.the) == []


def test_no_secret_is_in_any_checkpoint_raw_or_decoded_through_the_savers_serde(evidence: Evidence) -> None:
    assert "checkpoints.db" in evidence.checkpoint_files
    assert any("HB-M8-40" in text for text in evidence.checkpoints_decoded.values())
    assert leaks_in(evidence.checkpoint_files, evidence.the) == []
    assert leaks_in(evidence.checkpoints_decoded, evidence.the) == []


def test_no_secret_is_in_any_log_line(evidence: Evidence) -> None:
    assert any('"tool call"' in line or "tool_call" in line for line in evidence.log_lines)
    lines = {f"log line {n}": line for n, line in enumerate(evidence.log_lines, 1)}
    assert leaks_in(lines, evidence.the) == []


def test_no_secret_is_in_any_row_of_the_app_database_or_the_erp_and_its_ledger(evidence: Evidence) -> None:
    rows = {
        f"{store} {table} row {n}": row
        for store, tables in (("app", evidence.app_rows), ("erp", evidence.erp_rows))
        for table, table_rows in tables.items()
        for n, row in enumerate(table_rows)
    }

    assert len(rows) > 1000  # the whole ERP, not a sample
    assert leaks_in(rows, evidence.the) == []


def test_no_secret_is_in_any_file_the_installation_wrote(evidence: Evidence) -> None:
    assert {"legacy_erp.db", "checkpoints.db"} <= set(evidence.installation_files)
    assert leaks_in(evidence.installation_files, evidence.the) == []


def test_no_secret_is_in_the_message_of_any_failed_call(evidence: Evidence) -> None:
    assert "(did not fail)" not in evidence.errors.values(), evidence.errors
    assert "AuthenticationError" in evidence.errors["model server refuses the key"]
    assert "bad signature" in evidence.errors["forged token"]
    assert "expired" in evidence.errors["expired token"]
    assert leaks_in(evidence.errors, evidence.the) == []


def test_no_secret_is_in_the_settings_repr_dump_or_any_service_component_repr(evidence: Evidence) -> None:
    assert "SecretStr('**********')" in evidence.reprs["settings repr"]
    assert leaks_in(evidence.reprs, evidence.the) == []


def test_no_secret_is_in_the_cli_output_of_approvals_list_show_or_a_refused_command(
    evidence: Evidence,
) -> None:
    results = evidence.cli
    listed = json.loads(results["approvals list --json"].stdout)
    shown = json.loads(results["approvals show --json"].stdout)
    outputs = {
        f"{name} {stream}": getattr(result, stream)
        for name, result in results.items()
        for stream in ("stdout", "stderr")
    }

    assert results["approvals list --json"].returncode == 0, results["approvals list --json"].stderr
    assert len(listed) == 3
    assert shown["id"] == evidence.outcomes["order"].id and shown["status"] == "committed"
    assert results["approvals show"].returncode == 0
    assert results["approve unknown"].returncode == 1
    assert leaks_in(outputs, evidence.the) == []

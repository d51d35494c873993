"""What the benchmarks share: the machine, progress lines, a seeded ERP, an installation's settings,
a model that costs nothing, bulk-filed proposals and a scratch PostgreSQL database.

Every benchmark measures the product and a raw baseline in the same run on the same machine, so
its ratio means something; these helpers keep the set-up identical between the two sides.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from sqlalchemy import Engine, insert

from agent.approvals import Proposal, proposals
from agent.settings import Settings

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""Where scratch databases are created (and dropped afterwards); trust auth, no password."""

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}
"""One ordinary purchase order: a supplier, a cost center and a line the seeded ERP knows."""


def say(line: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"  · {line}", file=sys.stderr, flush=True)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def machine() -> dict[str, Any]:
    """The machine a run was made on: CPUs, Python, SQLite, PostgreSQL (when it answers), load."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


# ---- an installation -------------------------------------------------------------------------------


_TEMPLATE: dict[str, Path] = {}


def seeded_erp(directory: Path) -> Path:
    """Copy a freshly seeded bundled legacy ERP into ``directory`` (seeded once per run)."""
    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import seed_legacy_erp

    if "erp" not in _TEMPLATE:
        template = Path(os.environ.get("TMPDIR", "/tmp")) / f"countersign-bench-erp-{os.getpid()}.db"
        template.unlink(missing_ok=True)
        engine = legacy_engine(template)
        seed_legacy_erp(engine, scale=1)
        engine.dispose()
        _TEMPLATE["erp"] = template
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "legacy_erp.db"
    shutil.copy(_TEMPLATE["erp"], target)
    return target


def drop_template() -> None:
    template = _TEMPLATE.pop("erp", None)
    if template is not None:
        template.unlink(missing_ok=True)


def bench_settings(data_dir: Path, **overrides: Any) -> Settings:
    """An embedded installation in ``data_dir`` with the ERP's pace opened up.

    The product paces ERP writes (5 a second by default) on purpose, to spare an old ERP; a
    benchmark of the write path keeps the pacer's bookkeeping but not its cap."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "model": "offline",
        "writer_max_writes_per_second": 1_000_000.0,
        "erp_rate_per_second": 1_000_000.0,
        "erp_burst": 1_000_000,
        "reconcile_interval_seconds": 3600.0,
        "events_scan_seconds": 3600.0,
    }
    values.update(overrides)
    return Settings(**values)


class ConstantModel(BaseChatModel):
    """A chat model that answers one fixed line at once: model time is excluded from the figures.

    The gated write path invokes the model once after the commit (to tell the requester); this
    model makes that call cost nothing, so what is measured is the product's own machinery."""

    reply: str = "Done."

    @property
    def _llm_type(self) -> str:
        return "bench-constant"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ConstantModel:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply))])


# ---- proposals in bulk ------------------------------------------------------------------------------


@dataclass
class Template:
    """One real proposal, filed through the product, to clone in bulk."""

    proposal: Proposal
    row: dict[str, Any] = field(default_factory=dict)


def template_row(proposal: Proposal) -> dict[str, Any]:
    """The ``proposals`` row of a filed proposal, ready to clone."""
    return {
        "id": proposal.id,
        "thread_id": proposal.thread_id,
        "tool_call_id": f"call-{proposal.thread_id}",
        "action": proposal.action,
        "status": proposal.status,
        "summary": proposal.summary,
        "payload": proposal.payload,
        "idempotency_key": proposal.idempotency_key,
        "fingerprint": proposal.fingerprint,
        "requester": proposal.requester,
        "on_behalf_of": proposal.on_behalf_of,
        "evidence": [e.model_dump(mode="json") for e in proposal.evidence],
        "gate": proposal.gate,
        "revision": proposal.revision,
        "created_at": proposal.created_at,
        "updated_at": proposal.updated_at,
    }


def clone_proposals(
    engine: Engine,
    proposal: Proposal,
    count: int,
    *,
    status: str = "pending",
    prefix: str = "B",
    thread_ids: Sequence[str] | None = None,
    batch: int = 5000,
) -> list[str]:
    """Insert ``count`` copies of a filed proposal (new ids, threads and keys) in a few transactions.

    The payload, gate and fingerprint stay the real ones; creation times step back a second each,
    so an inbox sorted by age has something to sort."""
    base = template_row(proposal)
    now = datetime.now(UTC)
    ids: list[str] = []
    for start in range(0, count, batch):
        rows = []
        for n in range(start, min(count, start + batch)):
            proposal_id = f"P-{prefix}{n:08d}"
            created = now - timedelta(seconds=n)
            thread = thread_ids[n] if thread_ids is not None else f"T-{prefix.lower()}{n:010d}"
            rows.append(
                {
                    **base,
                    "id": proposal_id,
                    "thread_id": thread,
                    "tool_call_id": f"call-{thread}",
                    "status": status,
                    "idempotency_key": str(uuid.uuid4()),
                    "created_at": created,
                    "updated_at": created,
                }
            )
            ids.append(proposal_id)
        with engine.begin() as conn:
            conn.execute(insert(proposals), rows)
    return ids


# ---- PostgreSQL ----------------------------------------------------------------------------------


class PostgresUnreachable(ConnectionError):
    """PostgreSQL does not answer: its rows are reported as skipped, in one line."""


def postgres_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:
        return None


def _where() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    return f"{url.host}:{url.port or 5432}"


@contextlib.contextmanager
def scratch_postgres(*names: str) -> Iterator[list[str]]:
    """Fresh PostgreSQL databases (``countersign_bench_<name>_<pid>``), dropped afterwards.

    Yields their SQLAlchemy URLs (psycopg driver). Raises ``PostgresUnreachable`` in one line."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise PostgresUnreachable(
            f"skipped: PostgreSQL at {_where()} unreachable ({one_line(exc)})"
        ) from None
    databases = [f"countersign_bench_{name}_{os.getpid()}" for name in names]
    try:
        for database in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')
        base = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
        yield [base.set(database=d).render_as_string(hide_password=False) for d in databases]
    finally:
        for database in databases:
            with contextlib.suppress(psycopg.Error):
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


# ---- results ---------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: what was measured, its value, the baseline ratio and the goal."""

    figure: str
    measure: str
    value: str
    ratio: str = ""
    goal: str = ""
    verdict: str = ""  # PASS, MISS, or empty when no goal applies

    def as_json(self) -> dict[str, str]:
        return {
            "figure": self.figure,
            "measure": self.measure,
            "value": self.value,
            "ratio": self.ratio,
            "goal": self.goal,
            "verdict": self.verdict,
        }


@dataclass
class Outcome:
    """What one benchmark reports: table rows and the detailed figures for the JSON file."""

    name: str
    rows: list[Row]
    details: dict[str, Any]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"

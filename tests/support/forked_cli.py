"""Real ``countersign`` processes, forked from one warm parent, each killable with SIGKILL at a
named stage of the write path.

Starting ``countersign`` costs seconds of CPU (LangGraph, LangChain, SQLAlchemy, kombu imports);
a dozen processes killed at a dozen stages would cost minutes on two cores. This module, run as a
script, imports the CLI once and then forks: every child is a real OS process (its own memory,
files and database connections, opened after the fork) that runs the ``countersign`` typer app
with the arguments, environment and output files it is given. With a stage, the child sends
itself SIGKILL at the moment the write path reaches that stage: no cleanup, no ack, no goodbye.

The stages, in the order an approved write goes through them (:data:`STAGES`), after
``deciding`` (:data:`DECIDING`: inside the decision's transaction, its outbox row added, nothing
committed; only an approving process has it):

- ``decided``: the decision and its outbox row are committed; nothing is relayed yet;
- ``claimed``: the relay claimed the outbox row; the command is not on the queue;
- ``published``: the command is on the queue; no writer has it;
- ``taken``: a writer took the command and marked the proposal committing; the ERP has nothing;
- ``erp_written``: the ERP committed the write and its ledger row; no result was published;
- ``result_published``: the result is on the queue; the command is not acknowledged;
- ``result_recorded``: the proposal is committed; the requester's run is not told.

The test side is :class:`ForkedCli` (a context manager); the protocol is one JSON object a line
each way on the script's stdin and stdout:
``{"op": "spawn", "args", "env", "stage", "out", "err"}`` → ``{"pid"}``;
``{"op": "wait", "pid", "timeout"}`` → ``{"code"}`` (``-9``: killed by SIGKILL; ``null``: still
running); ``{"op": "signal", "pid", "signal"}`` → ``{}``.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent

WARM_MODULES = (
    "agent.cli",
    "agent.service",
    "agent.composition",
    "agent.models",
    "agent.planner",
    "agent.schema",
    "agent.logs",
    "agent.telemetry",
    "agent.pipeline.runner",
    "erp_acl.legacy.adapter",
    "langgraph.checkpoint.sqlite",
    "kombu.transport.sqlalchemy",
)
DECIDING = "deciding"
STAGES = (
    "decided",
    "claimed",
    "published",
    "taken",
    "erp_written",
    "result_published",
    "result_recorded",
)


# ---- the test side ---------------------------------------------------------------------------


class ForkedCli:
    """The warm parent process; ``spawn`` starts ``countersign ARGS`` as a child of it."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._count = 0
        self._server = subprocess.Popen(
            [sys.executable, __file__],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self._read()
        assert ready == {"ready": True}, ready

    def __enter__(self) -> ForkedCli:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._server.poll() is None:
            assert self._server.stdin is not None
            self._server.stdin.close()  # the parent kills what is left of its children and exits
            try:
                self._server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait(timeout=30)

    def spawn(self, env: dict[str, str], *args: str, stage: str | None = None) -> Child:
        """Start ``countersign ARGS`` in a child with exactly ``env`` (killed at ``stage``)."""
        assert stage is None or stage in (DECIDING, *STAGES), stage
        self._count += 1
        out = self._workdir / f"child-{self._count}.out"
        err = self._workdir / f"child-{self._count}.err"
        answer = self._ask(
            {"op": "spawn", "args": list(args), "env": env, "stage": stage, "out": str(out), "err": str(err)}
        )
        return Child(self, int(answer["pid"]), out, err)

    def run(self, env: dict[str, str], *args: str, stage: str | None = None, timeout: float = 120) -> Child:
        """Spawn and wait for the child to end (failing if it outlives ``timeout``)."""
        child = self.spawn(env, *args, stage=stage)
        child.wait(timeout)
        return child

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._server.stdin is not None
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._server.stdout is not None
        line = self._server.stdout.readline()
        if not line:
            raise AssertionError(f"the forking parent died (exit {self._server.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer


class Child:
    """One forked ``countersign`` process and its output files."""

    def __init__(self, parent: ForkedCli, pid: int, out: Path, err: Path) -> None:
        self.pid = pid
        self.code: int | None = None
        self._parent = parent
        self._out = out
        self._err = err

    @property
    def stdout(self) -> str:
        return self._out.read_text(encoding="utf-8", errors="replace") if self._out.exists() else ""

    @property
    def stderr(self) -> str:
        return self._err.read_text(encoding="utf-8", errors="replace") if self._err.exists() else ""

    def poll(self, timeout: float = 0.0) -> int | None:
        if self.code is None:
            self.code = self._parent._ask({"op": "wait", "pid": self.pid, "timeout": timeout})["code"]
        return self.code

    def wait(self, timeout: float = 120) -> int:
        code = self.poll(timeout)
        if code is None:
            self.signal(signal.SIGKILL)
            self.poll(30)
            raise AssertionError(f"countersign child {self.pid} still ran after {timeout:g} s: {self.stderr}")
        return code

    def signal(self, number: int) -> None:
        if self.code is None:
            self._parent._ask({"op": "signal", "pid": self.pid, "signal": int(number)})


# ---- the forking parent (this file run as a script) -----------------------------------------


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_at(stage: str) -> None:
    """Patch the write path so that this process dies with SIGKILL when it reaches ``stage``."""
    from agent.messaging.bus import Bus
    from agent.messaging.outbox import Outbox
    from agent.messaging.topology import COMMANDS, RESULTS
    from agent.pipeline.results import ResultConsumer
    from agent.service import AgentService
    from erp_acl.legacy.adapter import LegacyErp
    from tools.gateway import Gateway

    if stage == DECIDING:
        enqueue = AgentService._enqueue

        def enqueue_then_die(self: AgentService, *args: Any) -> None:
            enqueue(self, *args)
            _die()  # the decision and its outbox row are written but not committed

        AgentService._enqueue = enqueue_then_die  # type: ignore[method-assign,assignment]
    elif stage == "decided":
        relay = Outbox.relay

        def relay_then_die(self: Outbox, *args: Any, **kwargs: Any) -> int:
            if self.unpublished_count():
                _die()
            return relay(self, *args, **kwargs)

        Outbox.relay = relay_then_die  # type: ignore[method-assign]
    elif stage in ("claimed", "published", "result_published"):
        publish = Bus.publish
        queue_at = RESULTS if stage == "result_published" else COMMANDS

        def publish_then_die(self: Bus, queue: str, *args: Any, **kwargs: Any) -> None:
            if queue == queue_at and stage == "claimed":
                _die()
            publish(self, queue, *args, **kwargs)
            if queue == queue_at:
                _die()

        Bus.publish = publish_then_die  # type: ignore[method-assign]
    elif stage == "taken":

        def commit_dies(self: Gateway, *args: Any, **kwargs: Any) -> Any:
            _die()  # the writer marked the proposal committing and asks the gateway to write

        Gateway.commit = commit_dies  # type: ignore[method-assign]
    elif stage == "erp_written":
        apply = LegacyErp.apply

        def apply_then_die(self: LegacyErp, *args: Any) -> Any:
            apply(self, *args)
            _die()

        LegacyErp.apply = apply_then_die  # type: ignore[method-assign,assignment]
    elif stage == "result_recorded":
        record = ResultConsumer.record

        def record_then_die(self: ResultConsumer, result: Any) -> bool:
            if record(self, result):
                _die()
            return False

        ResultConsumer.record = record_then_die  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become ``countersign ARGS`` (never returns)."""
    code = 70
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
        os.dup2(os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(REPO)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if request["stage"]:
            install_kill_at(request["stage"])
        from agent.cli import app

        try:
            app(args=request["args"], prog_name="countersign")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException as exc:  # anything else is reported: the child never lives on
        print(f"forked child failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve() -> None:
    # Everything the children need, imported once here; nothing is opened or connected.
    for module in WARM_MODULES:
        importlib.import_module(module)

    children: dict[int, int | None] = {}
    reply = sys.stdout

    def answer(data: dict[str, Any]) -> None:
        reply.write(json.dumps(data) + "\n")
        reply.flush()

    answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(request)
            children[pid] = None
            answer({"pid": pid})
        elif request["op"] == "wait":
            pid, deadline = request["pid"], time.monotonic() + float(request["timeout"])
            while children.get(pid) is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children[pid] = os.waitstatus_to_exitcode(status)
                elif time.monotonic() >= deadline:
                    break
                else:
                    time.sleep(0.02)
            answer({"code": children.get(pid)})
        elif request["op"] == "signal":
            if children.get(request["pid"], 0) is None:
                os.kill(request["pid"], request["signal"])
            answer({})
    for pid, code in children.items():
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    _serve()

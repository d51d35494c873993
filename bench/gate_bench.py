"""Figure 1, gate overhead: one propose → interrupt → approve → resume → commit loop through the
product, beside the same ERP write through a bare LangGraph interrupt and a direct ERP write.

Model time is excluded: the proposal is filed with ``AgentService.call_tool`` (the graph path a chat
takes once the model has chosen the tool, with no model call), and the one model call left (telling
the requester after the commit) goes to a model that answers at once. What is timed per loop:

* product: ``call_tool("propose_purchase_order")`` (JIT token, ERP reads for the evidence and
  versions, the policy gate, the proposal row, the audit record, the checkpointed interrupt) and
  ``decide(approve)`` (the claim, the outbox row, and on the embedded defaults the drain: relay to
  the embedded queue, the ERP writer's commit with its token and ledger row, the result, the resume);
* bare LangGraph: a three-node ``StateGraph`` (make a key → ``interrupt`` → ``LegacyErp.apply``) on
  the same kind of ``SqliteSaver``, invoked until it pauses and resumed with ``Command(resume=…)``;
* direct: ``LegacyErp.apply`` of the same command under a new key (document + ledger row).

The goal (at most 2x) is against the bare LangGraph loop; the ratio to the direct write is shown too.
The three sides run interleaved in blocks, so load from other jobs falls on all of them alike, and
the medians of per-loop times are compared.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agent.approvals import Proposal
from agent.checkpoints import open_sqlite_saver
from agent.service import AgentService, build_service
from bench.common import PO_ARGS, ConstantModel, Outcome, Row, bench_settings, say, seeded_erp, verdict
from erp_acl.commands import Command as ErpCommand
from erp_acl.commands import fingerprint, parse_command
from erp_acl.legacy.adapter import LegacyErp

NAME = "gate"
GOAL_RATIO = 2.0
WARMUP = 3


class BareState(TypedDict, total=False):
    key: str
    decision: str
    document: str


def bare_graph(erp: LegacyErp, command: ErpCommand, checkpoints: Path) -> Any:
    """The least a human-in-the-loop write can be in LangGraph: key, interrupt, write."""
    print_ = fingerprint(command)

    def propose(state: BareState) -> dict[str, Any]:
        return {"key": str(uuid.uuid4())}

    def await_approval(state: BareState) -> dict[str, Any]:
        return {"decision": interrupt({"key": state["key"]})}

    def commit(state: BareState) -> dict[str, Any]:
        receipt = erp.apply(command, state["key"], print_)
        return {"document": receipt.document_id}

    graph = StateGraph(BareState)
    graph.add_node("propose", propose)
    graph.add_node("await_approval", await_approval)
    graph.add_node("commit", commit)
    graph.add_edge(START, "propose")
    graph.add_edge("propose", "await_approval")
    graph.add_edge("await_approval", "commit")
    graph.add_edge("commit", END)
    return graph.compile(checkpointer=open_sqlite_saver(checkpoints))


def product_loop(service: AgentService) -> None:
    proposal = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    done = service.decide(proposal.id, "bob", "approve")
    if done.status != "committed":
        raise RuntimeError(f"the benchmark proposal {done.id} ended {done.status}: {done.error}")


def run(loops: int, workdir: Path | None = None) -> Outcome:
    root = workdir or Path(tempfile.mkdtemp(prefix="countersign-bench-gate-"))
    product_dir, bare_dir, direct_dir = root / "product", root / "bare", root / "direct"
    for directory in (product_dir, bare_dir, direct_dir):
        seeded_erp(directory)
    service = build_service(bench_settings(product_dir), model=ConstantModel())
    bare_erp = LegacyErp.open(bare_dir / "legacy_erp.db")
    direct_erp = LegacyErp.open(direct_dir / "legacy_erp.db")
    try:
        first = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
        assert isinstance(first, Proposal)
        command = parse_command(first.payload)  # the product's own command, versions included
        print_ = fingerprint(command)
        graph = bare_graph(bare_erp, command, bare_dir / "checkpoints.db")

        def bare_loop() -> None:
            config: Any = {"configurable": {"thread_id": f"bare-{uuid.uuid4().hex}"}}
            graph.invoke({}, config, durability="sync")
            if not graph.get_state(config).interrupts:
                raise RuntimeError("the bare graph did not pause")
            graph.invoke(Command(resume="approve"), config, durability="sync")

        def direct_loop() -> None:
            direct_erp.apply(command, str(uuid.uuid4()), print_)

        sides = {"product": lambda: product_loop(service), "bare": bare_loop, "direct": direct_loop}
        times: dict[str, list[float]] = {side: [] for side in sides}
        for work in sides.values():
            for _ in range(WARMUP):
                work()
        block = max(1, min(10, loops // 5))
        done = 0
        while done < loops:
            take = min(block, loops - done)
            for side, work in sides.items():
                for _ in range(take):
                    started = time.perf_counter()
                    work()
                    times[side].append(time.perf_counter() - started)
            done += take
            say(f"gate: {done}/{loops} loops per side")
    finally:
        service.close()
        bare_erp.close()
        direct_erp.close()

    median = {side: statistics.median(values) for side, values in times.items()}
    over_bare = median["product"] / median["bare"]
    over_direct = median["product"] / median["direct"]
    rows = [
        Row(
            "1 gate overhead",
            "product loop: propose→interrupt→approve→resume→commit",
            f"{median['product'] * 1000:,.1f} ms",
            f"{over_bare:.1f}x bare LangGraph",
            "≤2x bare LangGraph",
            verdict(over_bare <= GOAL_RATIO),
        ),
        Row(
            "",
            "  bare LangGraph interrupt + resume + same ERP write",
            f"{median['bare'] * 1000:,.1f} ms",
            "1.0x",
        ),
        Row(
            "",
            "  direct ERP write (LegacyErp.apply)",
            f"{median['direct'] * 1000:,.1f} ms",
            f"product {over_direct:.1f}x direct",
        ),
    ]
    details = {
        "loops_per_side": loops,
        "median_seconds": {k: round(v, 5) for k, v in median.items()},
        "mean_seconds": {k: round(statistics.fmean(v), 5) for k, v in times.items()},
        "p90_seconds": {k: round(sorted(v)[int(0.9 * (len(v) - 1))], 5) for k, v in times.items()},
        "product_over_bare": round(over_bare, 2),
        "product_over_direct": round(over_direct, 2),
        "bare_over_direct": round(median["bare"] / median["direct"], 2),
        "goal": f"product ≤ {GOAL_RATIO}x the bare LangGraph interrupt loop",
        "pass": over_bare <= GOAL_RATIO,
        "notes": "model time excluded (call_tool files without a model; the post-commit reply "
        "comes from a constant model); embedded defaults: SQLite files, embedded queue, drain in the "
        "approver's call; the ERP pacer is kept but its cap is raised",
    }
    return Outcome(NAME, rows, details)

"""How long the offline planner takes to decide on one long message, per message shape and length.

A message's length must cost the planner linear time (the service refuses messages over
``agent.service.MAX_MESSAGE_CHARS`` and the planner reads at most
``agent.planner.conversation.MAX_REQUEST_CHARS`` of one). Each shape below once made a step
quadratic; the table shows seconds at 2,000 and 8,000 characters and their ratio (about 4 when
linear, about 16 when quadratic). The tests count calls instead of timing
(tests/unit/planner/test_planner_work_on_long_messages.py).

    uv run --frozen python -m bench.planner_bench
"""

from __future__ import annotations

import time

from langchain_core.messages import HumanMessage

from agent.planner.decide import decide
from tools.catalog import TOOLS_BY_NAME

SHAPES = {
    "purchase order": "order 400 hex bolts M8 from Fastenal ",
    "several items": "order 400 hex bolts M8, 20 washers and 5 nuts from Fastenal for CC300 ",
    "number words": "two hundred and ",
    "blanks": " ",
    "sentence ends": "! ",
    "price anchors": "price ",
    "supplier anchors": "po to ",
    "lines": "a\n",
}
SIZES = (2_000, 8_000)


def _seconds(text: str) -> float:
    started = time.perf_counter()
    decide([HumanMessage(text)], frozenset(TOOLS_BY_NAME))
    return time.perf_counter() - started


def main() -> None:
    print(f"{'shape':<18} " + " ".join(f"{n:>9,}" for n in SIZES) + "   ratio")
    for name, unit in SHAPES.items():
        times = [_seconds((unit * (n // len(unit) + 1))[:n]) for n in SIZES]
        ratio = times[-1] / max(times[0], 1e-6)
        print(f"{name:<18} " + " ".join(f"{t:>8.3f}s" for t in times) + f"   {ratio:5.1f}")


if __name__ == "__main__":
    main()

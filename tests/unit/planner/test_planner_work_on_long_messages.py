"""The planner's work grows linearly with the length of a message, and stops growing at its bound.

Work is counted, not timed: every Python and built-in function call the planner makes while
deciding (``cProfile``'s call count, deterministic for a deterministic planner). A step that
redoes a pass over the text for each word, number or sentence shows up as ~16x the calls on a 4x
longer message; linear work shows ~4x. The bound is generous (6x) so small constant effects
(a fold cache, one more piece) never fail it.
"""

from __future__ import annotations

import cProfile
import pstats
import random

import pytest
from langchain_core.messages import HumanMessage

from agent.planner.conversation import MAX_REQUEST_CHARS
from agent.planner.decide import decide
from tools.catalog import TOOLS_BY_NAME

BOUND = frozenset(TOOLS_BY_NAME)
_WORDS = (
    "order hex bolts M8 from Fastenal please check stock of washers for CC300 and cancel sales order "
    "000123 because change price of HB-M8-40 to 12.50 debit 1.1.01.001 credit two hundred and five "
    "dozen customer limit 10% 'quoted' \"memo\" : ; , . - ( ) 1,000 3/4"
)
_VOCABULARY = _WORDS.split()


def _random_words(length: int) -> str:
    pick = random.Random(7)
    return " ".join(pick.choice(_VOCABULARY) for _ in range(length))[:length]


# Each shape once made a step quadratic (or is the request the planner sees most).
SHAPES = {
    "a purchase order, repeated": "order 400 hex bolts M8 from Fastenal ",
    "several items": "order 400 hex bolts M8, 20 washers and 5 nuts from Fastenal for CC300 ",
    "number words": "two hundred and ",
    "a long run of blanks": " ",
    "sentence ends": "! ",
    "price anchors": "price ",
    "credit limit anchors": "limit ",
    "supplier anchors": "po to ",
    "order-for anchors": "order for ",
    "pay anchors": "pay ",
    "lines": "a\n",
}


def _calls(text: str) -> int:
    profile = cProfile.Profile()
    profile.runcall(decide, [HumanMessage(text)], BOUND)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def _repeat(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_four_times_the_message_costs_the_planner_at_most_about_four_times_the_work(shape: str) -> None:
    unit = SHAPES[shape]
    short, long = _calls(_repeat(unit, 1_500)), _calls(_repeat(unit, 6_000))
    assert long <= 6 * short, f"{shape}: {short} calls at 1,500 characters, {long} at 6,000"


def test_random_requests_cost_linear_work() -> None:
    short, long = _calls(_random_words(1_500)), _calls(_random_words(6_000))
    assert long <= 6 * short, f"{short} calls at 1,500 characters, {long} at 6,000"


def test_the_planner_reads_no_more_than_its_bound_of_a_message() -> None:
    at_bound = _calls(_repeat("order 400 hex bolts M8 from Fastenal ", MAX_REQUEST_CHARS))
    far_beyond = _calls(_repeat("order 400 hex bolts M8 from Fastenal ", 12 * MAX_REQUEST_CHARS))
    assert far_beyond <= at_bound * 1.1

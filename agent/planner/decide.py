"""The planner's whole decision for one model call: read the conversation, find the request, plan.

The planner keeps no state between calls. The request frame of the latest human message is parsed
again each time; when the previous reply asked a question, the question (``Pending``) is read back
from that reply's ``additional_kwargs["planner"]``, or re-derived by re-planning the earlier turn
(the planner is deterministic, so re-planning gives the same question).
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agent.planner.conversation import RequestContext, Turn, pending_of, read_context, split_turns
from agent.planner.flow import Decision
from agent.planner.followup import interpret
from agent.planner.frames import ChatFrame, Pending
from agent.planner.steps import plan

# How many earlier turns are re-planned when a reply lost its pending question.
_MAX_REPLAY = 6


def decide(messages: Sequence[BaseMessage], bound: frozenset[str]) -> Decision:
    """The next action for this conversation with these tools bound."""
    ctx = read_context(messages)
    turns = split_turns(messages)
    if not turns:
        return plan(ChatFrame(kind="greeting"), [], ctx, bound)
    pending = _pending_before(turns, len(turns) - 1, ctx, bound)
    frame = interpret(turns[-1].human, pending, ctx.today)
    return plan(frame, turns[-1].observations, ctx, bound)


def _pending_before(
    turns: list[Turn], index: int, ctx: RequestContext, bound: frozenset[str]
) -> Pending | None:
    """The question left open at the end of the turn before ``index``."""
    if index == 0:
        return None
    previous = turns[index - 1]
    ours, pending = pending_of(previous.reply)
    if ours or previous.reply is None:
        return pending
    if index - 1 < len(turns) - 1 - _MAX_REPLAY:
        return None
    earlier = _pending_before(turns, index - 1, ctx, bound)
    frame = interpret(previous.human, earlier, ctx.today)
    return plan(frame, previous.observations, ctx, bound).pending

"""The offline planner: a deterministic chat model that turns back-office requests into ERP tool calls.

``OfflinePlanner()`` is a LangChain ``BaseChatModel``. Modules, in the order a request meets them:
``conversation`` (read the messages), ``followup`` (combine an answer with a pending question),
``parse`` with ``numbers``/``lexicon``/``text``/``codes`` (words to an intent frame, see ``frames``;
``instruction`` sets a trailing context apart, ``invoices`` reads supplier-invoice requests,
``compound`` splits a request naming several reads, ``referents`` reads what a context names),
``steps``/``reads``/``invoice_reads``/``resolve``/``matching`` (frame + tool results to the next
action), ``replies`` (readable summaries) and ``model`` (the chat-model interface).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.planner.model import OfflinePlanner

__all__ = ["OfflinePlanner"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package stays cheap; LangChain loads only when the model is used.
    if name == "OfflinePlanner":
        from agent.planner.model import OfflinePlanner

        return OfflinePlanner
    raise AttributeError(name)

"""Structured logs and traces for every AI↔ERP interaction.

Logs: structlog events rendered as one JSON object per line (configured by the application);
each carries the correlation ids bound for the current run — thread, proposal, idempotency key,
principal — plus duration and outcome. Traces: the OpenTelemetry API, which is a no-op until an
application installs a tracer provider (off by default); spans for graph nodes, gateway calls
and ERP calls carry the same ids, so a log line and a span of one action can be joined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from erp_acl.ports import Erp

CORRELATION_KEYS = ("thread_id", "proposal_id", "idempotency_key", "principal", "on_behalf_of")

_tracer = trace.get_tracer("countersign")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def correlation() -> dict[str, Any]:
    """The correlation ids bound for the current run."""
    bound = structlog.contextvars.get_contextvars()
    return {key: bound[key] for key in CORRELATION_KEYS if bound.get(key) is not None}


@contextmanager
def correlated(**ids: str | None) -> Iterator[None]:
    """Bind correlation ids for everything logged or traced inside (None values are skipped)."""
    present = {key: value for key, value in ids.items() if value is not None}
    with structlog.contextvars.bound_contextvars(**present):
        yield


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span carrying the current correlation ids and the given attributes; errors mark it."""
    merged = {**correlation(), **{k: v for k, v in attributes.items() if v is not None}}
    with _tracer.start_as_current_span(name, attributes={k: str(v) for k, v in merged.items()}) as current:
        try:
            yield current
        except Exception as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


class TracedErp:
    """Wraps an ERP adapter so that every port call is a span named ``erp.<method>``."""

    def __init__(self, erp: Erp) -> None:
        self._erp = erp

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._erp, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def traced(*args: Any, **kwargs: Any) -> Any:
            with span(f"erp.{name}"):
                return attribute(*args, **kwargs)

        return traced


def traced_erp(erp: Erp) -> Erp:
    return cast(Erp, TracedErp(erp))


def traced_node(name: str, node: Callable[..., Any]) -> Callable[..., Any]:
    """A graph node wrapped in a span ``graph.<name>``."""

    def run(state: Any) -> Any:
        with span(f"graph.{name}", node=name):
            return node(state)

    run.__name__ = name
    return run

"""OpenTelemetry tracing: off by default, on when ``COUNTERSIGN_OTEL_ENDPOINT`` is set (OTLP/HTTP).

The code everywhere else uses only the OpenTelemetry API (a no-op without a provider); this is
the one place that installs a provider and an exporter, once per process.
"""

from __future__ import annotations

import threading

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from agent.settings import Settings

_lock = threading.Lock()
_configured = False


def configure_tracing(settings: Settings, exporter: SpanExporter | None = None) -> bool:
    """Install a tracer provider if tracing is asked for; returns whether tracing is on.

    ``exporter`` lets a test (or an embedding application) receive spans in-process; otherwise
    spans go in batches to the OTLP/HTTP endpoint of the settings.
    """
    global _configured
    if exporter is None and not settings.otel_endpoint:
        return _configured
    with _lock:
        if _configured:
            return True
        provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint)))
        trace.set_tracer_provider(provider)
        _configured = True
        return True

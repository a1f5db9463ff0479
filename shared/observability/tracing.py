"""W3C trace context and OpenTelemetry tracing, switched on by ``TERRITORY_OTEL_ENABLED``.

Propagation always works: a request continues the caller's ``traceparent`` or starts a trace,
and ServiceClient passes it on. With export on, FastAPI's native telemetry makes the server
spans (on our provider) and they go to the OTLP/HTTP endpoint of the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) variable, sampled per
``OTEL_TRACES_SAMPLER`` (default: parent-based, always on). With export off, ``continue_trace``
only puts a non-recording span of the caller's trace in the context: FastAPI's telemetry costs
~35 us of CPU per request even when nothing records, this ~5 us (measured on the lead path's
stack).
"""

from __future__ import annotations

import threading

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from starlette.types import Scope

from shared.settings import Settings

TRACER_NAME = "territory"
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
_ids = RandomIdGenerator()
_lock = threading.Lock()
_provider: TracerProvider | None = None


def tracer_provider(settings: Settings, *, service: str) -> TracerProvider:
    """The process's provider, built on first use; a process runs one service.

    Not set as OpenTelemetry's global provider: apps and clients are handed it explicitly, so
    that a test process hosting several apps shares one provider without global side effects.
    """
    global _provider
    with _lock:
        if _provider is None:
            _provider = _build_provider(settings, service=service)
        return _provider


def _build_provider(settings: Settings, *, service: str) -> TracerProvider:
    resource = Resource.create({"service.name": service, "service.namespace": "territory"})
    if not settings.otel_enabled:
        return TracerProvider(resource=resource, sampler=ParentBased(root=ALWAYS_OFF))
    # Imported only when export is on: the exporter pulls in protobuf.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def get_tracer() -> trace.Tracer:
    """A tracer of the process's provider, or OpenTelemetry's global (no-op by default) one
    before any app configured it; either way the current trace context is propagated."""
    provider = _provider
    if provider is None:
        return trace.get_tracer(TRACER_NAME)
    return provider.get_tracer(TRACER_NAME)


def telemetry_config(settings: Settings, *, service: str) -> TelemetryConfig:
    """``FastAPI(telemetry=...)``: server spans on our provider when export is on, else none
    (``continue_trace`` propagates then).

    Operation spans (one per dependency, endpoint and serialisation) are off: they would triple
    the spans of the lead hot path for detail its server span already gives. FastAPI's OTel
    metrics and logs are off as well: Prometheus and our JSON logs carry those.
    """
    return {
        "tracer_provider": tracer_provider(settings, service=service),
        "tracing": settings.otel_enabled,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
    }


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, for log lines; None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def traceresponse_header() -> bytes | None:
    """The W3C ``traceresponse`` value of the current (server) span: the caller learns the trace
    id even when it sent no ``traceparent``, and which span answered it."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    value = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    return value.encode("ascii")


def continue_trace(scope: Scope) -> object:
    """Make the request's trace current without recording anything: the caller's trace id with
    a span id of our own (so the next hop's parent is this service), or a new trace. Returns
    the token for ``end_trace``."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _TRACE_HEADERS
    }
    parent = propagate.extract(carrier) if carrier else otel_context.Context()
    caller = trace.get_current_span(parent).get_span_context()
    if caller.is_valid:
        span_context = trace.SpanContext(
            trace_id=caller.trace_id,
            span_id=_ids.generate_span_id(),
            is_remote=False,
            trace_flags=caller.trace_flags,
            trace_state=caller.trace_state,
        )
    else:
        span_context = trace.SpanContext(
            trace_id=_ids.generate_trace_id(), span_id=_ids.generate_span_id(), is_remote=False
        )
    span = trace.NonRecordingSpan(span_context)
    return otel_context.attach(trace.set_span_in_context(span, parent))


def end_trace(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]

"""One call per app: request metrics, trace context, the ``traceresponse`` header, the metrics
endpoint and the database pool collector. With span export on, FastAPI's native telemetry (the
app is constructed with ``telemetry_config``) handles trace context instead."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import NotFound
from shared.observability import metrics
from shared.observability.tracing import continue_trace, end_trace, traceresponse_header
from shared.settings import Settings

ScrapeHook = Callable[[FastAPI], Awaitable[None]]
# Any other method a client makes up is counted as "other": labels must stay a bounded set.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ObservabilityMiddleware:
    """Pure ASGI: counts and times each request under its route template, adds ``traceresponse``.

    The route template is read from ``scope["route"]``, which the router sets once it matched,
    so no route is matched twice (prometheus-fastapi-instrumentator re-matches every route of
    the app per request, which the lead hot path would pay for).
    """

    def __init__(self, app: ASGIApp, *, propagate_trace: bool) -> None:
        self.app = app
        self.propagate_trace = propagate_trace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500
        trace_token = continue_trace(scope) if self.propagate_trace else None

        async def send_observed(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                header = traceresponse_header()
                if header is not None:
                    message["headers"] = [*message.get("headers", []), (b"traceresponse", header)]
            await send(message)

        metrics.HTTP_IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            if trace_token is not None:
                end_trace(trace_token)
            metrics.HTTP_IN_PROGRESS.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or metrics.UNMATCHED_ROUTE
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "other"
            metrics.HTTP_DURATION.labels(route=template, method=method).observe(
                time.perf_counter() - started
            )
            metrics.HTTP_REQUESTS.labels(
                route=template, method=method, status=str(status_code)
            ).inc()


def install_observability(
    app: FastAPI, *, service: str, settings: Settings, scrape_hooks: Sequence[ScrapeHook] = ()
) -> None:
    """Instrument ``app`` and serve Prometheus' text format at ``metrics.METRICS_PATH``.

    ``scrape_hooks`` refresh gauges that need the database (queue depth) right before each
    scrape. The app's SQLAlchemy pool is read from ``app.state.engine`` at scrape time.
    """
    # Without export, FastAPI's telemetry is off (telemetry_config) and this carries the trace.
    app.add_middleware(ObservabilityMiddleware, propagate_trace=not settings.otel_enabled)

    def engine_pool() -> metrics.PoolStats | None:
        engine = getattr(app.state, "engine", None)
        return None if engine is None else metrics.sqlalchemy_pool_stats(engine.pool)

    metrics.POOLS.track(service=service, pool="sqlalchemy", stats=engine_pool)

    async def prometheus_metrics(request: Request) -> Response:
        # Prometheus scrapes pods directly. A request that came through a proxy (our nginx
        # serves nothing under /-/, but an Ingress routing "/" to the gateway app would) is
        # refused, so the catch-all route of an edge never publishes the metrics.
        if "x-forwarded-for" in request.headers:
            raise NotFound(f"{metrics.METRICS_PATH} is served to in-cluster scrapers only")
        for hook in scrape_hooks:
            await hook(request.app)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        metrics.METRICS_PATH, prometheus_metrics, methods=["GET"], include_in_schema=False
    )

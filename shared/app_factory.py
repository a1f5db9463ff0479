"""The one way a service app is built: lifespan resources, middleware, errors, health routes."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared.auth import KeyCache
from shared.auth_limit import FailedAuthLimiter
from shared.db import create_engine, create_sessionmaker
from shared.docs import install_docs
from shared.errors import PROBLEM_CONTENT_TYPE, PROBLEM_RESPONSES, install_error_handlers
from shared.http_client import ServiceClient
from shared.logging import configure_logging
from shared.observability import install_observability, telemetry_config
from shared.openapi import finish_document, operation_id_fallback
from shared.request_context import RequestContextMiddleware
from shared.settings import Settings, get_settings

_NOT_READY: dict[str, Any] = {
    "description": "Not ready: the database does not answer (or, as problem+json, the gateway "
    "is at capacity)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"status": {"const": "unavailable"}, "database": {"type": "string"}},
                "required": ["status"],
            }
        },
        PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}},
    },
}


def _health_router(prefix: str, service: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    @router.get(
        f"{prefix}/healthz",
        summary="Liveness: the process answers.",
        operation_id=f"{service}.healthz",
    )
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    @router.get(
        f"{prefix}/readyz",
        summary="Readiness: the database answers.",
        operation_id=f"{service}.readyz",
        responses={503: _NOT_READY},
    )
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers."""
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means "not ready", reported, not raised
            return JSONResponse({"status": "unavailable", "database": repr(error)}, status_code=503)
        return {"status": "ok", "database": "ok"}  # type: ignore[return-value]

    return router


def _finish_openapi(app: FastAPI, service: str) -> None:
    """Serve the document shared/openapi.py finishes (schema names, error responses...)."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_document(build_openapi(), service=service)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    downstream: Sequence[str] = (),
    settings: Settings | None = None,
    resources: Callable[[FastAPI, Settings], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """Build a service; ``downstream`` names the services it calls (clients on ``app.state``),
    ``resources`` opens anything else the service keeps for its lifetime (e.g. a raw pool)."""
    settings = settings or get_settings()
    prefix = f"/{name}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service=name, level=settings.log_level, json_lines=settings.log_json)
        engine = create_engine(settings, application_name=name)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.key_cache = KeyCache(settings.auth_cache_seconds)
        app.state.auth_limiter = FailedAuthLimiter(
            limit=settings.auth_failure_limit, window_seconds=settings.auth_failure_window_seconds
        )
        app.state.clients = {
            service: ServiceClient(
                service=service,
                base_url=settings.service_url(service),
                timeout_seconds=settings.http_timeout_seconds,
                retries=settings.http_retries,
            )
            for service in downstream
        }
        # Built once now, not on the gateway's first fetch: a large document takes seconds to
        # build on a loaded machine, longer than the gateway waits for it.
        app.openapi()
        try:
            if resources is None:
                yield
            else:
                async with resources(app, settings):
                    yield
        finally:
            for client in app.state.clients.values():
                await client.aclose()
            await engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry_config(settings, service=name),
        generate_unique_id_function=operation_id_fallback(name),
        # Behind nginx a redirect to the slash-less path would name the service's own host and
        # port; a 404 naming the right path (shared/errors.py) serves the caller better.
        redirect_slashes=False,
    )
    app.add_middleware(RequestContextMiddleware)
    install_observability(app, service=name, settings=settings)
    install_error_handlers(app)
    _finish_openapi(app, name)
    install_docs(app, prefix=prefix, title=title)
    app.include_router(_health_router(prefix, name))
    for router in routers:
        # Health routes take no key and no input, so only these routes declare 401/403/422.
        app.include_router(router, responses=PROBLEM_RESPONSES)
    return app

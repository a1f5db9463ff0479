"""The one way a service app is built: lifespan resources, middleware, errors, health routes."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared.auth import KeyCache
from shared.db import create_engine, create_sessionmaker
from shared.errors import PROBLEM_CONTENT_TYPE, PROBLEM_RESPONSES, install_error_handlers
from shared.http_client import ServiceClient
from shared.logging import configure_logging
from shared.request_context import RequestContextMiddleware
from shared.settings import Settings, get_settings


def _health_router(prefix: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    @router.get(f"{prefix}/healthz", summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    @router.get(f"{prefix}/readyz", summary="Readiness: the database answers.")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers."""
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means "not ready", reported, not raised
            return JSONResponse({"status": "unavailable", "database": repr(error)}, status_code=503)
        return {"status": "ok", "database": "ok"}  # type: ignore[return-value]

    return router


def _serve_problem_media_type(app: FastAPI) -> None:
    """Post-process the document: errors are problem+json (FastAPI files every model under
    application/json), and each operation's summary is its docstring's first line."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_openapi()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    description = operation.get("description", "")
                    if description:
                        operation["summary"] = description.strip().splitlines()[0]
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if PROBLEM_CONTENT_TYPE in content and "application/json" in content:
                            content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
            app.openapi_schema = document
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
        app.state.clients = {
            service: ServiceClient(
                service=service,
                base_url=settings.service_url(service),
                timeout_seconds=settings.http_timeout_seconds,
                retries=settings.http_retries,
            )
            for service in downstream
        }
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
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        responses=PROBLEM_RESPONSES,
        # Behind nginx a redirect to the slash-less path would name the service's own host and
        # port; a 404 naming the right path (shared/errors.py) serves the caller better.
        redirect_slashes=False,
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    _serve_problem_media_type(app)
    app.include_router(_health_router(prefix))
    for router in routers:
        app.include_router(router)
    return app

"""Gateway app (behind nginx): the merged OpenAPI document, API docs (Swagger UI, ReDoc, their
assets), liveness and readiness."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.gateway.catalog import ServiceCatalog
from services.gateway.map_page import install_map_page
from shared.db import create_engine
from shared.docs import install_docs
from shared.errors import install_error_handlers
from shared.logging import configure_logging
from shared.observability import install_observability, telemetry_config
from shared.observability.queue import queue_depth_hook
from shared.request_context import RequestContextMiddleware
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service="gateway", level=settings.log_level, json_lines=settings.log_json)
        app.state.engine = create_engine(settings, application_name="gateway")
        async with httpx.AsyncClient() as client:
            app.state.catalog = ServiceCatalog(settings=settings, client=client)
            yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="Territory Platform gateway",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry_config(settings, service="gateway"),
    )
    app.add_middleware(RequestContextMiddleware)
    # The queue is the platform's, not one service's: its depth is exported here, once.
    install_observability(
        app, service="gateway", settings=settings, scrape_hooks=[queue_depth_hook]
    )
    install_error_handlers(app)
    install_docs(app, prefix="", title="Territory Platform")
    install_map_page(app)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> dict[str, Any]:
        """The merged OpenAPI 3.1 document of every service."""
        catalog: ServiceCatalog = request.app.state.catalog
        return await catalog.merged_document()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the gateway app answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database and every service answer."""
        catalog: ServiceCatalog = request.app.state.catalog
        checks = await catalog.readiness(request.app.state.engine)
        ready = all(result == "ok" for result in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    return app


app = create_app()

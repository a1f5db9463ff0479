"""Planning service: basic units and adjacency, territory design, scenarios and realignment."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.planning.change_requests.router import router as change_requests_router
from services.planning.comments.router import router as comments_router
from services.planning.scenarios.router import router as scenarios_router
from services.planning.units.router import router as units_router
from services.planning.units.router import sets_router as unit_sets_router
from shared.app_factory import create_service_app
from shared.jobs.app import queue_resource
from shared.settings import Settings


@asynccontextmanager
async def resources(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The job queue: design scenarios run on the worker."""
    async with queue_resource(app, settings):
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="planning",
        title="Planning",
        description=(
            "Basic geographic units (unit sets) with measures and adjacency, territory design,"
            " and the review of a realignment: change requests with approval, and comments."
        ),
        routers=[
            units_router,
            unit_sets_router,
            scenarios_router,
            change_requests_router,
            comments_router,
        ],
        downstream=["assignment"],
        settings=settings,
        resources=resources,
    )


app = create_app()

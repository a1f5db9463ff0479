"""Proximity service: people, their connections, proximity scores and social territories."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.proximity.connections.router import router as connections_router
from services.proximity.ingest.router import router as ingest_router
from services.proximity.matrix.router import router as matrix_router
from services.proximity.people.router import router as people_router
from services.proximity.rankings.router import router as rankings_router
from services.proximity.scoring.lifecycle import graph_cache
from services.proximity.scoring.router import router as scoring_router
from services.proximity.social_territories.router import router as social_territories_router
from shared.app_factory import create_service_app
from shared.jobs.app import queue_resource
from shared.settings import Settings


@asynccontextmanager
async def resources(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The job queue, and the tenants' graphs built before the service takes requests."""
    async with queue_resource(app, settings), graph_cache(settings):
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="proximity",
        title="Proximity",
        description="The social graph (people and connections) and proximity of reps to accounts.",
        routers=[
            people_router,
            connections_router,
            ingest_router,
            rankings_router,
            matrix_router,
            scoring_router,
            social_territories_router,
        ],
        downstream=[],
        settings=settings,
        resources=resources,
    )


app = create_app()

"""Proximity service: people, their connections, proximity scores and social territories."""

from fastapi import FastAPI

from services.proximity.connections.router import router as connections_router
from services.proximity.ingest.router import router as ingest_router
from services.proximity.matrix.router import router as matrix_router
from services.proximity.people.router import router as people_router
from services.proximity.rankings.router import router as rankings_router
from shared.app_factory import create_service_app
from shared.jobs.app import queue_resource
from shared.settings import Settings


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
        ],
        downstream=[],
        settings=settings,
        resources=queue_resource,
    )


app = create_app()

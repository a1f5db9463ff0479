"""Planning service: basic units and adjacency, territory design, scenarios and realignment."""

from fastapi import FastAPI

from services.planning.units.router import router as units_router
from shared.app_factory import create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="planning",
        title="Planning",
        description="Basic geographic units with measures and adjacency, and territory design.",
        routers=[units_router],
        downstream=["assignment"],
        settings=settings,
    )


app = create_app()

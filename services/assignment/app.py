"""Assignment service: reps, territories, alignments, accounts and lead routing."""

from fastapi import FastAPI

from services.assignment.reps.router import router as reps_router
from shared.app_factory import create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="assignment",
        title="Assignment",
        description="Territories, reps, accounts, alignments and lead-to-territory assignment.",
        routers=[reps_router],
        downstream=["proximity"],
        settings=settings,
    )


app = create_app()

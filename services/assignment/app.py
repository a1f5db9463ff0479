"""Assignment service: reps, territories, alignments, accounts and lead routing."""

from fastapi import FastAPI

from services.assignment.reps.router import router as reps_router
from shared.app_factory import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="assignment",
        title="Assignment",
        description="Territories, reps, accounts, alignments and lead-to-territory assignment.",
        routers=[reps_router],
        downstream=["proximity"],
    )


app = create_app()

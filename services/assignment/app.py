"""Assignment service: reps, territories, alignments, accounts and lead routing."""

from fastapi import FastAPI

from services.assignment.lead_pool import lead_pool
from services.assignment.leads.router import router as leads_router
from services.assignment.reps.router import router as reps_router
from shared.app_factory import create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="assignment",
        title="Assignment",
        description="Territories, reps, accounts, alignments and lead-to-territory assignment.",
        routers=[reps_router, leads_router],
        downstream=["proximity"],
        settings=settings,
        resources=lead_pool,
    )


app = create_app()

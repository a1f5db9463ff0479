"""Assignment service: reps, territories, alignments, accounts and lead routing."""

from fastapi import FastAPI

from services.assignment.accounts.router import router as accounts_router
from services.assignment.alignments.router import router as alignments_router
from services.assignment.audit.router import router as audit_router
from services.assignment.bulk.router import router as bulk_router
from services.assignment.lead_pool import lead_pool
from services.assignment.leads.router import router as leads_router
from services.assignment.postal_codes.router import router as postal_codes_router
from services.assignment.reps.router import router as reps_router
from services.assignment.territories.router import router as territories_router
from shared.app_factory import create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="assignment",
        title="Assignment",
        description="Territories, reps, accounts, alignments and lead-to-territory assignment.",
        routers=[
            reps_router,
            leads_router,
            accounts_router,
            postal_codes_router,
            alignments_router,
            territories_router,
            bulk_router,
            audit_router,
        ],
        downstream=["proximity"],
        settings=settings,
        resources=lead_pool,
    )


app = create_app()

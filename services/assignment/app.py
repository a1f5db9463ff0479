"""Assignment service: reps, territories, alignments, accounts and lead routing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.assignment.accounts.router import router as accounts_router
from services.assignment.alignments.router import router as alignments_router
from services.assignment.assignments.router import router as assignments_router
from services.assignment.audit.router import router as audit_router
from services.assignment.bulk.router import router as bulk_router
from services.assignment.crm.router import router as crm_router
from services.assignment.events.router import router as events_router
from services.assignment.lead_pool import lead_pool
from services.assignment.leads.router import router as leads_router
from services.assignment.postal_codes.router import router as postal_codes_router
from services.assignment.reps.router import router as reps_router
from services.assignment.territories.router import router as territories_router
from services.assignment.tiles.router import router as tiles_router
from services.assignment.webhooks.router import router as webhooks_router
from shared.app_factory import create_service_app
from shared.jobs.app import queue_resource
from shared.settings import Settings


@asynccontextmanager
async def resources(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The lead hot path's pool, and the job queue (bulk uploads are deferred to the worker)."""
    async with lead_pool(app, settings), queue_resource(app, settings):
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="assignment",
        title="Assignment",
        description="Territories, reps, accounts, alignments and lead-to-territory assignment.",
        # tiles first: its /assignment/territories/{id}.geojson would otherwise be taken for
        # /assignment/territories/{id} (a path parameter matches any segment).
        routers=[
            tiles_router,
            reps_router,
            leads_router,
            assignments_router,
            accounts_router,
            postal_codes_router,
            alignments_router,
            territories_router,
            bulk_router,
            audit_router,
            crm_router,
            events_router,
            webhooks_router,
        ],
        downstream=["proximity"],
        settings=settings,
        resources=resources,
    )


app = create_app()

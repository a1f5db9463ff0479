"""Metrics service: quotas, opportunities and the KPIs computed from them."""

from fastapi import FastAPI

from services.metrics.activities.router import router as activities_router
from services.metrics.forecasts.router import router as forecasts_router
from services.metrics.health.router import router as health_router
from services.metrics.ingest.router import router as ingest_router
from services.metrics.kpis.router import kpi_router
from services.metrics.kpis.router import router as kpis_router
from services.metrics.opportunities.router import router as opportunities_router
from services.metrics.potential.router import router as potential_router
from services.metrics.quotas.router import router as quotas_router
from services.metrics.quotas.router import suggestions_router
from services.metrics.settings.router import router as settings_router
from shared.app_factory import create_service_app
from shared.jobs.app import queue_resource
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        name="metrics",
        title="Metrics",
        description="Opportunities, activities and quotas; KPIs, leaderboards, time series, "
        "territory health, account potential, quota suggestions and revenue forecasts.",
        routers=[
            settings_router,
            quotas_router,
            ingest_router,
            opportunities_router,
            activities_router,
            kpis_router,
            kpi_router,
            health_router,
            forecasts_router,
            potential_router,
            suggestions_router,
        ],
        downstream=["assignment", "planning"],
        resources=queue_resource,
        settings=settings,
    )


app = create_app()

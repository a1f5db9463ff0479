"""HTTP endpoints for KPIs."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.kpis import service
from services.metrics.kpis.schemas import AttainmentRead, KpiSetRead
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/metrics/reps", tags=["kpis"])


@router.get("/{rep_id}/attainment", operation_id="attainment.get")
async def get_rep_attainment(
    rep_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    period_start: Annotated[date, Query(description="First day of the period (UTC)")],
    period_end: Annotated[date, Query(description="Day after the period's last day (UTC)")],
) -> AttainmentRead:
    """A rep's quota attainment, win rate and open pipeline for a period (end day exclusive)."""
    return await service.rep_attainment(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        period_start=period_start,
        period_end=period_end,
    )


kpi_router = APIRouter(prefix="/metrics", tags=["kpis"])

PeriodParam = Annotated[
    str | None,
    Query(
        description="Fiscal year (2026), fiscal quarter (2026-Q1) or month (2026-03); "
        "or send start and end",
        max_length=10,
    ),
]
StartParam = Annotated[date | None, Query(description="Custom range: first local day")]
EndParam = Annotated[date | None, Query(description="Custom range: day after the last one")]


@kpi_router.get(
    "/kpis",
    operation_id="kpis.get",
    responses={
        404: problem_doc("The rep or territory is not in this tenant"),
        422: problem_doc("Not exactly one subject, or a period that cannot be read"),
    },
)
async def get_kpis(
    session: SessionDep,
    principal: ReadPrincipal,
    rep_id: Annotated[uuid.UUID | None, Query(description="The rep")] = None,
    territory_id: Annotated[
        uuid.UUID | None, Query(description="The territory, rolled up with its descendants")
    ] = None,
    period: PeriodParam = None,
    start: StartParam = None,
    end: EndParam = None,
) -> KpiSetRead:
    """Revenue, growth, attainment, win rate, pipeline and workload of one rep or territory."""
    return await service.kpi_set(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        territory_id=territory_id,
        period=period,
        start=start,
        end=end,
    )

"""HTTP endpoints for KPIs."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.metrics.csv_export import CSV_RESPONSE, FormatParam, csv_response
from services.metrics.kpis import service
from services.metrics.kpis.schemas import (
    AttainmentRead,
    KpiSetRead,
    LeaderboardRead,
    PipelineRead,
    TimeSeriesRead,
)
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
AsOfParam = Annotated[
    datetime | None,
    Query(
        description="Pipeline and coverage as they stood at this instant, from the stage "
        "history (ISO 8601; without an offset: the tenant's local time)"
    ),
]


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
    as_of: AsOfParam = None,
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
        as_of=as_of,
    )


@kpi_router.get(
    "/pipeline",
    operation_id="pipeline.get",
    responses={
        404: problem_doc("The rep or territory is not in this tenant"),
        422: problem_doc("Not exactly one subject"),
    },
)
async def get_pipeline(
    session: SessionDep,
    principal: ReadPrincipal,
    rep_id: Annotated[uuid.UUID | None, Query(description="The rep")] = None,
    territory_id: Annotated[
        uuid.UUID | None, Query(description="The territory, rolled up with its descendants")
    ] = None,
    as_of: AsOfParam = None,
) -> PipelineRead:
    """Open pipeline per stage of a rep or territory as it stood at any instant (default now)."""
    return await service.pipeline(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        territory_id=territory_id,
        as_of=as_of,
    )


@kpi_router.get(
    "/timeseries",
    operation_id="timeseries.get",
    response_model=TimeSeriesRead,
    responses={
        200: CSV_RESPONSE,
        404: problem_doc("The rep or territory is not in this tenant"),
        422: problem_doc("Not exactly one subject, a bad period or too many buckets"),
    },
)
async def get_time_series(
    session: SessionDep,
    principal: ReadPrincipal,
    rep_id: Annotated[uuid.UUID | None, Query(description="The rep")] = None,
    territory_id: Annotated[
        uuid.UUID | None, Query(description="The territory, rolled up with its descendants")
    ] = None,
    grain: Annotated[
        Literal["month", "quarter", "year"], Query(description="Bucket length")
    ] = "month",
    period: PeriodParam = None,
    start: StartParam = None,
    end: EndParam = None,
    format: Annotated[FormatParam, Query(description="json or csv")] = "json",
) -> Any:
    """Revenue, wins, losses and activities per month, quarter or year of a rep or territory."""
    series = await service.time_series(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        territory_id=territory_id,
        grain=grain,
        period=period,
        start=start,
        end=end,
    )
    if format == "csv":
        return csv_response(series.points, filename="timeseries.csv")
    return series


@kpi_router.get(
    "/leaderboard",
    operation_id="leaderboard.get",
    response_model=LeaderboardRead,
    responses={
        200: CSV_RESPONSE,
        404: problem_doc("The alignment is not in this tenant"),
        422: problem_doc("A bad period, or a territory leaderboard without alignment_id"),
    },
)
async def get_leaderboard(
    session: SessionDep,
    principal: ReadPrincipal,
    by: Annotated[Literal["rep", "territory"], Query(description="Rank reps or territories")] = (
        "rep"
    ),
    order_by: Annotated[
        Literal["revenue", "attainment", "win_rate"], Query(description="The ranking metric")
    ] = "revenue",
    alignment_id: Annotated[
        uuid.UUID | None, Query(description="For by=territory: whose territories")
    ] = None,
    period: PeriodParam = None,
    start: StartParam = None,
    end: EndParam = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Rows to return")] = 100,
    format: Annotated[FormatParam, Query(description="json or csv")] = "json",
) -> Any:
    """Reps or territories ranked by revenue, attainment or win rate over a period."""
    board = await service.leaderboard(
        session,
        tenant_id=principal.tenant_id,
        by=by,
        order_by=order_by,
        alignment_id=alignment_id,
        period=period,
        start=start,
        end=end,
        limit=limit,
    )
    if format == "csv":
        return csv_response(board.rows, filename="leaderboard.csv")
    return board

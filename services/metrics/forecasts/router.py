"""HTTP endpoints for revenue forecasts."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.metrics.forecasts import service
from services.metrics.forecasts.schemas import ForecastRead
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/metrics", tags=["forecasts"])


@router.get(
    "/forecast",
    operation_id="forecast.get",
    responses={
        404: problem_doc("The rep or territory is not in this tenant"),
        422: problem_doc("Not exactly one subject"),
    },
)
async def get_forecast(
    session: SessionDep,
    principal: ReadPrincipal,
    rep_id: Annotated[uuid.UUID | None, Query(description="The rep")] = None,
    territory_id: Annotated[
        uuid.UUID | None, Query(description="The territory, rolled up with its descendants")
    ] = None,
    grain: Annotated[Literal["month", "quarter"], Query(description="Period length")] = "quarter",
    history_periods: Annotated[
        int, Query(ge=4, le=60, description="Closed periods to learn from")
    ] = 12,
    horizon: Annotated[int, Query(ge=1, le=12, description="Periods to forecast")] = 4,
    as_of: Annotated[
        date | None, Query(description="Forecast from the period holding this day (default today)")
    ] = None,
) -> ForecastRead:
    """Next periods' closed-won revenue of a rep or territory, with its back-tested error."""
    return await service.revenue_forecast(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        territory_id=territory_id,
        grain=grain,
        history_periods=history_periods,
        horizon=horizon,
        as_of=as_of,
    )

"""HTTP endpoints for territory health and market potential."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.metrics.csv_export import CSV_RESPONSE, FormatParam, csv_response
from services.metrics.health import service
from services.metrics.health.schemas import TerritoryHealthRead
from services.metrics.kpis.router import EndParam, PeriodParam, StartParam
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/metrics", tags=["territory health"])


@router.get(
    "/territory-health",
    operation_id="territory_health.get",
    response_model=TerritoryHealthRead,
    responses={
        200: CSV_RESPONSE,
        404: problem_doc("The alignment is not in this tenant"),
        422: problem_doc("A period that cannot be read"),
    },
)
async def get_territory_health(
    session: SessionDep,
    principal: ReadPrincipal,
    alignment_id: Annotated[uuid.UUID, Query(description="Whose leaf territories to compare")],
    period: PeriodParam = None,
    start: StartParam = None,
    end: EndParam = None,
    tolerance: Annotated[
        float, Query(gt=0, le=10, description="Allowed deviation from the mean (0.2 = ±20%)")
    ] = 0.2,
    whitespace_days: Annotated[
        int, Query(ge=1, le=3650, description="An account untouched this long is whitespace")
    ] = 90,
    format: Annotated[FormatParam, Query(description="json, or csv of the territory rows")] = (
        "json"
    ),
) -> Any:
    """Balance of workload, potential and revenue across territories; potential and whitespace."""
    health = await service.territory_health(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        period=period,
        start=start,
        end=end,
        tolerance=tolerance,
        whitespace_days=whitespace_days,
    )
    if format == "csv":
        return csv_response(health.territories, filename="territory-health.csv")
    return health

"""HTTP endpoints for territory health and market potential."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.metrics.csv_export import CSV_RESPONSE, FormatParam, csv_response
from services.metrics.health import adjustments, service
from services.metrics.health.planning_client import PlanningClientDep
from services.metrics.health.schemas import AdjustmentsRead, TerritoryHealthRead
from services.metrics.kpis.router import EndParam, PeriodParam, StartParam
from shared.auth import ReadPrincipal, WritePrincipal
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


_TOLERANCE = Annotated[
    float, Query(gt=0, le=10, description="Allowed deviation from the mean (0.2 = ±20%)")
]


@router.post(
    "/territory-health/adjustments",
    operation_id="territory_adjustments.create",
    responses={
        202: {
            "model": AdjustmentsRead,
            "description": "The planning service is realigning: follow Location for the moves",
        },
        404: problem_doc("The alignment is not in this tenant"),
    },
)
async def request_adjustments(
    response: Response,
    session: SessionDep,
    principal: WritePrincipal,
    planning: PlanningClientDep,
    alignment_id: Annotated[uuid.UUID, Query(description="The alignment to rebalance")],
    tolerance: _TOLERANCE = 0.2,
    time_limit_seconds: Annotated[
        float, Query(gt=0, le=600, description="The planning engine's time budget")
    ] = 10.0,
) -> AdjustmentsRead:
    """Ask the planning service for moves that bring out-of-tolerance territories back (202),
    or say why none are needed or possible (200)."""
    answer = await adjustments.request_adjustments(
        session,
        planning,
        api_key=principal.token,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        tolerance=tolerance,
        time_limit_seconds=time_limit_seconds,
    )
    if answer.scenario_id is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = answer.links["self"]
    return answer


@router.get(
    "/territory-health/adjustments/{scenario_id}",
    operation_id="territory_adjustments.get",
    responses={404: problem_doc("The alignment or the planning scenario is not in this tenant")},
)
async def get_adjustments(
    scenario_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    planning: PlanningClientDep,
    alignment_id: Annotated[uuid.UUID, Query(description="The alignment the moves are for")],
    tolerance: _TOLERANCE = 0.2,
) -> AdjustmentsRead:
    """Moves (units and their accounts from → to) and the balance expected after, vs today."""
    return await adjustments.read_adjustments(
        session,
        planning,
        api_key=principal.token,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        scenario_id=scenario_id,
        tolerance=tolerance,
    )

"""HTTP endpoints for design scenarios (territory design and realignment jobs)."""

import uuid

from fastapi import APIRouter, status

from services.planning.scenarios import service
from services.planning.scenarios.schemas import ScenarioCreate, ScenarioRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep

router = APIRouter(prefix="/planning/scenarios", tags=["scenarios"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="scenarios.create",
    responses={
        404: problem_doc("The base scenario does not exist in this tenant"),
        409: problem_doc("The base scenario has not succeeded"),
    },
)
async def create_scenario(
    body: ScenarioCreate, session: SessionDep, principal: WritePrincipal, queue: QueueDep
) -> ScenarioRead:
    """Queue a territory design (or a realignment from ``current``/``base_scenario_id``)."""
    return await service.create_scenario(session, queue, tenant_id=principal.tenant_id, data=body)


@router.get(
    "/{scenario_id}",
    operation_id="scenarios.get",
    responses={404: problem_doc("No such scenario in this tenant")},
)
async def get_scenario(
    scenario_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ScenarioRead:
    """Get a scenario: status, progress and, when finished, the plan and its statistics."""
    return await service.get_scenario(
        session, tenant_id=principal.tenant_id, scenario_id=scenario_id
    )


@router.post(
    "/{scenario_id}:cancel",
    operation_id="scenarios.cancel",
    responses={
        404: problem_doc("No such scenario in this tenant"),
        409: problem_doc("The scenario already finished"),
    },
)
async def cancel_scenario(
    scenario_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> ScenarioRead:
    """Cancel a pending or running design; its job stops within a second."""
    return await service.cancel_scenario(
        session, tenant_id=principal.tenant_id, scenario_id=scenario_id
    )

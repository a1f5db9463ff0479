"""HTTP endpoints for design scenarios (territory design and realignment jobs)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from services.planning.scenarios import service
from services.planning.scenarios.client import AssignmentClientDep
from services.planning.scenarios.schemas import (
    ScenarioComparison,
    ScenarioCreate,
    ScenarioDraft,
    ScenarioDrafted,
    ScenarioPage,
    ScenarioRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep
from shared.models.planning import ScenarioStatus

router = APIRouter(prefix="/planning/scenarios", tags=["scenarios"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="scenarios.create",
    responses={
        404: problem_doc("The base scenario or the unit set does not exist in this tenant"),
        409: problem_doc("The base scenario has not succeeded"),
    },
)
async def create_scenario(
    body: ScenarioCreate, session: SessionDep, principal: WritePrincipal, queue: QueueDep
) -> ScenarioRead:
    """Queue a territory design (or a realignment from ``current``/``base_scenario_id``)."""
    return await service.create_scenario(session, queue, tenant_id=principal.tenant_id, data=body)


@router.get(
    "",
    operation_id="scenarios.list",
    responses={404: problem_doc("The scenario named by `after` does not exist")},
)
async def list_scenarios(
    session: SessionDep,
    principal: ReadPrincipal,
    status: Annotated[
        ScenarioStatus | None, Query(description="Only scenarios in this status")
    ] = None,
    unit_set_id: Annotated[uuid.UUID | None, Query(description="Only this unit set's")] = None,
    after: Annotated[
        uuid.UUID | None, Query(description="The last scenario of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Scenarios per page")] = 100,
) -> ScenarioPage:
    """List scenarios, newest first, in keyset pages (without their results)."""
    return await service.list_scenarios(
        session,
        tenant_id=principal.tenant_id,
        status=status,
        unit_set_id=unit_set_id,
        after=after,
        limit=limit,
    )


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


@router.post(
    "/{scenario_id}:draft",
    status_code=status.HTTP_201_CREATED,
    operation_id="scenarios.draft",
    responses={
        404: problem_doc("No such scenario in this tenant"),
        409: problem_doc("The scenario has not succeeded, or is already a draft"),
        503: problem_doc("The assignment service did not answer"),
    },
)
async def draft_scenario(
    scenario_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
    body: Annotated[ScenarioDraft | None, Body()] = None,
) -> ScenarioDrafted:
    """Make the scenario's plan a draft alignment in the assignment service."""
    return await service.draft_scenario(
        session,
        assignment,
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        scenario_id=scenario_id,
        data=body or ScenarioDraft(),
    )


@router.post(
    "/{scenario_id}:publish",
    operation_id="scenarios.publish",
    responses={
        404: problem_doc("No such scenario in this tenant"),
        409: problem_doc(
            "No draft yet, the scenario's change request is not approved (or the tenant's"
            " policy asks for one), or the assignment service cannot publish it"
        ),
        503: problem_doc("The assignment service did not answer"),
    },
)
async def publish_scenario(
    scenario_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
) -> ScenarioDrafted:
    """Publish the scenario's draft alignment: it becomes the tenant's active alignment."""
    return await service.publish_scenario(
        session,
        assignment,
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        scenario_id=scenario_id,
        actor_key_id=principal.api_key_id,
    )


@router.get(
    "/{scenario_id}/compare/{other_id}",
    operation_id="scenarios.compare",
    responses={
        404: problem_doc("No such scenario in this tenant"),
        409: problem_doc("One of the scenarios has not succeeded"),
    },
)
async def compare_scenarios(
    scenario_id: uuid.UUID, other_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ScenarioComparison:
    """Compare two scenarios: every statistic side by side, the units moved, a GeoJSON map."""
    return await service.compare_scenarios(
        session, tenant_id=principal.tenant_id, scenario_id=scenario_id, other_id=other_id
    )

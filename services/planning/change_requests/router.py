"""HTTP endpoints for change requests (proposals to publish a scenario) and the approval policy."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from services.planning.change_requests import service
from services.planning.change_requests.schemas import (
    ChangeRequestCreate,
    ChangeRequestPage,
    ChangeRequestRead,
    Decision,
    PlanningSettingsRead,
    PlanningSettingsUpdate,
    Rejection,
)
from services.planning.scenarios.client import AssignmentClientDep
from shared.auth import AdminPrincipal, ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models.collaboration import ChangeRequestStatus

router = APIRouter(tags=["change requests"])

PREFIX = "/planning/change-requests"
_NOT_FOUND = problem_doc("No such change request in this tenant")


@router.post(
    PREFIX,
    status_code=status.HTTP_201_CREATED,
    operation_id="change_requests.create",
    responses={
        404: problem_doc("No such scenario in this tenant"),
        409: problem_doc("The scenario has not succeeded, or already has a live change request"),
    },
)
async def propose(
    body: ChangeRequestCreate,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
) -> ChangeRequestRead:
    """Propose a scenario for publishing (its draft alignment is held for review); an approver
    then approves (the hold is lifted) or rejects it."""
    return await service.propose(session, assignment, principal=principal, data=body)


@router.get(PREFIX, operation_id="change_requests.list")
async def list_change_requests(
    session: SessionDep,
    principal: ReadPrincipal,
    status_: Annotated[ChangeRequestStatus | None, Query(alias="status")] = None,
    scenario_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ChangeRequestPage:
    """List change requests, newest first, each with its history."""
    return await service.list_requests(
        session,
        tenant_id=principal.tenant_id,
        status=status_,
        scenario_id=scenario_id,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    PREFIX + "/{change_request_id}",
    operation_id="change_requests.get",
    responses={404: _NOT_FOUND},
)
async def get_change_request(
    change_request_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ChangeRequestRead:
    """A change request with every step of its history."""
    return await service.get(
        session, tenant_id=principal.tenant_id, change_request_id=change_request_id
    )


@router.post(
    PREFIX + "/{change_request_id}:approve",
    operation_id="change_requests.approve",
    responses={
        403: problem_doc("The key proposed this request (four-eyes) or is not an admin key"),
        404: _NOT_FOUND,
        409: problem_doc("The request is no longer proposed"),
    },
)
async def approve(
    change_request_id: uuid.UUID,
    session: SessionDep,
    principal: AdminPrincipal,
    assignment: AssignmentClientDep,
    body: Annotated[Decision | None, Body()] = None,
) -> ChangeRequestRead:
    """Approve a proposed request (admin key other than the proposer's): it may be published."""
    return await service.decide(
        session,
        assignment,
        principal=principal,
        change_request_id=change_request_id,
        approve=True,
        comment=body.comment if body else None,
    )


@router.post(
    PREFIX + "/{change_request_id}:reject",
    operation_id="change_requests.reject",
    responses={404: _NOT_FOUND, 409: problem_doc("The request is no longer proposed")},
)
async def reject(
    change_request_id: uuid.UUID,
    body: Rejection,
    session: SessionDep,
    principal: AdminPrincipal,
    assignment: AssignmentClientDep,
) -> ChangeRequestRead:
    """Reject a proposed request with a comment saying why (admin key)."""
    return await service.decide(
        session,
        assignment,
        principal=principal,
        change_request_id=change_request_id,
        approve=False,
        comment=body.comment,
    )


@router.post(
    PREFIX + "/{change_request_id}:withdraw",
    operation_id="change_requests.withdraw",
    responses={
        403: problem_doc("Only the proposing key or an admin key can withdraw"),
        404: _NOT_FOUND,
        409: problem_doc("The request was already decided against, withdrawn or published"),
    },
)
async def withdraw(
    change_request_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
    body: Annotated[Decision | None, Body()] = None,
) -> ChangeRequestRead:
    """Withdraw a proposed or approved request (the proposer, or an admin key)."""
    return await service.withdraw(
        session,
        assignment,
        principal=principal,
        change_request_id=change_request_id,
        comment=body.comment if body else None,
    )


@router.get("/planning/settings", operation_id="planning_settings.get")
async def get_settings(session: SessionDep, principal: ReadPrincipal) -> PlanningSettingsRead:
    """The tenant's planning policy."""
    return await service.get_settings(session, tenant_id=principal.tenant_id)


@router.put("/planning/settings", operation_id="planning_settings.put")
async def put_settings(
    body: PlanningSettingsUpdate, session: SessionDep, principal: AdminPrincipal
) -> PlanningSettingsRead:
    """Change the tenant's planning policy (admin key)."""
    return await service.put_settings(
        session, tenant_id=principal.tenant_id, require_approval=body.require_approval
    )

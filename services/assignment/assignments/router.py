"""HTTP endpoints of the lead lifecycle: assignments' status, lists, reassignment, preview."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import status as http_status

from services.assignment.assignments import service
from services.assignment.assignments.schemas import (
    AssignmentDetailRead,
    AssignmentPage,
    AssignmentRule,
    AssignmentStatusName,
    LeadPreviewRead,
    ReassignIn,
    TransitionIn,
)
from services.assignment.leads.router import IdempotencyKey
from services.assignment.leads.schemas import LeadIn
from shared.auth import ReadPrincipal, WritePrincipal
from shared.errors import problem_doc
from shared.validation import Text

router = APIRouter(tags=["assignments"])

_TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such assignment of this tenant"),
    409: problem_doc("The assignment's status does not allow this (the problem names it)"),
}


@router.get(
    "/assignment/assignments",
    operation_id="assignments.list",
    responses={422: problem_doc("A filter or the cursor is not valid")},
)
async def list_assignments(
    request: Request,
    principal: ReadPrincipal,
    lead_id: uuid.UUID | None = None,
    lead_external_id: Annotated[
        Text | None, Query(max_length=255, description="Your CRM's lead id")
    ] = None,
    territory_id: uuid.UUID | None = None,
    rep_id: uuid.UUID | None = None,
    rule: Annotated[AssignmentRule | None, Query(description="The rule that decided")] = None,
    status: AssignmentStatusName | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Created before this time")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Assignments per page")] = 100,
) -> AssignmentPage:
    """List assignments, newest first, by lead, territory, rep, rule, status and time."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.list_assignments(
            connection,
            tenant_id=principal.tenant_id,
            filters={
                "lead_id": lead_id,
                "lead_external_id": lead_external_id,
                "territory_id": territory_id,
                "rep_id": rep_id,
                "rule": rule,
                "status": status,
            },
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        )


@router.get(
    "/assignment/assignments/{assignment_id}",
    operation_id="assignments.get",
    responses={404: problem_doc("No such assignment of this tenant")},
)
async def get_assignment(
    assignment_id: uuid.UUID, request: Request, principal: ReadPrincipal
) -> AssignmentDetailRead:
    """Get one assignment with its explanation, status and status history."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.get_assignment(
            connection, tenant_id=principal.tenant_id, assignment_id=assignment_id
        )


async def _transition(
    request: Request,
    principal: WritePrincipal,
    assignment_id: uuid.UUID,
    body: TransitionIn | None,
    to_status: str,
) -> AssignmentDetailRead:
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.transition(
            connection,
            tenant_id=principal.tenant_id,
            assignment_id=assignment_id,
            to_status=to_status,
            reason=body.reason if body else None,
        )


@router.post(
    "/assignment/assignments/{assignment_id}:work",
    operation_id="assignments.work",
    responses=_TRANSITION_RESPONSES,
)
async def work_assignment(
    assignment_id: uuid.UUID,
    request: Request,
    principal: WritePrincipal,
    body: TransitionIn | None = None,
) -> AssignmentDetailRead:
    """Mark an open assignment worked: the rep has taken it up (it still holds capacity)."""
    return await _transition(request, principal, assignment_id, body, "worked")


@router.post(
    "/assignment/assignments/{assignment_id}:convert",
    operation_id="assignments.convert",
    responses=_TRANSITION_RESPONSES,
)
async def convert_assignment(
    assignment_id: uuid.UUID,
    request: Request,
    principal: WritePrincipal,
    body: TransitionIn | None = None,
) -> AssignmentDetailRead:
    """Mark an open or worked assignment converted; the rep's capacity is freed."""
    return await _transition(request, principal, assignment_id, body, "converted")


@router.post(
    "/assignment/assignments/{assignment_id}:close",
    operation_id="assignments.close",
    responses=_TRANSITION_RESPONSES,
)
async def close_assignment(
    assignment_id: uuid.UUID,
    request: Request,
    principal: WritePrincipal,
    body: TransitionIn | None = None,
) -> AssignmentDetailRead:
    """Close an open or worked assignment (disqualified, lost...); the rep's capacity is freed."""
    return await _transition(request, principal, assignment_id, body, "closed")


@router.get(
    "/assignment/leads/{lead_id}/assignment",
    operation_id="leads.get_assignment",
    responses={404: problem_doc("No such lead of this tenant")},
)
async def get_lead_assignment(
    lead_id: uuid.UUID, request: Request, principal: ReadPrincipal
) -> AssignmentDetailRead:
    """Get a lead's current assignment (the one no reassignment replaced)."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.get_lead_assignment(
            connection, tenant_id=principal.tenant_id, lead_id=lead_id
        )


@router.post(
    "/assignment/leads/{lead_id}:reassign",
    status_code=http_status.HTTP_201_CREATED,
    operation_id="leads.reassign",
    responses={
        404: problem_doc("No such lead, or no such rep, of this tenant"),
        409: problem_doc(
            "The lead's assignment ended (converted or closed), the rep is inactive, or the "
            "tenant has no active alignment"
        ),
    },
)
async def reassign_lead(
    lead_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: WritePrincipal,
    body: ReassignIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> AssignmentDetailRead:
    """Reassign a lead to a named rep, or route it again: its assignment becomes reassigned."""
    async with request.app.state.lead_pool.acquire() as connection:
        result = await service.reassign_lead(
            connection,
            cache=request.app.state.compiled_alignments,
            proximity=request.app.state.clients.get("proximity"),
            proximity_timeout_seconds=request.app.state.settings.proximity_ranking_timeout_seconds,
            tenant_id=principal.tenant_id,
            api_key=principal.token,
            lead_id=lead_id,
            body=body or ReassignIn(),
            idempotency_key=idempotency_key,
        )
    response.headers["Location"] = f"/assignment/assignments/{result.assignment_id}"
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.post(
    "/assignment/leads:preview",
    operation_id="leads.preview",
    responses={
        404: problem_doc("No such alignment of this tenant"),
        409: problem_doc("The tenant has no active alignment (name one with alignment_id)"),
    },
)
async def preview_lead(
    body: LeadIn,
    request: Request,
    principal: ReadPrincipal,
    alignment_id: Annotated[
        uuid.UUID | None,
        Query(description="Route against this alignment (e.g. a draft); default: the active one"),
    ] = None,
) -> LeadPreviewRead:
    """Where a lead would go and why, without assigning it (no lead, no turn, no capacity)."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.preview_lead(
            connection,
            cache=request.app.state.compiled_alignments,
            proximity=request.app.state.clients.get("proximity"),
            proximity_timeout_seconds=request.app.state.settings.proximity_ranking_timeout_seconds,
            tenant_id=principal.tenant_id,
            api_key=principal.token,
            lead=body,
            alignment_id=alignment_id,
        )

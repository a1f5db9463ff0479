"""HTTP endpoints for lead assignment."""

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from services.assignment.leads import service
from services.assignment.leads.instruments import record_assignment
from services.assignment.leads.schemas import AssignmentRead, LeadIn
from shared.auth import WritePrincipal
from shared.errors import problem_doc

router = APIRouter(tags=["leads"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry safety: a repeat with this key returns the first answer, writes nothing",
    ),
]


@router.post(
    "/assignment/leads",
    status_code=status.HTTP_201_CREATED,
    operation_id="leads.assign",
    responses={409: problem_doc("The tenant has no active alignment to route leads with")},
)
async def assign_lead(
    body: LeadIn,
    request: Request,
    response: Response,
    principal: WritePrincipal,
    idempotency_key: IdempotencyKey = None,
) -> AssignmentRead:
    """Assign a lead to a territory and a rep, and explain why (committed before answering)."""
    result = await service.assign_lead(
        request.app.state.lead_pool,
        cache=request.app.state.compiled_alignments,
        proximity=request.app.state.clients.get("proximity"),
        proximity_timeout_seconds=request.app.state.settings.proximity_ranking_timeout_seconds,
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        lead=body,
        idempotency_key=idempotency_key,
    )
    record_assignment(result)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result

"""HTTP endpoints for opportunities."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import status as http_status

from services.metrics.opportunities import service
from services.metrics.opportunities.schemas import OpportunityRead, OpportunityUpsert
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models import OpportunityStatus
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/metrics/opportunities", tags=["opportunities"])


@router.post(
    "",
    operation_id="opportunities.upsert",
    status_code=http_status.HTTP_201_CREATED,
    responses={
        http_status.HTTP_200_OK: {
            "model": OpportunityRead,
            "description": "The opportunity with this external_id existed and was replaced",
        },
        http_status.HTTP_404_NOT_FOUND: problem_doc(
            "The account, rep or territory is not in this tenant"
        ),
    },
)
async def upsert_opportunity(
    body: OpportunityUpsert, response: Response, session: SessionDep, principal: WritePrincipal
) -> OpportunityRead:
    """Create an opportunity (201), or replace the one with the same external_id (200)."""
    opportunity, created = await service.upsert_opportunity(
        session, tenant_id=principal.tenant_id, data=body
    )
    if not created:
        response.status_code = http_status.HTTP_200_OK
    return opportunity


@router.get("", operation_id="opportunities.list")
async def list_opportunities(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    status: Annotated[OpportunityStatus | None, Query(description="Only this status")] = None,
    rep_id: Annotated[uuid.UUID | None, Query(description="Only this rep's opportunities")] = None,
) -> Page[OpportunityRead]:
    """List opportunities, oldest first."""
    opportunities = await service.list_opportunities(
        session,
        tenant_id=principal.tenant_id,
        status=status,
        rep_id=rep_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[OpportunityRead].build(opportunities, page)

"""HTTP endpoints for activities."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import status as http_status

from services.metrics.activities import service
from services.metrics.activities.schemas import ActivityRead, ActivityUpsert
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/metrics/activities", tags=["activities"])


@router.post(
    "",
    operation_id="activities.upsert",
    status_code=http_status.HTTP_201_CREATED,
    responses={
        http_status.HTTP_200_OK: {
            "model": ActivityRead,
            "description": "The activity with this external_id existed and was replaced",
        },
        404: problem_doc("The rep, account or territory is not in this tenant"),
    },
)
async def upsert_activity(
    body: ActivityUpsert, response: Response, session: SessionDep, principal: WritePrincipal
) -> ActivityRead:
    """Record a call, meeting or email (201), or replace the one with the same external_id (200)."""
    activity, created = await service.upsert_activity(
        session, tenant_id=principal.tenant_id, data=body
    )
    if not created:
        response.status_code = http_status.HTTP_200_OK
    return activity


@router.get("", operation_id="activities.list")
async def list_activities(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    rep_id: Annotated[uuid.UUID | None, Query(description="Only this rep's activities")] = None,
) -> Page[ActivityRead]:
    """List activities, earliest first."""
    activities = await service.list_activities(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[ActivityRead].build(activities, page)

"""HTTP endpoints for reps."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.assignment.reps import service
from services.assignment.reps.schemas import RepCreate, RepRead, RepUpdate
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/assignment/reps", tags=["reps"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="reps.create",
    responses={
        404: problem_doc("The manager is not a rep of this tenant"),
        409: problem_doc("A rep with this external_id exists"),
    },
)
async def create_rep(body: RepCreate, session: SessionDep, principal: WritePrincipal) -> RepRead:
    """Create a rep."""
    return await service.create_rep(session, tenant_id=principal.tenant_id, data=body)


@router.get("", operation_id="reps.list")
async def list_reps(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    active: Annotated[bool | None, Query(description="Only active or inactive reps")] = None,
) -> Page[RepRead]:
    """List reps."""
    reps = await service.list_reps(
        session,
        tenant_id=principal.tenant_id,
        active=active,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[RepRead].build(reps, page)


@router.get("/{rep_id}", operation_id="reps.get")
async def get_rep(rep_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal) -> RepRead:
    """Get one rep."""
    return await service.get_rep(session, tenant_id=principal.tenant_id, rep_id=rep_id)


@router.patch(
    "/{rep_id}",
    operation_id="reps.update",
    responses={409: problem_doc("A rep with this external_id exists")},
)
async def update_rep(
    rep_id: uuid.UUID, body: RepUpdate, session: SessionDep, principal: WritePrincipal
) -> RepRead:
    """Change a rep's fields; send `active: false` to deactivate."""
    return await service.update_rep(
        session, tenant_id=principal.tenant_id, rep_id=rep_id, data=body
    )

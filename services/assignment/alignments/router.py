"""HTTP endpoints for alignments: drafts, clone, publish, archive."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status

from services.assignment.alignments import service
from services.assignment.alignments.schemas import (
    AlignmentClone,
    AlignmentCreate,
    AlignmentDiff,
    AlignmentHold,
    AlignmentPublish,
    AlignmentRead,
    AlignmentUpdate,
)
from shared.auth import AdminPrincipal, ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models import AlignmentStatus
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/assignment/alignments", tags=["alignments"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="alignments.create")
async def create_alignment(
    body: AlignmentCreate, session: SessionDep, principal: WritePrincipal
) -> AlignmentRead:
    """Create an empty draft alignment."""
    return await service.create_alignment(session, tenant_id=principal.tenant_id, data=body)


@router.get("", operation_id="alignments.list")
async def list_alignments(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    alignment_status: Annotated[
        AlignmentStatus | None, Query(alias="status", description="Only alignments in this state")
    ] = None,
) -> Page[AlignmentRead]:
    """List alignments, oldest first."""
    alignments = await service.list_alignments(
        session,
        tenant_id=principal.tenant_id,
        status=alignment_status,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[AlignmentRead].build(alignments, page)


@router.get("/{alignment_id}", operation_id="alignments.get")
async def get_alignment(
    alignment_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> AlignmentRead:
    """Get one alignment."""
    return await service.get_alignment(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id
    )


@router.patch(
    "/{alignment_id}",
    operation_id="alignments.update",
    responses={409: problem_doc("The alignment is not a draft (only drafts are editable)")},
)
async def update_alignment(
    alignment_id: uuid.UUID, body: AlignmentUpdate, session: SessionDep, principal: WritePrincipal
) -> AlignmentRead:
    """Rename a draft alignment."""
    return await service.update_alignment(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id, data=body
    )


@router.post(
    "/{alignment_id}:clone", status_code=status.HTTP_201_CREATED, operation_id="alignments.clone"
)
async def clone_alignment(
    alignment_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    body: Annotated[AlignmentClone | None, Body()] = None,
) -> AlignmentRead:
    """Copy an alignment (territories, hierarchy, members, rules, polygons) into a new draft."""
    return await service.clone_alignment(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        data=body or AlignmentClone(),
    )


@router.post(
    "/{alignment_id}:publish",
    operation_id="alignments.publish",
    responses={
        409: problem_doc(
            "Not publishable: not a draft, held for review, or no fallback territory with an"
            " active owner"
        )
    },
)
async def publish_alignment(
    alignment_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    body: Annotated[AlignmentPublish | None, Body()] = None,
) -> AlignmentRead:
    """Make a draft the tenant's one active alignment; the previous active one is archived."""
    return await service.publish_alignment(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        data=body or AlignmentPublish(),
    )


@router.post(
    "/{alignment_id}:hold",
    operation_id="alignments.hold",
    responses={
        404: problem_doc("No such alignment in this tenant"),
        409: problem_doc("Only a draft can be held"),
    },
)
async def hold_alignment(
    alignment_id: uuid.UUID, body: AlignmentHold, session: SessionDep, principal: WritePrincipal
) -> AlignmentRead:
    """Freeze a draft under review: no edit, no publish, until an admin key releases it."""
    return await service.hold_alignment(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id, reason=body.reason
    )


@router.post(
    "/{alignment_id}:release",
    operation_id="alignments.release",
    responses={404: problem_doc("No such alignment in this tenant")},
)
async def release_alignment(
    alignment_id: uuid.UUID, session: SessionDep, principal: AdminPrincipal
) -> AlignmentRead:
    """Lift a review hold (admin keys: approving is theirs)."""
    return await service.release_alignment(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id
    )


@router.post(
    "/{alignment_id}:archive",
    operation_id="alignments.archive",
    responses={409: problem_doc("The active alignment cannot be archived; publish another first")},
)
async def archive_alignment(
    alignment_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> AlignmentRead:
    """Archive a draft alignment (the active one is replaced by publishing another)."""
    return await service.archive_alignment(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id
    )


@router.get("/{from_alignment_id}/diff/{to_alignment_id}", operation_id="alignments.diff")
async def diff_alignments(
    from_alignment_id: uuid.UUID,
    to_alignment_id: uuid.UUID,
    request: Request,
    principal: ReadPrincipal,
    page: PageDep,
) -> AlignmentDiff:
    """List the accounts whose territory or owner's territory differs between two alignments."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.diff_alignments(
            connection,
            tenant_id=principal.tenant_id,
            from_alignment_id=from_alignment_id,
            to_alignment_id=to_alignment_id,
            limit=page.limit,
            offset=page.offset,
        )

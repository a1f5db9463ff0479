"""HTTP endpoints for comments on territories, scenarios and change requests."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.planning.comments import service
from services.planning.comments.schemas import (
    CommentCreate,
    CommentPage,
    CommentRead,
    CommentUpdate,
)
from services.planning.scenarios.client import AssignmentClientDep
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models.collaboration import CommentSubject

router = APIRouter(prefix="/planning/comments", tags=["comments"])

_NOT_FOUND = problem_doc("No such comment in this tenant")
_NOT_AUTHOR = problem_doc("Only the key that wrote the comment, or an admin key")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="comments.create",
    responses={
        404: problem_doc("No such subject (or replied-to comment) in this tenant"),
        503: problem_doc("The assignment service did not answer"),
    },
)
async def create_comment(
    body: CommentCreate,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
) -> CommentRead:
    """Comment on a territory, a scenario or a change request (or reply to a comment)."""
    return await service.create(session, assignment, principal=principal, data=body)


@router.get("", operation_id="comments.list")
async def list_comments(
    session: SessionDep,
    principal: ReadPrincipal,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CommentPage:
    """The discussion on one subject, oldest first."""
    return await service.list_comments(
        session,
        tenant_id=principal.tenant_id,
        subject_type=subject_type,
        subject_id=subject_id,
        cursor=cursor,
        limit=limit,
    )


@router.patch(
    "/{comment_id}",
    operation_id="comments.update",
    responses={403: _NOT_AUTHOR, 404: _NOT_FOUND},
)
async def edit_comment(
    comment_id: uuid.UUID, body: CommentUpdate, session: SessionDep, principal: WritePrincipal
) -> CommentRead:
    """Edit a comment's text (its author)."""
    return await service.edit(session, principal=principal, comment_id=comment_id, body=body.body)


@router.delete(
    "/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="comments.delete",
    responses={403: _NOT_AUTHOR, 404: _NOT_FOUND},
)
async def delete_comment(
    comment_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete a comment and its replies (its author, or an admin key)."""
    await service.delete(session, principal=principal, comment_id=comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

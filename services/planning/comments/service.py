"""Comment rules: the subject must exist in the caller's tenant (territories are asked of the
assignment service), replies stay on their subject, only the author (or an admin) edits."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.comments import repository
from services.planning.comments.errors import (
    CommentNotFound,
    NotTheAuthor,
    ReplyElsewhere,
    SubjectNotFound,
)
from services.planning.comments.schemas import CommentCreate, CommentPage, CommentRead
from services.planning.scenarios import client as assignment_client
from shared.auth import Principal
from shared.http_client import ServiceClient
from shared.keyset import decode_cursor, encode_cursor
from shared.models.collaboration import Comment, CommentSubject


def _read(comment: Comment) -> CommentRead:
    return CommentRead.model_validate(comment, from_attributes=True)


async def _check_subject(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    principal: Principal,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
) -> None:
    if subject_type == CommentSubject.territory:
        exists = await assignment_client.territory_exists(
            assignment, api_key=principal.token, territory_id=subject_id
        )
    else:
        exists = await repository.local_subject_exists(
            session, tenant_id=principal.tenant_id, subject_type=subject_type, subject_id=subject_id
        )
    if not exists:
        raise SubjectNotFound(subject_type.value, subject_id)


async def create(
    session: AsyncSession, assignment: ServiceClient, *, principal: Principal, data: CommentCreate
) -> CommentRead:
    if data.reply_to is not None:
        parent = await repository.get(
            session, tenant_id=principal.tenant_id, comment_id=data.reply_to
        )
        if parent is None:
            raise CommentNotFound(data.reply_to, field="reply_to")
        if (parent.subject_type, parent.subject_id) != (data.subject_type, data.subject_id):
            raise ReplyElsewhere(data.reply_to)
    else:
        await _check_subject(
            session,
            assignment,
            principal=principal,
            subject_type=data.subject_type,
            subject_id=data.subject_id,
        )
    comment = await repository.add(
        session,
        tenant_id=principal.tenant_id,
        subject_type=data.subject_type,
        subject_id=data.subject_id,
        reply_to=data.reply_to,
        body=data.body,
        author_key_id=principal.api_key_id,
    )
    return _read(comment)


async def list_comments(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> CommentPage:
    rows = await repository.page(
        session,
        tenant_id=tenant_id,
        subject_type=subject_type,
        subject_id=subject_id,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return CommentPage(
        items=[_read(row) for row in rows],
        limit=limit,
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None,
    )


async def _own(
    session: AsyncSession, *, principal: Principal, comment_id: uuid.UUID, action: str
) -> Comment:
    comment = await repository.get(session, tenant_id=principal.tenant_id, comment_id=comment_id)
    if comment is None:
        raise CommentNotFound(comment_id)
    if comment.author_key_id != principal.api_key_id and not principal.allows("admin"):
        raise NotTheAuthor(action)
    return comment


async def edit(
    session: AsyncSession, *, principal: Principal, comment_id: uuid.UUID, body: str
) -> CommentRead:
    comment = await _own(session, principal=principal, comment_id=comment_id, action="edit")
    return _read(await repository.set_body(session, comment=comment, body=body))


async def delete(session: AsyncSession, *, principal: Principal, comment_id: uuid.UUID) -> None:
    comment = await _own(session, principal=principal, comment_id=comment_id, action="delete")
    await repository.remove(session, comment=comment)

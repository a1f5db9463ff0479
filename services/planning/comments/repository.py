"""SQL for comments, filtered by tenant."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models.collaboration import ChangeRequest, Comment, CommentSubject
from shared.models.planning import Scenario


async def add(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
    reply_to: uuid.UUID | None,
    body: str,
    author_key_id: uuid.UUID,
) -> Comment:
    comment = Comment(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        subject_type=subject_type,
        subject_id=subject_id,
        reply_to=reply_to,
        body=body,
        author_key_id=author_key_id,
    )
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    return comment


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, comment_id: uuid.UUID
) -> Comment | None:
    return await session.scalar(
        select(Comment).where(Comment.tenant_id == tenant_id, Comment.id == comment_id)
    )


async def local_subject_exists(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
) -> bool:
    """Scenarios and change requests are this service's own rows."""
    model = Scenario if subject_type == CommentSubject.scenario else ChangeRequest
    found = await session.scalar(
        select(model.id).where(model.tenant_id == tenant_id, model.id == subject_id)
    )
    return found is not None


async def page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subject_type: CommentSubject,
    subject_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Comment]:
    query = select(Comment).where(
        Comment.tenant_id == tenant_id,
        Comment.subject_type == subject_type,
        Comment.subject_id == subject_id,
    )
    if after is not None:
        query = query.where(tuple_(Comment.created_at, Comment.id) > after)
    rows = await session.scalars(query.order_by(Comment.created_at, Comment.id).limit(limit))
    return list(rows)


async def set_body(session: AsyncSession, *, comment: Comment, body: str) -> Comment:
    updated = await session.scalar(
        update(Comment)
        .where(Comment.tenant_id == comment.tenant_id, Comment.id == comment.id)
        .values(body=body, updated_at=func.now())
        .returning(Comment)
        .execution_options(populate_existing=True)
    )
    assert updated is not None
    return updated


async def remove(session: AsyncSession, *, comment: Comment) -> None:
    await session.execute(
        delete(Comment).where(Comment.tenant_id == comment.tenant_id, Comment.id == comment.id)
    )

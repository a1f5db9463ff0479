"""SQL for quotas; every statement is filtered by tenant."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Quota


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Quota]:
    statement = select(Quota).where(Quota.tenant_id == tenant_id)
    if rep_id is not None:
        statement = statement.where(Quota.rep_id == rep_id)
    statement = statement.order_by(Quota.period_start, Quota.created_at, Quota.id)
    return list(await session.scalars(statement.limit(limit).offset(offset)))


async def add(session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]) -> Quota:
    quota = Quota(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(quota)
    await session.flush()
    await session.refresh(quota)
    return quota

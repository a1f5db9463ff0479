"""SQL for quotas; every statement is filtered by tenant."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
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


async def territory_quotas(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_ids: list[uuid.UUID],
    period_start: date,
    period_end: date,
) -> dict[uuid.UUID, Decimal]:
    """Summed quota per territory over quotas lying within the period."""
    rows = await session.execute(
        select(Quota.territory_id, func.sum(Quota.amount))
        .where(
            Quota.tenant_id == tenant_id,
            Quota.territory_id.in_(territory_ids),
            Quota.period_start >= period_start,
            Quota.period_end <= period_end,
        )
        .group_by(Quota.territory_id)
    )
    return {territory_id: amount for territory_id, amount in rows.tuples() if territory_id}

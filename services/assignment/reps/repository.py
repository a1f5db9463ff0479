"""SQL for reps; every statement is filtered by tenant."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Rep


async def get(session: AsyncSession, *, tenant_id: uuid.UUID, rep_id: uuid.UUID) -> Rep | None:
    return await session.scalar(select(Rep).where(Rep.tenant_id == tenant_id, Rep.id == rep_id))


async def get_by_external_id(
    session: AsyncSession, *, tenant_id: uuid.UUID, external_id: str
) -> Rep | None:
    return await session.scalar(
        select(Rep).where(Rep.tenant_id == tenant_id, Rep.external_id == external_id)
    )


async def list_page(
    session: AsyncSession, *, tenant_id: uuid.UUID, active: bool | None, limit: int, offset: int
) -> list[Rep]:
    statement = select(Rep).where(Rep.tenant_id == tenant_id)
    if active is not None:
        statement = statement.where(Rep.active.is_(active))
    statement = statement.order_by(Rep.created_at, Rep.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def add(session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]) -> Rep:
    rep = Rep(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(rep)
    await session.flush()
    await session.refresh(rep)
    return rep

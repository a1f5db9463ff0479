"""SQL for CRM connectors, filtered by tenant."""

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models.crm import CrmConnector


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> CrmConnector:
    connector = CrmConnector(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(connector)
    await session.flush()
    await session.refresh(connector)
    return connector


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, connector_id: uuid.UUID
) -> CrmConnector | None:
    return await session.scalar(
        select(CrmConnector).where(
            CrmConnector.tenant_id == tenant_id, CrmConnector.id == connector_id
        )
    )


async def list_all(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[CrmConnector]:
    rows = await session.scalars(
        select(CrmConnector)
        .where(CrmConnector.tenant_id == tenant_id)
        .order_by(CrmConnector.created_at, CrmConnector.id)
    )
    return list(rows)


async def patch(
    session: AsyncSession, *, tenant_id: uuid.UUID, connector_id: uuid.UUID, values: dict[str, Any]
) -> CrmConnector | None:
    return await session.scalar(
        update(CrmConnector)
        .where(CrmConnector.tenant_id == tenant_id, CrmConnector.id == connector_id)
        .values(**values, updated_at=func.now())
        .returning(CrmConnector)
        .execution_options(populate_existing=True)
    )


async def remove(session: AsyncSession, *, tenant_id: uuid.UUID, connector_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(CrmConnector)
        .where(CrmConnector.tenant_id == tenant_id, CrmConnector.id == connector_id)
        .returning(CrmConnector.id)
    )
    return result.first() is not None

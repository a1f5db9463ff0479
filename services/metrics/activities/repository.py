"""SQL for activities; every statement is filtered by tenant."""

import uuid
from typing import Any

from sqlalchemy import Boolean, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Activity


async def upsert(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> tuple[Activity, bool]:
    """Insert, or replace the tenant's activity with the same external_id; True when inserted."""
    insert_row = insert(Activity).values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    statement = insert_row.on_conflict_do_update(
        index_elements=[Activity.tenant_id, Activity.external_id],
        index_where=text("external_id IS NOT NULL"),
        set_={column: insert_row.excluded[column] for column in values},
    ).returning(Activity, literal_column("xmax = 0", Boolean).label("inserted"))
    activity, inserted = (
        await session.execute(statement, execution_options={"populate_existing": True})
    ).one()
    return activity, inserted


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Activity]:
    statement = select(Activity).where(Activity.tenant_id == tenant_id)
    if rep_id is not None:
        statement = statement.where(Activity.rep_id == rep_id)
    statement = statement.order_by(Activity.occurred_at, Activity.id)
    return list(await session.scalars(statement.limit(limit).offset(offset)))

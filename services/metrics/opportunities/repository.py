"""SQL for opportunities; every statement is filtered by tenant."""

import uuid
from typing import Any

from sqlalchemy import Boolean, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Opportunity, OpportunityStatus


async def upsert(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> tuple[Opportunity, bool]:
    """Insert, or replace the tenant's row with the same external_id; True when inserted.

    One statement, so concurrent upserts of one external_id cannot both insert.
    """
    insert_row = insert(Opportunity).values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    statement = insert_row.on_conflict_do_update(
        index_elements=[Opportunity.tenant_id, Opportunity.external_id],
        set_={
            **{column: insert_row.excluded[column] for column in values},
            "updated_at": func.now(),
        },
    ).returning(
        Opportunity,
        # xmax is 0 only on a row version this statement inserted: Postgres' insert-or-update tell.
        literal_column("xmax = 0", Boolean).label("inserted"),
    )
    opportunity, inserted = (
        await session.execute(statement, execution_options={"populate_existing": True})
    ).one()
    return opportunity, inserted


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: OpportunityStatus | None,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Opportunity]:
    statement = select(Opportunity).where(Opportunity.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Opportunity.status == status)
    if rep_id is not None:
        statement = statement.where(Opportunity.rep_id == rep_id)
    statement = statement.order_by(Opportunity.created_at, Opportunity.id)
    return list(await session.scalars(statement.limit(limit).offset(offset)))

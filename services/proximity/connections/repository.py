"""SQL for connections; every statement is filtered by tenant."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Connection


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> Connection | None:
    """Insert a connection (ids already ordered); None when this pair already has this kind."""
    # ON CONFLICT rather than check-then-insert, so concurrent duplicates get a 409, not a 500.
    statement = (
        insert(Connection)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
        .on_conflict_do_nothing(constraint="uq_connection_person_a_id_person_b_id_kind")
        .returning(Connection)
    )
    return await session.scalar(statement)


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, person_id: uuid.UUID, limit: int, offset: int
) -> list[Row[tuple[uuid.UUID, uuid.UUID, str, float, datetime | None]]]:
    """Connections touching ``person_id`` in either column, strongest first."""
    other_person_id = case(
        (Connection.person_a_id == person_id, Connection.person_b_id),
        else_=Connection.person_a_id,
    ).label("person_id")
    statement = (
        select(
            Connection.id.label("connection_id"),
            other_person_id,
            Connection.kind,
            Connection.strength,
            Connection.last_interaction_at,
        )
        .where(
            Connection.tenant_id == tenant_id,
            or_(Connection.person_a_id == person_id, Connection.person_b_id == person_id),
        )
        .order_by(Connection.strength.desc(), other_person_id, Connection.kind, Connection.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(statement)).all())

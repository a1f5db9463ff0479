"""SQL for people; every statement is filtered by tenant."""

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Person, PersonKind


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, person_id: uuid.UUID
) -> Person | None:
    return await session.scalar(
        select(Person).where(Person.tenant_id == tenant_id, Person.id == person_id)
    )


async def existing_ids(
    session: AsyncSession, *, tenant_id: uuid.UUID, person_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """The subset of ``person_ids`` that are people of this tenant, in one round trip."""
    found = await session.scalars(
        select(Person.id).where(Person.tenant_id == tenant_id, Person.id.in_(person_ids))
    )
    return set(found)


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: PersonKind | None,
    account_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Person]:
    statement = select(Person).where(Person.tenant_id == tenant_id)
    if kind is not None:
        statement = statement.where(Person.kind == kind)
    if account_id is not None:
        statement = statement.where(Person.account_id == account_id)
    statement = statement.order_by(Person.created_at, Person.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> Person | None:
    """Insert a person; None when the tenant already has one with this external_id."""
    # ON CONFLICT rather than check-then-insert: two concurrent creates with the same
    # external_id get one 201 and one 409, never a 500 from the unique constraint.
    statement = (
        insert(Person)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
        .on_conflict_do_nothing(constraint="uq_person_tenant_id_external_id")
        .returning(Person)
    )
    return await session.scalar(statement)

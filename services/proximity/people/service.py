"""People rules: a rep person points at a rep, references stay in the tenant, external_id unique."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.people import reference_queries, repository
from services.proximity.people.errors import (
    AccountNotFound,
    DuplicateExternalId,
    PersonNotFound,
    RepIdMismatch,
    RepNotFound,
)
from services.proximity.people.schemas import PersonCreate, PersonRead
from shared.models import Person, PersonKind


def to_read(person: Person) -> PersonRead:
    return PersonRead(
        id=person.id,
        external_id=person.external_id,
        kind=person.kind,
        rep_id=person.rep_id,
        account_id=person.account_id,
        name=person.name,
        email=person.email,
        title=person.title,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


async def create_person(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: PersonCreate
) -> PersonRead:
    if (data.kind == PersonKind.rep) != (data.rep_id is not None):
        raise RepIdMismatch(kind=data.kind.value)
    if data.rep_id is not None and not await reference_queries.rep_exists(
        session, tenant_id=tenant_id, rep_id=data.rep_id
    ):
        raise RepNotFound(data.rep_id)
    if data.account_id is not None and not await reference_queries.account_exists(
        session, tenant_id=tenant_id, account_id=data.account_id
    ):
        raise AccountNotFound(data.account_id)
    person = await repository.add(session, tenant_id=tenant_id, values=data.model_dump())
    if person is None:
        assert data.external_id is not None  # only a non-null external_id can conflict
        raise DuplicateExternalId(data.external_id)
    return to_read(person)


async def get_person(
    session: AsyncSession, *, tenant_id: uuid.UUID, person_id: uuid.UUID
) -> PersonRead:
    person = await repository.get(session, tenant_id=tenant_id, person_id=person_id)
    if person is None:
        raise PersonNotFound(person_id)
    return to_read(person)


async def list_people(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: PersonKind | None,
    account_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[PersonRead]:
    people = await repository.list_page(
        session, tenant_id=tenant_id, kind=kind, account_id=account_id, limit=limit, offset=offset
    )
    return [to_read(person) for person in people]

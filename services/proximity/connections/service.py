"""Connection rules: undirected and stored once (a < b), no self-ties, both people in the tenant."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.connections import repository
from services.proximity.connections.errors import DuplicateConnection, SelfConnection
from services.proximity.connections.schemas import ConnectionCreate, ConnectionRead, NeighbourRead
from services.proximity.people import repository as people_repository
from services.proximity.people.errors import PersonNotFound
from shared.models import Connection


def to_read(connection: Connection) -> ConnectionRead:
    return ConnectionRead(
        id=connection.id,
        person_a_id=connection.person_a_id,
        person_b_id=connection.person_b_id,
        kind=connection.kind,
        strength=connection.strength,
        last_interaction_at=connection.last_interaction_at,
        created_at=connection.created_at,
    )


async def create_connection(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: ConnectionCreate
) -> ConnectionRead:
    if data.person_a_id == data.person_b_id:
        raise SelfConnection()
    found = await people_repository.existing_ids(
        session, tenant_id=tenant_id, person_ids=(data.person_a_id, data.person_b_id)
    )
    for field, person_id in (("person_a_id", data.person_a_id), ("person_b_id", data.person_b_id)):
        if person_id not in found:
            raise PersonNotFound(person_id, field=field)
    # The table holds each undirected pair once, smaller id first (uuid order = Postgres order).
    person_a_id, person_b_id = sorted((data.person_a_id, data.person_b_id))
    values = data.model_dump() | {"person_a_id": person_a_id, "person_b_id": person_b_id}
    connection = await repository.add(session, tenant_id=tenant_id, values=values)
    if connection is None:
        raise DuplicateConnection(person_a_id=person_a_id, person_b_id=person_b_id, kind=data.kind)
    return to_read(connection)


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, person_id: uuid.UUID, limit: int, offset: int
) -> list[NeighbourRead]:
    if await people_repository.get(session, tenant_id=tenant_id, person_id=person_id) is None:
        raise PersonNotFound(person_id)
    rows = await repository.list_neighbours(
        session, tenant_id=tenant_id, person_id=person_id, limit=limit, offset=offset
    )
    return [NeighbourRead.model_validate(row._asdict()) for row in rows]

"""HTTP endpoints for connections between people."""

import uuid

from fastapi import APIRouter, status

from services.proximity.connections import service
from services.proximity.connections.schemas import ConnectionCreate, ConnectionRead, NeighbourRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/proximity", tags=["connections"])


@router.post(
    "/connections",
    status_code=status.HTTP_201_CREATED,
    operation_id="connections.create",
    responses={
        404: problem_doc("A person of the connection is not in this tenant"),
        409: problem_doc("The connection already exists"),
    },
)
async def create_connection(
    body: ConnectionCreate, session: SessionDep, principal: WritePrincipal
) -> ConnectionRead:
    """Connect two people; the pair is undirected and stored with the smaller id first."""
    return await service.create_connection(session, tenant_id=principal.tenant_id, data=body)


@router.get("/people/{person_id}/connections", operation_id="people.list_connections")
async def list_person_connections(
    person_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[NeighbourRead]:
    """List a person's connections in either direction, strongest first."""
    neighbours = await service.list_neighbours(
        session,
        tenant_id=principal.tenant_id,
        person_id=person_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[NeighbourRead].build(neighbours, page)

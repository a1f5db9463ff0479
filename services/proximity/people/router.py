"""HTTP endpoints for people."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.proximity.people import service
from services.proximity.people.schemas import PersonCreate, PersonRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models import PersonKind
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/proximity/people", tags=["people"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="people.create",
    responses={
        404: problem_doc("The rep or account named is not in this tenant"),
        409: problem_doc("A person with this external_id exists"),
    },
)
async def create_person(
    body: PersonCreate, session: SessionDep, principal: WritePrincipal
) -> PersonRead:
    """Create a person: one of your reps or a contact."""
    return await service.create_person(session, tenant_id=principal.tenant_id, data=body)


@router.get("", operation_id="people.list")
async def list_people(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    kind: Annotated[PersonKind | None, Query(description="Only reps or only contacts")] = None,
    account_id: Annotated[
        uuid.UUID | None, Query(description="Only people at this account")
    ] = None,
) -> Page[PersonRead]:
    """List people."""
    people = await service.list_people(
        session,
        tenant_id=principal.tenant_id,
        kind=kind,
        account_id=account_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[PersonRead].build(people, page)


@router.get("/{person_id}", operation_id="people.get")
async def get_person(
    person_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> PersonRead:
    """Get one person."""
    return await service.get_person(session, tenant_id=principal.tenant_id, person_id=person_id)

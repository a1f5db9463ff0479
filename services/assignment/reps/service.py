"""Rep rules: unique external ids, managers from the same tenant, no self-management."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.events import service as events_service
from services.assignment.reps import repository
from services.assignment.reps.errors import DuplicateExternalId, RepNotFound
from services.assignment.reps.schemas import RepCreate, RepRead, RepUpdate
from shared.errors import InvalidInput
from shared.geo import point_from_db
from shared.models import Rep


def to_read(rep: Rep) -> RepRead:
    return RepRead(
        id=rep.id,
        external_id=rep.external_id,
        name=rep.name,
        email=rep.email,
        capacity=rep.capacity,
        home=point_from_db(rep.home),
        skills=rep.skills,
        segments=rep.segments,
        manager_id=rep.manager_id,
        active=rep.active,
        created_at=rep.created_at,
        updated_at=rep.updated_at,
    )


async def _column_values(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    fields: dict[str, Any],
    data: RepCreate | RepUpdate,
) -> dict[str, Any]:
    values = dict(fields)
    if "home" in values:
        values["home"] = data.home.to_wkb() if data.home is not None else None
    manager_id = values.get("manager_id")
    if manager_id is not None:
        if await repository.get(session, tenant_id=tenant_id, rep_id=manager_id) is None:
            raise RepNotFound(manager_id, field="manager_id")
    return values


async def _changed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep: RepRead,
    change: str,
    fields: list[str] | None,
) -> None:
    """``rep.changed`` in the write's transaction: who the rep is now (and what changed)."""
    await events_service.record(
        session,
        tenant_id=tenant_id,
        event_type="rep.changed",
        subject_id=rep.id,
        payload={
            "rep_id": rep.id,
            "change": change,
            "fields": fields,
            "external_id": rep.external_id,
            "name": rep.name,
            "active": rep.active,
            "capacity": rep.capacity,
        },
    )


async def create_rep(session: AsyncSession, *, tenant_id: uuid.UUID, data: RepCreate) -> RepRead:
    if data.external_id is not None and await repository.get_by_external_id(
        session, tenant_id=tenant_id, external_id=data.external_id
    ):
        raise DuplicateExternalId(data.external_id)
    values = await _column_values(session, tenant_id=tenant_id, fields=data.model_dump(), data=data)
    rep = to_read(await repository.add(session, tenant_id=tenant_id, values=values))
    await _changed(session, tenant_id=tenant_id, rep=rep, change="created", fields=None)
    return rep


async def get_rep(session: AsyncSession, *, tenant_id: uuid.UUID, rep_id: uuid.UUID) -> RepRead:
    rep = await repository.get(session, tenant_id=tenant_id, rep_id=rep_id)
    if rep is None:
        raise RepNotFound(rep_id)
    return to_read(rep)


async def list_reps(
    session: AsyncSession, *, tenant_id: uuid.UUID, active: bool | None, limit: int, offset: int
) -> list[RepRead]:
    reps = await repository.list_page(
        session, tenant_id=tenant_id, active=active, limit=limit, offset=offset
    )
    return [to_read(rep) for rep in reps]


async def update_rep(
    session: AsyncSession, *, tenant_id: uuid.UUID, rep_id: uuid.UUID, data: RepUpdate
) -> RepRead:
    rep = await repository.get(session, tenant_id=tenant_id, rep_id=rep_id)
    if rep is None:
        raise RepNotFound(rep_id)
    fields = data.model_dump(exclude_unset=True)
    if fields.get("manager_id") == rep_id:
        raise InvalidInput("a rep cannot be their own manager", field="manager_id")
    if fields.get("external_id") not in (None, rep.external_id):
        if await repository.get_by_external_id(
            session, tenant_id=tenant_id, external_id=fields["external_id"]
        ):
            raise DuplicateExternalId(fields["external_id"])
    for column, value in (
        await _column_values(session, tenant_id=tenant_id, fields=fields, data=data)
    ).items():
        setattr(rep, column, value)
    await session.flush()
    await session.refresh(rep)
    read = to_read(rep)
    await _changed(session, tenant_id=tenant_id, rep=read, change="updated", fields=sorted(fields))
    return read

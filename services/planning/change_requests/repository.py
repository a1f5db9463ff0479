"""SQL for change requests, their history and the tenant's approval policy."""

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models.collaboration import (
    ChangeRequest,
    ChangeRequestEvent,
    ChangeRequestStatus,
    PlanningSettings,
)

OPEN = (ChangeRequestStatus.proposed, ChangeRequestStatus.approved)


async def add(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    scenario_id: uuid.UUID,
    title: str,
    description: str | None,
    proposed_by: uuid.UUID,
) -> ChangeRequest:
    change_request = ChangeRequest(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        scenario_id=scenario_id,
        title=title,
        description=description,
        proposed_by=proposed_by,
    )
    session.add(change_request)
    await session.flush()
    await session.refresh(change_request)
    return change_request


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, change_request_id: uuid.UUID, lock: bool = False
) -> ChangeRequest | None:
    query = select(ChangeRequest).where(
        ChangeRequest.tenant_id == tenant_id, ChangeRequest.id == change_request_id
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def open_for_scenario(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID, lock: bool = False
) -> ChangeRequest | None:
    """The scenario's live request (proposed or approved), at most one by a unique index."""
    query = select(ChangeRequest).where(
        ChangeRequest.tenant_id == tenant_id,
        ChangeRequest.scenario_id == scenario_id,
        ChangeRequest.status.in_(OPEN),
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def latest_for_scenario(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> ChangeRequest | None:
    return await session.scalar(
        select(ChangeRequest)
        .where(ChangeRequest.tenant_id == tenant_id, ChangeRequest.scenario_id == scenario_id)
        .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc())
        .limit(1)
    )


async def set_status(
    session: AsyncSession,
    *,
    change_request: ChangeRequest,
    status: ChangeRequestStatus,
    decided_by: uuid.UUID | None = None,
) -> ChangeRequest:
    values: dict[str, object] = {"status": status, "updated_at": func.now()}
    if decided_by is not None:
        values |= {"decided_by": decided_by, "decided_at": func.now()}
    updated = await session.scalar(
        update(ChangeRequest)
        .where(
            ChangeRequest.tenant_id == change_request.tenant_id,
            ChangeRequest.id == change_request.id,
        )
        .values(**values)
        .returning(ChangeRequest)
        .execution_options(populate_existing=True)
    )
    assert updated is not None  # the caller holds the row lock
    return updated


async def add_event(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    change_request_id: uuid.UUID,
    action: str,
    actor_key_id: uuid.UUID | None,
    comment: str | None = None,
) -> None:
    session.add(
        ChangeRequestEvent(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            change_request_id=change_request_id,
            action=action,
            actor_key_id=actor_key_id,
            comment=comment,
        )
    )
    await session.flush()


async def history(
    session: AsyncSession, *, tenant_id: uuid.UUID, change_request_ids: list[uuid.UUID]
) -> list[ChangeRequestEvent]:
    rows = await session.scalars(
        select(ChangeRequestEvent)
        .where(
            ChangeRequestEvent.tenant_id == tenant_id,
            ChangeRequestEvent.change_request_id.in_(change_request_ids),
        )
        .order_by(ChangeRequestEvent.created_at, ChangeRequestEvent.id)
    )
    return list(rows)


async def page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: ChangeRequestStatus | None,
    scenario_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ChangeRequest]:
    """Newest first, keyset-paged on (created_at, id)."""
    query = select(ChangeRequest).where(ChangeRequest.tenant_id == tenant_id)
    if status is not None:
        query = query.where(ChangeRequest.status == status)
    if scenario_id is not None:
        query = query.where(ChangeRequest.scenario_id == scenario_id)
    if before is not None:
        query = query.where(tuple_(ChangeRequest.created_at, ChangeRequest.id) < before)
    rows = await session.scalars(
        query.order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc()).limit(limit)
    )
    return list(rows)


async def settings(session: AsyncSession, *, tenant_id: uuid.UUID) -> PlanningSettings | None:
    return await session.scalar(
        select(PlanningSettings).where(PlanningSettings.tenant_id == tenant_id)
    )


async def put_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, require_approval: bool
) -> None:
    await session.execute(
        insert(PlanningSettings)
        .values(tenant_id=tenant_id, require_approval=require_approval)
        .on_conflict_do_update(
            index_elements=[PlanningSettings.tenant_id],
            set_={"require_approval": require_approval, "updated_at": func.now()},
        )
    )

"""Activity rules: references from the tenant; upserts idempotent by external id."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from services.metrics.activities import repository
from services.metrics.activities.schemas import ActivityRead, ActivityUpsert
from services.metrics.errors import ReferenceNotFound
from shared.models import Activity


def to_read(activity: Activity) -> ActivityRead:
    return ActivityRead(
        id=activity.id,
        external_id=activity.external_id or "",
        kind=activity.kind,
        rep_id=activity.rep_id,
        account_id=activity.account_id,
        territory_id=activity.territory_id,
        occurred_at=activity.occurred_at,
        duration_minutes=activity.duration_minutes,
        created_at=activity.created_at,
    )


async def upsert_activity(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: ActivityUpsert
) -> tuple[ActivityRead, bool]:
    missing = await reference_queries.find_missing_reference(
        session,
        tenant_id=tenant_id,
        rep_id=data.rep_id,
        territory_id=data.territory_id,
        account_id=data.account_id,
    )
    if missing is not None:
        raise ReferenceNotFound(*missing)
    activity, created = await repository.upsert(
        session, tenant_id=tenant_id, values=data.model_dump()
    )
    return to_read(activity), created


async def list_activities(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[ActivityRead]:
    rows = await repository.list_page(
        session, tenant_id=tenant_id, rep_id=rep_id, limit=limit, offset=offset
    )
    return [to_read(row) for row in rows]

"""Quota rules: exactly one subject (rep or territory) of the tenant, a period in order."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from services.metrics.errors import PeriodOutOfOrder, ReferenceNotFound
from services.metrics.quotas import repository
from services.metrics.quotas.errors import QuotaSubjectInvalid
from services.metrics.quotas.schemas import QuotaCreate, QuotaRead
from shared.models import Quota


def to_read(quota: Quota) -> QuotaRead:
    return QuotaRead(
        id=quota.id,
        rep_id=quota.rep_id,
        territory_id=quota.territory_id,
        period_start=quota.period_start,
        period_end=quota.period_end,
        amount=quota.amount,
        created_at=quota.created_at,
    )


async def create_quota(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: QuotaCreate
) -> QuotaRead:
    if (data.rep_id is None) == (data.territory_id is None):
        raise QuotaSubjectInvalid(both=data.rep_id is not None)
    if data.period_end <= data.period_start:
        raise PeriodOutOfOrder()
    missing = await reference_queries.find_missing_reference(
        session, tenant_id=tenant_id, rep_id=data.rep_id, territory_id=data.territory_id
    )
    if missing is not None:
        raise ReferenceNotFound(*missing)
    return to_read(await repository.add(session, tenant_id=tenant_id, values=data.model_dump()))


async def list_quotas(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[QuotaRead]:
    quotas = await repository.list_page(
        session, tenant_id=tenant_id, rep_id=rep_id, limit=limit, offset=offset
    )
    return [to_read(quota) for quota in quotas]

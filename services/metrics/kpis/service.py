"""KPIs for a rep over a period: quota attainment, win rate and open pipeline."""

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.errors import PeriodOutOfOrder, ReferenceNotFound
from services.metrics.kpis import repository
from services.metrics.kpis.schemas import AttainmentRead


def _start_of_day_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def rep_attainment(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID,
    period_start: date,
    period_end: date,
) -> AttainmentRead:
    if period_end <= period_start:
        raise PeriodOutOfOrder()
    # Days are UTC days until tenants carry a time zone.
    row = await repository.rep_attainment(
        session,
        tenant_id=tenant_id,
        rep_id=rep_id,
        period_start=period_start,
        period_end=period_end,
        closed_from=_start_of_day_utc(period_start),
        closed_before=_start_of_day_utc(period_end),
    )
    if not row["rep_found"]:
        raise ReferenceNotFound("rep_id", rep_id)
    return AttainmentRead(
        rep_id=rep_id,
        period_start=period_start,
        period_end=period_end,
        quota_amount=row["quota_amount"],
        won_amount=row["won_amount"],
        won_count=row["won_count"],
        lost_count=row["lost_count"],
        attainment=row["attainment"],
        win_rate=row["win_rate"],
        open_pipeline_amount=row["open_pipeline_amount"],
    )

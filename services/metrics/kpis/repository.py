"""SQL for KPIs; every statement is filtered by tenant."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Float, RowMapping, and_, bindparam, cast, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from shared.models import Opportunity, OpportunityStatus, Quota

# Keeps the money scale (2 places) when a sum has no rows.
_ZERO = Decimal("0.00")


async def rep_attainment(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID,
    period_start: date,
    period_end: date,
    closed_from: datetime,
    closed_before: datetime,
) -> RowMapping:
    """One row: whether the rep exists in the tenant, and its quota, won, lost and open totals.

    Quotas count when their period lies within ``[period_start, period_end)``; won and lost
    opportunities when ``closed_at`` is in ``[closed_from, closed_before)``.
    """
    closed_in_period = and_(
        Opportunity.closed_at >= closed_from, Opportunity.closed_at < closed_before
    )
    won = and_(Opportunity.status == OpportunityStatus.won, closed_in_period)
    lost = and_(Opportunity.status == OpportunityStatus.lost, closed_in_period)
    opportunity_totals = (
        select(
            func.coalesce(func.sum(Opportunity.amount).filter(won), _ZERO).label("won_amount"),
            func.count().filter(won).label("won_count"),
            func.count().filter(lost).label("lost_count"),
            func.coalesce(
                func.sum(Opportunity.amount).filter(Opportunity.status == OpportunityStatus.open),
                _ZERO,
            ).label("open_pipeline_amount"),
        )
        .where(Opportunity.tenant_id == tenant_id, Opportunity.rep_id == rep_id)
        .cte("opportunity_totals")
    )
    quota_total = (
        select(func.sum(Quota.amount).label("quota_amount"))
        .where(
            Quota.tenant_id == tenant_id,
            Quota.rep_id == rep_id,
            Quota.period_start >= period_start,
            Quota.period_end <= period_end,
        )
        .cte("quota_total")
    )
    totals = opportunity_totals.c
    quota_amount = quota_total.c.quota_amount
    statement = select(
        reference_queries.rep_exists(tenant_id=tenant_id, rep_id=rep_id).label("rep_found"),
        quota_amount,
        totals.won_amount,
        totals.won_count,
        totals.lost_count,
        totals.open_pipeline_amount,
        cast(totals.won_amount / func.nullif(quota_amount, 0), Float).label("attainment"),
        (
            cast(totals.won_count, Float) / func.nullif(totals.won_count + totals.lost_count, 0)
        ).label("win_rate"),
    ).select_from(opportunity_totals.join(quota_total, true()))
    return (await session.execute(statement)).mappings().one()


_KPI_SET_SQL = (Path(__file__).parent / "kpi_set.sql").read_text()
_UUIDS = ARRAY(UUID(as_uuid=True))
# Fixed fragments per subject kind: (opportunity, activity, own quota, descendants' quota).
_SUBJECT_FRAGMENTS = {
    "rep": ("o.rep_id = :rep_id", "a.rep_id = :rep_id", "q.rep_id = :rep_id", "false"),
    "territory": (
        "o.territory_id = ANY(:territory_ids)",
        "a.territory_id = ANY(:territory_ids)",
        "q.territory_id = :territory_id",
        "q.territory_id = ANY(:descendant_ids)",
    ),
}


async def kpi_set(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_ids: list[uuid.UUID] | None,
    windows: dict[str, datetime],
    start_day: date,
    end_day: date,
) -> RowMapping:
    """One row of totals for a rep, or a territory and its descendants (root first).

    ``windows`` holds the instants ``start_at``, ``end_at``, ``previous_start_at``,
    ``previous_end_at``, ``year_ago_start_at``, ``year_ago_end_at``, ``as_of`` and ``scan_from``.
    """
    kind = "rep" if rep_id is not None else "territory"
    subject, activity_subject, quota_subject, quota_descendants = _SUBJECT_FRAGMENTS[kind]
    statement = text(
        _KPI_SET_SQL.format(
            subject=subject,
            activity_subject=activity_subject,
            quota_subject=quota_subject,
            quota_descendants=quota_descendants,
        )
    )
    params: dict[str, object] = {
        "tenant_id": tenant_id,
        "start_day": start_day,
        "end_day": end_day,
        **windows,
    }
    if rep_id is not None:
        params["rep_id"] = rep_id
    else:
        assert territory_ids
        statement = statement.bindparams(
            bindparam("territory_ids", type_=_UUIDS), bindparam("descendant_ids", type_=_UUIDS)
        )
        params |= {
            "territory_ids": territory_ids,
            "territory_id": territory_ids[0],
            "descendant_ids": territory_ids[1:],
        }
    return (await session.execute(statement, params)).mappings().one()

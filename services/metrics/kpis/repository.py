"""SQL for KPIs; every statement is filtered by tenant."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Float,
    RowMapping,
    Select,
    and_,
    bindparam,
    cast,
    func,
    select,
    text,
    true,
)
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


_TIMESERIES_SQL = (Path(__file__).parent / "timeseries.sql").read_text()
_PIPELINE_AS_OF_SQL = (Path(__file__).parent / "pipeline_as_of.sql").read_text()
_HISTORY_SUBJECT = {
    "rep": "h.rep_id = :rep_id",
    "territory": "h.territory_id = ANY(:territory_ids)",
}


async def pipeline_as_of(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_ids: list[uuid.UUID] | None,
    as_of: datetime,
    start_at: datetime,
    won_until: datetime,
) -> list[RowMapping]:
    """Per stage (in the tenant's stage order): open count and amount at ``as_of``, and won
    in ``[start_at, won_until)``, as the stage history had them at ``as_of``."""
    kind = "rep" if rep_id is not None else "territory"
    statement = text(_PIPELINE_AS_OF_SQL.format(subject=_HISTORY_SUBJECT[kind]))
    params: dict[str, object] = {
        "tenant_id": tenant_id,
        "as_of": as_of,
        "start_at": start_at,
        "won_until": won_until,
    }
    if rep_id is not None:
        params["rep_id"] = rep_id
    else:
        statement = statement.bindparams(bindparam("territory_ids", type_=_UUIDS))
        params["territory_ids"] = territory_ids
    return list((await session.execute(statement, params)).mappings())


def _subject_params(
    rep_id: uuid.UUID | None, territory_ids: list[uuid.UUID] | None
) -> tuple[str, str, dict[str, object]]:
    if rep_id is not None:
        subject, activity_subject, _, _ = _SUBJECT_FRAGMENTS["rep"]
        return subject, activity_subject, {"rep_id": rep_id}
    subject, activity_subject, _, _ = _SUBJECT_FRAGMENTS["territory"]
    return subject, activity_subject, {"territory_ids": territory_ids}


async def time_series(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_ids: list[uuid.UUID] | None,
    buckets: list[tuple[date, date, datetime, datetime]],
) -> list[RowMapping]:
    """Per bucket ``(first day, end day, start instant, end instant)``: totals, in order."""
    subject, activity_subject, params = _subject_params(rep_id, territory_ids)
    statement = text(_TIMESERIES_SQL.format(subject=subject, activity_subject=activity_subject))
    if rep_id is None:
        statement = statement.bindparams(bindparam("territory_ids", type_=_UUIDS))
    result = await session.execute(
        statement,
        {
            "tenant_id": tenant_id,
            "start_days": [bucket[0] for bucket in buckets],
            "end_days": [bucket[1] for bucket in buckets],
            "starts": [bucket[2] for bucket in buckets],
            "ends": [bucket[3] for bucket in buckets],
            **params,
        },
    )
    return list(result.mappings())


async def leaderboard(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subjects: Select[uuid.UUID, str],
    by: str,
    order_by: str,
    start_at: datetime,
    end_at: datetime,
    start_day: date,
    end_day: date,
    limit: int,
) -> list[RowMapping]:
    """Subjects ranked by ``order_by`` (revenue, attainment or win_rate) over a period.

    One aggregate over the period's closed opportunities (ix_opportunity_kpi_closed), one over
    its quotas, left-joined onto every subject so those with nothing closed still rank.
    """
    group_column = Opportunity.rep_id if by == "rep" else Opportunity.territory_id
    quota_column = Quota.rep_id if by == "rep" else Quota.territory_id
    won = Opportunity.status == OpportunityStatus.won
    lost = Opportunity.status == OpportunityStatus.lost
    closed = (
        select(
            group_column.label("subject_id"),
            func.sum(Opportunity.amount_reporting).filter(won).label("revenue"),
            func.count().filter(won).label("won_count"),
            func.count().filter(lost).label("lost_count"),
        )
        .where(
            Opportunity.tenant_id == tenant_id,
            Opportunity.closed_at >= start_at,
            Opportunity.closed_at < end_at,
            group_column.is_not(None),
        )
        .group_by(group_column)
        .subquery("closed")
    )
    quotas = (
        select(quota_column.label("subject_id"), func.sum(Quota.amount).label("quota"))
        .where(
            Quota.tenant_id == tenant_id,
            quota_column.is_not(None),
            Quota.period_start >= start_day,
            Quota.period_end <= end_day,
        )
        .group_by(quota_column)
        .subquery("quotas")
    )
    subject = subjects.subquery("subject")
    revenue = func.coalesce(closed.c.revenue, _ZERO)
    won_count = func.coalesce(closed.c.won_count, 0)
    lost_count = func.coalesce(closed.c.lost_count, 0)
    attainment = cast(revenue / func.nullif(quotas.c.quota, 0), Float)
    win_rate = cast(won_count, Float) / func.nullif(won_count + lost_count, 0)
    metric = {"revenue": revenue, "attainment": attainment, "win_rate": win_rate}[order_by]
    statement = (
        select(
            func.rank().over(order_by=metric.desc().nulls_last()).label("rank"),
            subject.c.subject_id,
            subject.c.name,
            revenue.label("revenue"),
            quotas.c.quota,
            attainment.label("attainment"),
            won_count.label("won_count"),
            lost_count.label("lost_count"),
            win_rate.label("win_rate"),
        )
        .select_from(subject)
        .outerjoin(closed, closed.c.subject_id == subject.c.subject_id)
        .outerjoin(quotas, quotas.c.subject_id == subject.c.subject_id)
        .order_by(metric.desc().nulls_last(), subject.c.name, subject.c.subject_id)
        .limit(limit)
    )
    return list((await session.execute(statement)).mappings())

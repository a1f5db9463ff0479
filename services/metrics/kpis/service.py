"""KPIs for a rep or a territory (rolled up its hierarchy) over a period of its calendar."""

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods, reference_queries
from services.metrics.errors import (
    AlignmentRequired,
    PeriodOutOfOrder,
    ReferenceNotFound,
    SubjectInvalid,
    TooManyBuckets,
)
from services.metrics.kpis import repository
from services.metrics.kpis.schemas import (
    AttainmentRead,
    Kpi,
    KpiSetRead,
    LeaderboardRead,
    LeaderboardRow,
    PeriodRead,
    PipelineRead,
    PipelineStage,
    TimeSeriesPoint,
    TimeSeriesRead,
)
from services.metrics.periods import Period
from services.metrics.settings import service as settings_service
from services.metrics.settings.service import TenantCalendar


def localize(instant: datetime, zone: ZoneInfo) -> datetime:
    """An instant from the caller: without an offset it is the tenant's local time."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)
    return aware.astimezone(UTC)


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


def _money(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def _ratio(
    numerator: float, denominator: float | None, reason_if_missing: str, reason_if_zero: str
) -> Kpi:
    if denominator is None:
        return Kpi(value=None, reason=reason_if_missing)
    if denominator == 0:
        return Kpi(value=None, reason=reason_if_zero)
    return Kpi(value=numerator / denominator)


def _growth(revenue: float, before: float, period: Period) -> Kpi:
    if before == 0:
        return Kpi(
            value=None,
            reason=f"no closed-won revenue from {period.start} to {period.end} (exclusive) "
            "to compare with",
        )
    return Kpi(value=revenue / before - 1)


def period_read(period: Period, calendar: TenantCalendar) -> PeriodRead:
    return PeriodRead(
        label=period.label,
        start=period.start,
        end=period.end,
        time_zone=str(calendar.time_zone),
        currency=calendar.currency,
    )


async def resolve_period(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    period: str | None,
    start: date | None,
    end: date | None,
) -> tuple[Period, TenantCalendar]:
    calendar = await settings_service.calendar(session, tenant_id=tenant_id)
    resolved = periods.resolve(
        period=period,
        start=start,
        end=end,
        fiscal_year_start_month=calendar.fiscal_year_start_month,
    )
    return resolved, calendar


async def subject_territories(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
) -> list[uuid.UUID] | None:
    """The territory and its descendants (None for a rep); 404 when the subject is unknown."""
    if (rep_id is None) == (territory_id is None):
        raise SubjectInvalid(both=rep_id is not None)
    if territory_id is not None:
        subtree = await reference_queries.territory_subtree(
            session, tenant_id=tenant_id, territory_id=territory_id
        )
        if subtree is None:
            raise ReferenceNotFound("territory_id", territory_id)
        return subtree
    missing = await reference_queries.find_missing_reference(
        session, tenant_id=tenant_id, rep_id=rep_id
    )
    if missing is not None:
        raise ReferenceNotFound(*missing)
    return None


async def kpi_set(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    period: str | None,
    start: date | None,
    end: date | None,
    as_of: datetime | None = None,
) -> KpiSetRead:
    territory_ids = await subject_territories(
        session, tenant_id=tenant_id, rep_id=rep_id, territory_id=territory_id
    )
    resolved, calendar = await resolve_period(
        session, tenant_id=tenant_id, period=period, start=start, end=end
    )
    previous, year_ago = resolved.previous(), resolved.year_ago()
    zone = calendar.time_zone

    def at(day: date) -> datetime:
        return periods.local_midnight(day, zone)

    asked_as_of = localize(as_of, zone) if as_of is not None else None
    as_of = asked_as_of or min(at(resolved.end), datetime.now(UTC))
    row = await repository.kpi_set(
        session,
        tenant_id=tenant_id,
        rep_id=rep_id,
        territory_ids=territory_ids,
        windows={
            "start_at": at(resolved.start),
            "end_at": at(resolved.end),
            "previous_start_at": at(previous.start),
            "previous_end_at": at(previous.end),
            "year_ago_start_at": at(year_ago.start),
            "year_ago_end_at": at(year_ago.end),
            "as_of": as_of,
            "scan_from": at(min(previous.start, year_ago.start)),
        },
        start_day=resolved.start,
        end_day=resolved.end,
    )
    accounts, reps, capacity = await reference_queries.workload(
        session, tenant_id=tenant_id, rep_id=rep_id, territory_ids=territory_ids
    )

    revenue = _money(row["revenue"])
    previous_revenue = _money(row["previous_revenue"])
    year_ago_revenue = _money(row["year_ago_revenue"])
    won_count, lost_count = int(row["won_count"]), int(row["lost_count"])
    quota_amount = row["own_quota"] if row["own_quota"] is not None else row["descendant_quota"]
    no_quota = f"no quota lies within {resolved.label}"
    quota = (
        Kpi(value=float(quota_amount))
        if quota_amount is not None
        else Kpi(value=None, reason=no_quota)
    )
    open_pipeline = _money(row["open_pipeline"])
    open_count = int(row["open_count"])
    won_to_date = revenue
    if asked_as_of is not None:
        # Pipeline and the quota left to cover as the stage history had them at that instant.
        stages = await repository.pipeline_as_of(
            session,
            tenant_id=tenant_id,
            rep_id=rep_id,
            territory_ids=territory_ids,
            as_of=asked_as_of,
            start_at=at(resolved.start),
            won_until=min(asked_as_of, at(resolved.end)),
        )
        open_pipeline = sum(_money(stage["open_amount"]) for stage in stages)
        open_count = sum(int(stage["open_count"]) for stage in stages)
        won_to_date = sum(_money(stage["won_to_date"]) for stage in stages)
    if quota.value is None:
        remaining = Kpi(value=None, reason=no_quota)
        coverage = Kpi(value=None, reason=no_quota)
    else:
        remaining = Kpi(value=quota.value - won_to_date)
        coverage = (
            Kpi(value=open_pipeline / remaining.value)
            if remaining.value is not None and remaining.value > 0
            else Kpi(value=None, reason="the quota is already attained: nothing left to cover")
        )
    cycle = row["sales_cycle_days"]
    if capacity is None:
        capacity_kpi = Kpi(value=None, reason="a rep has no capacity limit")
    elif reps == 0:
        capacity_kpi = Kpi(value=None, reason="no rep is a member of the territory")
    else:
        capacity_kpi = Kpi(value=float(capacity))
    return KpiSetRead(
        subject="rep" if rep_id is not None else "territory",
        subject_id=rep_id if rep_id is not None else territory_ids[0],  # type: ignore[index]
        territories_included=len(territory_ids) if territory_ids is not None else None,
        period=period_read(resolved, calendar),
        previous_period=period_read(previous, calendar),
        year_ago_period=period_read(year_ago, calendar),
        revenue=Kpi(value=revenue),
        previous_revenue=Kpi(value=previous_revenue),
        growth_vs_previous=_growth(revenue, previous_revenue, previous),
        year_ago_revenue=Kpi(value=year_ago_revenue),
        growth_year_over_year=_growth(revenue, year_ago_revenue, year_ago),
        quota=quota,
        attainment=_ratio(revenue, quota.value, no_quota, "the quota is 0"),
        won_count=won_count,
        lost_count=lost_count,
        win_rate=_ratio(
            won_count,
            won_count + lost_count,
            "",
            f"no opportunity was won or lost in {resolved.label}",
        ),
        average_deal_size=_ratio(
            revenue, won_count, "", f"no opportunity was won in {resolved.label}"
        ),
        sales_cycle_days=Kpi(value=float(cycle))
        if cycle is not None
        else Kpi(value=None, reason=f"no win in {resolved.label} has opened_at"),
        pipeline_as_of=as_of,
        open_pipeline=Kpi(value=open_pipeline),
        open_count=open_count,
        remaining_quota=remaining,
        pipeline_coverage=coverage,
        new_customers=int(row["new_customers"]),
        activities=int(row["activities"]),
        accounts=accounts,
        reps=reps,
        accounts_per_rep=_ratio(accounts, reps, "", "no rep is a member of the territory"),
        capacity=capacity_kpi,
        capacity_used=_ratio(
            accounts,
            capacity_kpi.value,
            capacity_kpi.reason or "",
            "the reps' capacity is 0",
        ),
    )


GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
MAX_BUCKETS = 120


def buckets(period: Period, grain: str) -> list[tuple[date, date]]:
    """Consecutive local periods of ``grain`` from the period's start; the last one clipped."""
    step = GRAIN_MONTHS[grain]
    edges: list[tuple[date, date]] = []
    first = period.start
    while first < period.end:
        if len(edges) == MAX_BUCKETS:
            months = (period.end.year - period.start.year) * 12 + (
                period.end.month - period.start.month
            )
            raise TooManyBuckets(-(-months // step), MAX_BUCKETS)
        following = periods.add_months(date(first.year, first.month, 1), step)
        edges.append((first, min(following, period.end)))
        first = following
    return edges


async def time_series(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    grain: Literal["month", "quarter", "year"],
    period: str | None,
    start: date | None,
    end: date | None,
) -> TimeSeriesRead:
    territory_ids = await subject_territories(
        session, tenant_id=tenant_id, rep_id=rep_id, territory_id=territory_id
    )
    resolved, calendar = await resolve_period(
        session, tenant_id=tenant_id, period=period, start=start, end=end
    )
    zone = calendar.time_zone
    edges = buckets(resolved, grain)
    rows = await repository.time_series(
        session,
        tenant_id=tenant_id,
        rep_id=rep_id,
        territory_ids=territory_ids,
        buckets=[
            (first, last, periods.local_midnight(first, zone), periods.local_midnight(last, zone))
            for first, last in edges
        ],
    )
    return TimeSeriesRead(
        subject="rep" if rep_id is not None else "territory",
        subject_id=rep_id if rep_id is not None else territory_ids[0],  # type: ignore[index]
        grain=grain,
        period=period_read(resolved, calendar),
        points=[
            TimeSeriesPoint(
                start=row["bucket_start"],
                end=row["bucket_end"],
                revenue=float(row["revenue"]),
                won_count=row["won_count"],
                lost_count=row["lost_count"],
                activities=row["activities"],
            )
            for row in rows
        ],
    )


async def leaderboard(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    by: Literal["rep", "territory"],
    order_by: Literal["revenue", "attainment", "win_rate"],
    alignment_id: uuid.UUID | None,
    period: str | None,
    start: date | None,
    end: date | None,
    limit: int,
) -> LeaderboardRead:
    if by == "territory":
        if alignment_id is None:
            raise AlignmentRequired()
        if not await reference_queries.alignment_exists(
            session, tenant_id=tenant_id, alignment_id=alignment_id
        ):
            raise ReferenceNotFound("alignment_id", alignment_id)
        subjects = reference_queries.territories_of_alignment(
            tenant_id=tenant_id, alignment_id=alignment_id
        )
    else:
        subjects = reference_queries.reps_of_tenant(tenant_id=tenant_id)
    resolved, calendar = await resolve_period(
        session, tenant_id=tenant_id, period=period, start=start, end=end
    )
    zone = calendar.time_zone
    rows = await repository.leaderboard(
        session,
        tenant_id=tenant_id,
        subjects=subjects,
        by=by,
        order_by=order_by,
        start_at=periods.local_midnight(resolved.start, zone),
        end_at=periods.local_midnight(resolved.end, zone),
        start_day=resolved.start,
        end_day=resolved.end,
        limit=limit,
    )
    return LeaderboardRead(
        by=by,
        order_by=order_by,
        period=period_read(resolved, calendar),
        rows=[
            LeaderboardRow(
                rank=row["rank"],
                subject_id=row["subject_id"],
                name=row["name"],
                revenue=float(row["revenue"]),
                quota=float(row["quota"]) if row["quota"] is not None else None,
                attainment=row["attainment"],
                won_count=row["won_count"],
                lost_count=row["lost_count"],
                win_rate=row["win_rate"],
            )
            for row in rows
        ],
    )


async def pipeline(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    as_of: datetime | None,
) -> PipelineRead:
    """Open pipeline per stage of a rep or territory (rolled up) as it stood at ``as_of``."""
    territory_ids = await subject_territories(
        session, tenant_id=tenant_id, rep_id=rep_id, territory_id=territory_id
    )
    calendar = await settings_service.calendar(session, tenant_id=tenant_id)
    instant = localize(as_of, calendar.time_zone) if as_of is not None else datetime.now(UTC)
    rows = await repository.pipeline_as_of(
        session,
        tenant_id=tenant_id,
        rep_id=rep_id,
        territory_ids=territory_ids,
        as_of=instant,
        start_at=instant,
        won_until=instant,
    )
    stages = [
        PipelineStage(
            stage=row["stage"],
            open_count=int(row["open_count"]),
            open_amount=_money(row["open_amount"]),
        )
        for row in rows
        if row["open_count"]
    ]
    return PipelineRead(
        subject="rep" if rep_id is not None else "territory",
        subject_id=rep_id if rep_id is not None else territory_ids[0],  # type: ignore[index]
        as_of=instant,
        currency=calendar.currency,
        open_count=sum(stage.open_count for stage in stages),
        open_amount=sum(stage.open_amount for stage in stages),
        stages=stages,
    )

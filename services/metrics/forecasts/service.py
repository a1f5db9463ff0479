"""Revenue forecasts per rep or territory from its closed-won history in the tenant calendar."""

import uuid
from datetime import UTC, date, datetime
from typing import Literal

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods
from services.metrics.forecasts.model import forecast
from services.metrics.forecasts.schemas import ForecastPoint, ForecastRead
from services.metrics.kpis import repository as kpi_repository
from services.metrics.kpis.schemas import TimeSeriesPoint
from services.metrics.kpis.service import subject_territories
from services.metrics.settings import service as settings_service

SEASON = {"month": 12, "quarter": 4}
STEP = {"month": 1, "quarter": 3}


def current_period_start(today: date, grain: str, fiscal_year_start_month: int) -> date:
    """First day of the fiscal quarter (or month) holding ``today``."""
    if grain == "month":
        return date(today.year, today.month, 1)
    months_into_year = (today.month - fiscal_year_start_month) % 12
    return periods.add_months(date(today.year, today.month, 1), -(months_into_year % 3))


async def revenue_forecast(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    grain: Literal["month", "quarter"],
    history_periods: int,
    horizon: int,
    as_of: date | None,
) -> ForecastRead:
    territory_ids = await subject_territories(
        session, tenant_id=tenant_id, rep_id=rep_id, territory_id=territory_id
    )
    calendar = await settings_service.calendar(session, tenant_id=tenant_id)
    zone = calendar.time_zone
    today = (
        periods.check_day(as_of, "as_of") if as_of else datetime.now(UTC).astimezone(zone).date()
    )
    first_future = current_period_start(today, grain, calendar.fiscal_year_start_month)
    step = STEP[grain]
    starts = [periods.add_months(first_future, -step * k) for k in range(history_periods, 0, -1)]
    edges = [(start, periods.add_months(start, step)) for start in starts]
    rows = await kpi_repository.time_series(
        session,
        tenant_id=tenant_id,
        rep_id=rep_id,
        territory_ids=territory_ids,
        buckets=[
            (first, last, periods.local_midnight(first, zone), periods.local_midnight(last, zone))
            for first, last in edges
        ],
    )
    history = [
        TimeSeriesPoint(
            start=row["bucket_start"],
            end=row["bucket_end"],
            revenue=float(row["revenue"]),
            won_count=row["won_count"],
            lost_count=row["lost_count"],
            activities=row["activities"],
        )
        for row in rows
    ]
    # Fitting takes tens of milliseconds of CPU: off the event loop.
    result = await run_in_threadpool(
        forecast, [point.revenue for point in history], season=SEASON[grain], horizon=horizon
    )
    future = [periods.add_months(first_future, step * k) for k in range(horizon)]
    reason = None
    if result.backtest_periods == 0:
        reason = "the history is shorter than one season plus one period: nothing to back-test"
    elif result.backtest_mape is None:
        reason = "every back-tested period had 0 revenue: a percentage error is undefined"
    return ForecastRead(
        subject="rep" if rep_id is not None else "territory",
        subject_id=rep_id if rep_id is not None else territory_ids[0],  # type: ignore[index]
        grain=grain,
        currency=calendar.currency,
        model=result.model,
        history=history,
        forecast=[
            ForecastPoint(start=start, end=periods.add_months(start, step), revenue=value)
            for start, value in zip(future, result.values, strict=True)
        ],
        backtest_mape=result.backtest_mape,
        baseline_mape=result.baseline_mape,
        backtest_periods=result.backtest_periods,
        reason=reason,
    )

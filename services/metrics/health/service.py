"""Territory health: balance of workload, potential and revenue; market potential; whitespace."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods, reference_queries
from services.metrics.errors import ReferenceNotFound
from services.metrics.health import repository
from services.metrics.health.balance import balance
from services.metrics.health.schemas import (
    Adjustments,
    OutOfTolerance,
    TerritoryHealthRead,
    TerritoryHealthRow,
)
from services.metrics.kpis.service import period_read, resolve_period

# Moves come from the planning service's realignment, a job of seconds: asked for separately.
MOVES_UNAVAILABLE = (
    "moves are computed by the planning service's realignment on request: POST "
    "/metrics/territory-health/adjustments?alignment_id=… (then follow its Location) for units "
    "and accounts to move and the balance after them"
)
BALANCED_MEASURES = ("accounts", "potential")


async def territory_health(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    period: str | None,
    start: date | None,
    end: date | None,
    tolerance: float,
    whitespace_days: int,
) -> TerritoryHealthRead:
    if not await reference_queries.alignment_exists(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    ):
        raise ReferenceNotFound("alignment_id", alignment_id)
    resolved, calendar = await resolve_period(
        session, tenant_id=tenant_id, period=period, start=start, end=end
    )
    start_at = periods.local_midnight(resolved.start, calendar.time_zone)
    end_at = min(periods.local_midnight(resolved.end, calendar.time_zone), datetime.now(UTC))
    rows = await repository.territory_rows(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        start_at=start_at,
        end_at=end_at,
        whitespace_from=end_at - timedelta(days=whitespace_days),
    )
    territories = []
    for rank, row in enumerate(rows, start=1):
        potential, revenue = float(row["potential"]), float(row["revenue"])
        area = row["area_km2"]
        territories.append(
            TerritoryHealthRow(
                potential_rank=rank,
                territory_id=row["territory_id"],
                name=row["name"],
                level=row["level"],
                accounts=row["accounts"],
                reps=row["reps"],
                capacity=None if row["unlimited_reps"] else int(row["capacity"] or 0),
                potential=potential,
                revenue=revenue,
                activities=row["activities"],
                area_km2=area,
                account_density=row["accounts"] / area * 1000 if area else None,
                penetration=revenue / potential if potential else None,
                whitespace_accounts=row["whitespace_accounts"],
            )
        )
    measures = {
        name: [float(getattr(territory, name)) for territory in territories]
        for name in ("accounts", "potential", "revenue", "activities")
    }
    balances = {name: balance(values) for name, values in measures.items()}
    out_of_tolerance = []
    for name in BALANCED_MEASURES:
        mean = balances[name].mean
        if not mean:
            continue
        for territory, value in zip(territories, measures[name], strict=True):
            deviation = value / mean - 1
            if abs(deviation) > tolerance:
                out_of_tolerance.append(
                    OutOfTolerance(
                        territory_id=territory.territory_id,
                        name=territory.name,
                        measure=name,
                        value=value,
                        deviation=deviation,
                    )
                )
    return TerritoryHealthRead(
        alignment_id=alignment_id,
        period=period_read(resolved, calendar),
        tolerance=tolerance,
        whitespace_days=whitespace_days,
        territories=territories,
        balance=balances,
        out_of_tolerance=out_of_tolerance,
        adjustments=Adjustments(moves=None, expected_balance=None, reason=MOVES_UNAVAILABLE),
    )

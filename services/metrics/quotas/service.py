"""Quota rules: exactly one subject (rep or territory) of the tenant, a period in order."""

import uuid
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods, reference_queries
from services.metrics.errors import PeriodOutOfOrder, ReferenceNotFound
from services.metrics.health import repository as health_repository
from services.metrics.health.balance import balance
from services.metrics.kpis.service import resolve_period
from services.metrics.quotas import repository
from services.metrics.quotas.errors import QuotaSubjectInvalid
from services.metrics.quotas.schemas import (
    QuotaCreate,
    QuotaRead,
    QuotaSuggestionRow,
    QuotaSuggestionsRead,
)
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


SUGGESTION_MODEL = (
    "suggested quota = team_target × (w × the territory's share of the alignment's account "
    "potential + (1 − w) × its share of closed-won revenue in the trailing period); expected "
    "attainment = trailing revenue / quota"
)


async def suggest_quotas(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    period: str | None,
    start: date | None,
    end: date | None,
    team_target: Decimal,
    potential_weight: float,
) -> QuotaSuggestionsRead:
    if not await reference_queries.alignment_exists(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    ):
        raise ReferenceNotFound("alignment_id", alignment_id)
    resolved, calendar = await resolve_period(
        session, tenant_id=tenant_id, period=period, start=start, end=end
    )
    trailing = resolved.previous()
    zone = calendar.time_zone
    trailing_end_at = periods.local_midnight(trailing.end, zone)
    rows = await health_repository.territory_rows(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        start_at=periods.local_midnight(trailing.start, zone),
        end_at=trailing_end_at,
        whitespace_from=trailing_end_at,
    )
    current = await repository.territory_quotas(
        session,
        tenant_id=tenant_id,
        territory_ids=[row["territory_id"] for row in rows],
        period_start=resolved.start,
        period_end=resolved.end,
    )
    potential = np.array([float(row["potential"]) for row in rows])
    revenue = np.array([float(row["revenue"]) for row in rows])
    potential_share = potential / potential.sum() if potential.sum() else None
    revenue_share = revenue / revenue.sum() if revenue.sum() else None
    # Without one of the signals, the other carries the whole weight.
    weight = potential_weight if revenue_share is not None else 1.0
    weight = weight if potential_share is not None else 0.0
    blended = np.zeros(len(rows))
    if potential_share is not None:
        blended += weight * potential_share
    if revenue_share is not None:
        blended += (1 - weight) * revenue_share
    suggested = float(team_target) * blended
    territories = []
    for index, row in enumerate(rows):
        now = current.get(row["territory_id"])
        territories.append(
            QuotaSuggestionRow(
                territory_id=row["territory_id"],
                name=row["name"],
                potential_share=float(potential_share[index])
                if potential_share is not None
                else None,
                trailing_revenue=float(revenue[index]),
                trailing_revenue_share=float(revenue_share[index])
                if revenue_share is not None
                else None,
                current_quota=float(now) if now is not None else None,
                suggested_quota=round(float(suggested[index]), 2),
                expected_attainment_now=float(revenue[index]) / float(now) if now else None,
                expected_attainment_suggested=float(revenue[index] / suggested[index])
                if suggested[index]
                else None,
            )
        )
    return QuotaSuggestionsRead(
        model=SUGGESTION_MODEL,
        period_start=resolved.start,
        period_end=resolved.end,
        trailing_start=trailing.start,
        trailing_end=trailing.end,
        team_target=team_target,
        potential_weight=weight,
        territories=territories,
        fairness_now=balance(
            [
                t.expected_attainment_now
                for t in territories
                if t.expected_attainment_now is not None
            ]
        ),
        fairness_suggested=balance(
            [
                t.expected_attainment_suggested
                for t in territories
                if t.expected_attainment_suggested is not None
            ]
        ),
    )

"""SQL for a tenant's metrics settings and exchange rates; every statement is filtered by tenant."""

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ExchangeRate, MetricsSettings


async def get(session: AsyncSession, *, tenant_id: uuid.UUID) -> MetricsSettings | None:
    return await session.scalar(
        select(MetricsSettings).where(MetricsSettings.tenant_id == tenant_id)
    )


async def put(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    time_zone: str,
    fiscal_year_start_month: int,
    currency: str,
) -> None:
    values = {
        "time_zone": time_zone,
        "fiscal_year_start_month": fiscal_year_start_month,
        "currency": currency,
    }
    statement = insert(MetricsSettings).values(tenant_id=tenant_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[MetricsSettings.tenant_id],
            set_={**values, "updated_at": func.now()},
        )
    )


async def put_rate(
    session: AsyncSession, *, tenant_id: uuid.UUID, currency: str, rate: Decimal
) -> None:
    statement = insert(ExchangeRate).values(tenant_id=tenant_id, currency=currency, rate=rate)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ExchangeRate.tenant_id, ExchangeRate.currency],
            set_={"rate": rate, "updated_at": func.now()},
        )
    )


async def get_rate(session: AsyncSession, *, tenant_id: uuid.UUID, currency: str) -> Decimal | None:
    return await session.scalar(
        select(ExchangeRate.rate).where(
            ExchangeRate.tenant_id == tenant_id, ExchangeRate.currency == currency
        )
    )

"""A tenant's calendar (time zone, fiscal year) and money (reporting currency, rates)."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.settings import repository
from services.metrics.settings.errors import UnknownTimeZone
from services.metrics.settings.schemas import (
    ExchangeRateBody,
    ExchangeRateRead,
    SettingsBody,
    SettingsRead,
)

DEFAULT = SettingsRead()


@dataclass(frozen=True)
class TenantCalendar:
    time_zone: ZoneInfo
    fiscal_year_start_month: int
    currency: str


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimeZone(name) from error


async def get_settings(session: AsyncSession, *, tenant_id: uuid.UUID) -> SettingsRead:
    row = await repository.get(session, tenant_id=tenant_id)
    if row is None:
        return DEFAULT
    return SettingsRead(
        time_zone=row.time_zone,
        fiscal_year_start_month=row.fiscal_year_start_month,
        currency=row.currency,
    )


async def calendar(session: AsyncSession, *, tenant_id: uuid.UUID) -> TenantCalendar:
    settings = await get_settings(session, tenant_id=tenant_id)
    return TenantCalendar(
        time_zone=_zone(settings.time_zone),
        fiscal_year_start_month=settings.fiscal_year_start_month,
        currency=settings.currency,
    )


async def put_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: SettingsBody
) -> SettingsRead:
    _zone(data.time_zone)
    await repository.put(session, tenant_id=tenant_id, **data.model_dump())
    return SettingsRead(**data.model_dump())


async def put_exchange_rate(
    session: AsyncSession, *, tenant_id: uuid.UUID, currency: str, data: ExchangeRateBody
) -> ExchangeRateRead:
    await repository.put_rate(session, tenant_id=tenant_id, currency=currency, rate=data.rate)
    return ExchangeRateRead(currency=currency, rate=data.rate)


async def rate_to_reporting(
    session: AsyncSession, *, tenant_id: uuid.UUID, currency: str, reporting_currency: str
) -> Decimal | None:
    """Units of the reporting currency per unit of ``currency``; None when no rate is known."""
    if currency == reporting_currency:
        return Decimal(1)
    return await repository.get_rate(session, tenant_id=tenant_id, currency=currency)

"""HTTP endpoints for a tenant's metrics settings and exchange rates."""

from typing import Annotated

from fastapi import APIRouter, Path

from services.metrics.settings import service
from services.metrics.settings.schemas import (
    ExchangeRateBody,
    ExchangeRateRead,
    SettingsBody,
    SettingsRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/metrics", tags=["settings"])


@router.get("/settings", operation_id="metrics_settings.get")
async def get_settings(session: SessionDep, principal: ReadPrincipal) -> SettingsRead:
    """The tenant's time zone, fiscal-year start and reporting currency."""
    return await service.get_settings(session, tenant_id=principal.tenant_id)


@router.put(
    "/settings",
    operation_id="metrics_settings.put",
    responses={422: problem_doc("Unknown time zone or currency code")},
)
async def put_settings(
    body: SettingsBody, session: SessionDep, principal: WritePrincipal
) -> SettingsRead:
    """Set the tenant's time zone, fiscal-year start and reporting currency."""
    return await service.put_settings(session, tenant_id=principal.tenant_id, data=body)


@router.put(
    "/exchange-rates/{currency}",
    operation_id="exchange_rates.put",
    responses={422: problem_doc("Not a currency code or not a positive rate")},
)
async def put_exchange_rate(
    currency: Annotated[str, Path(pattern="^[A-Z]{3}$", description="ISO 4217 code")],
    body: ExchangeRateBody,
    session: SessionDep,
    principal: WritePrincipal,
) -> ExchangeRateRead:
    """Set how many units of the reporting currency one unit of this currency is worth."""
    return await service.put_exchange_rate(
        session, tenant_id=principal.tenant_id, currency=currency, data=body
    )

"""Opportunity rules: references from the tenant, closed ones carry a consistent closed_at."""

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from services.metrics.errors import ReferenceNotFound
from services.metrics.opportunities import repository
from services.metrics.opportunities.errors import (
    ClosedAtRequired,
    ClosedBeforeOpened,
    ExchangeRateMissing,
)
from services.metrics.opportunities.schemas import OpportunityRead, OpportunityUpsert
from services.metrics.settings import service as settings_service
from shared.models import Opportunity, OpportunityStatus


def to_read(opportunity: Opportunity) -> OpportunityRead:
    return OpportunityRead(
        id=opportunity.id,
        external_id=opportunity.external_id,
        account_id=opportunity.account_id,
        rep_id=opportunity.rep_id,
        territory_id=opportunity.territory_id,
        name=opportunity.name,
        stage=opportunity.stage,
        status=opportunity.status,
        amount=opportunity.amount,
        currency=opportunity.currency,
        amount_reporting=opportunity.amount_reporting,
        opened_at=opportunity.opened_at,
        closed_at=opportunity.closed_at,
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
    )


async def upsert_opportunity(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: OpportunityUpsert
) -> tuple[OpportunityRead, bool]:
    """The opportunity as stored, and whether it was created (False: an existing one replaced)."""
    if data.status is not OpportunityStatus.open and data.closed_at is None:
        raise ClosedAtRequired(data.status.value)
    if (
        data.closed_at is not None
        and data.opened_at is not None
        and data.closed_at < data.opened_at
    ):
        raise ClosedBeforeOpened()
    missing = await reference_queries.find_missing_reference(
        session,
        tenant_id=tenant_id,
        rep_id=data.rep_id,
        territory_id=data.territory_id,
        account_id=data.account_id,
    )
    if missing is not None:
        raise ReferenceNotFound(*missing)
    calendar = await settings_service.calendar(session, tenant_id=tenant_id)
    currency = data.currency or calendar.currency
    rate = await settings_service.rate_to_reporting(
        session, tenant_id=tenant_id, currency=currency, reporting_currency=calendar.currency
    )
    if rate is None:
        raise ExchangeRateMissing(currency, calendar.currency)
    values = data.model_dump()
    values["currency"] = currency
    values["amount_reporting"] = (data.amount * rate).quantize(Decimal("0.01"))
    opportunity, created = await repository.upsert(session, tenant_id=tenant_id, values=values)
    return to_read(opportunity), created


async def list_opportunities(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: OpportunityStatus | None,
    rep_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[OpportunityRead]:
    opportunities = await repository.list_page(
        session, tenant_id=tenant_id, status=status, rep_id=rep_id, limit=limit, offset=offset
    )
    return [to_read(opportunity) for opportunity in opportunities]

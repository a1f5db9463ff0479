"""SQL for the account-potential model: firmographics with each account's won revenue."""

import uuid
from datetime import datetime

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from shared.models import Opportunity, OpportunityStatus


async def accounts_with_revenue(
    session: AsyncSession, *, tenant_id: uuid.UUID, start_at: datetime, end_at: datetime
) -> list[RowMapping]:
    """Every account, its firmographics and its closed-won revenue in ``[start_at, end_at)``."""
    accounts = reference_queries.account_firmographics(tenant_id=tenant_id).subquery("accounts")
    revenue = (
        select(Opportunity.account_id, func.sum(Opportunity.amount_reporting).label("revenue"))
        .where(
            Opportunity.tenant_id == tenant_id,
            Opportunity.status == OpportunityStatus.won,
            Opportunity.closed_at >= start_at,
            Opportunity.closed_at < end_at,
            Opportunity.account_id.is_not(None),
        )
        .group_by(Opportunity.account_id)
        .subquery("revenue")
    )
    statement = (
        select(accounts, func.coalesce(revenue.c.revenue, 0).label("revenue"))
        .outerjoin(revenue, revenue.c.account_id == accounts.c.account_id)
        .order_by(accounts.c.account_id)
    )
    return list((await session.execute(statement)).mappings())

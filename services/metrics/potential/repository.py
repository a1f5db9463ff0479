"""SQL for the account-potential model: firmographics with each account's won revenue."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, FLOAT, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from shared.models import (
    AccountPotentialEstimate,
    Opportunity,
    OpportunityStatus,
    PotentialModelRun,
)


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


_STORE_ESTIMATES = text(
    """
    INSERT INTO account_potential_estimate (tenant_id, run_id, account_id, estimate)
    SELECT :tenant_id, :run_id, account_id, estimate
      FROM unnest(:account_ids, :estimates) AS e(account_id, estimate)
    """
).bindparams(
    bindparam("account_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("estimates", type_=ARRAY(FLOAT())),
)


async def add_run(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    values: dict[str, Any],
    account_ids: list[uuid.UUID],
    estimates: list[float],
) -> PotentialModelRun:
    """The run and every account's estimate (one statement over arrays, not a row at a time)."""
    run = PotentialModelRun(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(run)
    await session.flush()
    await session.refresh(run)
    await session.execute(
        _STORE_ESTIMATES,
        {
            "tenant_id": tenant_id,
            "run_id": run.id,
            "account_ids": account_ids,
            "estimates": estimates,
        },
    )
    return run


async def latest_run(
    session: AsyncSession, *, tenant_id: uuid.UUID
) -> tuple[PotentialModelRun, int] | None:
    run = await session.scalar(
        select(PotentialModelRun)
        .where(PotentialModelRun.tenant_id == tenant_id)
        .order_by(PotentialModelRun.created_at.desc(), PotentialModelRun.id)
        .limit(1)
    )
    if run is None:
        return None
    accounts = await session.scalar(
        select(func.count()).where(
            AccountPotentialEstimate.tenant_id == tenant_id,
            AccountPotentialEstimate.run_id == run.id,
        )
    )
    return run, int(accounts or 0)


async def estimates(
    session: AsyncSession, *, tenant_id: uuid.UUID, run_id: uuid.UUID, limit: int, offset: int
) -> list[AccountPotentialEstimate]:
    return list(
        await session.scalars(
            select(AccountPotentialEstimate)
            .where(
                AccountPotentialEstimate.tenant_id == tenant_id,
                AccountPotentialEstimate.run_id == run_id,
            )
            .order_by(AccountPotentialEstimate.account_id)
            .limit(limit)
            .offset(offset)
        )
    )

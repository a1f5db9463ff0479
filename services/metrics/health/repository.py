"""SQL for territory health: one row per leaf territory of an alignment, set-based."""

import uuid
from datetime import datetime

from sqlalchemy import RowMapping, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import reference_queries
from shared.models import Activity, Opportunity, OpportunityStatus


async def territory_rows(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    start_at: datetime,
    end_at: datetime,
    whitespace_from: datetime,
) -> list[RowMapping]:
    """Per leaf territory: profile (accounts, potential, reps, area), revenue and activities in
    ``[start_at, end_at)``, and accounts with no opportunity opened or closed and no activity in
    ``[whitespace_from, end_at)``."""
    profile = reference_queries.territory_profile(
        tenant_id=tenant_id, alignment_id=alignment_id
    ).subquery("profile")
    territory_ids = select(profile.c.territory_id)
    revenue = (
        select(
            Opportunity.territory_id,
            func.sum(Opportunity.amount_reporting).label("revenue"),
        )
        .where(
            Opportunity.tenant_id == tenant_id,
            Opportunity.territory_id.in_(territory_ids),
            Opportunity.status == OpportunityStatus.won,
            Opportunity.closed_at >= start_at,
            Opportunity.closed_at < end_at,
        )
        .group_by(Opportunity.territory_id)
        .subquery("revenue")
    )
    activities = (
        select(Activity.territory_id, func.count().label("activities"))
        .where(
            Activity.tenant_id == tenant_id,
            Activity.territory_id.in_(territory_ids),
            Activity.occurred_at >= start_at,
            Activity.occurred_at < end_at,
        )
        .group_by(Activity.territory_id)
        .subquery("activities")
    )
    accounts = reference_queries.accounts_of_alignment(
        tenant_id=tenant_id, territory_ids=territory_ids
    ).subquery("accounts")
    touched_by_opportunity = exists().where(
        Opportunity.tenant_id == tenant_id,
        Opportunity.account_id == accounts.c.account_id,
        or_(
            and_(Opportunity.opened_at >= whitespace_from, Opportunity.opened_at < end_at),
            and_(Opportunity.closed_at >= whitespace_from, Opportunity.closed_at < end_at),
        ),
    )
    touched_by_activity = exists().where(
        Activity.tenant_id == tenant_id,
        Activity.account_id == accounts.c.account_id,
        Activity.occurred_at >= whitespace_from,
        Activity.occurred_at < end_at,
    )
    whitespace = (
        select(accounts.c.territory_id, func.count().label("whitespace_accounts"))
        .where(~touched_by_opportunity, ~touched_by_activity)
        .group_by(accounts.c.territory_id)
        .subquery("whitespace")
    )
    statement = (
        select(
            profile,
            func.coalesce(revenue.c.revenue, 0).label("revenue"),
            func.coalesce(activities.c.activities, 0).label("activities"),
            func.coalesce(whitespace.c.whitespace_accounts, 0).label("whitespace_accounts"),
        )
        .outerjoin(revenue, revenue.c.territory_id == profile.c.territory_id)
        .outerjoin(activities, activities.c.territory_id == profile.c.territory_id)
        .outerjoin(whitespace, whitespace.c.territory_id == profile.c.territory_id)
        .order_by(profile.c.potential.desc(), profile.c.name, profile.c.territory_id)
    )
    return list((await session.execute(statement)).mappings())

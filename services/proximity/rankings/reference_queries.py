"""Read-only lookups on tables the assignment service owns (``account``), for rankings.

DESIGN.md: a service reads tables it does not own only through a documented query module. Every
function here only SELECTs, filters by ``tenant_id``, and reads just the ``id`` column, so the
assignment service may change any other column without breaking proximity. A row of another
tenant is reported exactly like a missing one.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Account


async def account_exists(
    session: AsyncSession, *, tenant_id: uuid.UUID, account_id: uuid.UUID
) -> bool:
    """Whether ``account.id = account_id`` exists in this tenant."""
    found = await session.scalar(
        select(Account.id).where(Account.tenant_id == tenant_id, Account.id == account_id)
    )
    return found is not None

"""Rows the metrics service references but does not own (reps, territories, accounts).

The assignment service has no endpoints for territories and accounts yet, so tests insert them
directly; reps too, to keep the metrics tests independent of the assignment app.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Account, Alignment, Rep, Territory


async def make_rep(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID, name: str = "Rep"
) -> uuid.UUID:
    rep_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Rep(id=rep_id, tenant_id=tenant_id, name=name))
    return rep_id


async def make_territory(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID
) -> uuid.UUID:
    alignment_id, territory_id = uuid.uuid4(), uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Alignment(id=alignment_id, tenant_id=tenant_id, name="Draft"))
        await session.flush()
        session.add(
            Territory(id=territory_id, tenant_id=tenant_id, alignment_id=alignment_id, name="West")
        )
    return territory_id


async def make_account(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID
) -> uuid.UUID:
    account_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(
            Account(
                id=account_id, tenant_id=tenant_id, external_id=f"acct-{account_id}", name="Acme"
            )
        )
    return account_id

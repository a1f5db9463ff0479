"""The demo tenant's life cycle: created when missing, emptied when it holds anything but a
finished load of this seed and version (an older demo, or a load cut short), so `make run`
never adds a second copy and never builds on half of one."""

import uuid

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from demo.identity import DEMO_SLUG, NEW_TENANT_NAME, finished_name
from shared import api_keys
from shared.db import set_session_tenant
from shared.models import Alignment, BasicUnit, Connection, Person, Rep, Tenant


async def _holds_data(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    # Owner sessions are held to row-level security too (FORCE): these read as the tenant.
    return bool(
        await session.scalar(
            select(
                or_(
                    *(
                        exists().where(model.tenant_id == tenant_id)
                        for model in (Rep, Alignment, BasicUnit, Person)
                    )
                )
            )
        )
    )


async def ensure_demo_tenant(
    session: AsyncSession, *, seed: int, slug: str = DEMO_SLUG
) -> tuple[Tenant, bool]:
    """The demo tenant, and whether its demo data still has to be loaded; as the tables' owner.
    The session's transaction is left scoped to that tenant (``app.tenant_id``)."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is not None:
        await set_session_tenant(session, tenant.id)
        if tenant.name == finished_name(seed):
            return tenant, False
        if await _holds_data(session, tenant.id):
            # The social graph first: the triggers that bump the tenant's graph version on
            # every write to it would re-create the version row of a tenant being deleted.
            await session.execute(delete(Connection).where(Connection.tenant_id == tenant.id))
            await session.execute(delete(Person).where(Person.tenant_id == tenant.id))
            # Every other tenant row goes with it (ON DELETE CASCADE), its keys too: a new key
            # is issued below and `make run` writes it to .run/env.
            await session.execute(delete(Tenant).where(Tenant.id == tenant.id))
            session.expunge(tenant)
            tenant = None
    if tenant is None:
        tenant = await api_keys.create_tenant(session, slug=slug, name=NEW_TENANT_NAME)
        await set_session_tenant(session, tenant.id)
    return tenant, True

"""Small factories for test data: tenants with keys, inserted through the real code paths."""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import api_keys


@dataclass(frozen=True)
class TenantWithKey:
    tenant_id: uuid.UUID
    slug: str
    token: str
    key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.token}


async def make_tenant(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    scopes: tuple[str, ...] = ("read", "write", "admin"),
) -> TenantWithKey:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    async with sessionmaker() as session, session.begin():
        tenant = await api_keys.create_tenant(session, slug=slug, name=f"Tenant {slug}")
        issued = await api_keys.issue_key(
            session, tenant_id=tenant.id, name="test", scopes=list(scopes)
        )
    return TenantWithKey(tenant_id=tenant.id, slug=slug, token=issued.token, key_id=issued.key.id)


async def add_key(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID, scopes: list[str]
) -> str:
    async with sessionmaker() as session, session.begin():
        issued = await api_keys.issue_key(session, tenant_id=tenant_id, name="test", scopes=scopes)
    return issued.token

"""Read-only queries on tables the assignment service owns: rep, territory and account.

Metrics reads them only through this module and only to learn whether an id exists in the
caller's tenant, so that a row of another tenant behaves exactly like an unknown one. Nothing
here writes, and nothing else in the metrics service names these tables.
"""

import uuid

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Account, Rep, Territory


def rep_exists(*, tenant_id: uuid.UUID, rep_id: uuid.UUID) -> Exists:
    """``EXISTS`` clause for a rep of the tenant, to embed in a larger statement."""
    return exists().where(Rep.tenant_id == tenant_id, Rep.id == rep_id)


def territory_exists(*, tenant_id: uuid.UUID, territory_id: uuid.UUID) -> Exists:
    return exists().where(Territory.tenant_id == tenant_id, Territory.id == territory_id)


def account_exists(*, tenant_id: uuid.UUID, account_id: uuid.UUID) -> Exists:
    return exists().where(Account.tenant_id == tenant_id, Account.id == account_id)


async def find_missing_reference(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None = None,
    territory_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
) -> tuple[str, uuid.UUID] | None:
    """The first given id (as ``(field, id)``) missing from the tenant, or None; one round trip."""
    checks: dict[str, tuple[uuid.UUID, Exists]] = {}
    if rep_id is not None:
        checks["rep_id"] = (rep_id, rep_exists(tenant_id=tenant_id, rep_id=rep_id))
    if territory_id is not None:
        checks["territory_id"] = (
            territory_id,
            territory_exists(tenant_id=tenant_id, territory_id=territory_id),
        )
    if account_id is not None:
        checks["account_id"] = (
            account_id,
            account_exists(tenant_id=tenant_id, account_id=account_id),
        )
    if not checks:
        return None
    found = (
        await session.execute(
            select(*[clause.label(field) for field, (_, clause) in checks.items()])
        )
    ).one()
    for field, (value, _) in checks.items():
        if not found._mapping[field]:
            return field, value
    return None

"""Read-only queries on tables the assignment service owns: rep, territory and account.

Metrics reads them only through this module: whether an id exists in the caller's tenant (so a
row of another tenant behaves exactly like an unknown one), a territory's subtree in its
alignment's hierarchy, the accounts and reps behind a territory or rep (workload, potential,
capacity), and names for leaderboards. Every function returns rows or a selectable to embed;
nothing here writes, and nothing else in the metrics service names these tables.
"""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Exists,
    Float,
    Select,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Account, Alignment, Rep, Territory, TerritoryMember


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


async def territory_subtree(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> list[uuid.UUID] | None:
    """The territory and every descendant (root first); None when the tenant has no such one."""
    tree = (
        select(Territory.id)
        .where(Territory.tenant_id == tenant_id, Territory.id == territory_id)
        .cte("tree", recursive=True)
    )
    child = select(Territory.id).where(
        Territory.tenant_id == tenant_id, Territory.parent_id == tree.c.id
    )
    tree = tree.union_all(child)
    ids = list(await session.scalars(select(tree.c.id)))
    if not ids:
        return None
    # The recursive CTE yields the root first; keep that promise explicit.
    return [territory_id, *[found for found in ids if found != territory_id]]


async def workload(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID | None = None,
    territory_ids: list[uuid.UUID] | None = None,
) -> tuple[int, int, int | None]:
    """Accounts, reps and their summed capacity (None if any rep is unlimited) of one subject.

    A rep's accounts are those it owns; a territory's are those placed in it (or a descendant)
    and its reps are the members of those territories.
    """
    if rep_id is not None:
        accounts = select(func.count()).where(
            Account.tenant_id == tenant_id, Account.owner_rep_id == rep_id
        )
        reps = select(Rep.id, Rep.capacity).where(Rep.tenant_id == tenant_id, Rep.id == rep_id)
    else:
        accounts = select(func.count()).where(
            Account.tenant_id == tenant_id, Account.territory_id.in_(territory_ids or [])
        )
        member_ids = select(TerritoryMember.rep_id).where(
            TerritoryMember.tenant_id == tenant_id,
            TerritoryMember.territory_id.in_(territory_ids or []),
        )
        reps = select(Rep.id, Rep.capacity).where(
            Rep.tenant_id == tenant_id, Rep.id.in_(member_ids)
        )
    rep_rows = reps.subquery()
    row = (
        await session.execute(
            select(
                accounts.scalar_subquery().label("accounts"),
                select(func.count()).select_from(rep_rows).scalar_subquery().label("reps"),
                select(func.sum(rep_rows.c.capacity)).scalar_subquery().label("capacity"),
                select(func.count().filter(rep_rows.c.capacity.is_(None)))
                .scalar_subquery()
                .label("unlimited"),
            )
        )
    ).one()
    capacity = None if row.unlimited else (int(row.capacity) if row.capacity is not None else 0)
    return int(row.accounts), int(row.reps), capacity


def reps_of_tenant(*, tenant_id: uuid.UUID) -> Select[uuid.UUID, str]:
    """Every rep of the tenant: (id, name), to left-join KPIs onto for leaderboards."""
    return select(Rep.id.label("subject_id"), Rep.name.label("name")).where(
        Rep.tenant_id == tenant_id
    )


def territories_of_alignment(
    *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> Select[uuid.UUID, str]:
    """Every territory of an alignment: (id, name)."""
    return select(Territory.id.label("subject_id"), Territory.name.label("name")).where(
        Territory.tenant_id == tenant_id, Territory.alignment_id == alignment_id
    )


def territory_profile(*, tenant_id: uuid.UUID, alignment_id: uuid.UUID) -> Select[Any]:
    """Per leaf territory of an alignment: name, level, area (km²), accounts, their potential,
    member reps and the reps' summed capacity (null when a rep is unlimited)."""
    child = Territory.__table__.alias("child")
    leaf = ~exists().where(child.c.tenant_id == tenant_id, child.c.parent_id == Territory.id)
    account_totals = (
        select(
            Account.territory_id,
            func.count().label("accounts"),
            func.coalesce(func.sum(Account.potential), 0).label("potential"),
        )
        .where(Account.tenant_id == tenant_id, Account.territory_id.is_not(None))
        .group_by(Account.territory_id)
        .subquery()
    )
    member_totals = (
        select(
            TerritoryMember.territory_id,
            func.count().label("reps"),
            func.sum(Rep.capacity).label("capacity"),
            func.count().filter(Rep.capacity.is_(None)).label("unlimited"),
        )
        .join(Rep, Rep.id == TerritoryMember.rep_id)
        .where(TerritoryMember.tenant_id == tenant_id)
        .group_by(TerritoryMember.territory_id)
        .subquery()
    )
    area_km2 = cast(func.ST_Area(func.geography(Territory.geom)), Float) / literal(1_000_000.0)
    return (
        select(
            Territory.id.label("territory_id"),
            Territory.name,
            Territory.level,
            area_km2.label("area_km2"),
            func.coalesce(account_totals.c.accounts, 0).label("accounts"),
            func.coalesce(account_totals.c.potential, 0).label("potential"),
            func.coalesce(member_totals.c.reps, 0).label("reps"),
            member_totals.c.capacity,
            func.coalesce(member_totals.c.unlimited, 0).label("unlimited_reps"),
        )
        .outerjoin(account_totals, account_totals.c.territory_id == Territory.id)
        .outerjoin(member_totals, member_totals.c.territory_id == Territory.id)
        .where(Territory.tenant_id == tenant_id, Territory.alignment_id == alignment_id, leaf)
    )


def accounts_of_alignment(
    *, tenant_id: uuid.UUID, territory_ids: Select[Any]
) -> Select[uuid.UUID, uuid.UUID | None]:
    """(account id, territory id) of the accounts placed in the given territories."""
    return select(Account.id.label("account_id"), Account.territory_id).where(
        Account.tenant_id == tenant_id, Account.territory_id.in_(territory_ids)
    )


async def alignment_exists(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id))
        )
    )


def account_firmographics(
    *, tenant_id: uuid.UUID
) -> Select[
    uuid.UUID, str, uuid.UUID | None, str | None, int | None, Decimal | None, Decimal | None
]:
    """Every account of the tenant with what a potential model may learn from: (account_id,
    name, territory_id, industry, employee_count, annual_revenue, potential as stated)."""
    return select(
        Account.id.label("account_id"),
        Account.name,
        Account.territory_id,
        Account.industry,
        Account.employee_count,
        Account.annual_revenue,
        Account.potential,
    ).where(Account.tenant_id == tenant_id)

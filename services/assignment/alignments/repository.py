"""SQL for alignments; every statement is filtered by tenant."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Row, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import Label

from shared.models import (
    Alignment,
    AlignmentStatus,
    AssignmentJob,
    AssignmentJobStatus,
    Territory,
)

LockMode = Literal["share", "update"] | None


def _territory_count() -> Label[int]:
    return (
        select(func.count())
        .where(Territory.tenant_id == Alignment.tenant_id, Territory.alignment_id == Alignment.id)
        .scalar_subquery()
        .label("territory_count")
    )


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, lock: LockMode = None
) -> Alignment | None:
    """One alignment, fresh from the database; ``lock`` takes a row lock until commit."""
    statement = (
        select(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .execution_options(populate_existing=True)
    )
    if lock == "share":
        statement = statement.with_for_update(read=True)
    elif lock == "update":
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def get_with_count(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> Row[Alignment, int] | None:
    statement = (
        select(Alignment, _territory_count())
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .execution_options(populate_existing=True)
    )
    row: Row[Alignment, int] | None = (await session.execute(statement)).first()
    return row


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: AlignmentStatus | None,
    limit: int,
    offset: int,
) -> Sequence[Row[Alignment, int]]:
    statement = select(Alignment, _territory_count()).where(Alignment.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Alignment.status == status)
    statement = statement.order_by(Alignment.created_at, Alignment.id).limit(limit).offset(offset)
    rows: Sequence[Row[Alignment, int]] = (await session.execute(statement)).all()
    return rows


async def add(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    name: str,
    cloned_from_id: uuid.UUID | None = None,
) -> uuid.UUID:
    alignment = Alignment(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=name,
        status=AlignmentStatus.draft,
        cloned_from_id=cloned_from_id,
    )
    session.add(alignment)
    await session.flush()
    return alignment.id


async def rename(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, name: str
) -> None:
    await session.execute(
        update(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .values(name=name)
        .execution_options(synchronize_session=False)
    )


async def set_review_hold(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, reason: str | None
) -> None:
    await session.execute(
        update(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .values(review_hold=reason, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def lock_tenant_alignments(session: AsyncSession, *, tenant_id: uuid.UUID) -> None:
    """Row-lock every alignment of the tenant (in id order, so two publishes cannot deadlock):
    publishes, archives and territory edits of the tenant then happen one after another."""
    await session.execute(
        select(Alignment.id)
        .where(Alignment.tenant_id == tenant_id)
        .order_by(Alignment.id)
        .with_for_update()
    )


@dataclass(frozen=True, slots=True)
class FallbackTerritory:
    territory_id: uuid.UUID
    name: str
    active_owner_count: int


_FALLBACKS = text(
    """
    SELECT t.id AS territory_id, t.name,
           count(r.id) FILTER (WHERE r.active) AS active_owner_count
    FROM territory t
    LEFT JOIN territory_member m
           ON m.territory_id = t.id AND m.role = 'owner'
    LEFT JOIN rep r ON r.id = m.rep_id
    WHERE t.tenant_id = :tenant_id AND t.alignment_id = :alignment_id AND t.is_fallback
    GROUP BY t.id, t.name
    ORDER BY t.name
    """
)


async def fallback_territories(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> list[FallbackTerritory]:
    rows = await session.execute(_FALLBACKS, {"tenant_id": tenant_id, "alignment_id": alignment_id})
    return [FallbackTerritory(*row) for row in rows]


async def archive_active(session: AsyncSession, *, tenant_id: uuid.UUID) -> None:
    await session.execute(
        update(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.status == AlignmentStatus.active)
        .values(status=AlignmentStatus.archived, archived_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def activate(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    effective_from: datetime | None,
) -> None:
    await session.execute(
        update(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .values(
            status=AlignmentStatus.active,
            published_at=func.now(),
            effective_from=func.coalesce(effective_from, func.now()),
        )
        .execution_options(synchronize_session=False)
    )


async def archive(session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID) -> None:
    await session.execute(
        update(Alignment)
        .where(Alignment.tenant_id == tenant_id, Alignment.id == alignment_id)
        .values(status=AlignmentStatus.archived, archived_at=func.now())
        .execution_options(synchronize_session=False)
    )


# One statement copies the whole design. The id mapping is a function, not a table: a copied
# row's id is the md5 of (clone id, source id), so parents, members and parts are remapped with
# no join at all, and the plan stays linear however stale the statistics of a freshly loaded
# tenant are. Foreign keys are checked at the end of the statement, so the order of the
# inserts does not matter.
_NEW_ID = "md5(CAST(:target_id AS text) || {column}::text)::uuid"
_CLONE = text(
    f"""
    WITH copied_territories AS (
        INSERT INTO territory (id, tenant_id, alignment_id, parent_id, name, level, geom,
                               criteria, priority, distribution_rule, required_skills,
                               is_fallback, attributes, repair_note)
        SELECT {_NEW_ID.format(column="t.id")}, t.tenant_id, :target_id,
               {_NEW_ID.format(column="t.parent_id")}, t.name, t.level, t.geom, t.criteria,
               t.priority, t.distribution_rule, t.required_skills, t.is_fallback,
               t.attributes, t.repair_note
        FROM territory t
        WHERE t.tenant_id = :tenant_id AND t.alignment_id = :source_id
        RETURNING 1
    ), copied_members AS (
        INSERT INTO territory_member (tenant_id, territory_id, rep_id, role, weight)
        SELECT tm.tenant_id, {_NEW_ID.format(column="tm.territory_id")}, tm.rep_id, tm.role,
               tm.weight
        FROM territory t
        JOIN territory_member tm ON tm.territory_id = t.id
        WHERE t.tenant_id = :tenant_id AND t.alignment_id = :source_id
        RETURNING 1
    ), copied_parts AS (
        INSERT INTO territory_part (tenant_id, alignment_id, territory_id, level,
                                    territory_area_m2, geom)
        SELECT p.tenant_id, :target_id, {_NEW_ID.format(column="p.territory_id")}, p.level,
               p.territory_area_m2, p.geom
        FROM territory_part p
        WHERE p.tenant_id = :tenant_id AND p.alignment_id = :source_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM copied_territories) AS territories,
           (SELECT count(*) FROM copied_members) AS members,
           (SELECT count(*) FROM copied_parts) AS parts
    """
).bindparams(
    bindparam("source_id", type_=UUID(as_uuid=True)),
    bindparam("target_id", type_=UUID(as_uuid=True)),
)


async def copy_territories(
    session: AsyncSession, *, tenant_id: uuid.UUID, source_id: uuid.UUID, target_id: uuid.UUID
) -> tuple[int, int, int]:
    """Copy every territory, member and part of ``source_id`` into ``target_id``: counts."""
    row = (
        await session.execute(
            _CLONE, {"tenant_id": tenant_id, "source_id": source_id, "target_id": target_id}
        )
    ).one()
    return row.territories, row.members, row.parts


async def record_reassignment(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    accounts: int,
    moved: int,
) -> None:
    """The post-publish reassignment, visible like any job at GET /assignment/jobs/{id}."""
    now = datetime.now(UTC)
    session.add(
        AssignmentJob(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            kind="reassign_accounts",
            status=AssignmentJobStatus.succeeded,
            alignment_id=alignment_id,
            total_rows=accounts,
            processed_rows=accounts,
            assigned_rows=moved,
            stage="done",
            summary={"accounts": accounts, "moved": moved},
            started_at=now,
            finished_at=now,
        )
    )
    await session.flush()

"""Alignment lifecycle: drafts are edited, one publish makes a draft the tenant's only active
alignment (archiving the previous one), and active or archived alignments never change."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.alignments import placement as placement_repo
from services.assignment.alignments import repository
from services.assignment.alignments.errors import (
    ActiveAlignmentArchive,
    AlignmentHeld,
    AlignmentIncomplete,
    AlignmentNotEditable,
    AlignmentNotFound,
    AlignmentNotPublishable,
)
from services.assignment.alignments.schemas import (
    AccountChange,
    AccountPlacement,
    AlignmentClone,
    AlignmentCreate,
    AlignmentDiff,
    AlignmentPublish,
    AlignmentRead,
    AlignmentUpdate,
)
from services.assignment.events import repository as events_repository
from services.assignment.events import service as events_service
from shared.errors import InvalidInput
from shared.models import Alignment, AlignmentStatus

# Clocks differ a little between the caller and us: "now" sent by a client is not "the future".
_CLOCK_SKEW = timedelta(minutes=5)


def to_read(row: Row[Alignment, int]) -> AlignmentRead:
    alignment, territory_count = row
    return AlignmentRead(
        id=alignment.id,
        name=alignment.name,
        status=alignment.status,
        effective_from=alignment.effective_from,
        cloned_from_id=alignment.cloned_from_id,
        published_at=alignment.published_at,
        archived_at=alignment.archived_at,
        review_hold=alignment.review_hold,
        territory_count=territory_count,
        created_at=alignment.created_at,
        updated_at=alignment.updated_at,
    )


async def get_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> AlignmentRead:
    row = await repository.get_with_count(session, tenant_id=tenant_id, alignment_id=alignment_id)
    if row is None:
        raise AlignmentNotFound(alignment_id)
    return to_read(row)


async def require_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> Alignment:
    """The alignment, for reading; 404 if the tenant has none with this id."""
    alignment = await repository.get(session, tenant_id=tenant_id, alignment_id=alignment_id)
    if alignment is None:
        raise AlignmentNotFound(alignment_id)
    return alignment


async def require_draft(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> Alignment:
    """The alignment, share-locked until commit so that it cannot be published mid-edit;
    404 if unknown, 409 unless it is a draft. Every territory or member change calls this."""
    alignment = await repository.get(
        session, tenant_id=tenant_id, alignment_id=alignment_id, lock="share"
    )
    if alignment is None:
        raise AlignmentNotFound(alignment_id)
    if alignment.status != AlignmentStatus.draft:
        raise AlignmentNotEditable(alignment_id, alignment.status.value)
    if alignment.review_hold is not None:
        raise AlignmentHeld(alignment_id, alignment.review_hold)
    return alignment


async def create_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: AlignmentCreate
) -> AlignmentRead:
    alignment_id = await repository.add(session, tenant_id=tenant_id, name=data.name)
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)


async def list_alignments(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: AlignmentStatus | None,
    limit: int,
    offset: int,
) -> list[AlignmentRead]:
    rows = await repository.list_page(
        session, tenant_id=tenant_id, status=status, limit=limit, offset=offset
    )
    return [to_read(row) for row in rows]


async def update_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, data: AlignmentUpdate
) -> AlignmentRead:
    await require_draft(session, tenant_id=tenant_id, alignment_id=alignment_id)
    if data.name is not None:
        await repository.rename(
            session, tenant_id=tenant_id, alignment_id=alignment_id, name=data.name
        )
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)


async def clone_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, data: AlignmentClone
) -> AlignmentRead:
    source = await require_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)
    name = data.name or f"{source.name} (copy)"[:200]
    clone_id = await repository.add(
        session, tenant_id=tenant_id, name=name, cloned_from_id=source.id
    )
    await repository.copy_territories(
        session, tenant_id=tenant_id, source_id=source.id, target_id=clone_id
    )
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=clone_id)


async def _check_publishable(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> None:
    """Every lead must end with an owner: exactly one fallback territory with an active owner."""
    fallbacks = await repository.fallback_territories(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    )
    if not fallbacks:
        raise AlignmentIncomplete(
            "the alignment has no fallback territory, so a lead matching no territory would "
            "stay unassigned: set is_fallback=true on one territory (PATCH "
            "/assignment/territories/{id}), give it an active owner, then publish again",
            field="is_fallback",
        )
    if len(fallbacks) > 1:
        names = ", ".join(repr(fallback.name) for fallback in fallbacks)
        raise AlignmentIncomplete(
            f"the alignment has {len(fallbacks)} fallback territories ({names}); keep exactly "
            "one with is_fallback=true, then publish again",
            field="is_fallback",
        )
    fallback = fallbacks[0]
    if fallback.active_owner_count == 0:
        raise AlignmentIncomplete(
            f"the fallback territory {fallback.name!r} has no active owner, so leads routed to "
            "it would stay unassigned: add one with POST "
            f"/assignment/territories/{fallback.territory_id}/members "
            '{"rep_id": ..., "role": "owner"}, then publish again',
            field="members",
        )


async def after_publish(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> None:
    """Inside the publish transaction: place every account under the newly active alignment
    and store it, and record it as a ``reassign_accounts`` job whose ``moved`` is the number of
    rows the diff of the previous alignment against this one shows (the same computation)."""
    connection = await placement_repo.driver_connection(session)
    accounts, after = placement_repo.temp_name("accounts"), placement_repo.temp_name("after")
    changes = placement_repo.temp_name("changes")
    try:
        total = await placement_repo.snapshot_accounts(
            connection, tenant_id=tenant_id, accounts=accounts
        )
        await placement_repo.compute_changes(
            connection,
            tenant_id=tenant_id,
            from_alignment_id=None,
            to_alignment_id=alignment_id,
            accounts=accounts,
            after=after,
            changes=changes,
        )
        _, totals = await placement_repo.page_of_changes(
            connection, changes=changes, limit=0, offset=0
        )
        await placement_repo.apply_placement(connection, tenant_id=tenant_id, placement=after)
        # The integrators' view of the same rows: one event per account moved.
        await events_repository.write_account_changes(
            connection, tenant_id=tenant_id, alignment_id=alignment_id, changes=changes
        )
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {accounts}, {after}, {changes}")
    await repository.record_reassignment(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        accounts=total,
        moved=totals["changed"],
    )


def _placement(row: asyncpg.Record, side: str) -> AccountPlacement:
    return AccountPlacement(
        territory_id=row[f"{side}_territory_id"],
        territory=row[f"{side}_territory"],
        owner_territory_id=row[f"{side}_owner_territory_id"],
        owner_territory=row[f"{side}_owner_territory"],
    )


async def diff_alignments(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    from_alignment_id: uuid.UUID,
    to_alignment_id: uuid.UUID,
    limit: int,
    offset: int,
) -> AlignmentDiff:
    """The accounts whose territory or owner's territory differs between the two alignments:
    what a publish of ``to`` would change when ``from`` is the active one (then the accounts'
    stored placement is the "before", exactly as the publish computes it)."""
    active_id = None
    for alignment_id, field in ((from_alignment_id, "a"), (to_alignment_id, "b")):
        status = await connection.fetchval(
            "SELECT status FROM alignment WHERE tenant_id = $1 AND id = $2", tenant_id, alignment_id
        )
        if status is None:
            raise AlignmentNotFound(alignment_id, field=field)
        if field == "a" and status == AlignmentStatus.active.value:
            active_id = alignment_id
    accounts, after = placement_repo.temp_name("accounts"), placement_repo.temp_name("after")
    changes = placement_repo.temp_name("changes")
    async with connection.transaction():
        # The lead pool forces generic plans for the hot path; these one-off set-based
        # statements deserve plans made for their actual parameters.
        await connection.execute("SET LOCAL plan_cache_mode = auto")
        try:
            total = await placement_repo.snapshot_accounts(
                connection, tenant_id=tenant_id, accounts=accounts
            )
            await placement_repo.compute_changes(
                connection,
                tenant_id=tenant_id,
                from_alignment_id=None if active_id is not None else from_alignment_id,
                to_alignment_id=to_alignment_id,
                accounts=accounts,
                after=after,
                changes=changes,
            )
            rows, totals = await placement_repo.page_of_changes(
                connection, changes=changes, limit=limit + 1, offset=offset
            )
        finally:
            await connection.execute(f"DROP TABLE IF EXISTS {accounts}, {after}, {changes}")
    items = [
        AccountChange(
            account_id=row["account_id"],
            external_id=row["external_id"],
            name=row["name"],
            owner_rep_id=row["owner_rep_id"],
            owner=row["owner"],
            before=_placement(row, "from"),
            after=_placement(row, "to"),
            territory_changed=row["territory_changed"],
            owner_territory_changed=row["owner_territory_changed"],
        )
        for row in rows[:limit]
    ]
    return AlignmentDiff(
        from_alignment_id=from_alignment_id,
        to_alignment_id=to_alignment_id,
        accounts=total,
        changed=totals["changed"],
        territory_changes=totals["territory_changes"],
        owner_territory_changes=totals["owner_territory_changes"],
        items=items,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


async def publish_alignment(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    data: AlignmentPublish,
) -> AlignmentRead:
    if data.effective_from is not None and data.effective_from > datetime.now(UTC) + _CLOCK_SKEW:
        raise InvalidInput(
            "effective_from is in the future, but publishing takes effect at once: publish "
            "when the alignment should start, or omit effective_from to mean now",
            field="effective_from",
        )
    # One transaction: lock the tenant's alignments, check, archive the active one, activate.
    await repository.lock_tenant_alignments(session, tenant_id=tenant_id)
    alignment = await repository.get(session, tenant_id=tenant_id, alignment_id=alignment_id)
    if alignment is None:
        raise AlignmentNotFound(alignment_id)
    if alignment.status != AlignmentStatus.draft:
        raise AlignmentNotPublishable(alignment_id, alignment.status.value)
    if alignment.review_hold is not None:
        raise AlignmentHeld(alignment_id, alignment.review_hold)
    await _check_publishable(session, tenant_id=tenant_id, alignment_id=alignment_id)
    await repository.archive_active(session, tenant_id=tenant_id)
    await repository.activate(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        effective_from=data.effective_from,
    )
    await after_publish(session, tenant_id=tenant_id, alignment_id=alignment_id)
    published = await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)
    await events_service.record(
        session,
        tenant_id=tenant_id,
        event_type="alignment.published",
        subject_id=alignment_id,
        payload={
            "alignment_id": alignment_id,
            "name": published.name,
            "effective_from": published.effective_from,
        },
    )
    return published


async def archive_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> AlignmentRead:
    """Archive a draft (an archived one stays as it is); the active one cannot be archived."""
    alignment = await repository.get(
        session, tenant_id=tenant_id, alignment_id=alignment_id, lock="update"
    )
    if alignment is None:
        raise AlignmentNotFound(alignment_id)
    if alignment.status == AlignmentStatus.active:
        raise ActiveAlignmentArchive(alignment_id)
    if alignment.status == AlignmentStatus.draft:
        await repository.archive(session, tenant_id=tenant_id, alignment_id=alignment_id)
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)


async def hold_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, reason: str
) -> AlignmentRead:
    """Freeze a draft under review (a held draft's reason may be restated)."""
    alignment = await repository.get(
        session, tenant_id=tenant_id, alignment_id=alignment_id, lock="update"
    )
    if alignment is None:
        raise AlignmentNotFound(alignment_id)
    if alignment.status != AlignmentStatus.draft:
        raise AlignmentNotEditable(alignment_id, alignment.status.value)
    await repository.set_review_hold(
        session, tenant_id=tenant_id, alignment_id=alignment_id, reason=reason
    )
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)


async def release_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> AlignmentRead:
    await require_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)
    await repository.set_review_hold(
        session, tenant_id=tenant_id, alignment_id=alignment_id, reason=None
    )
    return await get_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)

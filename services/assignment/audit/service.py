"""Reading the audit trail: filters and keyset pages."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.audit import repository
from services.assignment.audit.errors import InvalidCursor, InvalidTimeRange
from services.assignment.audit.schemas import AuditEventPage, AuditEventRead

_MAX_CURSOR = 2**63 - 1


def _before_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isascii() or not cursor.isdigit() or not 0 < int(cursor) <= _MAX_CURSOR:
        raise InvalidCursor(cursor)
    return int(cursor)


async def list_events(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    cursor: str | None,
    since: datetime | None,
    until: datetime | None,
    action: str | None,
    entity: str | None,
    entity_id: str | None,
    limit: int,
) -> AuditEventPage:
    if since is not None and until is not None and since >= until:
        raise InvalidTimeRange()
    events = await repository.list_page(
        session,
        tenant_id=tenant_id,
        before_id=_before_id(cursor),
        since=since,
        until=until,
        action=action,
        entity=entity,
        entity_id=entity_id,
        limit=limit + 1,
    )
    items = [AuditEventRead.model_validate(event, from_attributes=True) for event in events]
    has_more = len(items) > limit
    items = items[:limit]
    return AuditEventPage(
        items=items,
        limit=limit,
        next_cursor=str(items[-1].id) if has_more else None,
    )

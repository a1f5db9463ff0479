"""The pull feed, and the one way every domain records an event in its own transaction."""

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.events import repository
from services.assignment.events.errors import InvalidCursor, UnknownEventType
from services.assignment.events.schemas import EVENT_TYPES, EventPage, EventRead

_CURSOR = re.compile(r"^(\d{1,19})-(\d{1,19})$")
START = (0, 0)


def encode_cursor(position: tuple[int, int]) -> str:
    return f"{position[0]}-{position[1]}"


def decode_cursor(cursor: str | None) -> tuple[int, int]:
    if cursor is None:
        return START
    found = _CURSOR.match(cursor)
    if found is None or max(int(found[1]), int(found[2])) >= 2**63:
        raise InvalidCursor(cursor)
    return int(found[1]), int(found[2])


def parse_types(types: str | None) -> list[str] | None:
    """``lead.assigned,rep.changed`` → the list (None: every type)."""
    if not types:
        return None
    wanted = [name.strip() for name in types.split(",") if name.strip()]
    for name in wanted:
        if name not in EVENT_TYPES:
            raise UnknownEventType(name, EVENT_TYPES)
    return wanted or None


def to_read(row: Any) -> EventRead:
    return EventRead(
        id=row.id,
        type=row.type,
        version=row.version,
        subject_id=row.subject_id,
        ordering_key=row.ordering_key,
        occurred_at=row.occurred_at,
        data=row.payload,
        cursor=encode_cursor((row.txid, row.id)),
    )


async def read_feed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    after: str | None,
    types: str | None,
    limit: int,
) -> EventPage:
    position = decode_cursor(after)
    rows, horizon = await repository.read_page(
        session, tenant_id=tenant_id, after=position, types=parse_types(types), limit=limit
    )
    items = [to_read(row) for row in rows]
    full = len(items) == limit
    if full:
        next_position = (rows[-1].txid, rows[-1].id)
    else:
        # Nothing wanted up to the horizon: move past the events of other types too.
        next_position = horizon or position
    has_more = full and horizon is not None and horizon > next_position
    return EventPage(items=items, next_cursor=encode_cursor(next_position), has_more=has_more)


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    event_type: str,
    subject_id: uuid.UUID,
    ordering_key: uuid.UUID | None = None,
    payload: dict[str, Any],
) -> None:
    """Write an event in the session's transaction: it is published if and only if the
    change commits. ``ordering_key``: the account it concerns, else the subject."""
    assert event_type in EVENT_TYPES, event_type
    await repository.record(
        session,
        tenant_id=tenant_id,
        event_type=event_type,
        subject_id=subject_id,
        ordering_key=ordering_key or subject_id,
        payload=payload,
    )

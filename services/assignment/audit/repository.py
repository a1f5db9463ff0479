"""SQL of the audit trail; filtered by tenant (and row-level security)."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AuditEvent


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    before_id: int | None,
    since: datetime | None,
    until: datetime | None,
    action: str | None,
    entity: str | None,
    entity_id: str | None,
    limit: int,
) -> list[AuditEvent]:
    """Newest first; keyset on the id, so a page costs the same however deep it is."""
    statement = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    if since is not None:
        statement = statement.where(AuditEvent.created_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.created_at < until)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if entity is not None:
        statement = statement.where(AuditEvent.entity == entity)
    if entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == entity_id)
    statement = statement.order_by(AuditEvent.id.desc()).limit(limit)
    return list(await session.scalars(statement))

"""HTTP endpoint for the audit trail (every service's writes, recorded in one table)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.assignment.audit import service
from services.assignment.audit.schemas import AuditEventPage
from shared.auth import AdminPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/assignment/audit-events", tags=["audit"])


@router.get("", operation_id="audit_events.list")
async def list_audit_events(
    session: SessionDep,
    principal: AdminPrincipal,
    since: Annotated[datetime | None, Query(description="Events at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Events before this time")] = None,
    action: Annotated[str | None, Query(max_length=100, description="e.g. create_rep")] = None,
    entity: Annotated[str | None, Query(max_length=100, description="e.g. reps")] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[
        str | None, Query(max_length=20, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page")] = 100,
) -> AuditEventPage:
    """List the tenant's audit trail, newest first: every write, by which key (admin keys)."""
    return await service.list_events(
        session,
        tenant_id=principal.tenant_id,
        cursor=cursor,
        since=since,
        until=until,
        action=action,
        entity=entity,
        entity_id=entity_id,
        limit=limit,
    )

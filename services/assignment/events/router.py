"""HTTP endpoint of the pull feed of events."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.assignment.events import service
from services.assignment.events.schemas import EventPage
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/assignment/events", tags=["events"])


@router.get(
    "",
    operation_id="events.list",
    responses={422: problem_doc("after is not a cursor of this feed, or a type is unknown")},
)
async def list_events(
    session: SessionDep,
    principal: ReadPrincipal,
    after: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^\d{1,19}-\d{1,19}$",
            description="next_cursor of the previous page (left out: from the oldest event kept)",
        ),
    ] = None,
    types: Annotated[
        str | None,
        Query(max_length=500, description="Comma-separated event types, e.g. lead.assigned"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page")] = 100,
) -> EventPage:
    """Read the tenant's events in commit-safe order after a cursor (none is ever skipped)."""
    return await service.read_feed(
        session, tenant_id=principal.tenant_id, after=after, types=types, limit=limit
    )

"""The audit trail: every successful write (key, tenant, action, object, time, request id),
recorded in the transaction of the write.

Requests on the request session are recorded by ``shared.db.get_session`` before it commits; the
raw asyncpg write paths (single and bulk lead assignment) insert their event in their own
statement, with ``audit_parameters``. Readable by admin keys: ``GET /assignment/audit-events``.
"""

import re
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session

from shared.models import AuditEvent
from shared.request_context import current_request_id
from shared.tenancy import current_caller

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WRITE_SCOPES = frozenset({"write", "admin"})
_FLUSHED = "audit_flushed"
_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_MAX_ID = 100


def mark_if_write(request: Request, scope: str) -> None:
    """Called by the scope check: a write-scoped request that succeeds is a write to record
    (a POST that only computes, like a ranking, asks for the read scope)."""
    if scope in _WRITE_SCOPES and request.method in WRITE_METHODS:
        request.state.audit_write = True


def note_flushed(session: Session) -> None:
    """``after_flush``: what the ORM wrote, so a create's event names the object it made."""
    counts: dict[str, int] = session.info.setdefault(_FLUSHED, {})
    for verb, objects in (("inserted", session.new), ("deleted", session.deleted)):
        for instance in objects:
            state = inspect(instance)
            table = state.mapper.persist_selectable.description
            key = f"{verb}:{table}"
            counts[key] = counts.get(key, 0) + 1
            if verb == "inserted":
                # The identity key is assigned after this event; the key's values are set.
                note_inserted(session, state.mapper, instance)


def note_inserted(session: Session, mapper: Mapper[Any], instance: object) -> None:
    """The first object the request created: the object of a create's event."""
    if "first_inserted" in session.info:
        return
    key_values = mapper.primary_key_from_instance(instance)
    if len(key_values) == 1 and key_values[0] is not None:
        session.info["first_inserted"] = (mapper.persist_selectable.description, str(key_values[0]))


def describe(route: APIRoute, path_params: dict[str, Any]) -> tuple[str, str, str | None]:
    """(action, entity, entity id) of a route: its endpoint function's name, the resource
    its path names last, the value of its last path parameter."""
    segments = route.path.strip("/").split("/")
    entity = ""
    for segment in reversed(segments):
        bare = segment.split(":", 1)[0]
        if bare and not bare.startswith("{"):
            entity = bare
            break
    parameters = _PARAMETER.findall(route.path)
    entity_id = str(path_params[parameters[-1]]) if parameters else None
    action = route.name
    return action, entity, entity_id


async def record_request(session: AsyncSession, request: Request) -> None:
    """Record the request's write, if it was one; in the session's transaction."""
    caller = current_caller()
    route = request.scope.get("route")
    if not getattr(request.state, "audit_write", False) or caller is None:
        return
    if not isinstance(route, APIRoute):
        return
    action, entity, entity_id = describe(route, request.path_params)
    info = session.sync_session.info
    first = info.get("first_inserted")
    if entity_id is None and first is not None:
        entity_id = first[1]
    detail: dict[str, Any] = {"method": request.method, "path": request.url.path}
    if info.get(_FLUSHED):
        detail["orm"] = info[_FLUSHED]
    await session.execute(
        insert(AuditEvent).values(
            tenant_id=caller.tenant_id,
            api_key_id=caller.api_key_id,
            action=action[:100],
            entity=entity[:100],
            entity_id=entity_id[:_MAX_ID] if entity_id else None,
            request_id=current_request_id(),
            detail=detail,
        )
    )


def audit_parameters() -> tuple[Any, str | None]:
    """The current request's key id and request id, for a raw asyncpg write's audit row."""
    caller = current_caller()
    return (caller.api_key_id if caller else None), current_request_id()

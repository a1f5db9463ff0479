"""The lead lifecycle: status transitions (open → worked → converted / closed / reassigned),
listing with keyset pages, reassignment and the dry-run preview.

Capacity: ``rep.open_assignments`` counts the rep's open and worked assignments; the transition
that ends one (converted, closed, reassigned) takes it off in the same transaction.
Reassignment and preview route through the one engine, ``leads.service.assign_lead``: the
preview inside a transaction that is rolled back (so it is exactly what an assignment would do,
and writes nothing, turns included).
"""

import base64
import binascii
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import ValidationError

from services.assignment.assignments import repository
from services.assignment.assignments.errors import (
    AlignmentNotFound,
    AssignmentNotFound,
    InvalidCursor,
    LeadNotFound,
    RepInactive,
    RepNotFound,
    TransitionNotAllowed,
)
from services.assignment.assignments.schemas import (
    AssignmentDetailRead,
    AssignmentPage,
    AssignmentRecordRead,
    LeadPreviewRead,
    ReassignIn,
    TransitionRead,
)
from services.assignment.events import repository as events_repository
from services.assignment.leads import repository as leads_repository
from services.assignment.leads import service as leads_service
from services.assignment.leads.compiled_alignment import CompiledAlignmentCache
from services.assignment.leads.errors import IdempotencyKeyReused
from services.assignment.leads.explanation import referenced_ids, render
from services.assignment.leads.schemas import AssignmentRead, LeadIn, NamedRef
from shared.errors import Conflict
from shared.http_client import ServiceClient

# Which statuses each target may be reached from; the rest is a 409 naming the current status.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "worked": ("open",),
    "converted": ("open", "worked"),
    "closed": ("open", "worked"),
    "reassigned": ("open", "worked"),
}
# The statuses that end an assignment, and so give the rep's capacity back.
ENDED = frozenset({"converted", "closed", "reassigned"})


class _RolledBack(Exception):
    """Raised inside the preview's transaction to roll it back with the answer in hand."""


async def _names(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, rows: list[asyncpg.Record]
) -> dict[uuid.UUID, str]:
    """The names every explanation of ``rows`` mentions, in one query."""
    ids: set[uuid.UUID] = set()
    for row in rows:
        ids |= referenced_ids(row["explanation"])
    return await leads_repository.names_of(connection, tenant_id=tenant_id, ids=ids)


def to_record(
    row: asyncpg.Record, *, names: dict[uuid.UUID, str], replayed: bool = False
) -> AssignmentRecordRead:
    return AssignmentRecordRead(
        assignment_id=row["assignment_id"],
        lead_id=row["lead_id"],
        lead_external_id=row["lead_external_id"],
        alignment_id=row["alignment_id"],
        territory=NamedRef(id=row["territory_id"], name=row["territory_name"])
        if row["territory_id"]
        else None,
        rep=NamedRef(id=row["rep_id"], name=row["rep_name"]) if row["rep_id"] else None,
        matched_rule=row["matched_rule"],
        distribution_rule=row["distribution_rule"],
        explanation=render(row["explanation"], names=names),
        created_at=row["created_at"],
        replayed=replayed,
        status=row["status"],
        status_changed_at=row["status_changed_at"],
        status_changed_by_key_id=row["status_changed_by_key_id"],
        status_reason=row["status_reason"],
        replaces_assignment_id=row["replaces_assignment_id"],
        replaced_by_assignment_id=row["replaced_by_assignment_id"],
    )


async def get_assignment(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    assignment_id: uuid.UUID,
    replayed: bool = False,
) -> AssignmentDetailRead:
    row = await repository.get(connection, tenant_id=tenant_id, assignment_id=assignment_id)
    if row is None:
        raise AssignmentNotFound(assignment_id)
    history = await repository.history(connection, tenant_id=tenant_id, assignment_id=assignment_id)
    names = await _names(connection, tenant_id=tenant_id, rows=[row])
    return AssignmentDetailRead(
        **to_record(row, names=names, replayed=replayed).model_dump(),
        history=[TransitionRead(**dict(transition)) for transition in history],
    )


async def get_lead_assignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, lead_id: uuid.UUID
) -> AssignmentDetailRead:
    assignment_id = await repository.current_id_for_lead(
        connection, tenant_id=tenant_id, lead_id=lead_id
    )
    if assignment_id is None:
        raise LeadNotFound(lead_id)
    return await get_assignment(connection, tenant_id=tenant_id, assignment_id=assignment_id)


def encode_cursor(created_at: datetime, assignment_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(assignment_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, assignment_id = json.loads(raw)
        position = datetime.fromisoformat(created_at), uuid.UUID(assignment_id)
    except (binascii.Error, ValueError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise InvalidCursor() from error
    if position[0].tzinfo is None:
        raise InvalidCursor()
    return position


async def list_assignments(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    filters: dict[str, Any],
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> AssignmentPage:
    rows = await repository.list_page(
        connection,
        tenant_id=tenant_id,
        filters=filters,
        since=since,
        until=until,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    names = await _names(connection, tenant_id=tenant_id, rows=rows[:limit])
    items = [to_record(row, names=names) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return AssignmentPage(
        items=items,
        limit=limit,
        next_cursor=encode_cursor(last["created_at"], last["assignment_id"]) if last else None,
    )


def _require(current: asyncpg.Record, to_status: str) -> None:
    allowed = ALLOWED_FROM[to_status]
    if current["status"] not in allowed:
        raise TransitionNotAllowed(
            assignment_id=current["id"],
            current_status=current["status"],
            to_status=to_status,
            allowed=" or ".join(allowed),
        )


async def _end(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    current: asyncpg.Record,
    to_status: str,
    reason: str | None,
    replaced_by: uuid.UUID | None = None,
) -> None:
    """Move a locked assignment to ``to_status`` (409 when its status does not allow it)."""
    _require(current, to_status)
    await repository.record_transition(
        connection,
        tenant_id=tenant_id,
        assignment_id=current["id"],
        from_status=current["status"],
        to_status=to_status,
        reason=reason,
        frees_rep_id=current["rep_id"] if to_status in ENDED else None,
        replaced_by=replaced_by,
    )


async def transition(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    assignment_id: uuid.UUID,
    to_status: str,
    reason: str | None,
) -> AssignmentDetailRead:
    async with connection.transaction():
        current = await repository.lock(
            connection, tenant_id=tenant_id, assignment_id=assignment_id
        )
        if current is None:
            raise AssignmentNotFound(assignment_id)
        await _end(
            connection, tenant_id=tenant_id, current=current, to_status=to_status, reason=reason
        )
        await repository.record_audit(
            connection,
            tenant_id=tenant_id,
            action=f"{to_status}_assignment",
            entity="assignments",
            entity_id=assignment_id,
            detail={"from_status": current["status"], "to_status": to_status},
        )
    return await get_assignment(connection, tenant_id=tenant_id, assignment_id=assignment_id)


def _stored_lead(lead_id: uuid.UUID, row: asyncpg.Record) -> LeadIn:
    """The lead as it was sent (its stored, already normalised fields)."""
    fields = {key: row[key] for key in row.keys() if row[key] is not None}
    attributes = fields.get("attributes")
    if isinstance(attributes, str):
        fields["attributes"] = json.loads(attributes)
    try:
        return LeadIn.model_validate(fields)
    except ValidationError as error:
        # A row written by another path (a bulk upload's looser limits, an old version).
        raise Conflict(
            f"lead {lead_id} as stored cannot be routed again ({error.errors()[0]['msg']}); "
            "reassign it to a named rep (rep_id)",
            field="rep_id",
        ) from error


def _reassign_hash(lead_id: uuid.UUID, body: ReassignIn) -> str:
    canonical = json.dumps(
        {"lead_id": str(lead_id), **body.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def reassign_lead(
    connection: asyncpg.Connection,
    *,
    cache: CompiledAlignmentCache,
    proximity: ServiceClient | None,
    proximity_timeout_seconds: float,
    tenant_id: uuid.UUID,
    api_key: str,
    lead_id: uuid.UUID,
    body: ReassignIn,
    idempotency_key: str | None,
) -> AssignmentDetailRead:
    """End the lead's current assignment as ``reassigned`` and give it a new one, to the named
    rep or through the rules of the active alignment; one transaction."""
    async with connection.transaction():
        if idempotency_key is not None:
            first = await repository.claim_idempotency_key(
                connection,
                tenant_id=tenant_id,
                key=idempotency_key,
                path=f"/assignment/leads/{lead_id}:reassign",
                request_hash=_reassign_hash(lead_id, body),
            )
            if first is not None:
                if first["request_hash"] != _reassign_hash(lead_id, body):
                    raise IdempotencyKeyReused()
                replayed = first["assignment_id"]
                if replayed is not None:
                    return await get_assignment(
                        connection, tenant_id=tenant_id, assignment_id=replayed, replayed=True
                    )
        current_id = await repository.current_id_for_lead(
            connection, tenant_id=tenant_id, lead_id=lead_id
        )
        current = (
            await repository.lock(connection, tenant_id=tenant_id, assignment_id=current_id)
            if current_id
            else None
        )
        if current is None:
            raise LeadNotFound(lead_id)
        # Checked before routing, so a refused reassignment consumes no turn.
        _require(current, "reassigned")
        if body.rep_id is not None:
            rep = await repository.rep(connection, tenant_id=tenant_id, rep_id=body.rep_id)
            if rep is None:
                raise RepNotFound(body.rep_id)
            if not rep["active"]:
                raise RepInactive(body.rep_id)
            new_id = await repository.insert_manual(
                connection,
                tenant_id=tenant_id,
                previous=current,
                rep_id=body.rep_id,
                explanation=[
                    {
                        "step": "reassignment",
                        "outcome": "assigned",
                        "from_assignment_id": str(current["id"]),
                        "rep_id": str(body.rep_id),
                        "reason": body.reason,
                    }
                ],
            )
        else:
            stored = await repository.lead_for_rerouting(
                connection, tenant_id=tenant_id, lead_id=lead_id
            )
            assert stored is not None  # its assignment was just found
            routed = await leads_service.assign_lead_in_transaction(
                connection,
                cache=cache,
                proximity=proximity,
                proximity_timeout_seconds=proximity_timeout_seconds,
                tenant_id=tenant_id,
                api_key=api_key,
                lead=_stored_lead(lead_id, stored),
                idempotency_key=None,
                # Its lead is adopted below: the event is this reassignment's.
                publish_event=False,
            )
            new_id = routed.assignment_id
            # The engine wrote the lead anew: the new assignment is the existing lead's.
            await repository.adopt(
                connection,
                tenant_id=tenant_id,
                assignment_id=new_id,
                lead_id=lead_id,
                replaces=current["id"],
                step={
                    "step": "reassignment",
                    "outcome": "rerouted",
                    "from_assignment_id": str(current["id"]),
                    "reason": body.reason,
                },
            )
        # Ended after the new rep is chosen: rerouting moves the lead on rather than back to
        # the rep it leaves, and the rep row is locked after the territory's, as assignment does.
        await _end(
            connection,
            tenant_id=tenant_id,
            current=current,
            to_status="reassigned",
            reason=body.reason,
            replaced_by=new_id,
        )
        if idempotency_key is not None:
            await repository.store_idempotent_answer(
                connection, tenant_id=tenant_id, key=idempotency_key, assignment_id=new_id
            )
        await repository.record_audit(
            connection,
            tenant_id=tenant_id,
            action="reassign_lead",
            entity="leads",
            entity_id=lead_id,
            detail={"from_assignment_id": str(current["id"]), "assignment_id": str(new_id)},
        )
        result = await get_assignment(connection, tenant_id=tenant_id, assignment_id=new_id)
        await events_repository.record_on(
            connection,
            tenant_id=tenant_id,
            event_type="lead.reassigned",
            subject_id=lead_id,
            ordering_key=current["account_id"] or lead_id,
            payload={
                "lead_id": lead_id,
                "external_id": result.lead_external_id,
                "assignment_id": new_id,
                "from_assignment_id": current["id"],
                "account_id": current["account_id"],
                "alignment_id": result.alignment_id,
                "territory_id": result.territory.id if result.territory else None,
                "rep_id": result.rep.id if result.rep else None,
                "from_rep_id": current["rep_id"],
                "matched_rule": result.matched_rule,
                "how": "to_rep" if body.rep_id is not None else "rerouted",
                "reason": body.reason,
            },
        )
        return result


async def preview_lead(
    connection: asyncpg.Connection,
    *,
    cache: CompiledAlignmentCache,
    proximity: ServiceClient | None,
    proximity_timeout_seconds: float,
    tenant_id: uuid.UUID,
    api_key: str,
    lead: LeadIn,
    alignment_id: uuid.UUID | None,
) -> LeadPreviewRead:
    """Route the lead for real inside a transaction, then roll it back: the answer is exactly
    what ``POST /assignment/leads`` would do now, and nothing stays (lead, turn, capacity)."""
    if alignment_id is not None and not await repository.alignment_exists(
        connection, tenant_id=tenant_id, alignment_id=alignment_id
    ):
        raise AlignmentNotFound(alignment_id)
    answer: AssignmentRead | None = None
    try:
        async with connection.transaction():
            answer = await leads_service.assign_lead_in_transaction(
                connection,
                cache=cache,
                proximity=proximity,
                proximity_timeout_seconds=proximity_timeout_seconds,
                tenant_id=tenant_id,
                api_key=api_key,
                lead=lead,
                idempotency_key=None,
                alignment_id=alignment_id,
            )
            raise _RolledBack()
    except _RolledBack:
        pass
    assert answer is not None
    assert answer.alignment_id is not None
    return LeadPreviewRead(
        alignment_id=answer.alignment_id,
        territory=answer.territory,
        rep=answer.rep,
        matched_rule=answer.matched_rule,
        distribution_rule=answer.distribution_rule,
        explanation=answer.explanation,
    )

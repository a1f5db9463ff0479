"""Lead assignment: the precedence of the design page, every step recorded in the explanation.

1. named account (external account id, then email/company domain) → its owner;
2. attribute rules by priority (ties: lower priority number, deeper level, name);
3. geography: the lead's point, or its postal code's centroid, in the deepest territory
   (ties: smaller area, then id);
4. the alignment's fallback territory.
The territory's distribution rule then picks the rep inside ``assign_lead_commit``.
"""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.assignment import proximity_client
from services.assignment.accounts.domains import normalise_domain
from services.assignment.leads import repository
from services.assignment.leads.compiled_alignment import (
    CompiledAlignment,
    CompiledAlignmentCache,
    compile_active_alignment,
    compile_alignment,
)
from services.assignment.leads.errors import IdempotencyKeyReused, NoActiveAlignment
from services.assignment.leads.explanation import (
    ALSO_MATCHED_TIE_BREAK,
    CONTAINING_TIE_BREAK,
    POSTAL_DISAGREEMENT_KM,
    referenced_ids,
    render,
)
from services.assignment.leads.schemas import AssignmentRead, LeadIn, NamedRef
from services.assignment.postal_codes.normalise import InvalidPostalCode, normalise_postal_code
from shared.errors import InvalidInput, NotFound, UpstreamUnavailable
from shared.http_client import ServiceClient

# Freemail domains say nothing about the lead's company: never match an account on them.
FREEMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
     "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com"}
)  # fmt: skip


@dataclass(frozen=True)
class Decision:
    matched_rule: str
    territory_id: uuid.UUID | None
    fixed_rep_id: uuid.UUID | None
    account_id: uuid.UUID | None
    steps: list[dict[str, Any]]


def request_hash(lead: LeadIn) -> str:
    canonical = json.dumps(lead.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def lead_domain(lead: LeadIn) -> str | None:
    domain = lead.domain or (normalise_domain(str(lead.email)) if lead.email else None)
    return None if domain in FREEMAIL_DOMAINS else domain


def _name(compiled: CompiledAlignment, territory_id: uuid.UUID) -> str:
    info = compiled.territories.get(territory_id)
    return info.name if info else str(territory_id)


def _far_from_postal_code(*, match: asyncpg.Record, lead: LeadIn) -> list[dict[str, Any]]:
    """A warning when the lead's point and its postal code's centroid disagree."""
    distance = match["postal_distance_km"]
    if distance is None or distance <= POSTAL_DISAGREEMENT_KM:
        return []
    return [
        {
            "step": "warning",
            "outcome": "point_far_from_postal_code",
            "postal_code": f"{lead.country} {lead.postal_code}",
            "distance_km": round(distance, 1),
            "threshold_km": POSTAL_DISAGREEMENT_KM,
        }
    ]


async def _decide(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    compiled: CompiledAlignment,
    match: asyncpg.Record,
    lead: LeadIn,
) -> Decision:
    """The precedence; each step recorded as data (``explanation.py`` is its schema and text)."""
    # Warnings first (what a person should check), then the precedence.
    steps = _far_from_postal_code(match=match, lead=lead)
    warning_count = len(steps)
    account_id = match["account_id"]

    # 1. Named account.
    if account_id is None:
        steps.append({"step": "named_account", "outcome": "no_match"})
    else:
        how = "external_id" if match["by_external_id"] else "domain"
        if match["owner_rep_id"] is not None and match["owner_active"]:
            geo_ids = list(match["geo_territory_ids"] or [])
            territory_id = await repository.owner_territory(
                connection,
                tenant_id=tenant_id,
                alignment_id=compiled.alignment_id,
                rep_id=match["owner_rep_id"],
                geo_territory_ids=geo_ids,
            )
            steps.append(
                {
                    "step": "named_account",
                    "outcome": "matched",
                    "account_id": str(account_id),
                    "by": how,
                    "rep_id": str(match["owner_rep_id"]),
                }
            )
            return Decision("named_account", territory_id, match["owner_rep_id"], account_id, steps)
        steps.append(
            {
                "step": "named_account",
                "outcome": "skipped",
                "account_id": str(account_id),
                "by": how,
                "reason": "no_owner" if match["owner_rep_id"] is None else "inactive_owner",
            }
        )

    # 2. Attribute rules.
    matched_rules = [compiled.rule_territory_ids[index] for index in match["matched_rules"]]
    if matched_rules:
        winner = matched_rules[0]
        step: dict[str, Any] = {
            "step": "attribute_rule",
            "outcome": "matched",
            "territory_id": str(winner),
        }
        if len(matched_rules) > 1:
            step["also_matched"] = [str(other) for other in matched_rules[1:]]
            step["tie_break"] = ALSO_MATCHED_TIE_BREAK
        steps.append(step)
        return Decision("attribute_rule", winner, None, account_id, steps)
    steps.append(
        {"step": "attribute_rule", "outcome": "no_match", "rules": len(compiled.rule_territory_ids)}
    )

    # 3. Geography.
    if match["longitude"] is None:
        step = {"step": "geography", "outcome": "no_location"}
        if lead.postal_code:
            step["unknown_postal_code"] = f"{lead.country} {lead.postal_code}"
        steps.append(step)
    else:
        placed_by = (
            "account"
            if match["from_account"]
            else "postal_code"
            if match["from_postal_code"]
            else "coordinates"
        )
        containing = list(match["geo_territory_ids"] or [])
        point = [match["longitude"], match["latitude"]]
        if containing:
            winner = containing[0]
            step = {
                "step": "geography",
                "outcome": "matched",
                "territory_id": str(winner),
                "point": point,
                "placed_by": placed_by,
            }
            if len(containing) > 1:
                step["also_containing"] = [str(other) for other in containing[1:]]
                step["tie_break"] = CONTAINING_TIE_BREAK
            steps.append(step)
            return Decision("geography", winner, None, account_id, steps)
        steps.append(
            {"step": "geography", "outcome": "no_match", "point": point, "placed_by": placed_by}
        )
        if placed_by == "coordinates" and match["swapped_territory_id"] is not None:
            # Its own point lies in no territory, but would with latitude and longitude swapped.
            steps.insert(
                warning_count,
                {
                    "step": "warning",
                    "outcome": "swapped_coordinates",
                    "swapped_territory_id": str(match["swapped_territory_id"]),
                },
            )

    # 4. Fallback.
    steps.append(
        {
            "step": "fallback",
            "outcome": "matched",
            "territory_id": str(compiled.fallback_id) if compiled.fallback_id else None,
        }
    )
    return Decision("fallback", compiled.fallback_id, None, account_id, steps)


def _consults_proximity(compiled: CompiledAlignment, decision: Decision) -> bool:
    info = compiled.territories.get(decision.territory_id) if decision.territory_id else None
    return info is not None and info.distribution_rule == "proximity" and not decision.fixed_rep_id


async def _ranked_reps(
    *,
    client: ServiceClient | None,
    timeout_seconds: float,
    api_key: str,
    compiled: CompiledAlignment,
    decision: Decision,
) -> tuple[list[uuid.UUID] | None, dict[str, Any] | None]:
    """The proximity order for a proximity territory; on failure None and a step saying so.
    Called with no database connection held: the service may take its whole timeout."""
    if not _consults_proximity(compiled, decision):
        return None, None
    info = compiled.territories[decision.territory_id]  # type: ignore[index]
    if decision.account_id is None:
        return None, {"step": "proximity", "outcome": "fallback", "reason": "no_account"}
    if client is None or not info.owner_rep_ids:
        return None, None
    try:
        ranked = await proximity_client.rank_reps(
            client,
            api_key=api_key,
            account_id=decision.account_id,
            rep_ids=list(info.owner_rep_ids),
            timeout_seconds=timeout_seconds,
        )
    except UpstreamUnavailable as error:
        return None, {
            "step": "proximity",
            "outcome": "fallback",
            "reason": "unavailable",
            "error": error.detail,
        }
    return [rep.rep_id for rep in ranked], {
        "step": "proximity",
        "outcome": "ranked",
        "ranked": len(ranked),
        "ranking": [{"rep_id": str(rep.rep_id), "score": rep.score} for rep in ranked[:5]],
    }


def _lead_columns(lead: LeadIn, *, domain: str | None, postal_code: str | None) -> dict[str, Any]:
    point = lead.point()
    columns: dict[str, Any] = {
        "external_id": lead.external_id,
        "email": str(lead.email) if lead.email else None,
        "domain": domain,
        "postal_code": postal_code,
        "country": lead.country,
        "industry": lead.industry,
        "employee_count": lead.employee_count,
        "annual_revenue": lead.annual_revenue,
        "attributes": lead.attributes,
    }
    if point is not None:
        columns["longitude"], columns["latitude"] = point
    return {key: value for key, value in columns.items() if value is not None}


def to_read(row: asyncpg.Record, *, names: dict[uuid.UUID, str], replayed: bool) -> AssignmentRead:
    """An assignment row (``repository.get_assignment``'s columns) with its explanation's text."""
    return AssignmentRead(
        assignment_id=row["assignment_id"],
        lead_id=row["lead_id"],
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
    )


async def read_assignment(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    assignment_id: uuid.UUID,
    replayed: bool = False,
) -> AssignmentRead | None:
    """One assignment, single or bulk, explained in the same words."""
    row = await repository.get_assignment(
        connection, tenant_id=tenant_id, assignment_id=assignment_id
    )
    if row is None:
        return None
    names = await repository.names_of(
        connection, tenant_id=tenant_id, ids=referenced_ids(row["explanation"])
    )
    return to_read(row, names=names, replayed=replayed)


async def _replay(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> AssignmentRead:
    read = await read_assignment(
        connection, tenant_id=tenant_id, assignment_id=assignment_id, replayed=True
    )
    if read is None:
        raise NotFound(f"the assignment {assignment_id} of this Idempotency-Key no longer exists")
    return read


@dataclass(frozen=True)
class _Prepared:
    """What the read half decided; the write half commits it."""

    compiled: CompiledAlignment
    match: asyncpg.Record
    decision: Decision
    body_hash: str
    domain: str | None
    postal_code: str | None


# Where the engine takes its connection from, once per half: the pool (released between the
# halves) or the one connection a caller holds in its own transaction.
Acquire = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def assign_lead(
    pool: asyncpg.Pool,
    *,
    cache: CompiledAlignmentCache,
    proximity: ServiceClient | None,
    proximity_timeout_seconds: float,
    tenant_id: uuid.UUID,
    api_key: str,
    lead: LeadIn,
    idempotency_key: str | None,
    alignment_id: uuid.UUID | None = None,
) -> AssignmentRead:
    """Match (one round trip), rank by proximity if the territory asks (no connection held
    while waiting for it), commit (one round trip). ``alignment_id``: route against that
    alignment instead of the tenant's active one."""
    return await _assign(
        pool.acquire,
        cache=cache,
        proximity=proximity,
        proximity_timeout_seconds=proximity_timeout_seconds,
        tenant_id=tenant_id,
        api_key=api_key,
        lead=lead,
        idempotency_key=idempotency_key,
        alignment_id=alignment_id,
    )


async def assign_lead_in_transaction(
    connection: asyncpg.Connection,
    *,
    cache: CompiledAlignmentCache,
    proximity: ServiceClient | None,
    proximity_timeout_seconds: float,
    tenant_id: uuid.UUID,
    api_key: str,
    lead: LeadIn,
    idempotency_key: str | None,
    alignment_id: uuid.UUID | None = None,
    publish_event: bool = True,
) -> AssignmentRead:
    """The same assignment on one connection the caller holds in its own transaction
    (reassignment, the rolled-back preview), so that its writes and theirs commit or roll back
    together; it waits for the proximity service holding that connection. ``publish_event``
    False: no ``lead.assigned`` event (the caller publishes its own)."""

    @asynccontextmanager
    async def held() -> AsyncIterator[asyncpg.Connection]:
        yield connection

    return await _assign(
        held,
        cache=cache,
        proximity=proximity,
        proximity_timeout_seconds=proximity_timeout_seconds,
        tenant_id=tenant_id,
        api_key=api_key,
        lead=lead,
        idempotency_key=idempotency_key,
        alignment_id=alignment_id,
        publish_event=publish_event,
    )


async def _assign(
    acquire: Acquire,
    *,
    cache: CompiledAlignmentCache,
    proximity: ServiceClient | None,
    proximity_timeout_seconds: float,
    tenant_id: uuid.UUID,
    api_key: str,
    lead: LeadIn,
    idempotency_key: str | None,
    alignment_id: uuid.UUID | None,
    publish_event: bool = True,
) -> AssignmentRead:
    async with acquire() as connection:
        prepared = await _prepare(
            connection,
            cache=cache,
            tenant_id=tenant_id,
            lead=lead,
            idempotency_key=idempotency_key,
            alignment_id=alignment_id,
        )
        if isinstance(prepared, AssignmentRead):
            return prepared
        if not _consults_proximity(prepared.compiled, prepared.decision):
            return await _commit(
                connection,
                tenant_id=tenant_id,
                lead=lead,
                idempotency_key=idempotency_key,
                prepared=prepared,
                ranked=None,
                proximity_step=None,
                publish_event=publish_event,
            )
    ranked, proximity_step = await _ranked_reps(
        client=proximity,
        timeout_seconds=proximity_timeout_seconds,
        api_key=api_key,
        compiled=prepared.compiled,
        decision=prepared.decision,
    )
    async with acquire() as connection:
        return await _commit(
            connection,
            tenant_id=tenant_id,
            lead=lead,
            idempotency_key=idempotency_key,
            prepared=prepared,
            ranked=ranked,
            proximity_step=proximity_step,
            publish_event=publish_event,
        )


async def _prepare(
    connection: asyncpg.Connection,
    *,
    cache: CompiledAlignmentCache,
    tenant_id: uuid.UUID,
    lead: LeadIn,
    idempotency_key: str | None,
    alignment_id: uuid.UUID | None,
) -> _Prepared | AssignmentRead:
    """The decision, or the answer of an earlier request with this Idempotency-Key."""
    body_hash = request_hash(lead)
    domain = lead_domain(lead)
    try:
        postal_code = (
            normalise_postal_code(lead.country, lead.postal_code)
            if lead.postal_code and lead.country
            else None
        )
    except InvalidPostalCode as error:
        raise InvalidInput(str(error), field="postal_code") from error
    compiled = (
        cache.get(tenant_id)
        if alignment_id is None
        else await compile_alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)
    )
    for _attempt in range(3):
        if compiled is None:
            compiled = await compile_active_alignment(connection, tenant_id=tenant_id)
            if compiled is None:
                raise NoActiveAlignment()
            cache.put(tenant_id, compiled)
        match = await repository.match_lead(
            connection,
            compiled=compiled,
            tenant_id=tenant_id,
            lead=lead,
            domain=domain,
            postal_code=postal_code,
            idempotency_key=idempotency_key,
        )
        if alignment_id is not None or match["active_alignment_id"] == compiled.alignment_id:
            break
        compiled = None  # a publish happened since we compiled: compile the new one
    else:
        raise NoActiveAlignment()

    if match["idempotency_hash"] is not None:
        if match["idempotency_hash"] != body_hash:
            raise IdempotencyKeyReused()
        if match["idempotency_assignment_id"] is not None:
            return await _replay(
                connection,
                tenant_id=tenant_id,
                assignment_id=match["idempotency_assignment_id"],
            )

    decision = await _decide(
        connection, tenant_id=tenant_id, compiled=compiled, match=match, lead=lead
    )
    return _Prepared(compiled, match, decision, body_hash, domain, postal_code)


async def _commit(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    lead: LeadIn,
    idempotency_key: str | None,
    prepared: _Prepared,
    ranked: list[uuid.UUID] | None,
    proximity_step: dict[str, Any] | None,
    publish_event: bool,
) -> AssignmentRead:
    compiled, decision, match = prepared.compiled, prepared.decision, prepared.match
    steps = decision.steps + ([proximity_step] if proximity_step else [])
    row = await repository.commit_assignment(
        connection,
        tenant_id=tenant_id,
        alignment_id=compiled.alignment_id,
        territory_id=decision.territory_id,
        fallback_id=compiled.fallback_id,
        fixed_rep_id=decision.fixed_rep_id,
        ranked_rep_ids=ranked,
        idempotency_key=idempotency_key,
        request_hash=prepared.body_hash,
        lead=_lead_columns(lead, domain=prepared.domain, postal_code=prepared.postal_code),
        account_id=decision.account_id,
        matched_rule=decision.matched_rule,
        explanation=steps,
        publish_event=publish_event,
    )
    if row["replayed"]:
        if row["stored_request_hash"] != prepared.body_hash:
            raise IdempotencyKeyReused()
        # A concurrent request with the same key committed first: answer with its assignment.
        return await _replay(connection, tenant_id=tenant_id, assignment_id=row["assignment_id"])
    # Every name the text needs is at hand: no round trip to look them up.
    names = {territory_id: info.name for territory_id, info in compiled.territories.items()}
    if match["account_id"] is not None:
        names[match["account_id"]] = match["account_name"]
    if match["owner_rep_id"] is not None:
        names[match["owner_rep_id"]] = match["owner_name"]
    if row["rep_id"] is not None:
        names[row["rep_id"]] = row["rep_name"]
    return AssignmentRead(
        assignment_id=row["assignment_id"],
        lead_id=row["lead_id"],
        alignment_id=compiled.alignment_id,
        territory=NamedRef(id=row["territory_id"], name=_name(compiled, row["territory_id"]))
        if row["territory_id"]
        else None,
        rep=NamedRef(id=row["rep_id"], name=row["rep_name"]) if row["rep_id"] else None,
        # The function's: "fallback" when no rep of the matched territory could take the lead.
        matched_rule=row["matched_rule"],
        distribution_rule=row["distribution_rule"],
        explanation=render(row["explanation"], names=names),
        created_at=row["created_at"],
    )

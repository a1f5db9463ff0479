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


async def _decide(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    compiled: CompiledAlignment,
    match: asyncpg.Record,
    lead: LeadIn,
) -> Decision:
    steps: list[dict[str, Any]] = []
    account_id = match["account_id"]

    # 1. Named account.
    if account_id is None:
        steps.append(
            {
                "step": "named_account",
                "outcome": "no_match",
                "detail": "No account has this external account id or domain.",
            }
        )
    else:
        how = "external account id" if match["by_external_id"] else "domain"
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
                    "rep_id": str(match["owner_rep_id"]),
                    "detail": f"Matched account {match['account_name']!r} by {how}; "
                    f"it is owned by {match['owner_name']}.",
                }
            )
            return Decision("named_account", territory_id, match["owner_rep_id"], account_id, steps)
        reason = "has no owner" if match["owner_rep_id"] is None else "has an inactive owner"
        steps.append(
            {
                "step": "named_account",
                "outcome": "skipped",
                "account_id": str(account_id),
                "detail": f"Matched account {match['account_name']!r} by {how}, but it {reason}.",
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
            "detail": f"The rules of territory {_name(compiled, winner)!r} match the lead.",
        }
        if len(matched_rules) > 1:
            step["also_matched"] = [str(other) for other in matched_rules[1:]]
            step["tie_break"] = "lowest priority number, then deeper level, then name"
        steps.append(step)
        return Decision("attribute_rule", winner, None, account_id, steps)
    steps.append(
        {
            "step": "attribute_rule",
            "outcome": "no_match",
            "detail": f"None of the {len(compiled.rule_territory_ids)} territory rules match.",
        }
    )

    # 3. Geography.
    if match["longitude"] is None:
        where = "The lead has no coordinates"
        if lead.postal_code:
            where += f" and postal code {lead.country} {lead.postal_code} is unknown"
        steps.append({"step": "geography", "outcome": "no_location", "detail": where + "."})
    else:
        source = (
            "its account's location"
            if match["from_account"]
            else "its postal code's centroid"
            if match["from_postal_code"]
            else "its coordinates"
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
                "detail": f"The lead, placed by {source}, lies in {_name(compiled, winner)!r}.",
            }
            if len(containing) > 1:
                step["also_containing"] = [str(other) for other in containing[1:]]
                step["tie_break"] = "deepest level, then smallest area, then id"
            steps.append(step)
            return Decision("geography", winner, None, account_id, steps)
        steps.append(
            {
                "step": "geography",
                "outcome": "no_match",
                "point": point,
                "detail": f"No territory contains the lead, placed by {source}.",
            }
        )

    # 4. Fallback.
    steps.append(
        {
            "step": "fallback",
            "outcome": "matched",
            "territory_id": str(compiled.fallback_id) if compiled.fallback_id else None,
            "detail": "Nothing more specific matched: the alignment's fallback territory.",
        }
    )
    return Decision("fallback", compiled.fallback_id, None, account_id, steps)


async def _ranked_reps(
    *,
    client: ServiceClient | None,
    timeout_seconds: float,
    api_key: str,
    compiled: CompiledAlignment,
    decision: Decision,
) -> tuple[list[uuid.UUID] | None, dict[str, Any] | None]:
    """The proximity order for a proximity territory; on failure None and a step saying so."""
    info = compiled.territories.get(decision.territory_id) if decision.territory_id else None
    if info is None or info.distribution_rule != "proximity" or decision.fixed_rep_id:
        return None, None
    if decision.account_id is None:
        return None, {
            "step": "proximity",
            "outcome": "fallback",
            "detail": "No account matched, so there is nothing to rank proximity against; "
            "round robin instead.",
        }
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
            "detail": f"The proximity service did not answer in time ({error.detail}); "
            "round robin instead.",
        }
    return [rep.rep_id for rep in ranked], {
        "step": "proximity",
        "outcome": "ranked",
        "ranking": [{"rep_id": str(rep.rep_id), "score": rep.score} for rep in ranked[:5]],
        "detail": f"The proximity service ranked {len(ranked)} rep(s) with a warm path.",
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


def to_read(row: asyncpg.Record, *, territory_name: str | None, replayed: bool) -> AssignmentRead:
    return AssignmentRead(
        assignment_id=row["assignment_id"],
        lead_id=row["lead_id"],
        alignment_id=row["alignment_id"],
        territory=NamedRef(id=row["territory_id"], name=territory_name)
        if row["territory_id"]
        else None,
        rep=NamedRef(id=row["rep_id"], name=row["rep_name"]) if row["rep_id"] else None,
        matched_rule=row["matched_rule"],
        distribution_rule=row["distribution_rule"],
        explanation=row["explanation"],
        created_at=row["created_at"],
        replayed=replayed,
    )


async def _replay(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> AssignmentRead:
    row = await repository.get_assignment(
        connection, tenant_id=tenant_id, assignment_id=assignment_id
    )
    if row is None:
        raise NotFound(f"the assignment {assignment_id} of this Idempotency-Key no longer exists")
    return to_read(row, territory_name=row["territory_name"], replayed=True)


async def assign_lead(
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
) -> AssignmentRead:
    """``alignment_id``: route against that alignment (a draft, for a rolled-back preview)
    instead of the tenant's active one."""
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
    ranked, proximity_step = await _ranked_reps(
        client=proximity,
        timeout_seconds=proximity_timeout_seconds,
        api_key=api_key,
        compiled=compiled,
        decision=decision,
    )
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
        request_hash=body_hash,
        lead=_lead_columns(lead, domain=domain, postal_code=postal_code),
        account_id=decision.account_id,
        matched_rule=decision.matched_rule,
        explanation=steps,
    )
    if row["replayed"]:
        if row["stored_request_hash"] != body_hash:
            raise IdempotencyKeyReused()
        # A concurrent request with the same key committed first: answer with its assignment.
        return await _replay(connection, tenant_id=tenant_id, assignment_id=row["assignment_id"])
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
        explanation=row["explanation"],
        created_at=row["created_at"],
    )

"""SQL of the lead hot path, on a raw asyncpg connection (one round trip to read, one to write)."""

import uuid
from typing import Any

import asyncpg

from services.assignment.events.repository import single_lead_event_cte
from services.assignment.leads.compiled_alignment import CompiledAlignment
from services.assignment.leads.schemas import LeadIn
from shared.audit import audit_parameters


async def match_lead(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    lead: LeadIn,
    domain: str | None,
    postal_code: str | None,
    idempotency_key: str | None,
) -> asyncpg.Record:
    point = lead.point()
    row = await connection.fetchrow(
        compiled.match_sql,
        tenant_id,
        compiled.alignment_id,
        lead.account_external_id,
        domain,
        point[0] if point else None,
        point[1] if point else None,
        postal_code,
        lead.country,
        lead.industry,
        lead.employee_count,
        lead.annual_revenue,
        str(lead.email) if lead.email else None,
        lead.attributes,
        idempotency_key,
        *compiled.match_arguments,
    )
    assert row is not None  # the query always yields exactly one row
    return row


async def owner_territory(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    rep_id: uuid.UUID,
    geo_territory_ids: list[uuid.UUID],
) -> uuid.UUID | None:
    """The named account owner's territory: one containing the lead if any, else the deepest."""
    territory_id: uuid.UUID | None = await connection.fetchval(
        """
        SELECT t.id FROM territory t JOIN territory_member m ON m.territory_id = t.id
         WHERE t.tenant_id = $1 AND t.alignment_id = $2 AND m.rep_id = $3 AND m.role = 'owner'
         ORDER BY t.id = ANY ($4::uuid[]) DESC, t.level DESC, t.name, t.id
         LIMIT 1
        """,
        tenant_id,
        alignment_id,
        rep_id,
        geo_territory_ids,
    )
    return territory_id


# The write, its audit event and its ``lead.assigned`` outbox event in one statement (one
# round trip, one transaction); a replayed idempotent request wrote nothing, so records
# nothing. $15: whether to publish the event (a reassignment publishes its own instead).
_COMMIT_SQL = f"""
WITH r AS (
    SELECT * FROM assign_lead_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
), audit AS (
    INSERT INTO audit_event (tenant_id, api_key_id, action, entity, entity_id, request_id, detail)
    SELECT $1, $13::uuid, 'assign_lead', 'leads', r.lead_id::text, $14::text,
           jsonb_build_object('assignment_id', r.assignment_id, 'rep_id', r.rep_id)
      FROM r WHERE NOT r.replayed AND r.lead_id IS NOT NULL
), event AS ({
    single_lead_event_cte(
        result="r",
        tenant="$1",
        alignment="$2::uuid",
        account="$10::uuid",
        lead="$9::jsonb",
        emit="$15::boolean",
    )
})
SELECT * FROM r
"""


async def commit_assignment(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    territory_id: uuid.UUID | None,
    fallback_id: uuid.UUID | None,
    fixed_rep_id: uuid.UUID | None,
    ranked_rep_ids: list[uuid.UUID] | None,
    idempotency_key: str | None,
    request_hash: str,
    lead: dict[str, Any],
    account_id: uuid.UUID | None,
    matched_rule: str,
    explanation: list[dict[str, Any]],
    publish_event: bool = True,
) -> asyncpg.Record:
    api_key_id, request_id = audit_parameters()
    row = await connection.fetchrow(
        _COMMIT_SQL,
        tenant_id,
        alignment_id,
        territory_id,
        fallback_id,
        fixed_rep_id,
        ranked_rep_ids,
        idempotency_key,
        request_hash,
        lead,
        account_id,
        matched_rule,
        explanation,
        api_key_id,
        request_id,
        publish_event,
    )
    assert row is not None
    return row


async def get_assignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        """
        SELECT a.id AS assignment_id, a.lead_id, a.alignment_id, a.territory_id,
               t.name AS territory_name, a.rep_id, r.name AS rep_name, a.matched_rule,
               a.distribution_rule, a.explanation, a.created_at
          FROM assignment a
          LEFT JOIN territory t ON t.id = a.territory_id
          LEFT JOIN rep r ON r.id = a.rep_id
         WHERE a.tenant_id = $1 AND a.id = $2
        """,
        tenant_id,
        assignment_id,
    )


async def names_of(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The names of the territories, reps and accounts an explanation mentions."""
    if not ids:
        return {}
    rows = await connection.fetch(
        """
        SELECT id, name FROM territory WHERE tenant_id = $1 AND id = ANY ($2::uuid[])
        UNION ALL
        SELECT id, name FROM rep WHERE tenant_id = $1 AND id = ANY ($2::uuid[])
        UNION ALL
        SELECT id, name FROM account WHERE tenant_id = $1 AND id = ANY ($2::uuid[])
        """,
        tenant_id,
        list(ids),
    )
    return {row["id"]: row["name"] for row in rows}

"""SQL of the lead lifecycle, on the lead pool's asyncpg connections (filtered by tenant and
row-level security); writes run inside the caller's transaction."""

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.audit import audit_parameters

_SELECT = """
SELECT a.id AS assignment_id, a.lead_id, l.external_id AS lead_external_id, a.alignment_id,
       a.territory_id, t.name AS territory_name, a.rep_id, r.name AS rep_name, a.matched_rule,
       a.distribution_rule, a.explanation, a.created_at, a.status, a.status_changed_at,
       a.status_changed_by_key_id, a.status_reason, a.replaces_assignment_id,
       a.replaced_by_assignment_id
  FROM assignment a
  JOIN lead l ON l.id = a.lead_id
  LEFT JOIN territory t ON t.id = a.territory_id
  LEFT JOIN rep r ON r.id = a.rep_id
"""


async def get(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        _SELECT + " WHERE a.tenant_id = $1 AND a.id = $2", tenant_id, assignment_id
    )


async def lock(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> asyncpg.Record | None:
    """The assignment's row, locked until the transaction ends: transitions are serialised."""
    return await connection.fetchrow(
        "SELECT id, lead_id, rep_id, territory_id, alignment_id, account_id, status"
        "  FROM assignment WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        assignment_id,
    )


async def current_for_lead(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, lead_id: uuid.UUID
) -> asyncpg.Record | None:
    """The lead's assignment that no reassignment replaced (the newest, should two be)."""
    return await connection.fetchrow(
        _SELECT + " WHERE a.tenant_id = $1 AND a.lead_id = $2"
        " AND a.replaced_by_assignment_id IS NULL ORDER BY a.created_at DESC, a.id DESC LIMIT 1",
        tenant_id,
        lead_id,
    )


async def current_id_for_lead(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, lead_id: uuid.UUID
) -> uuid.UUID | None:
    assignment_id: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM assignment WHERE tenant_id = $1 AND lead_id = $2"
        " AND replaced_by_assignment_id IS NULL ORDER BY created_at DESC, id DESC LIMIT 1",
        tenant_id,
        lead_id,
    )
    return assignment_id


async def history(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, assignment_id: uuid.UUID
) -> list[asyncpg.Record]:
    return list(
        await connection.fetch(
            "SELECT from_status, to_status, api_key_id, reason, created_at"
            "  FROM assignment_transition WHERE tenant_id = $1 AND assignment_id = $2 ORDER BY id",
            tenant_id,
            assignment_id,
        )
    )


async def list_page(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    filters: dict[str, Any],
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Newest first; keyset on (created_at, id), so a page costs the same however deep it is.
    ``filters``: column of ``_FILTERS`` → value (None: no filter)."""
    arguments: list[Any] = [tenant_id]
    conditions = ["a.tenant_id = $1"]

    def bind(value: Any) -> str:
        arguments.append(value)
        return f"${len(arguments)}"

    for name, value in filters.items():
        if value is not None:
            conditions.append(f"{_FILTERS[name]} = {bind(value)}")
    if filters.get("lead_external_id") is not None:
        conditions.append("l.tenant_id = $1")
    if since is not None:
        conditions.append(f"a.created_at >= {bind(since)}")
    if until is not None:
        conditions.append(f"a.created_at < {bind(until)}")
    if after is not None:
        conditions.append(f"(a.created_at, a.id) < ({bind(after[0])}, {bind(after[1])})")
    sql = (
        _SELECT
        + " WHERE "
        + " AND ".join(conditions)
        # A literal limit (a validated int): the pool's generic plans would guess a bound one.
        + f" ORDER BY a.created_at DESC, a.id DESC LIMIT {int(limit)}"
    )
    return list(await connection.fetch(sql, *arguments))


# Query parameter → the column it compares (fixed text: values are always bound).
_FILTERS = {
    "lead_id": "a.lead_id",
    "lead_external_id": "l.external_id",
    "territory_id": "a.territory_id",
    "rep_id": "a.rep_id",
    "rule": "a.matched_rule",
    "status": "a.status",
}


async def record_transition(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    assignment_id: uuid.UUID,
    from_status: str,
    to_status: str,
    reason: str | None,
    frees_rep_id: uuid.UUID | None,
    replaced_by: uuid.UUID | None = None,
) -> None:
    """The new status on the row, the history row, and (when the assignment ends) one open
    assignment fewer on its rep: one statement, in the caller's transaction."""
    api_key_id, request_id = audit_parameters()
    await connection.execute(
        """
        WITH changed AS (
            UPDATE assignment
               SET status = $3, status_changed_at = now(), status_changed_by_key_id = $5,
                   status_reason = $6,
                   replaced_by_assignment_id = coalesce($9, replaced_by_assignment_id)
             WHERE tenant_id = $1 AND id = $2
            RETURNING id
        ), freed AS (
            UPDATE rep SET open_assignments = greatest(open_assignments - 1, 0)
             WHERE tenant_id = $1 AND id = $8
        )
        INSERT INTO assignment_transition
            (tenant_id, assignment_id, from_status, to_status, api_key_id, reason, request_id)
        SELECT $1, id, $4, $3, $5, $6, $7 FROM changed
        """,
        tenant_id,
        assignment_id,
        to_status,
        from_status,
        api_key_id,
        reason,
        request_id,
        frees_rep_id,
        replaced_by,
    )


async def record_audit(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    action: str,
    entity: str,
    entity_id: uuid.UUID,
    detail: dict[str, Any],
) -> None:
    """The request's audit event (these writes do not run on the request session)."""
    api_key_id, request_id = audit_parameters()
    await connection.execute(
        "INSERT INTO audit_event (tenant_id, api_key_id, action, entity, entity_id, request_id,"
        " detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        api_key_id,
        action,
        entity,
        str(entity_id),
        request_id,
        detail,
    )


async def rep(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, rep_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT id, name, active FROM rep WHERE tenant_id = $1 AND id = $2", tenant_id, rep_id
    )


async def alignment_exists(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> bool:
    return bool(
        await connection.fetchval(
            "SELECT EXISTS (SELECT FROM alignment WHERE tenant_id = $1 AND id = $2)",
            tenant_id,
            alignment_id,
        )
    )


async def insert_manual(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    previous: asyncpg.Record,
    rep_id: uuid.UUID,
    explanation: list[dict[str, Any]],
) -> uuid.UUID:
    """A reassignment to a named rep: the lead stays in its territory; the rep holds one more
    open assignment (a person's decision, so their capacity is not checked)."""
    assignment_id: uuid.UUID = await connection.fetchval(
        """
        WITH taken AS (
            UPDATE rep SET open_assignments = open_assignments + 1
             WHERE tenant_id = $1 AND id = $5
        )
        INSERT INTO assignment (tenant_id, lead_id, account_id, alignment_id, territory_id,
                                rep_id, matched_rule, explanation, replaces_assignment_id)
        VALUES ($1, $2, $3, $4, $6, $5, 'manual', $7, $8)
        RETURNING id
        """,
        tenant_id,
        previous["lead_id"],
        previous["account_id"],
        previous["alignment_id"],
        rep_id,
        previous["territory_id"],
        explanation,
        previous["id"],
    )
    return assignment_id


async def lead_for_rerouting(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, lead_id: uuid.UUID
) -> asyncpg.Record | None:
    """The stored lead as it was sent, with the external id of the account it matched."""
    return await connection.fetchrow(
        """
        SELECT l.external_id, l.email, l.domain, ST_X(l.location) AS longitude,
               ST_Y(l.location) AS latitude, l.postal_code, l.country, l.industry,
               l.employee_count, l.annual_revenue::float8 AS annual_revenue, l.attributes,
               acct.external_id AS account_external_id
          FROM lead l
          LEFT JOIN LATERAL (
              SELECT ac.external_id FROM assignment a JOIN account ac ON ac.id = a.account_id
               WHERE a.tenant_id = $1 AND a.lead_id = l.id
               ORDER BY a.created_at DESC LIMIT 1
          ) acct ON true
         WHERE l.tenant_id = $1 AND l.id = $2
        """,
        tenant_id,
        lead_id,
    )


async def adopt(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    assignment_id: uuid.UUID,
    lead_id: uuid.UUID,
    replaces: uuid.UUID,
    step: dict[str, Any],
) -> None:
    """Give an assignment the routing engine just made (for a lead row of its own) to the lead
    being rerouted, drop that transient lead row, and put the reassignment step first."""
    transient: uuid.UUID = await connection.fetchval(
        """
        WITH before AS (SELECT lead_id FROM assignment WHERE tenant_id = $1 AND id = $2)
        UPDATE assignment a
           SET lead_id = $3, replaces_assignment_id = $4,
               explanation = jsonb_build_array($5::jsonb) || a.explanation
          FROM before WHERE a.tenant_id = $1 AND a.id = $2
        RETURNING before.lead_id
        """,
        tenant_id,
        assignment_id,
        lead_id,
        replaces,
        step,
    )
    await connection.execute(
        "DELETE FROM lead WHERE tenant_id = $1 AND id = $2", tenant_id, transient
    )


async def claim_idempotency_key(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    key: str,
    path: str,
    request_hash: str,
) -> asyncpg.Record | None:
    """None when the key is new (now ours until the transaction ends); else the first
    request's hash and assignment. A concurrent first request is waited for."""
    claimed = await connection.fetchval(
        """
        INSERT INTO idempotency_record
            (tenant_id, key, method, path, request_hash, status_code, response_body)
        VALUES ($1, $2, 'POST', $3, $4, 201, '{}'::jsonb)
        ON CONFLICT DO NOTHING RETURNING true
        """,
        tenant_id,
        key,
        path,
        request_hash,
    )
    if claimed:
        return None
    return await connection.fetchrow(
        "SELECT request_hash, (response_body ->> 'assignment_id')::uuid AS assignment_id"
        "  FROM idempotency_record WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
    )


async def store_idempotent_answer(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, key: str, assignment_id: uuid.UUID
) -> None:
    await connection.execute(
        "UPDATE idempotency_record SET response_body = $3 WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
        {"assignment_id": str(assignment_id)},
    )

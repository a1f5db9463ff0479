"""SQL of bulk jobs: the job row, the set-based writes of a job, its errors and its export.
Every statement on a job filters by its tenant."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.assignment.bulk.matching import decision_steps_sql
from services.assignment.leads.compiled_alignment import CompiledAlignment

_JOB_COLUMNS = """
    id, kind, status, stage, alignment_id, total_rows, processed_rows, assigned_rows,
    failed_rows, summary, error, created_at, started_at, finished_at
"""


async def create_job(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    total_rows: int,
    status: str,
    summary: dict[str, Any],
) -> asyncpg.Record:
    row = await connection.fetchrow(
        f"""
        INSERT INTO assignment_job (tenant_id, kind, status, stage, alignment_id, total_rows,
                                    summary, started_at)
        VALUES ($1, 'lead_upload', $2::text, 'queued', $3, $4, $5,
                CASE WHEN $2::text = 'running' THEN now() END)
        RETURNING {_JOB_COLUMNS}
        """,
        tenant_id,
        status,
        alignment_id,
        total_rows,
        summary,
    )
    assert row is not None
    return row


async def get_job(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {_JOB_COLUMNS} FROM assignment_job WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
    )


async def set_progress(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    stage: str,
    processed_rows: int | None = None,
    status: str | None = None,
) -> None:
    await connection.execute(
        """
        UPDATE assignment_job
           SET stage = $3, processed_rows = coalesce($4, processed_rows),
               status = coalesce($5::text, status),
               started_at = CASE WHEN $5::text = 'running' AND status <> 'running' THEN now()
                                 ELSE started_at END
         WHERE tenant_id = $1 AND id = $2
        """,
        tenant_id,
        job_id,
        stage,
        processed_rows,
        status,
    )


async def fail_job(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    error: str,
) -> None:
    await connection.execute(
        """
        UPDATE assignment_job
           SET status = 'failed', error = $3, finished_at = now(), assigned_rows = 0
         WHERE tenant_id = $1 AND id = $2
        """,
        tenant_id,
        job_id,
        error,
    )


async def finish_job(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    assigned_rows: int,
    failed_rows: int,
    summary: dict[str, Any],
) -> None:
    await connection.execute(
        """
        UPDATE assignment_job
           SET status = 'succeeded', stage = 'done', processed_rows = total_rows,
               assigned_rows = $3, failed_rows = $4, summary = summary || $5,
               finished_at = now()
         WHERE tenant_id = $1 AND id = $2
        """,
        tenant_id,
        job_id,
        assigned_rows,
        failed_rows,
        summary,
    )


async def write_leads(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> int:
    status = await connection.execute(
        """
        INSERT INTO lead (id, tenant_id, external_id, email, domain, location, postal_code,
                          country, industry, employee_count, annual_revenue, attributes, job_id,
                          job_row_number)
        SELECT lead_id, $1, external_id, email, domain, location, postal_code, country,
               industry, employee_count, annual_revenue, coalesce(attributes, '{}'), $2,
               row_number
          FROM bulk_lead
         WHERE error_field IS NULL
        """,
        tenant_id,
        job_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def write_assignments(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    match_table: str,
    pick_table: str,
) -> int:
    steps = decision_steps_sql(
        match="m", rule_ids="$1::uuid[]", rule_count=len(compiled.rule_territory_ids)
    )
    status = await connection.execute(
        f"""
        INSERT INTO assignment (tenant_id, lead_id, account_id, alignment_id, territory_id,
                                rep_id, matched_rule, distribution_rule, explanation)
        SELECT $2, b.lead_id, m.account_id, $3, p.territory_id, p.rep_id, m.matched_rule,
               p.distribution_rule, {steps} || p.steps
          FROM bulk_lead b
          JOIN {match_table} m ON m.row_number = b.row_number
          JOIN {pick_table} p ON p.row_number = b.row_number
         WHERE b.error_field IS NULL
        """,
        list(compiled.rule_territory_ids),
        tenant_id,
        compiled.alignment_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def summarise(
    connection: asyncpg.Connection, *, match_table: str, pick_table: str
) -> dict[str, Any]:
    rows = await connection.fetch(
        f"""
        SELECT m.matched_rule, count(*) AS rows, count(*) FILTER (WHERE p.rep_id IS NULL) AS queued
          FROM {match_table} m JOIN {pick_table} p ON p.row_number = m.row_number
         GROUP BY m.matched_rule ORDER BY m.matched_rule
        """
    )
    return {
        "matched_rule": {row["matched_rule"]: row["rows"] for row in rows},
        "queued_rows": sum(row["queued"] for row in rows),
    }


async def list_errors(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    return list(
        await connection.fetch(
            """
            SELECT e.row_number, e.field, e.message
              FROM assignment_job_error e JOIN assignment_job j ON j.id = e.job_id
             WHERE j.tenant_id = $1 AND e.job_id = $2
             ORDER BY e.row_number
             LIMIT $3 OFFSET $4
            """,
            tenant_id,
            job_id,
            limit,
            offset,
        )
    )


async def export_assignments(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    output: Callable[[bytes], Awaitable[None]],
) -> None:
    """COPY the job's result as CSV, in file order, to ``output`` chunk by chunk."""
    await connection.copy_from_query(
        """
        SELECT l.job_row_number AS row_number, l.id AS lead_id, a.territory_id, a.rep_id,
               a.matched_rule
          FROM lead l JOIN assignment a ON a.lead_id = l.id AND a.tenant_id = l.tenant_id
         WHERE l.tenant_id = $1 AND l.job_id = $2
         ORDER BY l.job_row_number
        """,
        tenant_id,
        job_id,
        output=output,
        format="csv",
        header=True,
    )

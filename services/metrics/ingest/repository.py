"""SQL of bulk uploads: the job row, its errors, and the set-based validate and write steps
(the statements themselves are in ``sql/``). Every statement is filtered by tenant."""

import json
import uuid
from typing import Any

import asyncpg

from services.assignment.bulk.ids import ordered_uuid_sql
from services.metrics.ingest.kinds import AMOUNT_RE, KindSpec
from services.metrics.ingest.staging import Workspace

JOB_COLUMNS = (
    "id, kind, format, mode, status, stage, total_rows, processed_rows, inserted_rows,"
    " updated_rows, unchanged_rows, failed_rows, error, summary, created_at, updated_at,"
    " finished_at"
)


async def create_job(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    kind: str,
    fmt: str,
    mode: str,
    total_rows: int,
    summary: dict[str, Any],
) -> asyncpg.Record:
    return await connection.fetchrow(
        f"""
        INSERT INTO metrics_import_job (id, tenant_id, kind, format, mode, total_rows, summary)
        VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
        RETURNING {JOB_COLUMNS}
        """,
        job_id,
        tenant_id,
        kind,
        fmt,
        mode,
        total_rows,
        json.dumps(summary),
    )


async def get_job(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"SELECT {JOB_COLUMNS} FROM metrics_import_job WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
    )


async def set_stage(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    stage: str,
    processed_rows: int | None = None,
) -> None:
    await connection.execute(
        """
        UPDATE metrics_import_job
           SET status = 'running', stage = $3,
               processed_rows = coalesce($4, processed_rows), updated_at = now()
         WHERE tenant_id = $1 AND id = $2
        """,
        tenant_id,
        job_id,
        stage,
        processed_rows,
    )


async def finish_job(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    status: str,
    error: str | None,
    counts: dict[str, int],
    summary: dict[str, Any],
) -> None:
    await connection.execute(
        """
        UPDATE metrics_import_job
           SET status = $3, stage = NULL, error = $4,
               processed_rows = total_rows,
               inserted_rows = $5, updated_rows = $6, unchanged_rows = $7, failed_rows = $8,
               summary = summary || $9::text::jsonb, updated_at = now(), finished_at = now()
         WHERE tenant_id = $1 AND id = $2
        """,
        tenant_id,
        job_id,
        status,
        error,
        counts.get("inserted", 0),
        counts.get("updated", 0),
        counts.get("unchanged", 0),
        counts.get("failed", 0),
        json.dumps(summary),
    )


async def tenant_calendar(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID
) -> tuple[str, str]:
    """The tenant's time zone and reporting currency (the defaults when it set none)."""
    row = await connection.fetchrow(
        "SELECT time_zone, currency FROM metrics_settings WHERE tenant_id = $1", tenant_id
    )
    return (row["time_zone"], row["currency"]) if row else ("UTC", "USD")


async def has_stages(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> bool:
    return bool(
        await connection.fetchval(
            "SELECT EXISTS (SELECT FROM opportunity_stage WHERE tenant_id = $1)", tenant_id
        )
    )


def _render(sql: str, workspace: Workspace, **extra: str) -> str:
    return sql.format(
        raw=workspace.table("raw"),
        typed=workspace.table("typed"),
        amount_re=AMOUNT_RE,
        **extra,
    )


async def validate(
    connection: asyncpg.Connection,
    *,
    spec: KindSpec,
    workspace: Workspace,
    tenant_id: uuid.UUID,
    currency: str,
    stages: bool,
) -> None:
    """Build ``typed`` from ``raw``: every row typed, resolved, and its problems listed."""
    await connection.execute(f"DROP TABLE IF EXISTS {workspace.table('typed')}")
    args: list[Any] = [tenant_id]
    if spec.kind == "opportunities":
        args += [currency, stages]
    await connection.execute(_render(spec.validate_sql, workspace), *args)


async def mark_duplicates(connection: asyncpg.Connection, *, workspace: Workspace) -> int:
    """Rows sharing an external id within the upload: every copy gets the problem (which one is
    right cannot be told). The number of such rows."""
    typed, dups = workspace.table("typed"), workspace.table("dups")
    await connection.execute(f"DROP TABLE IF EXISTS {dups}")
    await connection.execute(
        f"""
        CREATE UNLOGGED TABLE {dups} AS
        SELECT external_id, min(row_number) AS first_row, count(*) AS copies
          FROM {typed} WHERE external_id IS NOT NULL
         GROUP BY external_id HAVING count(*) > 1
        """
    )
    status = await connection.execute(
        f"""
        UPDATE {typed} t
           SET problems = t.problems || (
               'external_id:duplicate external id ' || left(d.external_id, 100) || ': on '
               || d.copies || ' rows of this upload (first on row ' || d.first_row
               || '); send each once')
          FROM {dups} d
         WHERE t.external_id = d.external_id
        """
    )
    return int(status.split()[-1])


async def count_failed(connection: asyncpg.Connection, *, workspace: Workspace) -> int:
    return int(
        await connection.fetchval(
            f"SELECT count(*) FROM {workspace.table('typed')} WHERE problems <> '{{}}'"
        )
    )


async def save_errors(
    connection: asyncpg.Connection,
    *,
    workspace: Workspace,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
) -> None:
    """Each problem of each bad row: (row, field, reason); one per field and row."""
    await connection.execute(
        f"""
        INSERT INTO metrics_import_error (tenant_id, job_id, row_number, field, reason)
        SELECT DISTINCT ON (t.row_number, split_part(p, ':', 1))
               $1, $2, t.row_number, split_part(p, ':', 1),
               left(substr(p, length(split_part(p, ':', 1)) + 2), 500)
          FROM {workspace.table("typed")} t, unnest(t.problems) p
         WHERE t.problems <> '{{}}'
        ON CONFLICT DO NOTHING
        """,
        tenant_id,
        job_id,
    )


async def can_skip_row_triggers(connection: asyncpg.Connection) -> bool:
    """Whether this session may turn per-row triggers off (superuser, or granted SET on
    session_replication_role; migration 756e7c1b5f29 grants it when run by a superuser)."""
    return bool(
        await connection.fetchval(
            "SELECT has_parameter_privilege('session_replication_role', 'SET')"
        )
    )


async def lock_references(
    connection: asyncpg.Connection, *, spec: KindSpec, workspace: Workspace, tenant_id: uuid.UUID
) -> None:
    """What the skipped foreign-key triggers would do, once per referenced row instead of per
    written row: lock it against deletion (KEY SHARE) until the write commits, and fail if it
    went since the validation resolved it."""
    typed = workspace.table("typed")
    await connection.execute("SELECT 1 FROM tenant WHERE id = $1 FOR KEY SHARE", tenant_id)
    for column, table in spec.references:
        wanted, locked = await connection.fetchrow(
            f"""
            WITH wanted AS (
                SELECT DISTINCT {column} AS id FROM {typed}
                 WHERE problems = '{{}}' AND {column} IS NOT NULL
            ), locked AS (
                SELECT r.id FROM {table} r WHERE r.id IN (SELECT id FROM wanted) FOR KEY SHARE
            )
            SELECT (SELECT count(*) FROM wanted), (SELECT count(*) FROM locked)
            """
        )
        if wanted != locked:
            raise RuntimeError(
                f"{wanted - locked} {table} row(s) the upload references were deleted while it "
                "ran; upload it again"
            )


async def write(
    connection: asyncpg.Connection,
    *,
    spec: KindSpec,
    workspace: Workspace,
    tenant_id: uuid.UUID,
    ids_epoch_ms: int,
) -> tuple[int, int]:
    """Update the rows that differ, insert the new ones; (updated, inserted)."""
    updated = await connection.execute(_render(spec.update_sql, workspace), tenant_id)
    inserted = await connection.execute(
        _render(
            spec.insert_sql,
            workspace,
            ordered_id=ordered_uuid_sql(epoch_ms=ids_epoch_ms, counter="g.row_number"),
        ),
        tenant_id,
    )
    return int(updated.split()[-1]), int(inserted.split()[-1])


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
            SELECT row_number AS row, field, reason FROM metrics_import_error
             WHERE tenant_id = $1 AND job_id = $2
             ORDER BY row_number, field LIMIT $3 OFFSET $4
            """,
            tenant_id,
            job_id,
            limit,
            offset,
        )
    )

"""SQL of bulk jobs: the job row, the set-based writes of a job, giving a reservation back, its
errors and its export. Every statement on a job filters by its tenant."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.assignment.bulk import explanation
from services.assignment.bulk.errors import ReferencedRowGone
from services.assignment.bulk.ids import ordered_uuid_sql
from services.assignment.leads.compiled_alignment import CompiledAlignment
from shared.audit import audit_parameters


def _sql_uuid(value: uuid.UUID) -> str:
    # DDL and the statements built per table take the ids as literals (a uuid.UUID renders
    # safely).
    return f"'{uuid.UUID(str(value))}'::uuid"


_JOB_COLUMNS = """
    id, kind, status, stage, alignment_id, total_rows, processed_rows, assigned_rows,
    failed_rows, summary, error, created_at, started_at, finished_at
"""


async def create_job(
    connection: asyncpg.Connection,
    *,
    job_id: uuid.UUID,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    total_rows: int,
    status: str,
    summary: dict[str, Any],
) -> asyncpg.Record:
    """The job row, and the upload's audit event in the same statement."""
    api_key_id, request_id = audit_parameters()
    row = await connection.fetchrow(
        f"""
        WITH job AS (
            INSERT INTO assignment_job (id, tenant_id, kind, status, stage, alignment_id,
                                        total_rows, summary, started_at)
            VALUES ($1, $2, 'lead_upload', $3::text, 'queued', $4, $5, $6,
                    CASE WHEN $3::text = 'running' THEN now() END)
            RETURNING {_JOB_COLUMNS}
        ), audit AS (
            INSERT INTO audit_event (tenant_id, api_key_id, action, entity, entity_id,
                                     request_id, detail)
            SELECT $2, $7::uuid, 'bulk_assign_leads', 'jobs', job.id::text, $8::text,
                   jsonb_build_object('total_rows', job.total_rows)
              FROM job
        )
        SELECT * FROM job
        """,
        job_id,
        tenant_id,
        status,
        alignment_id,
        total_rows,
        summary,
        api_key_id,
        request_id,
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


async def fail_job_if_running(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    error: str,
) -> None:
    """``fail_job``, unless the job already ended (say, failed with a more precise reason)."""
    await end_unfinished(
        connection, tenant_id=tenant_id, job_id=job_id, status="failed", error=error
    )


async def end_unfinished(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    status: str,
    error: str | None,
) -> bool:
    """A job not yet ended becomes ``failed`` or ``cancelled`` (with why), or ``pending`` again
    (back in the queue); returns whether it changed."""
    changed = await connection.fetchval(
        """
        UPDATE assignment_job
           SET status = $3::text, error = $4, assigned_rows = 0,
               stage = CASE WHEN $3::text = 'pending' THEN 'queued' ELSE stage END,
               finished_at = CASE WHEN $3::text = 'pending' THEN NULL ELSE now() END
         WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'running')
        RETURNING true
        """,
        tenant_id,
        job_id,
        status,
        error,
    )
    return bool(changed)


async def start_job(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> asyncpg.Record | None:
    """A waiting job (or one whose worker died) is running now; None if it ended meanwhile
    (cancelled)."""
    return await connection.fetchrow(
        f"""
        UPDATE assignment_job
           SET status = 'running', stage = 'validating', started_at = now(), error = NULL
         WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'running')
        RETURNING {_JOB_COLUMNS}
        """,
        tenant_id,
        job_id,
    )


async def attach_queue_job(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    queue_job_id: int,
) -> None:
    await connection.execute(
        "UPDATE assignment_job SET queue_job_id = $3 WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
        queue_job_id,
    )


async def queue_job_of(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT status, queue_job_id FROM assignment_job WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
    )


async def cancel_waiting(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str
) -> bool:
    """A job no worker has started yet is cancelled at once; returns whether it was waiting."""
    changed = await connection.fetchval(
        """
        UPDATE assignment_job SET status = 'cancelled', error = $3, finished_at = now()
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
        RETURNING true
        """,
        tenant_id,
        job_id,
        error,
    )
    return bool(changed)


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


# The assignments of a range of rows, with everything they need; the explanation: the
# precedence steps, then the distribution steps (none for a named account).
_RESULT = """
CREATE UNLOGGED TABLE {result} AS
SELECT m.row_number, m.lead_id, {assignment_id} AS assignment_id, m.account_id,
       CASE WHEN m.rep_id IS NOT NULL THEN m.territory_id ELSE p.territory_id END AS territory_id,
       coalesce(m.rep_id, p.rep_id) AS rep_id,
       -- Where the lead really went: escalated rows went to the fallback.
       CASE WHEN p.escalated THEN 'fallback' ELSE m.matched_rule END AS matched_rule,
       p.distribution_rule,
       concat('[', {first_step}, {more_steps}, p.steps, ']')::jsonb AS explanation
  FROM {match} m
  LEFT JOIN ({pick}) p ON p.row_number = m.row_number
 WHERE m.row_number BETWEEN {low} AND {high}
"""


async def build_result(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    result: str,
    match: str,
    pick_sql: str,
    ids_epoch_ms: int,
    low: int,
    high: int,
) -> dict[str, Any]:
    """The assignments of rows ``low`` to ``high``, explanations included, in one CREATE
    TABLE AS (parallel workers may build it), so that the write transaction only copies them.
    ``pick_sql`` must read only that range of its rows. Returns their summary."""
    first_step, more_steps = explanation.decision_steps(
        m="m", rule_count=len(compiled.rule_territory_ids)
    )
    await connection.execute(
        _RESULT.format(
            result=result,
            assignment_id=ordered_uuid_sql(epoch_ms=ids_epoch_ms, counter="m.row_number"),
            first_step=first_step,
            more_steps=more_steps,
            match=match,
            pick=pick_sql,
            low=int(low),
            high=int(high),
        )
    )
    rows = await connection.fetch(
        f"""
        SELECT matched_rule, count(*) AS rows, count(*) FILTER (WHERE rep_id IS NULL) AS queued
          FROM {result} GROUP BY matched_rule
        """
    )
    return {
        "matched_rule": {row["matched_rule"]: row["rows"] for row in rows},
        "queued_rows": sum(row["queued"] for row in rows),
    }


async def referenced_rows(connection: asyncpg.Connection, *, result: str, parents: str) -> None:
    """The territories, reps and accounts the result's assignments point at (for
    ``lock_referenced``): one pass over the result."""
    await connection.execute(
        f"""
        CREATE UNLOGGED TABLE {parents} AS
        SELECT territory_id, rep_id, account_id FROM {result}
         GROUP BY GROUPING SETS ((territory_id), (rep_id), (account_id))
        """
    )


async def can_skip_row_triggers(connection: asyncpg.Connection) -> bool:
    """Whether this session may turn per-row trigger firing off for the write (superuser, or
    granted SET on session_replication_role), and ``lead``/``assignment`` have no triggers but
    their foreign keys' (which ``lock_job_parents`` and ``lock_referenced`` stand in for)."""
    allowed: bool = await connection.fetchval(
        """
        SELECT has_parameter_privilege('session_replication_role', 'SET')
           AND NOT EXISTS (SELECT FROM pg_trigger
                            WHERE tgrelid IN ('lead'::regclass, 'assignment'::regclass,
                                              'assignment_job_error'::regclass)
                              AND NOT tgisinternal)
           AND NOT EXISTS (SELECT FROM pg_rules
                            WHERE schemaname = 'public'
                              AND tablename IN ('lead', 'assignment', 'assignment_job_error'))
        """
    )
    return allowed


# Each foreign key of lead, assignment and assignment_job_error checks its row's parent with
# SELECT … FOR KEY SHARE, row by row. The same, once per distinct parent: lock it against
# deletion or a key change until the commit, and make sure it is still there.
_LOCK_AND_CHECK = """
WITH needed AS ({needed}),
locked AS (
    SELECT p.id FROM {table} p WHERE p.id IN (SELECT * FROM needed) FOR KEY SHARE OF p
)
SELECT n.id FROM needed n(id) WHERE n.id NOT IN (SELECT id FROM locked) LIMIT 1
"""


async def _lock_and_check(connection: asyncpg.Connection, checks: list[tuple[str, str]]) -> None:
    for table, needed in checks:
        missing = await connection.fetchval(_LOCK_AND_CHECK.format(table=table, needed=needed))
        if missing is not None:
            raise ReferencedRowGone(table, missing)


async def lock_job_parents(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    alignment_id: uuid.UUID,
) -> None:
    """In the write transaction, with per-row foreign key triggers off: the tenant, the job
    and the alignment every row points at. Raises ``ReferencedRowGone``."""
    await _lock_and_check(
        connection,
        [
            ("tenant", f"SELECT {_sql_uuid(tenant_id)}"),
            ("assignment_job", f"SELECT {_sql_uuid(job_id)}"),
            ("alignment", f"SELECT {_sql_uuid(alignment_id)}"),
        ],
    )


async def lock_referenced(connection: asyncpg.Connection, *, parents: str) -> None:
    """The same for the territories, reps and accounts a batch of assignments points at
    (``parents``, from ``referenced_rows``)."""
    await _lock_and_check(
        connection,
        [
            ("territory", f"SELECT territory_id FROM {parents} WHERE territory_id IS NOT NULL"),
            ("rep", f"SELECT rep_id FROM {parents} WHERE rep_id IS NOT NULL"),
            ("account", f"SELECT account_id FROM {parents} WHERE account_id IS NOT NULL"),
        ],
    )


async def copy_errors(connection: asyncpg.Connection, *, job_id: uuid.UUID, lead: str) -> int:
    """The rejected rows into ``assignment_job_error``; returns how many. (A field can be an
    unknown key of a JSON line, of any length: cut to the column's 100 characters.)"""
    status = await connection.execute(
        f"""
        INSERT INTO assignment_job_error (job_id, row_number, field, message)
        SELECT $1, row_number, left(problem[1], 100), problem[2]
          FROM {lead} WHERE problem IS NOT NULL
        """,
        job_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def write_leads(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID, lead: str
) -> int:
    status = await connection.execute(
        f"""
        INSERT INTO lead (id, tenant_id, external_id, email, domain, location, postal_code,
                          country, industry, employee_count, annual_revenue, attributes, job_id,
                          job_row_number)
        SELECT lead_id, $1, external_id, email, domain, location, postal_code, country,
               industry, employee_count, annual_revenue, coalesce(attributes, '{{}}'), $2,
               row_number
          FROM {lead}
         WHERE problem IS NULL
        """,
        tenant_id,
        job_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def write_assignments(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    result: str,
) -> int:
    status = await connection.execute(
        f"""
        INSERT INTO assignment (id, tenant_id, lead_id, account_id, alignment_id, territory_id,
                                rep_id, matched_rule, distribution_rule, explanation)
        SELECT assignment_id, $1, lead_id, account_id, $2, territory_id, rep_id, matched_rule,
               distribution_rule, explanation
          FROM {result}
        """,
        tenant_id,
        alignment_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def drop_reservation(connection: asyncpg.Connection, *, job_id: uuid.UUID) -> None:
    """The job's writes commit with this: its reservation is now its assignments."""
    await connection.execute("DELETE FROM assignment_bulk.reservation WHERE job_id = $1", job_id)


# Territories' turn counters (the fallback last), then reps, each in id order: the order of the
# reservation and of ``assign_lead_commit``.
_LOCK_RESERVED = (
    """
    SELECT t.id FROM territory t JOIN territory_turn tt ON tt.territory_id = t.id
     WHERE t.id IN (SELECT territory_id FROM assignment_bulk.reservation WHERE job_id = $1)
     ORDER BY t.is_fallback, t.id
       FOR NO KEY UPDATE OF tt
    """,
    """
    SELECT r.id FROM rep r
     WHERE r.id IN (SELECT rep_id FROM assignment_bulk.reservation WHERE job_id = $1)
     ORDER BY r.id
       FOR NO KEY UPDATE OF r
    """,
)

# Give back, in one statement, exactly what the job reserved, and forget the reservation.
_GIVE_BACK = """
WITH reserved AS (
    DELETE FROM assignment_bulk.reservation WHERE job_id = $1
    RETURNING territory_id, rep_id, turns, assigned, opened
), turns AS (
    UPDATE territory_turn t SET turn_counter = t.turn_counter - r.turns
      FROM (SELECT territory_id, sum(turns) AS turns FROM reserved
             WHERE territory_id IS NOT NULL GROUP BY territory_id) r
     WHERE t.territory_id = r.territory_id AND r.turns <> 0
    RETURNING t.territory_id
), members AS (
    UPDATE territory_member tm SET assigned_count = tm.assigned_count - r.assigned
      FROM (SELECT territory_id, rep_id, sum(assigned) AS assigned FROM reserved
             WHERE territory_id IS NOT NULL AND rep_id IS NOT NULL
             GROUP BY territory_id, rep_id) r
     WHERE tm.territory_id = r.territory_id AND tm.rep_id = r.rep_id AND tm.role = 'owner'
       AND r.assigned <> 0
    RETURNING tm.rep_id
), reps AS (
    UPDATE rep p SET open_assignments = p.open_assignments - r.opened
      FROM (SELECT rep_id, sum(opened) AS opened FROM reserved
             WHERE rep_id IS NOT NULL GROUP BY rep_id) r
     WHERE p.id = r.rep_id AND r.opened <> 0
    RETURNING p.id
)
SELECT (SELECT count(*) FROM reserved) AS reserved_rows,
       (SELECT count(*) FROM turns) AS territories,
       (SELECT count(*) FROM members) AS members,
       (SELECT count(*) FROM reps) AS reps
"""


async def give_back(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    error: str | None,
    status: str | None = "failed",
) -> bool:
    """Undo a job's reservation (if it still has one) and end the job with ``status`` and
    ``error`` (unless it ended already; None: leave it as it is, for a retry), in one
    transaction; returns whether there was a reservation."""
    async with connection.transaction():
        await connection.execute(
            "SELECT 1 FROM assignment_job WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
            tenant_id,
            job_id,
        )
        for statement in _LOCK_RESERVED:
            await connection.execute(statement, job_id)
        given = await connection.fetchrow(_GIVE_BACK, job_id)
        if status is not None:
            await end_unfinished(
                connection, tenant_id=tenant_id, job_id=job_id, status=status, error=error
            )
    assert given is not None
    return bool(given["reserved_rows"])


async def unfinished_jobs(connection: asyncpg.Connection) -> list[asyncpg.Record]:
    """Lead upload jobs not yet ended, and those holding a reservation, of the connection's
    tenant (row security hides the others', which their own next upload sweeps), that the queue
    is not (or no longer) running or about to run: run inline by an API process (or never
    queued), or whose queued job ended without them (for the sweep, which tells the live ones
    from the abandoned by their lock). A queued job whose worker died is the queue's to retry
    (``shared/jobs/recovery.py``)."""
    return list(
        await connection.fetch(
            """
            WITH candidate AS (
                SELECT j.id, j.tenant_id, j.queue_job_id FROM assignment_job j
                 WHERE j.kind = 'lead_upload' AND j.status IN ('pending', 'running')
                UNION
                SELECT j.id, j.tenant_id, j.queue_job_id
                  FROM assignment_bulk.reservation r JOIN assignment_job j ON j.id = r.job_id
            )
            SELECT c.id, c.tenant_id FROM candidate c
             WHERE NOT EXISTS (SELECT FROM procrastinate.procrastinate_jobs q
                                WHERE q.id = c.queue_job_id AND q.status IN ('todo', 'doing'))
            """
        )
    )


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
        SELECT l.job_row_number AS row_number, l.id AS lead_id, a.id AS assignment_id,
               a.territory_id, a.rep_id, a.matched_rule AS rule
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

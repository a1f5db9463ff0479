"""A job's working tables: UNLOGGED tables in the bulk module's schema, named after its job id.

Temp tables would be simpler, but parallel workers cannot read them, the stages over a million
rows are what the second core is for, and the staged upload must outlive the API's session that
COPYed it, for the worker that runs the job. The session using the tables holds a session
advisory lock on their token (the API while it stages, the worker while it runs the job); a
sweep (run at the start of every upload) drops the tables whose token is not locked and whose
job is not waiting or running (the upload failed, or the job ended, or its process died before
the job existed). The same holds for reservations: a job's session holds a lock on its job id,
and a reservation whose job lock is free belongs to a job that is not running at the moment.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

SCHEMA = "assignment_bulk"


def _lock_key(kind: str, value: str) -> str:
    return f"{SCHEMA}:{kind}:{value}"


@dataclass(frozen=True)
class Workspace:
    token: str

    def table(self, name: str) -> str:
        """The schema-qualified name of this job's working table ``name``."""
        return f"{SCHEMA}.j{self.token}_{name}"

    def bare(self, name: str) -> str:
        """The table's name without its schema (for asyncpg's COPY, which quotes it)."""
        return f"j{self.token}_{name}"


def job_workspace(job_id: uuid.UUID) -> Workspace:
    """The working tables of job ``job_id`` (whichever process stages or runs it)."""
    return Workspace(job_id.hex)


async def open_workspace(connection: asyncpg.Connection, job_id: uuid.UUID) -> Workspace:
    """Lock the job's working tables for this session (until it closes or ``release``)."""
    workspace = job_workspace(job_id)
    await connection.execute(
        "SELECT pg_advisory_lock(hashtextextended($1, 0))", _lock_key("work", workspace.token)
    )
    return workspace


async def drop_workspace(connection: asyncpg.Connection, workspace: Workspace) -> None:
    await _drop_tables(connection, workspace.token)


# What the upload's request staged, which every attempt of the job reads: the rows, and the CSV
# rows whose field count is not the header's (staging.py).
STAGED_TABLES = ("raw", "width")


async def drop_stages(connection: asyncpg.Connection, workspace: Workspace) -> None:
    """Every working table but the staged upload: what an attempt of the job built."""
    await _drop_tables(
        connection, workspace.token, keep=[workspace.bare(name) for name in STAGED_TABLES]
    )


async def has_staged_rows(connection: asyncpg.Connection, workspace: Workspace) -> bool:
    """Whether the staged upload is still there (UNLOGGED tables are emptied when the database
    recovers from a crash)."""
    if await connection.fetchval("SELECT to_regclass($1)", workspace.table("raw")) is None:
        return False
    return bool(await connection.fetchval(f"SELECT EXISTS (SELECT FROM {workspace.table('raw')})"))


async def _drop_tables(
    connection: asyncpg.Connection, token: str, keep: Sequence[str] = ()
) -> None:
    names = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2"
        " AND tablename <> ALL($3::text[])",
        SCHEMA,
        f"j{token}\\_%",
        list(keep),
    )
    if names:
        tables = ", ".join(f"{SCHEMA}.{row['tablename']}" for row in names)
        await connection.execute(f"DROP TABLE IF EXISTS {tables}")


async def lock_job(connection: asyncpg.Connection, job_id: uuid.UUID) -> None:
    """Held by the job's connection until it closes: the job is alive while this is held."""
    await connection.execute(
        "SELECT pg_advisory_lock(hashtextextended($1, 0))", _lock_key("job", str(job_id))
    )


async def abandoned_tokens(connection: asyncpg.Connection) -> list[str]:
    """Tokens of working tables nobody uses (unlocked) whose job is not waiting or running;
    each comes back locked by ``connection`` (``drop_abandoned`` releases it after dropping)."""
    # Across tenants: the tables are the module's, whoever's job made them.
    rows = await connection.fetch(
        """
        SELECT DISTINCT t.m[1] AS token
          FROM (SELECT regexp_match(tablename, '^j([0-9a-f]{32})_') AS m
                  FROM pg_tables WHERE schemaname = $1) t
         WHERE t.m IS NOT NULL
           AND NOT EXISTS (SELECT FROM assignment_job j
                            WHERE j.id = t.m[1]::uuid AND j.status IN ('pending', 'running'))
        """,
        SCHEMA,
    )
    tokens = sorted(row["token"] for row in rows)
    abandoned = []
    for token in tokens:
        if await connection.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _lock_key("work", token)
        ):
            abandoned.append(token)
    return abandoned


async def drop_abandoned(connection: asyncpg.Connection) -> int:
    tokens = await abandoned_tokens(connection)
    for token in tokens:
        try:
            await _drop_tables(connection, token)
        finally:
            await connection.execute(
                "SELECT pg_advisory_unlock(hashtextextended($1, 0))", _lock_key("work", token)
            )
    return len(tokens)


async def try_lock_job(connection: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    locked: bool = await connection.fetchval(
        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _lock_key("job", str(job_id))
    )
    return locked


async def unlock_job(connection: asyncpg.Connection, job_id: uuid.UUID) -> None:
    await connection.execute(
        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", _lock_key("job", str(job_id))
    )

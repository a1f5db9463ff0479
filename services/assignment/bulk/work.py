"""A job's working tables: UNLOGGED tables in the bulk module's schema, named after a token.

Temp tables would be simpler, but parallel workers cannot read them, and the stages over a
million rows are what the second core is for. The job's connection holds a session advisory lock
on its token for as long as the tables may be in use, so a sweep (run at the start of every
upload) can tell tables whose job is gone (its process died) from tables in use, and drop them.
The same holds for reservations: a job's connection holds a lock on its job id, and a
reservation whose job lock is free belongs to a job that will never write; the sweep gives it
back.
"""

import re
import uuid
from dataclasses import dataclass

import asyncpg

SCHEMA = "assignment_bulk"
_TABLE = re.compile(r"^j([0-9a-f]{32})_[a-z_]+$")


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


async def open_workspace(connection: asyncpg.Connection) -> Workspace:
    workspace = Workspace(uuid.uuid4().hex)
    await connection.execute(
        "SELECT pg_advisory_lock(hashtextextended($1, 0))", _lock_key("work", workspace.token)
    )
    return workspace


async def drop_workspace(connection: asyncpg.Connection, workspace: Workspace) -> None:
    await _drop_tables(connection, workspace.token)


async def _drop_tables(connection: asyncpg.Connection, token: str) -> None:
    names = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2",
        SCHEMA,
        f"j{token}\\_%",
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
    """Tokens of working tables whose job's connection is gone; each comes back locked by
    ``connection`` (release with ``release_token`` after dropping)."""
    rows = await connection.fetch(
        "SELECT DISTINCT tablename FROM pg_tables WHERE schemaname = $1", SCHEMA
    )
    tokens = sorted({match.group(1) for row in rows if (match := _TABLE.match(row["tablename"]))})
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

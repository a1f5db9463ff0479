"""SQL for the cached graph: the tenant's graph version, and the whole graph as arrays.

Arrays in one row rather than a row per tie: asyncpg decodes a million-element array in C, far
faster than a million result rows through the ORM.
"""

import uuid

import asyncpg
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.scoring.graph import GraphRows

_VERSION = "SELECT version FROM proximity_graph_version WHERE tenant_id = $1"

_PEOPLE = """
SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}') AS ids,
       coalesce(array_agg(p.name ORDER BY p.id), '{}') AS names,
       coalesce(array_agg(p.kind::text ORDER BY p.id), '{}') AS kinds,
       coalesce(array_agg(p.rep_id ORDER BY p.id), '{}') AS rep_ids,
       coalesce(array_agg(p.account_id ORDER BY p.id), '{}') AS account_ids
FROM person p
WHERE p.tenant_id = $1
"""

# Person indices are the positions in _PEOPLE's id order; an age in days, NULL when unknown.
_TIES = """
WITH numbered AS MATERIALIZED (
    SELECT p.id, (row_number() OVER (ORDER BY p.id) - 1)::int AS position
    FROM person p
    WHERE p.tenant_id = $1
)
SELECT coalesce(array_agg(a.position), '{}') AS a,
       coalesce(array_agg(b.position), '{}') AS b,
       coalesce(array_agg(c.kind), '{}') AS kinds,
       coalesce(array_agg(c.strength), '{}') AS strengths,
       coalesce(array_agg(extract(epoch FROM now() - c.last_interaction_at)::float8 / 86400.0),
                '{}') AS ages
FROM connection c
JOIN numbered a ON a.id = c.person_a_id
JOIN numbered b ON b.id = c.person_b_id
WHERE c.tenant_id = $1
"""


async def driver_of(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction (its tenant already bound), so
    the request and a job on the worker read the graph the same way."""
    connection = await (await session.connection()).get_raw_connection()
    driver: asyncpg.Connection = connection.driver_connection
    return driver


async def graph_version(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> int:
    """The tenant's graph version; 0 before its first person."""
    version = await connection.fetchval(_VERSION, tenant_id)
    return int(version or 0)


async def load_graph(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> GraphRows:
    """Every person and tie of the tenant (call within one transaction: one snapshot)."""
    people = await connection.fetchrow(_PEOPLE, tenant_id)
    ties = await connection.fetchrow(_TIES, tenant_id)
    return GraphRows(
        person_ids=list(people["ids"]),
        person_names=list(people["names"]),
        person_kinds=list(people["kinds"]),
        rep_ids=list(people["rep_ids"]),
        account_ids=list(people["account_ids"]),
        edge_a=np.array(ties["a"], dtype=np.int64),
        edge_b=np.array(ties["b"], dtype=np.int64),
        edge_kind=list(ties["kinds"]),
        edge_strength=np.array(ties["strengths"], dtype=np.float64),
        edge_age_days=np.array(ties["ages"], dtype=np.float64),
    )

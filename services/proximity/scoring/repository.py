"""SQL for the cached graph: the tenant's graph version, and the whole graph as arrays.

Arrays in one row rather than a row per tie: asyncpg decodes a million-element array in C, far
faster than a million result rows through the ORM.
"""

import json
import uuid

import asyncpg
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.scoring.graph import GraphRows
from shared.models import ProximityGraphVersion, ProximitySettings

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


_SETTINGS = "SELECT kind_weights FROM proximity_settings WHERE tenant_id = $1"


async def kind_weights(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> dict[str, float]:
    """The tenant's own kind weights ({} when it set none)."""
    value = await connection.fetchval(_SETTINGS, tenant_id)
    if value is None:
        return {}
    weights = json.loads(value) if isinstance(value, str) else value
    return {str(kind): float(weight) for kind, weight in weights.items()}


async def get_settings(session: AsyncSession, *, tenant_id: uuid.UUID) -> ProximitySettings | None:
    return await session.scalar(
        select(ProximitySettings).where(ProximitySettings.tenant_id == tenant_id)
    )


async def put_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, kind_weights: dict[str, float]
) -> ProximitySettings:
    """Store the tenant's weights and move its graph version on, so every cached graph (each
    service and worker process) is rebuilt with them."""
    statement = (
        insert(ProximitySettings)
        .values(tenant_id=tenant_id, kind_weights=kind_weights)
        .on_conflict_do_update(
            index_elements=[ProximitySettings.tenant_id],
            set_={"kind_weights": kind_weights, "updated_at": func.now()},
        )
        .returning(ProximitySettings)
    )
    row = await session.scalar(statement, execution_options={"populate_existing": True})
    await session.execute(
        insert(ProximityGraphVersion)
        .values(tenant_id=tenant_id, version=1)
        .on_conflict_do_update(
            index_elements=[ProximityGraphVersion.tenant_id],
            set_={"version": ProximityGraphVersion.version + 1},
        )
    )
    assert row is not None
    return row


async def busiest_graphs(connection: asyncpg.Connection, *, limit: int) -> list[uuid.UUID]:
    """Tenants whose graphs were written most (any tenant: proximity_ingest.graph_versions)."""
    rows = await connection.fetch(
        "SELECT tenant_id FROM proximity_ingest.graph_versions() ORDER BY version DESC LIMIT $1",
        limit,
    )
    return [row["tenant_id"] for row in rows]

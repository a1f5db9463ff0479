"""SQL for the cached graph: the tenant's graph version, its kind weights, and the whole graph
as arrays (people: arrays in one row; ties: a binary COPY numpy reads in one call, ~20× faster
than decoding a million-element array per column into Python objects).
"""

import asyncio
import json
import uuid

import asyncpg
import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.scoring.graph import GraphArrays, IntArray
from shared.models import ProximityGraphVersion, ProximitySettings

_VERSION = "SELECT version FROM proximity_graph_version WHERE tenant_id = $1"

# One statement (one snapshot) for people, in id order: ids as their 16 bytes, so the graph
# keeps them in one numpy array instead of 200,000 Python objects.
_PEOPLE = """
SELECT coalesce(array_agg(x.id), '{}') AS ids,
       coalesce(array_agg(x.name), '{}') AS names,
       coalesce(array_agg(x.is_rep), '{}') AS is_rep,
       coalesce(array_agg(x.rep_id), '{}') AS rep_ids,
       coalesce(array_agg(x.account_id), '{}') AS account_ids
  FROM (SELECT uuid_send(p.id) AS id, p.name, p.kind = 'rep' AS is_rep,
               coalesce(uuid_send(p.rep_id), '') AS rep_id,
               coalesce(uuid_send(p.account_id), '') AS account_id
          FROM person p
         WHERE p.tenant_id = $1
         ORDER BY p.id) x
"""
# (One sort feeds every array: array_agg keeps the order of a sorted subquery.)

_KINDS = "SELECT coalesce(array_agg(DISTINCT kind), '{}') FROM connection WHERE tenant_id = $1"

# Every tie as a fixed-width binary row (no NULLs: an unknown age is NaN), parsed by numpy in
# one call; no join (people are matched to positions in numpy), so the scan is the whole cost.
_TIES = """
SELECT c.person_a_id, c.person_b_id, array_position({kinds}::text[], c.kind::text)::int2,
       c.strength,
       coalesce(extract(epoch FROM now() - c.last_interaction_at)::float8 / 86400.0, 'NaN')
  FROM connection c
 WHERE c.tenant_id = {tenant_id}
"""
_TIE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("a_length", ">i4"),
        ("a", "S16"),
        ("b_length", ">i4"),
        ("b", "S16"),
        ("kind_length", ">i4"),
        ("kind", ">i2"),
        ("strength_length", ">i4"),
        ("strength", ">f8"),
        ("age_length", ">i4"),
        ("age", ">f8"),
    ]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


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


async def load_graph(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> GraphArrays:
    """Every person and tie of the tenant (within one REPEATABLE READ transaction for one
    snapshot; otherwise a tie whose person is not among the people read is left out)."""
    people = await connection.fetchrow(_PEOPLE, tenant_id)
    kinds: list[str] = list(await connection.fetchval(_KINDS, tenant_id))
    chunks: list[bytes] = []

    async def keep(chunk: bytes) -> None:
        chunks.append(chunk)

    literal = "ARRAY[" + ",".join(_quoted(kind) for kind in kinds) + "]"
    await connection.copy_from_query(
        _TIES.format(kinds=literal, tenant_id=_quoted(str(tenant_id))),
        output=keep,
        format="binary",
    )
    # numpy's part off the event loop: requests keep being answered meanwhile.
    return await asyncio.to_thread(_arrays, people, kinds, b"".join(chunks))


def _arrays(people: asyncpg.Record, kinds: list[str], copied: bytes) -> GraphArrays:
    ties = _parse_binary_copy(copied)
    person_ids = np.array(people["ids"], dtype="S16")
    edge_a = _positions(person_ids, ties["a"])
    edge_b = _positions(person_ids, ties["b"])
    known = (edge_a >= 0) & (edge_b >= 0)
    return GraphArrays(
        person_ids=person_ids,
        person_names=list(people["names"]),
        is_rep=np.array(people["is_rep"], dtype=bool),
        rep_of=np.array(people["rep_ids"], dtype="S16"),
        account_of=np.array(people["account_ids"], dtype="S16"),
        edge_a=edge_a[known],
        edge_b=edge_b[known],
        kinds=kinds,
        edge_kind=ties["kind"][known].astype(np.int64) - 1,
        edge_strength=ties["strength"][known].astype(np.float64),
        edge_age_days=ties["age"][known].astype(np.float64),
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parse_binary_copy(data: bytes) -> npt.NDArray[np.void]:
    """The rows of a binary COPY whose columns are all fixed width and never NULL."""
    if not data.startswith(_COPY_SIGNATURE):
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : -2]  # the trailer is a field count of -1
    return np.frombuffer(body, dtype=_TIE_ROW)


def _halves(ids: npt.NDArray[np.bytes_]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Each 16-byte id as two native unsigned integers (byte order = integer order)."""
    pairs = np.ascontiguousarray(ids).view(">u8").reshape(-1, 2).astype(np.uint64)
    return pairs[:, 0], pairs[:, 1]


def _positions(sorted_ids: npt.NDArray[np.bytes_], ids: npt.NDArray[np.bytes_]) -> IntArray:
    """Each id's position in ``sorted_ids`` (uuid order is byte order), -1 when absent."""
    if len(sorted_ids) == 0 or len(ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    high, low = _halves(sorted_ids)
    if np.all(high[1:] > high[:-1]):
        # Random ids differ in their first 8 bytes: one integer search (~10× faster than
        # comparing 16-byte strings).
        wanted_high, wanted_low = _halves(ids)
        position = np.minimum(np.searchsorted(high, wanted_high), len(high) - 1)
        found = (high[position] == wanted_high) & (low[position] == wanted_low)
    else:  # ids sharing a prefix (time-ordered ids): compare them whole
        position = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        found = sorted_ids[position] == ids
    return np.where(found, position, -1).astype(np.int64)


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


async def largest_graphs(connection: asyncpg.Connection, *, limit: int) -> list[uuid.UUID]:
    """The tenants with the largest graphs (any tenant: proximity_ingest.graph_versions)."""
    rows = await connection.fetch(
        "SELECT tenant_id FROM proximity_ingest.graph_versions() WHERE ties > 0"
        " ORDER BY ties DESC, version DESC LIMIT $1",
        limit,
    )
    return [row["tenant_id"] for row in rows]

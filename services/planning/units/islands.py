"""Islands: units (or groups of units) with no neighbour path to the rest of their set, each
joined to its nearest unit (ST_Distance on the spheroid) by an ``island`` edge, so a design
can keep every territory contiguous. Recomputed whenever the set's edges or overrides change."""

import uuid
from dataclasses import dataclass

import asyncpg
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from services.planning.units import repository

# Each round joins every component but the largest to its nearest outside unit, so the count
# of components at least halves per round: 20 rounds cover any set.
MAX_ROUNDS = 20


@dataclass(frozen=True)
class IslandLink:
    unit_id: uuid.UUID  # a unit of the island
    attached_to_id: uuid.UUID  # its nearest unit outside the island
    distance_m: float
    island_units: int  # units in the island joined by this link


async def refresh_islands(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    point_units: bool,
) -> list[IslandLink]:
    """Replace the set's island links with those its effective adjacency needs now."""
    ids = await repository.unit_ids(connection, tenant_id=tenant_id, unit_set_id=unit_set_id)
    links: list[IslandLink] = []
    if len(ids) > 1:
        index = {unit_id: i for i, unit_id in enumerate(ids)}
        arrays = await repository.effective_edge_index(
            connection, tenant_id=tenant_id, unit_set_id=unit_set_id, with_islands=False
        )
        edges = np.column_stack(
            [np.array(arrays["a"], dtype=np.int64), np.array(arrays["b"], dtype=np.int64)]
        ).reshape(-1, 2)
        for _ in range(MAX_ROUNDS):
            count, labels = _components(len(ids), edges)
            if count == 1:
                break
            mainland = int(np.bincount(labels).argmax())
            island = np.flatnonzero(labels != mainland)
            sizes = np.bincount(labels)
            nearest = await repository.nearest_outside(
                connection,
                tenant_id=tenant_id,
                unit_set_id=unit_set_id,
                column="point" if point_units else "geom",
                members=[ids[i] for i in island.tolist()],
                components=labels[island].tolist(),
            )
            added = []
            for row in _forest(
                nearest,
                [int(labels[index[r["from_id"]]]) for r in nearest],
                [int(labels[index[r["to_id"]]]) for r in nearest],
            ):
                links.append(
                    IslandLink(
                        row["from_id"],
                        row["to_id"],
                        float(row["distance_m"]),
                        int(sizes[row["component"]]),
                    )
                )
                added.append([index[row["from_id"]], index[row["to_id"]]])
            edges = np.vstack([edges, np.array(added, dtype=np.int64).reshape(-1, 2)])
    await repository.replace_island_links(
        connection,
        tenant_id=tenant_id,
        unit_set_id=unit_set_id,
        a_ids=[link.unit_id for link in links],
        b_ids=[link.attached_to_id for link in links],
        distances=[link.distance_m for link in links],
    )
    return links


def _forest(
    rows: list[asyncpg.Record], from_groups: list[int], to_groups: list[int]
) -> list[asyncpg.Record]:
    """Borůvka's round kept a forest: the shortest links first, each only if it joins two
    groups not joined yet (two islands may pick each other, or tie at 0 m)."""
    parent: dict[int, int] = {}

    def root(group: int) -> int:
        while parent.get(group, group) != group:
            group = parent[group]
        return group

    kept = []
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["distance_m"], str(rows[i]["from_id"])))
    for i in order:
        here, there = root(from_groups[i]), root(to_groups[i])
        if here != there:
            parent[here] = there
            kept.append(rows[i])
    return kept


def _components(n: int, edges: np.ndarray) -> tuple[int, np.ndarray]:
    matrix = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    count, labels = connected_components(matrix, directed=False)
    return int(count), labels

"""Real-ish polygon maps for the planning tests: Voronoi cells of a state's ZIP centroids (the
``zipcodes`` package ships them, no network), clipped to the points' hull, with measures that
follow a fixed heavy-tailed draw, and their rook adjacency computed with shapely."""

import math
from dataclasses import dataclass

import numpy as np
import shapely
import zipcodes
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, Polygon

EARTH_RADIUS_M = 6_371_008.8


@dataclass
class VoronoiMap:
    codes: list[str]
    cells: list[Polygon]  # lon/lat degrees
    measures: NDArray[np.float64]  # (n, 2): accounts, potential
    edges: NDArray[np.int64]
    edge_lengths: NDArray[np.float64]  # metres, roughly
    coordinates: NDArray[np.float64]  # (n, 2) metres


def zip_voronoi(state: str, *, seed: int = 7) -> VoronoiMap:
    rows = sorted(
        (row for row in zipcodes.filter_by(state=state) if row["zip_code_type"] == "STANDARD"),
        key=lambda row: row["zip_code"],
    )
    # Two ZIPs may share a centroid: keep the first, a Voronoi cell needs a site of its own.
    seen: set[tuple[str, str]] = set()
    unique = []
    for row in rows:
        key = (row["lat"], row["long"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    points = np.array([[float(r["long"]), float(r["lat"])] for r in unique])
    hull = MultiPoint(points.tolist()).convex_hull.buffer(0.05)
    regions = shapely.voronoi_polygons(MultiPoint(points.tolist()), extend_to=hull)
    cells_by_site: list[Polygon | None] = [None] * len(points)
    tree = shapely.STRtree(shapely.points(points))
    for region in regions.geoms:
        for site in tree.query(region, predicate="contains"):
            cells_by_site[int(site)] = region.intersection(hull)
    keep = [i for i, cell in enumerate(cells_by_site) if cell is not None and not cell.is_empty]
    cells = [cells_by_site[i] for i in keep]
    points = points[keep]
    codes = [unique[i]["zip_code"] for i in keep]
    rng = np.random.default_rng(seed)
    accounts = np.round(rng.lognormal(3.0, 0.9, len(cells)))
    potential = np.round(accounts * rng.uniform(0.5, 1.5, len(cells)) * 1000)
    lat0 = math.radians(float(points[:, 1].mean()))
    coordinates = np.column_stack(
        [
            EARTH_RADIUS_M * np.radians(points[:, 0]) * math.cos(lat0),
            EARTH_RADIUS_M * np.radians(points[:, 1]),
        ]
    )
    edges, lengths = rook_adjacency(cells, lat0)
    return VoronoiMap(
        codes,
        cells,
        np.column_stack([accounts, potential]),
        edges,
        lengths,
        coordinates,
    )


def rook_adjacency(
    cells: list[Polygon], lat0: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    tree = shapely.STRtree(cells)
    pairs, lengths = [], []
    degree_m = math.radians(1) * EARTH_RADIUS_M
    for i, cell in enumerate(cells):
        for j in tree.query(cell, predicate="intersects"):
            if j <= i:
                continue
            border = cell.boundary.intersection(cells[j].boundary)
            if border.length > 0:
                pairs.append((i, int(j)))
                lengths.append(border.length * degree_m * math.cos(lat0))
    return np.array(pairs, dtype=np.int64), np.array(lengths)

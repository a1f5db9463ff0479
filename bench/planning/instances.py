"""The benchmark's maps, all offline (only what installed packages ship):

- ``nc-counties``: North Carolina's 100 counties as libpysal ships them (``examples/sids2``),
  births 1974 (BIR74) as the measure; ``nc-counties-3m`` adds non-white births (NWBIR74) and
  land area, which pull against births.
- ``grid-*``: a rook lattice with three generated measures.
- ``voronoi-*``: Voronoi cells of clustered random points (half around "metros"), three
  generated measures that follow the point density.
- ``zip-*``: Voronoi cells of the ZIP centroids the ``zipcodes`` package ships (one unit per
  distinct location), clipped to their convex hull; measures follow real density (see
  ``_zip_measures``).

Each is built once and cached as ``.npz`` in ``.run/bench/planning/`` (the ZIP maps of the
contiguous US take ~20 s to build).
"""

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from bench.planning.geometry import attach_islands, polygon_adjacency, voronoi_cells

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".run" / "bench" / "planning"
# Bump when a generator changes: cached instances with another version are rebuilt.
GENERATOR_VERSION = 2
# CONUS Albers equal-area: metres, fine for every map here.
PROJECTED_CRS = "EPSG:5070"
OUTSIDE_CONTIGUOUS_US = {
    *("AK", "HI", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"),
    *("AA", "AE", "AP"),  # military mail
}


@dataclass(frozen=True)
class Instance:
    name: str
    source: str  # where the map comes from, in words
    unit_ids: tuple[str, ...]
    measure_names: tuple[str, ...]
    measures: NDArray[np.float64]  # (n, m)
    tolerances: tuple[float, ...]  # relative, one per measure
    territories: int
    edges: NDArray[np.int64]
    edge_lengths: NDArray[np.float64]
    coordinates: NDArray[np.float64]  # (n, 2) metres
    islands_attached: int = 0

    @property
    def units(self) -> int:
        return len(self.unit_ids)

    def with_measures(self, measures: NDArray[np.float64], name: str) -> "Instance":
        return replace(self, measures=measures, name=name)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": self.name,
            "source": self.source,
            "measure_names": list(self.measure_names),
            "tolerances": list(self.tolerances),
            "territories": self.territories,
            "islands_attached": self.islands_attached,
        }
        np.savez(
            path,
            meta=np.asarray(json.dumps(meta)),
            unit_ids=np.asarray(self.unit_ids),
            measures=self.measures,
            edges=self.edges,
            edge_lengths=self.edge_lengths,
            coordinates=self.coordinates,
        )

    @classmethod
    def load(cls, path: Path) -> "Instance":
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                name=meta["name"],
                source=meta["source"],
                unit_ids=tuple(str(u) for u in data["unit_ids"]),
                measure_names=tuple(meta["measure_names"]),
                measures=data["measures"].astype(np.float64),
                tolerances=tuple(meta["tolerances"]),
                territories=int(meta["territories"]),
                edges=data["edges"].astype(np.int64),
                edge_lengths=data["edge_lengths"].astype(np.float64),
                coordinates=data["coordinates"].astype(np.float64),
                islands_attached=int(meta["islands_attached"]),
            )


@dataclass(frozen=True)
class Spec:
    """How to build one instance: ``kind`` and its parameters; territories and tolerances."""

    name: str
    kind: str  # nc | grid | voronoi | zip
    territories: int
    tolerances: tuple[float, ...]
    size: int = 0  # grid side, voronoi point count
    states: tuple[str, ...] = ()  # zip: state codes, () for the contiguous US
    measures: tuple[str, ...] = ()  # nc: columns of sids2
    seed: int = 0

    def cache_key(self) -> str:
        text = json.dumps([GENERATOR_VERSION, self.__dict__], sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def build(spec: Spec, *, cache_dir: Path = CACHE_DIR) -> tuple[Instance, Path]:
    """The instance of ``spec`` and its cache file (built now when missing)."""
    path = cache_dir / f"{spec.name}-{spec.cache_key()}.npz"
    if path.exists():
        return Instance.load(path), path
    builders = {"nc": _nc_counties, "grid": _grid, "voronoi": _voronoi, "zip": _zip_voronoi}
    instance = builders[spec.kind](spec)
    instance.save(path)
    return instance, path


def _select(
    spec: Spec, names: tuple[str, ...], measures: NDArray[np.float64]
) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """The measures ``spec.measures`` names (all when it names none)."""
    if not spec.measures:
        return names, measures
    columns = [names.index(name) for name in spec.measures]
    return spec.measures, measures[:, columns]


def _finish(
    spec: Spec,
    *,
    source: str,
    unit_ids: list[str],
    measure_names: tuple[str, ...],
    measures: NDArray[np.float64],
    edges: NDArray[np.int64],
    lengths: NDArray[np.float64],
    coordinates: NDArray[np.float64],
) -> Instance:
    adjacency = attach_islands(edges, lengths, coordinates)
    if spec.kind != "nc":
        measures = _cap_heavy_units(measures, spec.territories)
    if len(spec.tolerances) != measures.shape[1]:
        raise ValueError(f"{spec.name}: {measures.shape[1]} measures, {spec.tolerances} tolerances")
    return Instance(
        name=spec.name,
        source=source,
        unit_ids=tuple(unit_ids),
        measure_names=measure_names,
        measures=np.ascontiguousarray(measures, dtype=np.float64),
        tolerances=spec.tolerances,
        territories=spec.territories,
        edges=adjacency.edges,
        edge_lengths=adjacency.lengths,
        coordinates=np.ascontiguousarray(coordinates, dtype=np.float64),
        islands_attached=adjacency.islands_attached,
    )


def _cap_heavy_units(
    measures: NDArray[np.float64], territories: int, share: float = 0.4
) -> NDArray[np.float64]:
    """No generated unit above ``share`` of a territory's target: a unit heavier than a whole
    territory makes every tolerance unreachable, which tests nothing. Real maps stay as they
    are (none of NC's counties comes near)."""
    capped = measures.copy()
    for _ in range(5):
        cap = share * capped.sum(axis=0) / territories
        if np.all(capped <= cap):
            break
        capped = np.minimum(capped, cap)
    return capped


def sids2_path() -> Path:
    import libpysal

    path = Path(libpysal.__file__).parent / "examples" / "sids2" / "sids2.shp"
    if not path.exists():
        raise FileNotFoundError(f"{path}: this libpysal does not ship the sids2 example")
    return path


def _nc_counties(spec: Spec) -> Instance:
    import geopandas

    frame = geopandas.read_file(sids2_path())
    if frame.crs is None:
        # sids2 ships without a .prj: geographic NAD27, as the original NC SIDS data.
        frame = frame.set_crs("EPSG:4267")
    frame = frame.to_crs(PROJECTED_CRS)
    polygons = np.asarray(frame.geometry.values, dtype=object)
    # County lines in this shapefile were digitised separately: neighbours can be a few metres
    # apart, so boundaries are snapped at 50 m and a shared length of 1 km makes a neighbour.
    edges, lengths = polygon_adjacency(polygons, min_shared_length=1000.0, snap=50.0)
    centroids = shapely.get_coordinates(shapely.point_on_surface(polygons))
    columns = spec.measures or ("BIR74",)
    values = []
    for column in columns:
        if column == "AREA_KM2":
            values.append(shapely.area(polygons) / 1e6)
        else:
            values.append(frame[column].to_numpy(dtype=np.float64))
    return _finish(
        spec,
        source="libpysal examples/sids2: North Carolina's 100 counties (shapefile shipped)",
        unit_ids=[str(fips) for fips in frame["FIPS"]],
        measure_names=tuple(columns),
        measures=np.stack(values, axis=1),
        edges=edges,
        lengths=lengths,
        coordinates=centroids,
    )


def _three_measures(
    rng: np.random.Generator, weight: NDArray[np.float64], area: NDArray[np.float64]
) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """accounts (heavy-tailed, scaled by ``weight``), potential (accounts times a skewed
    factor: some accounts are worth far more) and workload (half accounts, half area: travel),
    the three pulling in different directions as real measures do."""
    accounts = np.maximum(1.0, np.round(weight * rng.lognormal(0.0, 0.6, len(weight))))
    potential = accounts * rng.lognormal(0.0, 0.8, len(weight))
    workload = 0.5 * accounts / accounts.mean() + 0.5 * area / area.mean()
    return ("accounts", "potential", "workload"), np.stack([accounts, potential, workload], 1)


def _grid(spec: Spec) -> Instance:
    side = spec.size
    rng = np.random.default_rng(spec.seed)
    rows, cols = np.divmod(np.arange(side * side), side)
    cell = 10_000.0  # 10 km cells
    coordinates = np.stack([cols * cell, rows * cell], axis=1).astype(np.float64)
    index = np.arange(side * side).reshape(side, side)
    horizontal = np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], axis=1)
    vertical = np.stack([index[:-1, :].ravel(), index[1:, :].ravel()], axis=1)
    edges = np.concatenate([horizontal, vertical]).astype(np.int64)
    # A smooth density bump (a "city" off centre) so units are not all alike.
    centre = np.array([0.3, 0.6]) * side * cell
    distance = np.linalg.norm(coordinates - centre, axis=1) / (side * cell)
    weight = 3.0 + 40.0 * np.exp(-((distance / 0.25) ** 2))
    names, measures = _select(
        spec, *_three_measures(rng, weight, np.full(side * side, cell * cell))
    )
    return _finish(
        spec,
        source=f"generated {side}x{side} rook lattice, three measures (seed {spec.seed})",
        unit_ids=[f"g{i}" for i in range(side * side)],
        measure_names=names,
        measures=measures,
        edges=edges,
        lengths=np.full(len(edges), cell),
        coordinates=coordinates,
    )


def _voronoi(spec: Spec) -> Instance:
    rng = np.random.default_rng(spec.seed)
    count = spec.size
    extent = 1_000_000.0 * np.sqrt(count / 3000)  # ~18 km between points, whatever the size
    metros = rng.uniform(0.1, 0.9, (max(3, count // 400), 2)) * extent
    clustered = count // 2
    which = rng.integers(0, len(metros), clustered)
    spread = rng.uniform(0.01, 0.05, len(metros))[which, None] * extent
    points = np.concatenate(
        [
            metros[which] + rng.normal(0.0, 1.0, (clustered, 2)) * spread,
            rng.uniform(0.0, extent, (count - clustered, 2)),
        ]
    )
    points = np.unique(np.round(points), axis=0)
    cells, _ = voronoi_cells(points)
    edges, lengths = polygon_adjacency(cells, min_shared_length=1.0)
    area = shapely.area(cells)
    # Units in dense clusters hold more accounts (density ~ 1 / cell area), sub-linearly.
    weight = 5.0 * (np.median(area) / area) ** 0.6
    names, measures = _select(spec, *_three_measures(rng, weight, area))
    return _finish(
        spec,
        source=f"generated: Voronoi cells of {len(points)} clustered random points "
        f"(half around {len(metros)} metros), three measures (seed {spec.seed})",
        unit_ids=[f"v{i}" for i in range(len(points))],
        measure_names=names,
        measures=measures,
        edges=edges,
        lengths=lengths,
        coordinates=points,
    )


def _zip_measures(
    rng: np.random.Generator,
    points: NDArray[np.float64],
    zip_counts: NDArray[np.float64],
    all_zip_points: NDArray[np.float64],
    area: NDArray[np.float64],
) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """No population ships offline, so a proxy: ZIP codes of every type (PO boxes and unique
    ZIPs crowd into towns and cities) within 20 km per km², a real density. A unit's population
    grows with that density (urban ZIPs hold ~20x a rural one's people, so density^0.7) and with
    the ZIP codes at its location; accounts and potential follow it, workload mixes accounts
    and area (travel)."""
    tree = cKDTree(all_zip_points)
    neighbours = np.asarray([len(found) for found in tree.query_ball_point(points, 20_000.0)])
    density = np.maximum(neighbours, 1) / (np.pi * 20.0**2)
    # Several ZIP codes at one location (a city's PO boxes) add people, but sub-linearly.
    weight = np.sqrt(zip_counts) * (density / np.median(density)) ** 0.7 * 10.0
    return _three_measures(rng, weight, area)


def _in_contiguous_box(lat: str, lon: str) -> bool:
    """A few dozen ZIP codes ship at (0, 0) or without a location: outside the box of the
    contiguous US, they would stretch a state's hull across the ocean."""
    try:
        return 24.0 < float(lat) < 50.0 and -125.0 < float(lon) < -66.0
    except ValueError:
        return False


def _zip_voronoi(spec: Spec) -> Instance:
    import zipcodes
    from pyproj import Transformer

    rows = [
        z
        for z in zipcodes.list_all()
        if z["country"] == "US"
        and _in_contiguous_box(z["lat"], z["long"])
        and (z["state"] in spec.states if spec.states else z["state"] not in OUTSIDE_CONTIGUOUS_US)
    ]
    # The contiguous US has ~37,600 distinct locations over every ZIP type; ~30,000 standard
    # ones: units are the standard ZIPs' locations there, every type's within a state.
    located = [z for z in rows if spec.states or z["zip_code_type"] == "STANDARD"]
    transformer = Transformer.from_crs("EPSG:4326", PROJECTED_CRS, always_xy=True)
    lon = np.asarray([float(z["long"]) for z in located])
    lat = np.asarray([float(z["lat"]) for z in located])
    x, y = transformer.transform(lon, lat)
    raw = np.round(np.stack([x, y], axis=1))
    points, first, counts = np.unique(raw, axis=0, return_index=True, return_counts=True)
    all_lon = np.asarray([float(z["long"]) for z in rows])
    all_lat = np.asarray([float(z["lat"]) for z in rows])
    all_points = np.stack(transformer.transform(all_lon, all_lat), axis=1)
    cells, _ = voronoi_cells(points)
    edges, lengths = polygon_adjacency(cells, min_shared_length=1.0)
    area = shapely.area(cells)
    rng = np.random.default_rng(spec.seed)
    names, measures = _select(
        spec, *_zip_measures(rng, points, counts.astype(np.float64), all_points, area)
    )
    where = ", ".join(spec.states) if spec.states else "the contiguous US (standard ZIPs)"
    return _finish(
        spec,
        source=f"zipcodes package: Voronoi cells of {len(points)} distinct ZIP centroids of "
        f"{where}, clipped to their convex hull; measures from ZIP density (a proxy)",
        unit_ids=[str(located[i]["zip_code"]) for i in first],
        measure_names=names,
        measures=measures,
        edges=edges,
        lengths=lengths,
        coordinates=points,
    )


def shifted(instance: Instance, *, shift: float = 0.10, seed: int = 1) -> Instance:
    """The measures after a ``shift`` (10%) change: a linear trend across the map along a random
    direction, from -shift to +shift, so one side of the map grows and the other shrinks."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2 * np.pi)
    projection = instance.coordinates @ np.array([np.cos(angle), np.sin(angle)])
    span = projection.max() - projection.min()
    trend = (
        2 * (projection - projection.min()) / span - 1 if span > 0 else np.zeros_like(projection)
    )
    factor = 1.0 + shift * trend
    return instance.with_measures(instance.measures * factor[:, None], f"{instance.name}+shift")

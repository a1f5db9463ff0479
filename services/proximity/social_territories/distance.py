"""Which reps are within N km of which accounts: the distance from an account's point to the
nearest polygon of the territories the rep owns (0 inside). Vectorised per rep with shapely 2:
a bounding-box prefilter, ``contains_xy``, then the nearest point on the polygon and the
haversine distance to it (that point is nearest in degrees, so the distance is at most a few
per cent above the geodesic one: the limit is applied slightly conservatively)."""

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


def haversine_km(
    lon1: npt.NDArray[np.float64],
    lat1: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def within(
    *,
    longitudes: npt.NDArray[np.float64],
    latitudes: npt.NDArray[np.float64],
    rep_geometries: list[list[dict[str, Any]]],
    max_km: float,
) -> npt.NDArray[np.bool_]:
    """accounts × reps: the rep owns a polygon within ``max_km`` of the account. An account
    without a location (NaN) and a rep without a polygon are never within."""
    allowed = np.zeros((len(longitudes), len(rep_geometries)), dtype=bool)
    located = np.flatnonzero(~np.isnan(longitudes) & ~np.isnan(latitudes))
    for column, geometries in enumerate(rep_geometries):
        if not geometries or not len(located):
            continue
        area = shapely.union_all([shape(geometry) for geometry in geometries])
        if area.is_empty:
            continue
        west, south, east, north = area.bounds
        pad_lat = max_km / KM_PER_DEGREE
        widest = max(abs(south), abs(north)) + pad_lat
        pad_lon = max_km / (KM_PER_DEGREE * max(math.cos(math.radians(min(widest, 89.9))), 1e-6))
        x, y = longitudes[located], latitudes[located]
        near = (
            (x >= west - pad_lon)
            & (x <= east + pad_lon)
            & (y >= south - pad_lat)
            & (y <= north + pad_lat)
        )
        candidates = located[near]
        if not len(candidates):
            continue
        cx, cy = longitudes[candidates], latitudes[candidates]
        inside = shapely.contains_xy(area, cx, cy)
        allowed[candidates[inside], column] = True
        outside = candidates[~inside]
        if len(outside):
            points = shapely.points(longitudes[outside], latitudes[outside])
            lines = shapely.shortest_line(points, area)
            ends = shapely.get_coordinates(shapely.get_point(lines, 1))
            km = haversine_km(longitudes[outside], latitudes[outside], ends[:, 0], ends[:, 1])
            allowed[outside[km <= max_km], column] = True
    return allowed

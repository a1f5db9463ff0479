"""Bulk assignment of a million leads: POST /assignment/leads:bulk with a CSV, timed until the
job is done; compared with assigning the same number one by one through the single-lead path."""

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

BULK_PATH = "/assignment/leads:bulk"
_CHUNK = 1 << 20
_FINISHED = {"succeeded", "failed", "cancelled"}


@dataclass
class BulkResult:
    rows: int
    upload_bytes: int
    wall_seconds: float
    upload_seconds: float
    status: str
    job: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def bulk_available(base_url: str) -> bool:
    """Whether the running assignment service offers POST /assignment/leads:bulk."""
    try:
        with urllib.request.urlopen(f"{base_url}/assignment/openapi.json", timeout=10) as answer:
            document = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return "post" in document.get("paths", {}).get(BULK_PATH, {})


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            yield chunk


def run_bulk(
    *, base_url: str, api_key: str, csv_path: Path, rows: int, timeout_seconds: float = 900
) -> BulkResult:
    """Upload the CSV, follow the job to its end; wall time runs from the first byte sent."""
    size = csv_path.stat().st_size
    headers = {"X-API-Key": api_key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout_seconds) as client:
        started = time.perf_counter()
        response = client.post(
            BULK_PATH,
            content=_chunks(csv_path),
            headers={"Content-Type": "text/csv", "Content-Length": str(size)},
        )
        upload_seconds = time.perf_counter() - started
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"bulk upload: HTTP {response.status_code}: {response.text[:500]}")
        job = response.json()
        location = response.headers.get("Location") or f"/assignment/jobs/{job['id']}"
        deadline = started + timeout_seconds
        while job.get("status") not in _FINISHED:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"bulk job not done after {timeout_seconds:.0f} s: {job}")
            time.sleep(0.25)
            polled = client.get(location)
            polled.raise_for_status()
            job = polled.json()
        wall_seconds = time.perf_counter() - started
    return BulkResult(
        rows=rows,
        upload_bytes=size,
        wall_seconds=wall_seconds,
        upload_seconds=upload_seconds,
        status=str(job.get("status")),
        job=job,
    )


# The bulk floor: the points of the job's leads (their own, else their postal code's centroid)
# staged before the clock; timed, one spatial join of all of them with territory_part, written
# to an UNLOGGED table as the bulk matcher writes its stages (parallel workers allowed).
_FLOOR_POINTS = """
CREATE UNLOGGED TABLE bench_floor_points AS
SELECT l.job_row_number AS row_number, coalesce(l.location, pc.centroid) AS point
  FROM lead l LEFT JOIN postal_code pc ON pc.country = l.country AND pc.code = l.postal_code
 WHERE l.tenant_id = $1 AND l.job_id = $2
"""
_FLOOR_JOIN = """
CREATE UNLOGGED TABLE bench_floor_join AS
SELECT f.row_number, p.territory_id
  FROM bench_floor_points f
  JOIN territory_part p
    ON p.alignment_id = '{alignment}'::uuid AND p.tenant_id = '{tenant}'::uuid
   AND ST_Intersects(p.geom, f.point)
"""


async def spatial_join_floor(database_url: str, *, tenant_id: str, job_id: str) -> dict[str, Any]:
    """Seconds of the bare spatial join of the job's points (the bulk floor)."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT set_config('app.tenant_id', $1, false)", tenant_id)
        await connection.execute("DROP TABLE IF EXISTS bench_floor_points, bench_floor_join")
        await connection.execute(_FLOOR_POINTS, uuid.UUID(tenant_id), uuid.UUID(job_id))
        await connection.execute("ANALYZE bench_floor_points")
        alignment = await connection.fetchval(
            "SELECT id FROM alignment WHERE tenant_id = $1 AND status = 'active'",
            uuid.UUID(tenant_id),
        )
        started = time.perf_counter()
        await connection.execute(
            _FLOOR_JOIN.format(alignment=uuid.UUID(str(alignment)), tenant=uuid.UUID(tenant_id))
        )
        seconds = time.perf_counter() - started
        points = await connection.fetchval(
            "SELECT count(*) FROM bench_floor_points WHERE point IS NOT NULL"
        )
        await connection.execute("DROP TABLE bench_floor_points, bench_floor_join")
    finally:
        await connection.close()
    return {"seconds": seconds, "points": int(points)}

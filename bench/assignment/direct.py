"""The same database work as POST /assignment/leads, issued straight from asyncpg on uvloop.

Run as its own process (``python -m bench.assignment.direct``) so it never shares an event loop
or a core's GIL with anything else. Per lead it sends exactly the statements the service sends,
through the service's own repository functions and decision code: the match query of the
tenant's compiled alignment, the named-account owner's territory when the lead matched an owned
account, then ``assign_lead_commit``. No transaction is wrapped around them, as in the service
(each statement commits on its own; the write half is one atomic function call). Everything the
service computes in Python before the first statement (validation, the request hash, the
domain) is computed here before the clock starts. Prints one ``BENCH_JSON {...}`` line.

``--floor``: the least any assignment can cost the database, in the same harness: per lead the
bare point-in-polygon query on ``territory_part`` (its point, or its postal code's centroid,
looked up before the clock) and one durable commit of a lead row and an assignment row.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import uvloop

from bench.assignment.cpu import cpu_meter
from services.assignment.lead_pool import SERVER_SETTINGS, init_connection, skip_reset
from services.assignment.leads import repository
from services.assignment.leads import service as lead_service
from services.assignment.leads.compiled_alignment import CompiledAlignment, compile_active_alignment
from services.assignment.leads.schemas import LeadIn
from services.assignment.postal_codes.normalise import normalise_postal_code
from shared.settings import get_settings
from shared.tenancy import TenantBoundConnection, bind_caller, bind_pool_connection


@dataclass(frozen=True)
class PreparedLead:
    lead: LeadIn
    domain: str | None
    postal_code: str | None
    body_hash: str
    columns: dict[str, Any]


def prepare(lead: LeadIn) -> PreparedLead:
    """What the service computes before its first statement, computed outside the clock."""
    domain = lead_service.lead_domain(lead)
    postal_code = (
        normalise_postal_code(lead.country, lead.postal_code)
        if lead.postal_code and lead.country
        else None
    )
    return PreparedLead(
        lead=lead,
        domain=domain,
        postal_code=postal_code,
        body_hash=lead_service.request_hash(lead),
        columns=lead_service._lead_columns(lead, domain=domain, postal_code=postal_code),
    )


async def assign_once(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    prepared: PreparedLead,
) -> None:
    """The statements of one assignment, in the service's order."""
    match = await repository.match_lead(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        lead=prepared.lead,
        domain=prepared.domain,
        postal_code=prepared.postal_code,
        idempotency_key=None,
    )
    decision = await lead_service._decide(
        connection, tenant_id=tenant_id, compiled=compiled, match=match, lead=prepared.lead
    )
    await repository.commit_assignment(
        connection,
        tenant_id=tenant_id,
        alignment_id=compiled.alignment_id,
        territory_id=decision.territory_id,
        fallback_id=compiled.fallback_id,
        fixed_rep_id=decision.fixed_rep_id,
        ranked_rep_ids=None,
        idempotency_key=None,
        request_hash=prepared.body_hash,
        lead=prepared.columns,
        account_id=decision.account_id,
        matched_rule=decision.matched_rule,
        explanation=decision.steps,
    )


# The floor: the bare lookup, then one statement (one commit) writing a lead and its assignment.
_FLOOR_LOOKUP = """
SELECT p.territory_id FROM territory_part p
 WHERE p.alignment_id = $1 AND p.tenant_id = $2
   AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint($3, $4), 4326))
"""
_FLOOR_COMMIT = """
WITH l AS (
    INSERT INTO lead (tenant_id, external_id, location)
    VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326)) RETURNING id
)
INSERT INTO assignment (tenant_id, lead_id, alignment_id, territory_id, matched_rule)
SELECT $1, l.id, $5, $6, 'geography' FROM l
"""


async def floor_once(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    point: tuple[str | None, float, float],
) -> None:
    external_id, longitude, latitude = point
    territory_id = await connection.fetchval(
        _FLOOR_LOOKUP, compiled.alignment_id, tenant_id, longitude, latitude
    )
    await connection.execute(
        _FLOOR_COMMIT,
        tenant_id,
        external_id,
        longitude,
        latitude,
        compiled.alignment_id,
        territory_id,
    )


async def _floor_points(
    connection: asyncpg.Connection, leads: list[PreparedLead]
) -> list[tuple[str | None, float, float]]:
    """Each lead's point, or its postal code's centroid (leads with neither are left out)."""
    codes = {(p.lead.country, p.postal_code) for p in leads if p.postal_code}
    rows = await connection.fetch(
        "SELECT country, code, ST_X(centroid) AS x, ST_Y(centroid) AS y FROM postal_code"
        " WHERE (country, code) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [country for country, _ in codes],
        [code for _, code in codes],
    )
    centroids = {(row["country"], row["code"]): (row["x"], row["y"]) for row in rows}
    points: list[tuple[str | None, float, float]] = []
    for prepared in leads:
        point = prepared.lead.point() or centroids.get(
            (prepared.lead.country, prepared.postal_code)
        )
        if point is not None:
            points.append((prepared.lead.external_id, point[0], point[1]))
    return points


async def run(
    *,
    floor: bool = False,
    tenant_id: uuid.UUID,
    leads_path: Path,
    concurrency: int,
    seconds: float,
    warmup: float,
    postmaster_pid: int | None,
) -> dict[str, Any]:
    lines = leads_path.read_text().splitlines()
    leads = [prepare(LeadIn.model_validate_json(line)) for line in lines if line]
    bind_caller(tenant_id)  # as a request of the tenant: the services' role, row security on
    pool = await asyncpg.create_pool(
        get_settings().libpq_database_url,
        min_size=concurrency,
        max_size=concurrency,
        init=init_connection,  # the lead pool's own (the jsonb codec), settings and reset
        setup=bind_pool_connection,
        reset=skip_reset,
        connection_class=TenantBoundConnection,
        server_settings=get_settings().server_settings("bench-direct", **SERVER_SETTINGS),
    )
    try:
        async with pool.acquire() as connection:
            compiled = await compile_active_alignment(connection, tenant_id=tenant_id)
            points = await _floor_points(connection, leads) if floor else []
        if compiled is None:
            raise RuntimeError("the bench tenant has no active alignment")

        async def worker(index: int, until: float, latencies: list[float] | None) -> int:
            done = 0
            position = index * 7919
            async with pool.acquire() as connection:
                while time.perf_counter() < until:
                    started = time.perf_counter()
                    if floor:
                        point = points[position % len(points)]
                        await floor_once(
                            connection, compiled=compiled, tenant_id=tenant_id, point=point
                        )
                    else:
                        prepared = leads[position % len(leads)]
                        await assign_once(
                            connection, compiled=compiled, tenant_id=tenant_id, prepared=prepared
                        )
                    position += 1
                    if latencies is not None:
                        latencies.append(time.perf_counter() - started)
                    done += 1
            return done

        if warmup > 0:
            until = time.perf_counter() + warmup
            await asyncio.gather(*(worker(i, until, None) for i in range(concurrency)))
        latencies: list[float] = []
        # Measured here, not by the caller: this process's start-up and warm-up stay out, and
        # its Postgres backends (children of the postmaster) exist for the whole window.
        roots = {"postgres": postmaster_pid, "direct client (asyncpg)": os.getpid()}
        with cpu_meter(roots, children_label=None) as meter:
            started = time.perf_counter()
            until = started + seconds
            counts = await asyncio.gather(
                *(worker(i, until, latencies) for i in range(concurrency))
            )
            elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    sample = np.array(latencies) * 1000
    p50, p90, p99, p999 = np.percentile(sample, [50, 90, 99, 99.9])
    return {
        "requests": int(sum(counts)),
        "seconds": elapsed,
        "rate": sum(counts) / elapsed,
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "p999_ms": float(p999),
        "max_ms": float(sample.max()),
        "cpu_seconds": meter.seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.assignment.direct")
    parser.add_argument("--tenant-id", type=uuid.UUID, required=True)
    parser.add_argument("--leads", type=Path, required=True, help="JSON leads, one a line")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--postmaster-pid", type=int, help="to measure Postgres CPU (local DB)")
    parser.add_argument(
        "--floor", action="store_true", help="the floor instead of the service's work"
    )
    args = parser.parse_args(argv)
    result = uvloop.run(
        run(
            floor=args.floor,
            tenant_id=args.tenant_id,
            leads_path=args.leads,
            concurrency=args.concurrency,
            seconds=args.seconds,
            warmup=args.warmup,
            postmaster_pid=args.postmaster_pid,
        )
    )
    print("BENCH_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

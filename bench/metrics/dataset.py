"""The benchmark's data: 1,000 leaf territories under 10 regions, one rep each, accounts, and
``--opportunities`` opportunities plus as many activities over 3 years.

Everything is generated with numpy (vectorised, seeded) into CSV uploads of at most 2.5M rows,
then loaded through the bulk import (gateway → metrics API staging by COPY → job worker:
validation, per-row errors, upsert by external id, stage history) into the tables with their
indexes in place: the wall time from the first upload to the last job's end is the ingest figure.
"""

import io
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

REGIONS = 10
TERRITORIES = 1_000
ACCOUNTS = 100_000
# 2023-12-01 .. 2026-12-01 UTC: three years ending after the quarter the benchmark reads.
SPAN_START = np.datetime64("2023-12-01T00:00:00")
SPAN_SECONDS = 3 * 365 * 86_400
# Rows per upload: ~110 bytes a row keeps each body under the gateway's 512 MB bulk limit.
CHUNK_ROWS = 2_500_000
OPPORTUNITY_HEADER = (
    "external_id,account_external_id,rep_external_id,territory_id,status,amount,opened_at,closed_at"
)
ACTIVITY_HEADER = "external_id,kind,rep_external_id,account_external_id,territory_id,occurred_at"


@dataclass(frozen=True)
class BenchData:
    tenant_id: uuid.UUID
    alignment_id: uuid.UUID
    region_ids: list[uuid.UUID]
    territory_ids: list[uuid.UUID]
    rep_ids: list[uuid.UUID]
    opportunities: int
    activities: int
    ingest_seconds: float
    # Per upload: the job's own timings (receiving, validating, duplicates, writing).
    job_seconds: list[dict[str, Any]]


def _csv(header: str, columns: list[np.ndarray]) -> io.BytesIO:
    """A header and columns (already strings) joined into CSV bytes; empty strings are NULL."""
    lines = columns[0].astype(object)
    for column in columns[1:]:
        lines = lines + "," + column.astype(object)
    return io.BytesIO((header + "\n" + "\n".join(lines.tolist()) + "\n").encode())


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    stamps = (SPAN_START + seconds.astype("timedelta64[s]")).astype(str)
    return np.char.add(stamps, "+00")


Upload = Callable[[list[tuple[str, io.BytesIO]]], Awaitable[tuple[float, list[dict[str, Any]]]]]


async def build(
    connection: asyncpg.Connection,
    *,
    opportunities: int,
    seed: int,
    log: Callable[[str], None],
    add_key: Callable[[uuid.UUID], Awaitable[None]],
    upload: Upload,
) -> BenchData:
    """References inserted directly; opportunities and activities generated as CSV uploads and
    handed to ``upload`` (the bulk import through the gateway and the job worker), which
    answers the wall time of the whole ingest and each job's own timings."""
    rng = np.random.default_rng(seed)
    tenant_id = uuid.uuid4()
    alignment_id = uuid.uuid4()
    slug = f"bench-metrics-{tenant_id.hex[:8]}"
    await connection.execute(
        "INSERT INTO tenant (id, slug, name) VALUES ($1, $2, 'bench metrics')", tenant_id, slug
    )
    await connection.execute(f"SET app.tenant_id = '{tenant_id}'")
    await add_key(tenant_id)
    await connection.execute(
        "INSERT INTO alignment (id, tenant_id, name) VALUES ($1, $2, 'bench')",
        alignment_id,
        tenant_id,
    )
    region_ids = [uuid.uuid4() for _ in range(REGIONS)]
    territory_ids = [uuid.uuid4() for _ in range(TERRITORIES)]
    rep_ids = [uuid.uuid4() for _ in range(TERRITORIES)]
    await connection.copy_records_to_table(
        "territory",
        columns=["id", "tenant_id", "alignment_id", "parent_id", "level", "name"],
        records=[
            (r, tenant_id, alignment_id, None, 0, f"region {i}") for i, r in enumerate(region_ids)
        ]
        + [
            (t, tenant_id, alignment_id, region_ids[i % REGIONS], 1, f"territory {i}")
            for i, t in enumerate(territory_ids)
        ],
    )
    await connection.copy_records_to_table(
        "rep",
        columns=["id", "tenant_id", "external_id", "name", "capacity"],
        records=[(r, tenant_id, f"rep-{i}", f"rep {i}", 150) for i, r in enumerate(rep_ids)],
    )
    await connection.copy_records_to_table(
        "territory_member",
        columns=["id", "tenant_id", "territory_id", "rep_id"],
        records=[
            (uuid.uuid4(), tenant_id, t, r) for t, r in zip(territory_ids, rep_ids, strict=True)
        ],
    )
    account_territory = rng.integers(0, TERRITORIES, ACCOUNTS)
    account_ids = [uuid.uuid4() for _ in range(ACCOUNTS)]
    potential = np.round(rng.lognormal(11, 1, ACCOUNTS), 2)
    await connection.copy_records_to_table(
        "account",
        columns=[
            "id",
            "tenant_id",
            "external_id",
            "name",
            "territory_id",
            "owner_rep_id",
            "potential",
        ],
        records=[
            (a, tenant_id, f"acct-{i}", f"account {i}", territory_ids[t], rep_ids[t], float(p))
            for i, (a, t, p) in enumerate(
                zip(account_ids, account_territory, potential, strict=True)
            )
        ],
    )
    log(f"  references: {REGIONS + TERRITORIES} territories, {ACCOUNTS} accounts")

    territory_text = np.array([str(t) for t in territory_ids])
    generated = time.perf_counter()
    # Opportunities: account → its territory and rep; closed uniformly over the span, opened
    # 1-120 days before; 60% won, 25% lost, 15% still open. Activities likewise random.
    count = opportunities
    chunks: list[tuple[str, io.BytesIO]] = []
    for first in range(0, count, CHUNK_ROWS):
        rows = min(CHUNK_ROWS, count - first)
        account_index = rng.integers(0, ACCOUNTS, rows)
        territory_index = account_territory[account_index]
        closed_seconds = rng.integers(120 * 86_400, SPAN_SECONDS, rows)
        opened_seconds = closed_seconds - rng.integers(86_400, 120 * 86_400, rows)
        status = rng.choice(np.array(["won", "lost", "open"]), rows, p=[0.6, 0.25, 0.15])
        amount = np.char.mod("%.2f", np.round(rng.lognormal(9, 0.8, rows), 2))
        closed = np.where(status == "open", "", _timestamps(closed_seconds))
        chunks.append(
            (
                "opportunities",
                _csv(
                    OPPORTUNITY_HEADER,
                    [
                        np.char.add("opp-", np.arange(first, first + rows).astype(str)),
                        np.char.add("acct-", account_index.astype(str)),
                        np.char.add("rep-", territory_index.astype(str)),
                        territory_text[territory_index],
                        status,
                        amount,
                        _timestamps(opened_seconds),
                        closed,
                    ],
                ),
            )
        )
        activity_account = rng.integers(0, ACCOUNTS, rows)
        activity_territory = account_territory[activity_account]
        chunks.append(
            (
                "activities",
                _csv(
                    ACTIVITY_HEADER,
                    [
                        np.char.add("act-", np.arange(first, first + rows).astype(str)),
                        rng.choice(np.array(["call", "meeting", "email"]), rows),
                        np.char.add("rep-", activity_territory.astype(str)),
                        np.char.add("acct-", activity_account.astype(str)),
                        territory_text[activity_territory],
                        _timestamps(rng.integers(0, SPAN_SECONDS, rows)),
                    ],
                ),
            )
        )
    log(
        f"  generated {count:,} opportunities + activities in {len(chunks)} CSV uploads in "
        f"{time.perf_counter() - generated:.1f} s"
    )
    ingest_seconds, job_seconds = await upload(chunks)
    await connection.execute("ANALYZE opportunity; ANALYZE activity; ANALYZE account")
    # Quotas per territory and rep for every calendar quarter of the span.
    quarters = [(f"{y}-{m:02d}-01", y, m) for y in (2024, 2025, 2026) for m in (1, 4, 7, 10)]
    await connection.execute(
        """
        INSERT INTO quota (id, tenant_id, territory_id, period_start, period_end, amount)
        SELECT gen_random_uuid(), $1, t, q::date, (q::date + interval '3 months')::date, 500000
          FROM unnest($2::uuid[]) t, unnest($3::text[]) q
        """,
        tenant_id,
        territory_ids,
        [q for q, _, _ in quarters],
    )
    return BenchData(
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        region_ids=region_ids,
        territory_ids=territory_ids,
        rep_ids=rep_ids,
        opportunities=count,
        activities=count,
        ingest_seconds=ingest_seconds,
        job_seconds=job_seconds,
    )

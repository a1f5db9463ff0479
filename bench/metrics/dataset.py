"""The benchmark's data: 1,000 leaf territories under 10 regions, one rep each, accounts, and
``--opportunities`` opportunities plus as many activities over 3 years, loaded with COPY.

Everything is generated with numpy (vectorised, seeded) into CSV files, then COPY'd into the
tables with their indexes in place: the load time is the ingest figure.
"""

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import numpy as np

REGIONS = 10
TERRITORIES = 1_000
ACCOUNTS = 100_000
# 2023-12-01 .. 2026-12-01 UTC: three years ending after the quarter the benchmark reads.
SPAN_START = np.datetime64("2023-12-01T00:00:00")
SPAN_SECONDS = 3 * 365 * 86_400


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
    opportunity_ingest_seconds: float


def _csv(columns: list[np.ndarray]) -> io.BytesIO:
    """Columns (already strings) joined into CSV bytes; empty strings are NULL in COPY CSV."""
    lines = columns[0].astype(object)
    for column in columns[1:]:
        lines = lines + "," + column.astype(object)
    return io.BytesIO(("\n".join(lines.tolist()) + "\n").encode())


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    stamps = (SPAN_START + seconds.astype("timedelta64[s]")).astype(str)
    return np.char.add(stamps, "+00")


async def build(
    connection: asyncpg.Connection,
    *,
    opportunities: int,
    seed: int,
    log: Callable[[str], None],
) -> BenchData:
    rng = np.random.default_rng(seed)
    tenant_id = uuid.uuid4()
    alignment_id = uuid.uuid4()
    slug = f"bench-metrics-{tenant_id.hex[:8]}"
    await connection.execute(
        "INSERT INTO tenant (id, slug, name) VALUES ($1, $2, 'bench metrics')", tenant_id, slug
    )
    await connection.execute(f"SET app.tenant_id = '{tenant_id}'")
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
        columns=["id", "tenant_id", "name", "capacity"],
        records=[(r, tenant_id, f"rep {i}", 150) for i, r in enumerate(rep_ids)],
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
    rep_text = np.array([str(r) for r in rep_ids])
    account_text = np.array([str(a) for a in account_ids])
    ingest_started = time.perf_counter()
    # Opportunities: account → its territory and rep; closed uniformly over the span, opened
    # 1-120 days before; 60% won, 25% lost, 15% still open.
    count = opportunities
    account_index = rng.integers(0, ACCOUNTS, count)
    territory_index = account_territory[account_index]
    closed_seconds = rng.integers(120 * 86_400, SPAN_SECONDS, count)
    opened_seconds = closed_seconds - rng.integers(86_400, 120 * 86_400, count)
    status = rng.choice(np.array(["won", "lost", "open"]), count, p=[0.6, 0.25, 0.15])
    amount = np.char.mod("%.2f", np.round(rng.lognormal(9, 0.8, count), 2))
    closed = np.where(status == "open", "", _timestamps(closed_seconds))
    payload = _csv(
        [
            np.full(count, str(tenant_id)),
            np.char.add("opp-", np.arange(count).astype(str)),
            account_text[account_index],
            rep_text[territory_index],
            territory_text[territory_index],
            np.full(count, "bench"),
            status,
            amount,
            amount,
            _timestamps(opened_seconds),
            closed,
        ]
    )
    log(f"  generated {count:,} opportunities in {time.perf_counter() - ingest_started:.1f} s")
    # As the bulk path does (services/assignment/bulk): references are checked set-based before
    # the load (here: generated from the tables), so per-row foreign-key triggers are skipped.
    await connection.execute("SET session_replication_role = replica")
    started = time.perf_counter()
    await connection.copy_to_table(
        "opportunity",
        source=payload,
        columns=[
            "tenant_id",
            "external_id",
            "account_id",
            "rep_id",
            "territory_id",
            "name",
            "status",
            "amount",
            "amount_reporting",
            "opened_at",
            "closed_at",
        ],
        format="csv",
    )
    opportunity_seconds = time.perf_counter() - started
    log(f"  COPY opportunities: {opportunity_seconds:.1f} s")

    activity_account = rng.integers(0, ACCOUNTS, count)
    activity_territory = account_territory[activity_account]
    payload = _csv(
        [
            np.full(count, str(tenant_id)),
            np.char.add("act-", np.arange(count).astype(str)),
            rng.choice(np.array(["call", "meeting", "email"]), count),
            rep_text[activity_territory],
            account_text[activity_account],
            territory_text[activity_territory],
            _timestamps(rng.integers(0, SPAN_SECONDS, count)),
        ]
    )
    started = time.perf_counter()
    await connection.copy_to_table(
        "activity",
        source=payload,
        columns=[
            "tenant_id",
            "external_id",
            "kind",
            "rep_id",
            "account_id",
            "territory_id",
            "occurred_at",
        ],
        format="csv",
    )
    activity_seconds = time.perf_counter() - started
    await connection.execute("SET session_replication_role = DEFAULT")
    log(f"  COPY activities: {activity_seconds:.1f} s")
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
        ingest_seconds=opportunity_seconds + activity_seconds,
        opportunity_ingest_seconds=opportunity_seconds,
    )

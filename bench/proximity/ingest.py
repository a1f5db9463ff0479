"""The generated graph as upload files, and its ingestion through the gateway and the worker.

People (200,000) and connections (1,000,000) go as two CSV uploads to ``/proximity/people:import``
and ``/proximity/connections:import``; the wall time runs from the first byte sent until the
import is done. The baseline in the same run is the bare COPY of the same connection file into
an UNLOGGED table of text (the transfer no ingestion can avoid).
"""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np

from bench.proximity.dataset import KINDS, _ties

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Files:
    tenant_id: uuid.UUID
    rep_ids: list[uuid.UUID]
    account_ids: list[uuid.UUID]  # accounts with contacts
    people_csv: Path
    ties_csv: Path
    people: int
    ties: int


async def prepare(
    connection: asyncpg.Connection,
    directory: Path,
    *,
    tenant_id: uuid.UUID,
    people: int,
    ties: int,
    reps: int,
    accounts: int,
    seed: int = 9,
) -> Files:
    """Reps and accounts rows (the assignment service's, written directly), and the two upload
    files for the same graph ``dataset.load`` generates."""
    rng = np.random.default_rng(seed)
    rep_ids = [uuid.uuid4() for _ in range(reps)]
    account_ids = [uuid.uuid4() for _ in range(accounts)]
    await connection.copy_records_to_table(
        "rep",
        records=[(r, tenant_id, f"Rep {n}") for n, r in enumerate(rep_ids)],
        columns=["id", "tenant_id", "name"],
    )
    await connection.copy_records_to_table(
        "account",
        records=[
            (a, tenant_id, f"bench-acct-{n}", f"Account {n}") for n, a in enumerate(account_ids)
        ],
        columns=["id", "tenant_id", "external_id", "name"],
    )
    sizes = np.clip(rng.zipf(1.8, accounts), 1, 50)
    non_reps = rng.permutation(np.arange(reps, people))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), len(non_reps) * 0.8)]
    account_of = np.full(people, -1)
    account_of[non_reps[: sizes.sum()]] = np.repeat(np.arange(len(sizes)), sizes)
    people_csv = directory / "people.csv"
    employer = [f"bench-acct-{a}" if a >= 0 else "" for a in account_of.tolist()]
    with people_csv.open("w") as out:
        out.write("external_id,kind,name,rep_id,account_external_id\n")
        out.writelines(
            f"p{n},rep,Person {n},{rep_ids[n]},\n"
            if n < reps
            else f"p{n},contact,Person {n},,{employer[n]}\n"
            for n in range(people)
        )
    pairs = _ties(rng, people, ties, reps)
    now = datetime.now(UTC)
    ages = rng.exponential(200.0, len(pairs))
    dated = rng.random(len(pairs)) < 0.7
    strengths = np.round(rng.uniform(0.1, 1.0, len(pairs)), 3)
    kinds = rng.integers(0, len(KINDS), len(pairs))
    counts = rng.integers(1, 40, len(pairs))
    ties_csv = directory / "connections.csv"
    with ties_csv.open("w") as out:
        out.write(
            "person_a_external_id,person_b_external_id,kind,strength,last_interaction_at,"
            "interaction_count\n"
        )
        out.writelines(
            f"p{a},p{b},{KINDS[kind]},{strength},"
            f"{(now - timedelta(days=age)).isoformat() if has_date else ''},{count}\n"
            for (a, b), strength, kind, age, has_date, count in zip(
                pairs.tolist(),
                strengths.tolist(),
                kinds.tolist(),
                ages.tolist(),
                dated.tolist(),
                counts.tolist(),
                strict=True,
            )
        )
    return Files(
        tenant_id=tenant_id,
        rep_ids=rep_ids,
        account_ids=[account_ids[n] for n in range(len(sizes))],
        people_csv=people_csv,
        ties_csv=ties_csv,
        people=people,
        ties=len(pairs),
    )


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            yield chunk


def upload(
    base_url: str, api_key: str, target: str, path: Path, *, timeout: float = 900
) -> dict[str, Any]:
    """POST the file, follow the import until it ends; the import plus the wall seconds."""
    headers = {"X-API-Key": api_key, "Content-Type": "text/csv"}
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        started = time.perf_counter()
        answer = client.post(f"/proximity/{target}:import", content=_chunks(path), headers=headers)
        answer.raise_for_status()
        uploaded = time.perf_counter() - started
        location = answer.headers["Location"]
        while True:
            job = client.get(location, headers=headers).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        job["wall_s"] = round(time.perf_counter() - started, 2)
        job["upload_s"] = round(uploaded, 2)
    return dict(job)


async def copy_floor(connection: asyncpg.Connection, path: Path) -> float:
    """Seconds to COPY the file into an UNLOGGED table of text columns (dropped after)."""
    with path.open() as file:
        columns = file.readline().strip().split(",")
    table = f"bench_copy_floor_{uuid.uuid4().hex[:8]}"
    await connection.execute(
        f"CREATE UNLOGGED TABLE {table} ({', '.join(f'{c} text' for c in columns)})"
    )
    try:
        started = time.perf_counter()
        await connection.copy_to_table(table, source=path, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await connection.execute(f"DROP TABLE {table}")

"""Rankings through the gateway: latency at concurrency 1, throughput at 16, how long a write
takes to show, and a restarted proximity service's first answers."""

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.harness import NginxProcess, ServiceProcess, WorkerProcess, start_services, stop_all
from tests.harness import upstreams_of as _upstreams_of

BUDGET_MS = 150.0


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    values = np.array(samples_ms)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "over_budget": int((values > BUDGET_MS).sum()),
        "n": len(samples_ms),
    }


def ranking_path(account_id: uuid.UUID, *, max_hops: int = 3) -> str:
    return f"/proximity/accounts/{account_id}/reps?max_hops={max_hops}"


async def sequential(base_url: str, api_key: str, paths: Sequence[str]) -> tuple[list[float], int]:
    """Each path once, one at a time; times in ms and the count of non-200 answers."""
    times, errors = [], 0
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for path in paths:
            started = time.perf_counter()
            answer = await client.get(path, headers={"X-API-Key": api_key})
            times.append((time.perf_counter() - started) * 1000)
            errors += answer.status_code != 200
    return times, errors


async def throughput(
    base_url: str, api_key: str, paths: Sequence[str], *, concurrency: int, seconds: float
) -> dict[str, float]:
    """Requests per second with ``concurrency`` clients cycling through ``paths``."""
    done, errors, times = 0, 0, []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal done, errors
        index = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            answer = await client.get(paths[index % len(paths)], headers={"X-API-Key": api_key})
            times.append((time.perf_counter() - started) * 1000)
            done += 1
            errors += answer.status_code != 200
            index += concurrency

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(client_loop(client, offset) for offset in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests_per_s": round(done / elapsed, 1),
        "requests": done,
        "errors": errors,
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p99_ms": round(float(np.percentile(times, 99)), 2),
    }


async def update_visible(
    base_url: str,
    api_key: str,
    *,
    account_id: uuid.UUID,
    rep_id: uuid.UUID,
    rep_person_id: str,
    contact_person_id: str,
    timeout: float = 120,
) -> dict[str, float]:
    """Seconds from a new rep–contact referral tie (POST through the gateway) until the
    account's ranking gives that rep 1.0, and the slowest ranking answered meanwhile."""
    headers = {"X-API-Key": api_key}
    slowest = 0.0
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        started = time.perf_counter()
        answer = await client.post(
            "/proximity/connections",
            json={
                "person_a_id": rep_person_id,
                "person_b_id": contact_person_id,
                "kind": "referral",
                "strength": 1.0,
            },
            headers=headers,
        )
        answer.raise_for_status()
        while time.perf_counter() - started < timeout:
            asked = time.perf_counter()
            ranking = await client.get(
                f"/proximity/accounts/{account_id}/reps?max_hops=3&limit=100", headers=headers
            )
            slowest = max(slowest, (time.perf_counter() - asked) * 1000)
            scores = {r["rep_id"]: r["score"] for r in ranking.json()["ranked"]}
            if scores.get(str(rep_id)) == 1.0:
                break
            await asyncio.sleep(0.05)
        return {
            "visible_s": round(time.perf_counter() - started, 2),
            "slowest_ranking_meanwhile_ms": round(slowest, 1),
        }


@contextmanager
def platform(database_url: str, runtime_dir: Path) -> Iterator[str]:
    """Every service, the worker and nginx (rate limits out of reach) on free ports against
    ``database_url``, for runs without `make run`; yields the gateway's URL."""
    env = {"DATABASE_URL": database_url, "TERRITORY_LOG_JSON": "false"}
    runtime_dir.mkdir(parents=True, exist_ok=True)
    processes = start_services(env=env, log_dir=runtime_dir, timeout=300)
    worker = WorkerProcess(env=env, database_url=database_url, log_dir=runtime_dir)
    nginx = NginxProcess(
        runtime_dir=runtime_dir / "nginx",
        upstreams=_upstreams_of(processes),
        rate_limit_rps=1_000_000,
        rate_limit_burst=1_000_000,
    )
    try:
        with worker, nginx:
            yield nginx.url
    finally:
        stop_all([*processes.values(), worker])


def restarted_service(
    database_url: str, runtime_dir: Path, api_key: str, paths: Sequence[str]
) -> dict[str, Any]:
    """A fresh proximity process (as after a restart or a deploy): seconds until it answers
    /healthz (it builds the largest graphs first), its first rankings, its peak memory."""
    service = ServiceProcess(
        "proximity",
        env={"DATABASE_URL": database_url, "TERRITORY_LOG_JSON": "false"},
        log_dir=runtime_dir,
    )
    started = time.perf_counter()
    service.start(timeout=600)
    ready = time.perf_counter() - started
    try:
        times, errors = asyncio.run(sequential(service.url, api_key, paths))
        status = Path(f"/proc/{service.pid}/status").read_text()
        peak_kb = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
        )
    finally:
        service.stop()
    return {
        "ready_s": round(ready, 1),
        "first_requests": percentiles(times) | {"errors": errors},
        "first_request_ms": round(times[0], 1),
        "service_peak_rss_mb": round(peak_kb / 1024),
    }

"""Bulk uploads above the inline size run on the job worker (a real process, the platform's):
queued, progress, cancel, and a worker killed in the middle of a job."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.assignment.bulk.service import INLINE_ROWS
from tests.assignment.test_bulk import (
    CSV,
    PROBLEM_JSON,
    build_team,
    bulk_write_waiting,
    counters,
    holding_account,
    team_upload,
    upload,
)
from tests.conftest import Platform
from tests.factories import TenantWithKey

ROWS = INLINE_ROWS + 500  # above the inline size: queued for the worker
FINAL = ("succeeded", "failed", "cancelled")


async def wait_for_job(
    client: httpx.AsyncClient, tenant: TenantWithKey, job_id: str, *, timeout: float = 60.0
) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Poll the job until it ends; returns it and the (status, stage) pairs seen on the way."""
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get(f"/assignment/jobs/{job_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if not seen or seen[-1] != (job["status"], job["stage"]):
            seen.append((job["status"], job["stage"]))
        if job["status"] in FINAL:
            return job, seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end within {timeout} s; seen {seen}")


async def written(db: asyncpg.Connection, tenant: TenantWithKey) -> tuple[int, int]:
    t = tenant.tenant_id
    leads = await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", t)
    assignments = await db.fetchval("SELECT count(*) FROM assignment WHERE tenant_id = $1", t)
    return leads, assignments


async def reserved(db: asyncpg.Connection, job_id: str) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM assignment_bulk.reservation WHERE job_id = $1", uuid.UUID(job_id)
    )
    return count


def expected_counters(rows: int) -> tuple[int, list[int], list[int], int]:
    """After one job of ``team_upload(rows)``: turns dealt in id order, one named lead."""
    per_rep = [rows // 3 + (1 if index < rows % 3 else 0) for index in range(3)]
    return rows, per_rep, per_rep, 1


@pytest.fixture
def worker(platform: Platform) -> Iterator[Platform]:
    """The platform, its worker running again (and not paused) after the test."""
    yield platform
    platform.worker.resume()
    if not platform.worker.running:
        platform.worker.start()


async def test_a_large_upload_waits_for_the_worker_and_is_done_by_it(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    worker: Platform,
) -> None:
    team = await build_team(db, tenant)
    worker.worker.pause()  # no worker takes jobs: the upload is answered, the job waits
    response = await upload(gateway_client, tenant, team_upload(ROWS), CSV)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    await asyncio.sleep(1.0)
    job = (await gateway_client.get(f"/assignment/jobs/{job_id}", headers=tenant.headers)).json()
    assert (job["status"], job["stage"]) == ("pending", "queued")
    assert await written(db, tenant) == (0, 0)

    worker.worker.resume()
    job, seen = await wait_for_job(gateway_client, tenant, job_id)
    assert job["status"] == "succeeded", job
    assert (job["total_rows"], job["assigned_rows"], job["failed_rows"]) == (ROWS + 1, ROWS + 1, 0)
    assert ("running", "validating") in seen or ("running", "matching") in seen, seen
    assert await written(db, tenant) == (ROWS + 1, ROWS + 1)
    assert await counters(db, team) == expected_counters(ROWS)
    assert await reserved(db, job_id) == 0
    export = await gateway_client.get(
        f"/assignment/jobs/{job_id}/assignments.csv", headers=tenant.headers
    )
    assert export.status_code == 200
    assert len(export.text.splitlines()) == ROWS + 2  # the header, then one line per row
    # The worker exports the job's run time to Prometheus on its own port.
    metrics = httpx.get(worker.worker.metrics_url, timeout=5.0).text
    succeeded = 'job_duration_seconds_count{outcome="succeeded",task="assignment:lead_upload"}'
    assert any(
        line.startswith(succeeded) and float(line.split()[-1]) >= 1 for line in metrics.splitlines()
    ), metrics


async def test_a_waiting_job_is_cancelled_at_once(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    worker: Platform,
) -> None:
    team = await build_team(db, tenant)
    worker.worker.pause()
    job_id = (await upload(gateway_client, tenant, team_upload(ROWS), CSV)).json()["id"]
    cancel = await gateway_client.post(f"/assignment/jobs/{job_id}:cancel", headers=tenant.headers)
    assert cancel.status_code == 202, cancel.text
    assert (cancel.json()["status"], cancel.json()["error"]) == (
        "cancelled",
        "cancelled on request",
    )
    worker.worker.resume()
    await asyncio.sleep(1.5)  # a worker that took it anyway would have started by now
    job = (await gateway_client.get(f"/assignment/jobs/{job_id}", headers=tenant.headers)).json()
    assert job["status"] == "cancelled" and job["started_at"] is None
    assert await written(db, tenant) == (0, 0)
    assert await counters(db, team) == (0, [0, 0, 0], [0, 0, 0], 0)

    again = await gateway_client.post(f"/assignment/jobs/{job_id}:cancel", headers=tenant.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM_JSON
    assert "already ended (cancelled)" in again.json()["detail"]


async def test_a_running_job_is_cancelled_and_gives_its_turns_back(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    worker: Platform,
) -> None:
    team = await build_team(db, tenant)
    async with holding_account(database_url, tenant, "acc-1"):
        job_id = (await upload(gateway_client, tenant, team_upload(ROWS), CSV)).json()["id"]
        await bulk_write_waiting(db)  # reserved and writing, its transaction open
        assert await counters(db, team) == expected_counters(ROWS)
        foreign = await gateway_client.post(
            f"/assignment/jobs/{job_id}:cancel", headers=other_tenant.headers
        )
        assert foreign.status_code == 404
        cancel = await gateway_client.post(
            f"/assignment/jobs/{job_id}:cancel", headers=tenant.headers
        )
        assert cancel.status_code == 202, cancel.text
        assert cancel.json()["status"] in ("running", "cancelled")
        job, _ = await wait_for_job(gateway_client, tenant, job_id, timeout=10)
    assert (job["status"], job["assigned_rows"]) == ("cancelled", 0), job
    assert "gave its reserved turns back" in job["error"]
    assert await written(db, tenant) == (0, 0)
    assert await counters(db, team) == (0, [0, 0, 0], [0, 0, 0], 0)
    assert await reserved(db, job_id) == 0


@pytest.mark.parametrize("attempts", [3, 1], ids=["retried", "out-of-attempts"])
async def test_a_killed_worker_s_job_finishes_on_a_restarted_one_or_fails_cleanly(
    attempts: int,
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    tenant: TenantWithKey,
    worker: Platform,
) -> None:
    """SIGKILL while the job writes (its turns reserved and committed, its rows not): within
    a minute the restarted worker gives the turns back and runs the job again, all of it once;
    or, out of attempts, fails it with the reason, nothing written, the turns given back."""
    team = await build_team(db, tenant)
    process = worker.worker
    async with holding_account(database_url, tenant, "acc-1"):
        job_id = (await upload(gateway_client, tenant, team_upload(ROWS), CSV)).json()["id"]
        await bulk_write_waiting(db)
        assert await counters(db, team) == expected_counters(ROWS)
        assert await reserved(db, job_id) > 0
        process.kill()
        killed_at = time.monotonic()
    # The held account is free again: a retry can write. The dead session's writes are gone.
    assert await written(db, tenant) == (0, 0)
    process.env["TERRITORY_JOB_MAX_ATTEMPTS"] = str(attempts)
    try:
        process.start()
        job, _ = await wait_for_job(gateway_client, tenant, job_id, timeout=60)
    finally:
        process.env.pop("TERRITORY_JOB_MAX_ATTEMPTS")
        process.stop()
        process.start()
    assert time.monotonic() - killed_at < 60
    assert await reserved(db, job_id) == 0
    if attempts > 1:
        assert job["status"] == "succeeded", job
        assert await written(db, tenant) == (ROWS + 1, ROWS + 1)
        assert await counters(db, team) == expected_counters(ROWS)  # counted once
    else:
        assert (job["status"], job["assigned_rows"]) == ("failed", 0), job
        assert "its worker stopped before it finished (1 time)" in job["error"]
        assert "gave its reserved turns back" in job["error"]
        assert await written(db, tenant) == (0, 0)
        assert await counters(db, team) == (0, [0, 0, 0], [0, 0, 0], 0)


async def test_a_stopping_worker_requeues_its_job_and_the_next_one_finishes_it(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    tenant: TenantWithKey,
    worker: Platform,
) -> None:
    """SIGTERM while the job writes: the job gets the worker's shutdown grace (5 s here), then
    gives its turns back and goes back to the queue, pending; the next worker finishes it."""
    team = await build_team(db, tenant)
    process = worker.worker
    async with holding_account(database_url, tenant, "acc-1"):
        job_id = (await upload(gateway_client, tenant, team_upload(ROWS), CSV)).json()["id"]
        await bulk_write_waiting(db)
        process.stop(timeout=30)  # TERM; returns once the worker has exited
        job = (
            await gateway_client.get(f"/assignment/jobs/{job_id}", headers=tenant.headers)
        ).json()
        assert (job["status"], job["stage"], job["error"]) == ("pending", "queued", None), job
        assert await counters(db, team) == (0, [0, 0, 0], [0, 0, 0], 0)
        assert await reserved(db, job_id) == 0
    process.start()
    job, _ = await wait_for_job(gateway_client, tenant, job_id, timeout=60)
    assert job["status"] == "succeeded", job
    assert await written(db, tenant) == (ROWS + 1, ROWS + 1)
    assert await counters(db, team) == expected_counters(ROWS)


async def test_inline_jobs_cannot_be_cancelled_and_unknown_jobs_are_404(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    team = await build_team(db, tenant)
    assert team.reps
    job = (await upload(gateway_client, tenant, team_upload(5), CSV)).json()
    assert job["status"] == "succeeded"
    ended = await gateway_client.post(
        f"/assignment/jobs/{job['id']}:cancel", headers=tenant.headers
    )
    assert ended.status_code == 409 and "already ended (succeeded)" in ended.json()["detail"]
    missing = await gateway_client.post(
        f"/assignment/jobs/{uuid.uuid4()}:cancel", headers=tenant.headers
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON

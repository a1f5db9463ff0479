"""Prometheus metrics of one service app, in process: routes by template, pools, assignments,
and the job queue depth read from procrastinate's table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from services.assignment.app import create_app as create_assignment_app
from services.gateway.app import create_app as create_gateway_app
from shared.observability.metrics import METRICS_PATH, observe_job, serve_metrics
from shared.settings import Settings
from tests.assignment.territory_factories import (
    add_member,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey
from tests.harness import LOCALHOST, free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get(METRICS_PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def assignment_app(settings: Settings) -> FastAPI:
    return create_assignment_app(settings)


@pytest.fixture
async def assignment(
    app_client: AppClientFactory, assignment_app: FastAPI
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(assignment_app) as client:
        yield client


async def test_requests_are_counted_by_route_template_never_by_raw_path(
    assignment: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    template = "/assignment/assignments/{assignment_id}"
    before = await scrape(assignment)
    missing = uuid.uuid4()
    for _ in range(2):
        response = await assignment.get(
            f"/assignment/assignments/{missing}", headers=tenant.headers
        )
        assert response.status_code == 404
    await assignment.get(f"/assignment/no-such-thing/{missing}", headers=tenant.headers)
    await assignment.request("BREW", "/assignment/reps", headers=tenant.headers)
    after = await scrape(assignment)

    requests = "http_requests_total"
    assert value(after, requests, route=template, method="GET", status="404") - value(
        before, requests, route=template, method="GET", status="404"
    ) == pytest.approx(2)
    duration = "http_request_duration_seconds_count"
    assert value(after, duration, route=template, method="GET") - value(
        before, duration, route=template, method="GET"
    ) == pytest.approx(2)
    assert value(after, requests, route="unmatched", method="GET", status="404") > value(
        before, requests, route="unmatched", method="GET", status="404"
    )
    assert not any(str(missing) in dict(labels).get("route", "") for _, labels in after)
    # A made-up method is "other", with the 405 of the route it hit.
    assert value(after, requests, route="/assignment/reps", method="other", status="405") > 0
    assert not any(dict(labels).get("method") == "BREW" for _, labels in after)


async def test_both_database_pools_report_their_use(
    assignment: httpx.AsyncClient, assignment_app: FastAPI, settings: Settings
) -> None:
    lead_pool: asyncpg.Pool = assignment_app.state.lead_pool
    async with lead_pool.acquire():
        held = await scrape(assignment)
    released = await scrape(assignment)
    leads = {"service": "assignment", "pool": "leads"}
    assert value(held, "db_pool_connections", **leads, state="in_use") == 1
    assert value(released, "db_pool_connections", **leads, state="in_use") == 0
    assert value(released, "db_pool_connections", **leads, state="idle") >= 1
    assert value(released, "db_pool_max_connections", **leads) == settings.db_pool_size
    orm = {"service": "assignment", "pool": "sqlalchemy"}
    assert value(released, "db_pool_max_connections", **orm) == (
        settings.db_pool_size + settings.db_max_overflow
    )
    assert ("db_pool_connections", frozenset({**orm, "state": "idle"}.items())) in released


async def test_assignments_are_counted_by_rule_and_outcome(
    assignment: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    alignment = await make_alignment(db, tenant_id=tenant.tenant_id)
    territory = await make_territory(
        db, tenant_id=tenant.tenant_id, alignment_id=alignment, name="Rest", is_fallback=True
    )
    rep = await make_rep(db, tenant_id=tenant.tenant_id, name="Robin")
    await add_member(db, tenant_id=tenant.tenant_id, territory_id=territory, rep_id=rep)
    labels = {"rule": "fallback", "distribution": "round_robin", "path": "single"}
    before = await scrape(assignment)
    headers = {**tenant.headers, "Idempotency-Key": f"lead-{uuid.uuid4()}"}
    for _ in range(2):  # the second is a replay: it wrote nothing
        response = await assignment.post(
            "/assignment/leads", json={"email": "pat@nowhere.example"}, headers=headers
        )
        assert response.status_code == 201, response.text
    after = await scrape(assignment)

    def delta(outcome: str) -> float:
        name = "lead_assignments_total"
        return value(after, name, **labels, outcome=outcome) - value(
            before, name, **labels, outcome=outcome
        )

    assert (delta("rep"), delta("replayed"), delta("queued")) == (1, 1, 0)


async def test_metrics_are_refused_to_requests_through_a_proxy(
    assignment: httpx.AsyncClient,
) -> None:
    response = await assignment.get(METRICS_PATH, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
async def queue_database(database_url: str) -> AsyncIterator[str]:
    """An empty database of its own: a stand-in ``procrastinate_jobs`` (the columns the depth
    query reads, as procrastinate names them) must not reach the suite's worker."""
    name = f"territory_queue_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = database_url.rsplit("/", 1)[0] + "/" + name
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_queue_depth_is_read_from_procrastinate_jobs_when_it_exists(
    app_client: AppClientFactory, queue_database: str
) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    depth = "jobs_queue_depth"
    gateway_settings = Settings(database_url=queue_database, log_json=False, log_level="WARNING")
    async with app_client(create_gateway_app(gateway_settings)) as gateway:
        without_table = await scrape(gateway)
        assert value(without_table, depth, queue=queue, status="todo") == 0

        connection = await asyncpg.connect(queue_database)
        try:
            # Where the queue's migration puts it, readable by the services' role as there.
            role = gateway_settings.database_role
            await connection.execute(
                "CREATE SCHEMA procrastinate;"
                " CREATE TABLE procrastinate.procrastinate_jobs (id bigserial PRIMARY KEY,"
                " queue_name text NOT NULL, task_name text NOT NULL, status text NOT NULL);"
                f" GRANT USAGE ON SCHEMA procrastinate TO {role};"
                f" GRANT SELECT ON procrastinate.procrastinate_jobs TO {role}"
            )
            await connection.executemany(
                "INSERT INTO procrastinate.procrastinate_jobs (queue_name, task_name, status)"
                " VALUES ($1, 'bulk_assign', $2)",
                [(queue, "todo"), (queue, "todo"), (queue, "doing"), (queue, "succeeded")],
            )
            busy = await scrape(gateway)
            await connection.execute("DELETE FROM procrastinate.procrastinate_jobs")
            drained = await scrape(gateway)
        finally:
            await connection.close()

    assert value(busy, depth, queue=queue, status="todo") == 2
    assert value(busy, depth, queue=queue, status="doing") == 1
    assert (depth, frozenset({"queue": queue, "status": "succeeded"}.items())) not in busy
    # An emptied queue reads 0 instead of vanishing (an absent series would hide it).
    assert (depth, frozenset({"queue": queue, "status": "todo"}.items())) in drained
    assert value(drained, depth, queue=queue, status="todo") == 0


def test_the_worker_api_times_jobs_by_outcome_and_serves_the_registry() -> None:
    task = f"task_{uuid.uuid4().hex[:8]}"
    with observe_job(task):
        pass
    with pytest.raises(RuntimeError), observe_job(task):
        raise RuntimeError("the job failed")
    port = free_port()
    serve_metrics(port=port, address=LOCALHOST)  # a daemon thread, as in the worker
    response = httpx.get(f"http://{LOCALHOST}:{port}/metrics", timeout=10.0)
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    for outcome in ("succeeded", "failed"):
        labels = frozenset({"task": task, "outcome": outcome}.items())
        assert samples[("job_duration_seconds_count", labels)] == 1
    assert samples[("jobs_running", frozenset({"task": task}.items()))] == 0

"""Postgres restarted (cleanly, and crash-like) under a single-lead load through nginx.

Every request answered 201 is in the database afterwards; requests meeting the outage get a 503
problem+json with Retry-After, never a 500, a 502 or a hang; the service recovers without being
restarted; and retrying the refused requests with their Idempotency-Key leaves exactly one
assignment per lead. The database is a throwaway cluster of this module (tests/faults/cluster.py):
the suite's shared server is never restarted.
"""

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine, create_sessionmaker
from shared.errors import PROBLEM_CONTENT_TYPE, is_database_unavailable
from shared.settings import Settings
from tests.assignment.territory_factories import (
    add_member,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.conftest import alembic_config
from tests.factories import TenantWithKey, make_tenant
from tests.faults.cluster import ThrowawayCluster
from tests.faults.load import LeadLoad, Outcome
from tests.harness import (
    LOCALHOST,
    SERVICE_NAMES,
    NginxProcess,
    free_port,
    start_services,
    stop_all,
    upstreams_of,
)

logger = logging.getLogger(__name__)

CLIENTS = 4
# Successful assignments before the fault: the load is in full swing when the database goes.
ACKED_BEFORE_FAULT = 30
# The service must answer 201 again within this long after the database accepts connections.
RECOVERY_BOUND_SECONDS = 5.0
# How long the load goes on after the first success following the restart: every request of
# that stretch must succeed (no stale pooled connection fails later).
STEADY_AFTER_RECOVERY_SECONDS = 1.5
# A request slower than this hung on the outage instead of being refused.
MAX_REQUEST_SECONDS = 10.0
# The services' TERRITORY_DB_CONNECT_TIMEOUT_SECONDS in this module.
CONNECT_TIMEOUT_SECONDS = 2.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    """A fresh cluster with the `territory` database migrated to head."""
    cluster = ThrowawayCluster()
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        command.upgrade(alembic_config(cluster.url), "head")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def gateway_url(
    cluster: ThrowawayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The assignment service on the throwaway cluster behind its own nginx.

    Only the service under test runs: the other upstreams point at a port nothing listens on.
    """
    env = {
        "DATABASE_URL": cluster.url,
        "TERRITORY_LOG_JSON": "false",
        "TERRITORY_LOG_LEVEL": "WARNING",
        "TERRITORY_DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
    }
    services = start_services(
        ["assignment"], env=env, log_dir=tmp_path_factory.mktemp("restart-logs")
    )
    nobody = f"{LOCALHOST}:{free_port()}"
    nginx = NginxProcess(
        runtime_dir=tmp_path_factory.mktemp("restart-nginx"),
        upstreams={**dict.fromkeys(SERVICE_NAMES, nobody), **upstreams_of(services)},
        rate_limit_rps=10_000,
        rate_limit_burst=10_000,
    )
    try:
        with nginx:
            yield nginx.url
    finally:
        stop_all(services.values())


@pytest.fixture(scope="module")
async def tenant(cluster: ThrowawayCluster) -> TenantWithKey:
    """A tenant whose every lead lands in one round-robin territory of three reps."""
    engine = create_engine(
        Settings(database_url=cluster.url), application_name="tests", as_owner=True
    )
    try:
        tenant = await make_tenant(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(cluster.url)
    try:
        t = tenant.tenant_id
        alignment = await make_alignment(connection, tenant_id=t)
        territory = await make_territory(
            connection, tenant_id=t, alignment_id=alignment, name="Everything", is_fallback=True
        )
        for index in range(3):
            rep = await make_rep(connection, tenant_id=t, name=f"rep {index}")
            await add_member(connection, tenant_id=t, territory_id=territory, rep_id=rep)
    finally:
        await connection.close()
    return tenant


@asynccontextmanager
async def _connect(cluster: ThrowawayCluster) -> AsyncIterator[asyncpg.Connection]:
    """A connection made now (any made before a restart is gone with it)."""
    connection = await asyncpg.connect(cluster.url)
    try:
        yield connection
    finally:
        await connection.close()


def _assert_database_unavailable(outcome: Outcome) -> None:
    assert outcome.body is not None
    assert outcome.headers.get("content-type") == PROBLEM_CONTENT_TYPE, outcome
    assert outcome.body["type"] == "/problems/database-unavailable", outcome
    assert outcome.body["status"] == 503 and outcome.body["detail"], outcome
    assert outcome.headers.get("retry-after", "").isdigit(), outcome


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restart_under_load_loses_no_acknowledged_assignment(
    mode: str,
    cluster: ThrowawayCluster,
    gateway_url: str,
    tenant: TenantWithKey,
) -> None:
    run = f"{mode}-{uuid.uuid4().hex[:6]}"
    async with LeadLoad(
        base_url=gateway_url,
        headers=tenant.headers,
        clients=CLIENTS,
        lead_for=lambda index: {"external_id": f"{run}-{index}"},
        key_prefix=run,
    ) as load:
        assert await load.wait_for(
            lambda outcomes: sum(o.status == 201 for o in outcomes) >= ACKED_BEFORE_FAULT, 30
        ), f"the load never got going: {load.outcomes[:3]}"
        fault_at = load.now()
        await asyncio.to_thread(cluster.restart, mode)
        up_at = load.now()
        recovered = await load.wait_for(
            lambda outcomes: any(o.status == 201 and o.started >= up_at for o in outcomes),
            RECOVERY_BOUND_SECONDS,
        )
        await asyncio.sleep(STEADY_AFTER_RECOVERY_SECONDS)
    outcomes = load.outcomes

    acked = [o for o in outcomes if o.status == 201]
    refused = [o for o in outcomes if o.status == 503]
    others = [o for o in outcomes if o.status not in (201, 503)]
    first_success_after = min(
        (o.started + o.seconds for o in acked if o.started >= up_at), default=float("inf")
    )
    async with _connect(cluster) as db:  # what the database holds, its WAL replayed
        stored = await db.fetchval(
            "SELECT count(*) FROM assignment WHERE tenant_id = $1 AND id = ANY ($2::uuid[])",
            tenant.tenant_id,
            [o.assignment_id for o in acked],
        )
    figures = (
        f"restart -m {mode}: {len(outcomes)} requests, {len(acked)} acked (201), "
        f"{len(acked) - stored} acked but lost, {len(refused)} answered 503, {len(others)} other; "
        f"outage {up_at - fault_at:.2f} s, recovery {first_success_after - up_at:.2f} s after the "
        f"database accepted, slowest request {max(o.seconds for o in outcomes):.2f} s"
    )
    logger.warning(figures)

    assert others == [], f"{figures}\nnot 201 or 503: {[(o.status, o.body) for o in others[:3]]}"
    assert stored == len(acked), figures
    assert refused, f"no request met the outage: {figures}"
    for outcome in refused:
        _assert_database_unavailable(outcome)
    assert recovered, f"no 201 within {RECOVERY_BOUND_SECONDS} s of the restart: {figures}"
    after_recovery = [o for o in outcomes if o.started >= first_success_after]
    assert after_recovery and all(o.status == 201 for o in after_recovery), figures
    assert max(o.seconds for o in outcomes) < MAX_REQUEST_SECONDS, figures

    # The refused requests, retried with their Idempotency-Key as Retry-After invites, are
    # assigned (or answered with the assignment whose commit the outage hid): one per lead.
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, limits=limits) as client:
        retries = await asyncio.gather(
            *(
                client.post(
                    "/assignment/leads",
                    json=outcome.lead,
                    headers={**tenant.headers, "Idempotency-Key": outcome.idempotency_key},
                )
                for outcome in refused
            )
        )
    assert [retry.status_code for retry in retries] == [201] * len(refused), figures
    async with _connect(cluster) as db:
        per_lead = await db.fetch(
            """
            SELECT l.external_id, count(*) AS assignments
              FROM assignment a JOIN lead l ON l.id = a.lead_id
             WHERE a.tenant_id = $1 AND l.external_id LIKE $2
             GROUP BY l.external_id
            """,
            tenant.tenant_id,
            f"{run}-%",
        )
    assert len(per_lead) == len(outcomes), figures
    assert all(row["assignments"] == 1 for row in per_lead), figures


async def test_while_the_database_is_down_every_kind_of_request_gets_503_then_recovers(
    cluster: ThrowawayCluster, gateway_url: str, tenant: TenantWithKey
) -> None:
    # The raw asyncpg lead pool, the SQLAlchemy pool of the CRUD routes, and authentication
    # (a key not in the service's cache is looked up in the database) each meet the outage.
    requests = [
        (
            "POST",
            "/assignment/leads",
            {"external_id": f"down-{uuid.uuid4().hex[:6]}"},
            tenant.token,
        ),
        ("GET", "/assignment/reps", None, tenant.token),
        ("GET", "/assignment/reps", None, f"unknown-{uuid.uuid4().hex}"),
    ]
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:

        async def send(method: str, path: str, body: object, token: str) -> httpx.Response:
            return await client.request(method, path, json=body, headers={"X-API-Key": token})

        for request in requests[:2]:  # warm the pools and the key cache
            assert (await send(*request)).status_code in (200, 201)
        await asyncio.to_thread(cluster.stop)
        try:
            for request in requests:
                response = await send(*request)
                assert response.status_code == 503, (request, response.text)
                assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
                assert response.json()["type"] == "/problems/database-unavailable"
                assert response.headers["retry-after"].isdigit()
        finally:
            await asyncio.to_thread(cluster.start)
        # No restart of the service: its pools reconnect on the next request.
        statuses = [(await send(*request)).status_code for request in requests]
    assert statuses == [201, 200, 401]


async def test_an_unresponsive_database_is_a_503_within_the_connect_timeout(
    cluster: ThrowawayCluster, gateway_url: str, tenant: TenantWithKey
) -> None:
    # A frozen postmaster: the kernel still completes TCP handshakes, but no connection ever
    # gets its startup answer (as with an overloaded server or half a network partition).
    requests = [
        ("POST", "/assignment/leads", {"external_id": f"frozen-{uuid.uuid4().hex[:6]}"}),
        ("GET", "/assignment/reps", None),
    ]
    async with httpx.AsyncClient(
        base_url=gateway_url, timeout=30, headers=tenant.headers
    ) as client:
        for method, path, body in requests:  # warm the key cache: only the pools meet the fault
            assert (await client.request(method, path, json=body)).status_code in (200, 201)
        # The service's pooled connections go (their backends end), so it must connect anew.
        cluster.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name IN ('assignment', 'assignment-leads')"
        )
        postmaster_pid = cluster.postmaster_pid()
        os.kill(postmaster_pid, signal.SIGSTOP)
        try:
            for method, path, body in requests:
                started = time.monotonic()
                response = await client.request(method, path, json=body)
                elapsed = time.monotonic() - started
                assert response.status_code == 503, (path, response.text)
                assert response.json()["type"] == "/problems/database-unavailable"
                assert response.headers["retry-after"].isdigit()
                # One connect attempt; slack for a loaded machine, far below asyncpg's 60 s.
                assert elapsed < CONNECT_TIMEOUT_SECONDS + 3, (path, elapsed)
        finally:
            os.kill(postmaster_pid, signal.SIGCONT)
        statuses = [(await client.request(m, p, json=b)).status_code for m, p, b in requests]
    assert statuses == [201, 200]


async def test_errors_of_a_connection_the_server_ended_count_as_unavailable(
    cluster: ThrowawayCluster,
) -> None:
    """What both drivers raise when the server ends a connection mid-statement (as a restart
    does to every open one) is an outage; a statement's own error is not."""
    engine = create_engine(Settings(database_url=cluster.url), application_name="classify")
    raw = await asyncpg.connect(cluster.url, server_settings={"application_name": "classify"})
    caught: list[BaseException] = []

    async def sleep_on_sqlalchemy() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(30)"))

    async def sleep_on_asyncpg() -> None:
        await raw.execute("SELECT pg_sleep(30)")

    try:
        sleepers = [
            asyncio.create_task(sleep()) for sleep in (sleep_on_sqlalchemy, sleep_on_asyncpg)
        ]
        async with _connect(cluster) as admin:
            while (
                await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'classify'"
                    " AND query LIKE '%pg_sleep%' AND state = 'active'"
                )
                < 2
            ):
                await asyncio.sleep(0.02)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'classify'"
            )
        for sleeper in sleepers:
            with pytest.raises(Exception) as error:
                await sleeper
            caught.append(error.value)
        async with engine.connect() as connection:  # the pool recovers: pre-ping reconnects
            with pytest.raises(DBAPIError) as statement_error:
                await connection.execute(text("SELECT 1 / 0"))
    finally:
        await engine.dispose()
        await raw.close()

    assert isinstance(caught[0], DBAPIError), caught  # SQLAlchemy wraps asyncpg's error
    assert [is_database_unavailable(error) for error in caught] == [True, True], caught
    assert not is_database_unavailable(statement_error.value)

"""Suite-wide fixtures: a fresh migrated PostGIS database, tenants, in-process and real apps."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker
from shared.settings import Settings
from tests.factories import TenantWithKey, make_tenant
from tests.harness import (
    SERVICE_URL_ENV,
    NginxProcess,
    ServiceProcess,
    WorkerProcess,
    start_services,
    stop_all,
    upstreams_of,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TERRITORY_DATABASE_URL")
    if not url:
        pytest.exit(
            "DATABASE_URL is not set: run the suite with `make test` (it starts the embedded "
            "PostGIS cluster) or point DATABASE_URL at a PostgreSQL server with PostGIS.",
            returncode=2,
        )
    return Settings(database_url=url).libpq_database_url


def _with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def alembic_config(database_url: str) -> Config:
    config = Config(os.path.join(REPO_ROOT, "alembic.ini"))
    config.attributes["database_url"] = Settings(database_url=database_url).database_url
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    server_url = _server_url()
    name = f"territory_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    command.upgrade(alembic_config(url), "head")
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database, for arranging rows and checking them."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_json=False, log_level="WARNING")


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """As the owner: tests arrange and check rows of many tenants. The apps under test get
    ``settings`` and run as the services' role, held to row-level security."""
    engine = create_engine(settings, application_name="tests", as_owner=True)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> TenantWithKey:
    """A new tenant per test, with a read/write/admin key: tests never see each other's rows."""
    return await make_tenant(sessionmaker)


@pytest.fixture
async def other_tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> TenantWithKey:
    return await make_tenant(sessionmaker)


AppClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def app_client() -> AppClientFactory:
    """In-process client for one service app, with its lifespan run (engine, clients)."""

    @asynccontextmanager
    async def open_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client

    return open_client


@pytest.fixture(scope="session")
def service_env(database_url: str) -> dict[str, str]:
    """Environment for real service processes: the test database, plain-text logs."""
    return {
        "DATABASE_URL": database_url,
        "TERRITORY_LOG_JSON": "false",
        "TERRITORY_LOG_LEVEL": "WARNING",
        # Correctness tests must not depend on how loaded the test machine is; the fallback on
        # a slow or absent proximity service has its own test.
        "TERRITORY_PROXIMITY_RANKING_TIMEOUT_SECONDS": "5",
        # Every test client is 127.0.0.1: a few tests' made-up keys must not block the fresh
        # keys of all the others. The per-address limit has its own tests (test_auth_limit.py).
        "TERRITORY_AUTH_FAILURE_LIMIT": "1000000",
    }


@pytest.fixture(scope="session")
async def api_key(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    """A read/write/admin token of a tenant shared by the session's process-level tests."""
    return (await make_tenant(sessionmaker)).token


@dataclass(frozen=True)
class Platform:
    """Every service under uvicorn behind a real nginx, and the job worker: what a CRM talks
    to."""

    url: str
    services: dict[str, ServiceProcess]
    worker: WorkerProcess
    access_log: Path


# The platform's worker notices a dead worker's jobs within seconds (production: 20 s).
WORKER_ENV = {
    "TERRITORY_WORKER_HEARTBEAT_SECONDS": "1",
    "TERRITORY_WORKER_STALLED_SECONDS": "4",
    "TERRITORY_WORKER_SHUTDOWN_SECONDS": "5",
    # Webhook retries within seconds (production: 2 s doubling, dead after 8 attempts).
    "TERRITORY_WEBHOOK_BACKOFF_SECONDS": "0.2",
    "TERRITORY_WEBHOOK_MAX_ATTEMPTS": "3",
    "TERRITORY_WEBHOOK_TIMEOUT_SECONDS": "3",
}


@pytest.fixture(scope="session")
def platform(
    service_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    log_dir = tmp_path_factory.mktemp("platform-logs")
    processes = start_services(env=service_env, log_dir=log_dir)
    # The worker calls services too (social territories read the assignment service).
    service_urls = {SERVICE_URL_ENV[name]: process.url for name, process in processes.items()}
    worker = WorkerProcess(
        env={**service_env, **WORKER_ENV, **service_urls},
        database_url=database_url,
        log_dir=log_dir,
    )
    # A generous rate limit: rate limiting has its own tests (tests/gateway/test_nginx.py).
    nginx = NginxProcess(
        runtime_dir=tmp_path_factory.mktemp("platform-nginx"),
        upstreams=upstreams_of(processes),
        rate_limit_rps=10_000,
        rate_limit_burst=10_000,
    )
    try:
        with worker, nginx:
            yield Platform(
                url=nginx.url,
                services=processes,
                worker=worker,
                access_log=nginx.runtime_dir / "logs" / "access.log",
            )
    finally:
        stop_all([*processes.values(), worker])


@pytest.fixture
async def gateway_client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30.0) as client:
        yield client

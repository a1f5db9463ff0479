"""The migration tree: head builds the whole schema on an empty database and base removes it."""

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy.ext.asyncio import create_async_engine

from shared.models import Base
from tests.conftest import _server_url, _with_database, alembic_config

EXPECTED_TABLES = {
    "tenant", "api_key", "audit_event", "change_request", "change_request_event", "comment",
    "crm_connector", "planning_settings", "idempotency_record", "rep", "alignment", "territory",
    "territory_member", "territory_turn", "account", "lead", "assignment", "postal_code",
    "basic_unit", "unit_adjacency", "scenario", "person", "connection", "proximity_graph_version",
    "proximity_job", "opportunity", "activity", "quota", "metrics_settings", "exchange_rate",
    "territory_part", "assignment_job", "assignment_job_error", "assignment_transition",
    "territory_tile_geometry",
    "opportunity_stage", "opportunity_history", "metrics_import_job", "metrics_import_error",
    "potential_model_run", "account_potential_estimate",
    "outbox_event", "webhook_subscription", "webhook_delivery",
    "social_territory_job",
    "proximity_settings", "proximity_import", "proximity_import_error",
    "unit_set", "adjacency_override", "unit_import", "unit_import_upload",
}  # fmt: skip


async def _query(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


@pytest.fixture
def empty_database() -> Iterator[str]:
    server_url = _server_url()
    name = f"territory_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_query(server_url, f'CREATE DATABASE "{name}"'))
    yield _with_database(server_url, name)
    asyncio.run(_query(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables(url: str) -> set[str]:
    rows = asyncio.run(_query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    return {row["tablename"] for row in rows} - {"alembic_version", "spatial_ref_sys"}


def _extensions(url: str) -> set[str]:
    return {row["extname"] for row in asyncio.run(_query(url, "SELECT extname FROM pg_extension"))}


def _queue_tables(url: str) -> set[str]:
    """procrastinate's tables (the job queue), in a schema of their own."""
    rows = asyncio.run(
        _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'procrastinate'")
    )
    return {row["tablename"] for row in rows}


def test_upgrade_head_then_downgrade_base(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    assert _tables(empty_database) == EXPECTED_TABLES
    assert {"procrastinate_jobs", "procrastinate_workers"} <= _queue_tables(empty_database)
    assert "postgis" in _extensions(empty_database)
    gist_indexes = asyncio.run(
        _query(empty_database, "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%gist%'")
    )
    assert {"idx_territory_geom", "idx_basic_unit_geom", "idx_account_location"} <= {
        row["indexname"] for row in gist_indexes
    }

    command.downgrade(config, "base")
    assert _tables(empty_database) == set()
    assert _queue_tables(empty_database) == set()
    assert "postgis" not in _extensions(empty_database)

    command.upgrade(config, "head")  # and the tree can be climbed again
    assert _tables(empty_database) == EXPECTED_TABLES


def test_models_and_migrations_agree(database_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the migrations describe one schema."""

    async def differences() -> list[object]:
        async_engine = create_async_engine(
            database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        )
        async with async_engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync,
                        opts={
                            "compare_type": True,
                            "include_object": alembic_helpers.include_object,
                        },
                    ),
                    Base.metadata,
                )
            )
        await async_engine.dispose()
        return list(diff)

    assert asyncio.run(differences()) == []

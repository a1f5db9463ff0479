"""Row-level security, the second wall: a query that forgets its tenant filter still sees and
writes nothing of another tenant, on every tenant table of the models."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from services.assignment.lead_pool import skip_reset
from shared.db import create_engine, create_sessionmaker
from shared.models import Base
from shared.settings import Settings
from shared.tenancy import TenantBoundConnection, bind_caller, bind_pool_connection, clear_caller
from tests.factories import TenantWithKey

APP_ROLE = "territory_app"
# Tables whose rows belong to a tenant without a tenant_id column of their own.
OWNED_THROUGH_JOB = "assignment_job_error"
TENANT_TABLES = sorted(
    table.name for table in Base.metadata.tables.values() if "tenant_id" in table.c
)
# The owner manages these across tenants (admin command line, key lookup): row security is on
# but not forced on the owner.
NOT_FORCED = {"tenant", "api_key"}

_LOW_UUID = "'00000000-0000-0000-0000-000000000000'::uuid"
# Values the tables' check constraints ask for (the rest is filled by type).
OVERRIDES: dict[str, dict[str, str]] = {
    "alignment": {"status": "'draft'"},
    "scenario": {"status": "'pending'"},
    "territory": {"distribution_rule": "'round_robin'"},
    "territory_member": {"role": "'owner'"},
    "assignment_transition": {"from_status": "'open'", "to_status": "'closed'"},
    "unit_adjacency": {"unit_a_id": _LOW_UUID},
    "adjacency_override": {"unit_a_id": _LOW_UUID, "action": "'add'"},
    "unit_import": {"format": "'geojson'"},
    "opportunity": {"status": "'open'"},
    "opportunity_history": {"status": "'open'"},
    "opportunity_stage": {"status": "'open'"},
    "person": {"kind": "'contact'"},
    "quota": {
        "rep_id": "gen_random_uuid()",
        "period_start": "now()",
        "period_end": "now() + interval '1 day'",
    },
    "connection": {"person_a_id": _LOW_UUID, "strength": "0.5"},
    "comment": {"subject_type": "'scenario'"},
    "crm_connector": {"kind": "'hubspot'"},
}

_COLUMNS = """
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typtype::text,
       t.typcategory::text,
       a.atttypid, a.atttypmod
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
 WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
   AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
"""


def _value(column: asyncpg.Record) -> str:
    """A valid value for a NOT NULL column without default, by its type."""
    kind, category = column["type"], column["typcategory"]
    if column["typtype"] == "e":
        return (
            f"(SELECT enumlabel FROM pg_enum WHERE enumtypid = {column['atttypid']}"
            f" ORDER BY enumsortorder LIMIT 1)::{kind}"
        )
    if kind.startswith("geometry"):
        # geometry(Type,SRID): the column's own SRID (4326 for most, 3857 for tile geometry).
        srid = kind.rstrip(")").rsplit(",", 1)[-1] if "," in kind else "4326"
        if "multipolygon" in kind.lower():
            return f"ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, {srid}))"
        if "polygon" in kind.lower():
            return f"ST_MakeEnvelope(0, 0, 1, 1, {srid})"
        return f"ST_SetSRID(ST_MakePoint(0.5, 0.5), {srid})"
    if kind == "uuid":
        return "gen_random_uuid()"
    if category == "S":
        length = column["atttypmod"] - 4 if column["atttypmod"] > 4 else 12
        return f"left(md5(random()::text), {min(length, 12)})"
    if category == "N":
        return "1"
    if kind == "boolean":
        return "true"
    if kind in {"jsonb", "json"}:
        return "'{}'"
    if category == "A":
        return "'{}'"
    if category == "D":
        return "now()"
    raise AssertionError(f"no test value for a column of type {kind}")


async def _insert_row(
    connection: asyncpg.Connection, table: str, tenant_id: uuid.UUID, **fixed: str
) -> None:
    """One row of ``table`` for the tenant, every required column filled by type (foreign keys
    are not checked: the caller runs with session_replication_role = replica)."""
    values = {"tenant_id": f"'{tenant_id}'::uuid"} if table != "tenant" else {}
    if table == "tenant":
        values["id"] = f"'{tenant_id}'::uuid"
    for column in await connection.fetch(_COLUMNS, table):
        values.setdefault(column["name"], _value(column))
    values.update(OVERRIDES.get(table, {}))
    values.update(fixed)
    await connection.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(values.values())})"
    )


@pytest.fixture
async def both_tenants_everywhere(
    db: asyncpg.Connection, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> AsyncIterator[asyncpg.Connection]:
    """A row of each tenant in every tenant table, in a transaction rolled back afterwards; the
    connection then acts as the services' role for ``tenant``."""
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute("SET LOCAL session_replication_role = replica")
        for owner in (tenant, other_tenant):
            for table in TENANT_TABLES:
                if table not in {"tenant", "api_key"}:
                    await _insert_row(db, table, owner.tenant_id)
            job_id = await db.fetchval(
                "SELECT id FROM assignment_job WHERE tenant_id = $1", owner.tenant_id
            )
            await db.execute(
                "INSERT INTO assignment_job_error (job_id, row_number, message)"
                " VALUES ($1, 1, 'bad row')",
                job_id,
            )
        for table in [*TENANT_TABLES, OWNED_THROUGH_JOB]:
            assert await db.fetchval(f"SELECT count(*) FROM {table}") >= 2, table
        await db.execute(f"SET LOCAL ROLE {APP_ROLE}")
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))
        yield db
    finally:
        await transaction.rollback()


async def test_every_tenant_table_has_its_policy_forced(db: asyncpg.Connection) -> None:
    rows = await db.fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid
                          AND p.polname = 'tenant_isolation') AS has_policy
          FROM pg_class c
         WHERE c.relname = ANY ($1::text[]) AND c.relnamespace = 'public'::regnamespace
        """,
        [*TENANT_TABLES, OWNED_THROUGH_JOB],
    )
    assert len(rows) == len(TENANT_TABLES) + 1
    for row in rows:
        assert row["relrowsecurity"] and row["has_policy"], row["relname"]
        assert row["relforcerowsecurity"] == (row["relname"] not in NOT_FORCED), row["relname"]
    assert "rep" in TENANT_TABLES and "audit_event" in TENANT_TABLES
    assert "postal_code" not in TENANT_TABLES  # global reference data


async def test_a_query_without_tenant_filter_sees_only_its_tenant(
    both_tenants_everywhere: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    connection = both_tenants_everywhere
    for table in TENANT_TABLES:
        if table == "api_key":
            continue  # not readable by the services at all (next test)
        column = "id" if table == "tenant" else "tenant_id"
        seen = await connection.fetch(f"SELECT {column} AS tenant_id FROM {table}")
        assert seen, f"{table}: the tenant's own rows must stay visible"
        assert {row["tenant_id"] for row in seen} == {tenant.tenant_id}, table
    errors = await connection.fetch(
        f"SELECT j.tenant_id FROM {OWNED_THROUGH_JOB} e JOIN assignment_job j ON j.id = e.job_id"
    )
    assert [row["tenant_id"] for row in errors] == [tenant.tenant_id]
    assert await connection.fetchval(f"SELECT count(*) FROM {OWNED_THROUGH_JOB}") == 1


async def test_api_keys_are_out_of_the_services_reach(
    both_tenants_everywhere: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    connection = both_tenants_everywhere
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with connection.transaction():
            await connection.fetch("SELECT * FROM api_key")
    # The lookup function is the only way in: by hash, any tenant's key (auth comes first).
    found = await connection.fetch(
        "SELECT tenant_id FROM authenticate_api_key(encode(sha256($1::bytea), 'hex'))",
        tenant.token.encode(),
    )
    assert [row["tenant_id"] for row in found] == [tenant.tenant_id]


async def test_writes_of_another_tenant_are_refused(
    both_tenants_everywhere: asyncpg.Connection,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
) -> None:
    connection = both_tenants_everywhere
    writable = [t for t in TENANT_TABLES if t not in {"tenant", "api_key"}]
    for table in writable:
        # Each attempt in a savepoint: a refusal aborts only it.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with connection.transaction():
                await _insert_row(connection, table, other_tenant.tenant_id)
        if table in {"audit_event", "assignment_transition"}:
            continue  # append-only: no UPDATE or DELETE for anyone but the owner
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with connection.transaction():
                await connection.execute(
                    f"UPDATE {table} SET tenant_id = $1", other_tenant.tenant_id
                )
        # Another tenant's rows are not there to change or delete.
        assert (
            await connection.execute(
                f"DELETE FROM {table} WHERE tenant_id = $1", other_tenant.tenant_id
            )
            == "DELETE 0"
        )
    await connection.execute("RESET ROLE")  # the owner, a moment, to learn the other's job id
    other_job = await connection.fetchval(
        "SELECT id FROM assignment_job WHERE tenant_id = $1", other_tenant.tenant_id
    )
    await connection.execute(f"SET LOCAL ROLE {APP_ROLE}")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with connection.transaction():
            await connection.execute(
                f"INSERT INTO {OWNED_THROUGH_JOB} (job_id, row_number, message)"
                " VALUES ($1, 2, 'x')",
                other_job,
            )
    for forged in (
        "UPDATE audit_event SET action = 'forged'",
        "UPDATE assignment_transition SET reason = 'forged'",
        "DELETE FROM assignment_transition",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with connection.transaction():
                await connection.execute(forged)


async def test_without_a_tenant_nothing_is_visible_or_writable(
    both_tenants_everywhere: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """Decided: a missing (or empty) app.tenant_id means no rows and no writes, not an error,
    so a forgotten binding fails closed."""
    connection = both_tenants_everywhere
    await connection.execute("SELECT set_config('app.tenant_id', '', true)")
    for table in [t for t in TENANT_TABLES if t != "api_key"] + [OWNED_THROUGH_JOB]:
        assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with connection.transaction():
            await _insert_row(connection, "rep", tenant.tenant_id)


async def test_the_services_connect_as_a_role_held_to_row_security(
    settings: Settings, tenant: TenantWithKey
) -> None:
    engine = create_engine(settings, application_name="tests-rls")
    try:
        async with engine.connect() as connection:
            role = (
                await connection.execute(
                    text(
                        """
                        SELECT current_user AS name, r.rolsuper, r.rolbypassrls,
                               (SELECT count(*) FROM pg_class c
                                 WHERE c.relowner = r.oid AND c.relkind = 'r'
                                   AND c.relnamespace = 'public'::regnamespace) AS owned
                          FROM pg_roles r WHERE r.rolname = current_user
                        """
                    )
                )
            ).one()
            assert (role.name, role.rolsuper, role.rolbypassrls, role.owned) == (
                APP_ROLE,
                False,
                False,
                0,
            )
            # No tenant bound in this context: the tenant's own row is hidden too.
            assert (await connection.execute(text("SELECT count(*) FROM tenant"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_point_in_territory_lookups_keep_their_gist_index(
    both_tenants_everywhere: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """Under row security only leakproof functions may be index conditions: st_intersects is
    marked so by the migration, else every lead scans its tenant's whole alignment."""
    connection = both_tenants_everywhere
    await connection.execute("SET LOCAL enable_seqscan = off")
    await connection.execute("SET LOCAL enable_bitmapscan = off")
    plan = "\n".join(
        row[0]
        for row in await connection.fetch(
            "EXPLAIN SELECT territory_id FROM territory_part p"
            " WHERE ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326))"
        )
    )
    assert "idx_territory_part_geom" in plan, plan


async def test_connections_follow_the_tenant_of_each_request(
    settings: Settings, db: asyncpg.Connection, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    """The lead pool rebinds a connection only when the tenant changes, and never leaves it
    bound to the previous one; the request session binds each transaction."""
    for owner in (tenant, other_tenant):
        await db.execute(
            "INSERT INTO rep (tenant_id, name) VALUES ($1, $2)", owner.tenant_id, owner.slug
        )
    pool = await asyncpg.create_pool(
        settings.libpq_database_url,
        min_size=1,
        max_size=1,  # one connection, so every checkout reuses it
        setup=bind_pool_connection,
        reset=skip_reset,
        connection_class=TenantBoundConnection,
        server_settings=settings.server_settings("tests-rls-pool"),
    )
    engine = create_engine(settings, application_name="tests-rls-session")
    sessionmaker = create_sessionmaker(engine)
    try:
        for caller in (tenant, tenant, other_tenant, None, tenant):
            if caller is None:
                clear_caller()
            else:
                bind_caller(caller.tenant_id)
            expected = [caller.slug] if caller is not None else []
            async with pool.acquire() as connection:
                assert [row["name"] for row in await connection.fetch("SELECT name FROM rep")] == (
                    expected
                )
            async with sessionmaker() as session:
                assert list(await session.scalars(text("SELECT name FROM rep"))) == expected
    finally:
        clear_caller()
        await pool.close()
        await engine.dispose()

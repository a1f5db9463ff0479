"""Row-level security on every tenant table, and the role the services run as.

The second wall behind the explicit ``tenant_id`` filters: a query that forgets its filter sees
nothing of another tenant.

- Role ``territory_app`` (NOLOGIN, not superuser, no BYPASSRLS, owns nothing): the services
  assume it at connect (``TERRITORY_DATABASE_ROLE``, a startup parameter, no round trip). It
  may read and write the tenant tables, read ``postal_code`` (global reference data, no row
  security), insert and read ``audit_event`` (never change it) and create the bulk module's
  working tables. It has no privilege on ``api_key``: the key lookup before the tenant is known
  goes through the SECURITY DEFINER function ``authenticate_api_key``. The admin command line
  and migrations connect as the owner (``TERRITORY_MIGRATION_DATABASE_URL``).
- Every table with a ``tenant_id`` column (found at upgrade time, so tables added by earlier
  migrations are covered) gets ENABLE + FORCE ROW LEVEL SECURITY and the policy
  ``tenant_isolation``: ``tenant_id = current_tenant_id()``, for reads (USING) and writes
  (WITH CHECK). ``tenant`` itself: ``id = current_tenant_id()``. ``assignment_job_error``
  (no tenant column): rows of the tenant's jobs.
- ``current_tenant_id()`` is ``app.tenant_id`` of the transaction or session, NULL when it is
  missing or empty (a setting once set in a session reverts to '' after its transaction), so a
  connection without a tenant sees no rows and every write is refused.
- FORCE: an owner is subject to the policies too (superusers never are), so data migrations run
  by a non-superuser owner must set ``app.tenant_id``. ``tenant`` and ``api_key`` are not
  FORCEd: the owner manages them across tenants (the admin command line), and the lookup
  function runs as the owner and must find a key of any tenant.
- ``st_intersects(geometry, geometry)`` is marked LEAKPROOF: under row security, a qual whose
  function is not leakproof may not be used as an index condition, so every point-in-territory
  lookup (the lead hot path, bulk matching, unit adjacency) lost its GiST index. Its only
  errors concern SRIDs and geometry types, the same (4326) for every row. Needs a superuser;
  without one a WARNING says what to run.
- ``territory_app`` may SET ``session_replication_role`` (PostgreSQL 15 parameter privilege,
  cluster-wide, so not revoked on downgrade): the bulk write skips per-row foreign-key triggers
  when allowed (services/assignment/bulk/repository.py ``can_skip_row_triggers``), as it did
  when the services ran as a superuser.

Revision ID: 756e7c1b5f29
Revises: 5351158d7fde
Create Date: 2026-11-29 23:50:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "756e7c1b5f29"
down_revision: str | None = "5351158d7fde"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
POLICY = "tenant_isolation"
# Tables of other kinds, or handled on their own below.
NOT_TENANT_TABLES = {"alembic_version", "spatial_ref_sys", "postal_code", "tenant", "api_key"}

CREATE_ROLE = (
    f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created at the same moment by a migration of another database on this cluster
END
$$
""",
    """
DO $$
BEGIN
    -- A non-superuser login role may only assume roles it is a member of.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
END
$$
""",
)

CURRENT_TENANT_ID = """
CREATE FUNCTION current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$fn$;
"""

# The key lookup of shared/auth.py: find a valid key by its hash and, at most once a minute,
# stamp last_used_at. Returns api_key rows, so a column added to api_key reaches the caller.
AUTHENTICATE_API_KEY = """
CREATE FUNCTION authenticate_api_key(p_key_hash text) RETURNS SETOF api_key
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    WITH found AS (
        SELECT * FROM api_key
         WHERE key_hash = p_key_hash AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())
    ), touched AS (
        UPDATE api_key SET last_used_at = now() FROM found
         WHERE api_key.id = found.id
           AND (api_key.last_used_at IS NULL
                OR api_key.last_used_at < now() - interval '1 minute')
        RETURNING api_key.id
    )
    SELECT * FROM found
$fn$
"""

SUPERUSER_ONLY = f"""
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION st_intersects(geometry, geometry) LEAKPROOF;
        GRANT SET ON PARAMETER session_replication_role TO {APP_ROLE};
    ELSE
        RAISE WARNING 'not a superuser: ask one to run ALTER FUNCTION st_intersects(geometry, '
            'geometry) LEAKPROOF (else spatial lookups under row security cannot use their '
            'GiST indexes) and GRANT SET ON PARAMETER session_replication_role TO {APP_ROLE} '
            '(else bulk writes fire per-row foreign-key triggers)';
    END IF;
END
$$;
"""


def _tenant_tables() -> list[str]:
    rows = op.get_bind().execute(
        text(
            """
            SELECT c.table_name FROM information_schema.columns c
              JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
               AND t.table_type = 'BASE TABLE'
             ORDER BY c.table_name
            """
        )
    )
    return [row.table_name for row in rows if row.table_name not in NOT_TENANT_TABLES]


def _own_tables() -> list[str]:
    rows = op.get_bind().execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tableowner = current_user ORDER BY tablename"
        )
    )
    return [row.tablename for row in rows]


def _enable(table: str, using: str, *, force: bool = True) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    if force:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({using}) WITH CHECK ({using})")


def upgrade() -> None:
    for statement in CREATE_ROLE:
        op.execute(statement)
    op.execute(CURRENT_TENANT_ID)

    tables = _tenant_tables()
    for table in tables:
        _enable(table, "tenant_id = current_tenant_id()")
    _enable("tenant", "id = current_tenant_id()", force=False)
    _enable("api_key", "tenant_id = current_tenant_id()", force=False)
    _enable(
        "assignment_job_error",
        "EXISTS (SELECT FROM assignment_job j"
        " WHERE j.id = job_id AND j.tenant_id = current_tenant_id())",
    )

    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA assignment_bulk TO {APP_ROLE}")
    # Every table of the services (tenant tables, and any other a migration before this one
    # added, e.g. a job queue's), but those handled one by one below.
    writable = [
        table for table in _own_tables() if table not in NOT_TENANT_TABLES | {"audit_event"}
    ]
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(writable)} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_event TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON postal_code TO {APP_ROLE}")
    # Its own tenant only; UPDATE on a column because FOR KEY SHARE (bulk's lock on the rows its
    # leads point at) asks for an UPDATE privilege.
    op.execute(f"GRANT SELECT, UPDATE (name) ON tenant TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON assignment_bulk.reservation TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA assignment_bulk TO {APP_ROLE}")
    # Tables later migrations create (as this role) are the services' to use; a tenant table
    # among them still needs its policy (tests/shared/test_row_level_security.py checks).
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}"
    )
    # The job queue (procrastinate, migration 5351158d7fde): the services defer jobs and the
    # worker runs them as this role; its tables hold no tenant rows (a job's arguments name its
    # tenant, whose rows the job then reads under row security).
    op.execute(f"GRANT USAGE ON SCHEMA procrastinate TO {APP_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA procrastinate TO {APP_ROLE}"
    )
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA procrastinate TO {APP_ROLE}")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA procrastinate TO {APP_ROLE}")
    op.execute(AUTHENTICATE_API_KEY)
    op.execute("REVOKE ALL ON FUNCTION authenticate_api_key(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION authenticate_api_key(text) TO {APP_ROLE}")
    op.execute(SUPERUSER_ONLY)


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                ALTER FUNCTION st_intersects(geometry, geometry) NOT LEAKPROOF;
            END IF;
        END
        $$;
        """
    )
    op.execute("DROP FUNCTION authenticate_api_key(text)")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}"
    )
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA procrastinate FROM {APP_ROLE}")
    for schema in ("public", "assignment_bulk", "procrastinate"):
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {APP_ROLE}")
    op.execute("REVOKE UPDATE (name) ON tenant FROM " + APP_ROLE)
    rows = op.get_bind().execute(
        text("SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = :p"),
        {"p": POLICY},
    )
    for row in list(rows):
        op.execute(f"DROP POLICY {POLICY} ON {row.tablename}")
        op.execute(f"ALTER TABLE {row.tablename} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {row.tablename} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION current_tenant_id()")
    # The role and its parameter privilege are cluster-wide, shared with every database of
    # this cluster, so they stay.

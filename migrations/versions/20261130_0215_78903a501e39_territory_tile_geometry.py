"""Vector tiles: territory polygons projected to web Mercator and simplified per zoom band.

- ``territory_tile_geometry`` (territory_id, band, tenant_id, alignment_id, geom in EPSG:3857):
  one row per territory and zoom band (services/assignment/tiles/sql/territory_tile_geometry.sql
  says how much each is simplified; repository.ZOOM_BANDS which zooms read it), a partial GiST
  index per band. A tile then clips a few
  prepared vertices instead of projecting and simplifying every full-detail polygon it touches
  (bench/map measures both). Row-level security as every tenant table.
- Statement-level triggers on ``territory`` (insert, and update when the polygon changed) keep
  it current on every write path; deletes cascade. Existing territories are filled in here,
  tenant by tenant (FORCEd row security holds a non-superuser owner too).

Revision ID: 78903a501e39
Revises: dbec349b0273
Create Date: 2026-11-30 02:15:00
"""

from collections.abc import Sequence
from pathlib import Path

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

revision: str = "78903a501e39"
down_revision: str | None = "dbec349b0273"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
# One partial GiST index per zoom band: a tile reads one band, and the band's index alone finds
# its rows (the band is a literal in the tile statement, so even generic plans use it).
BANDS = range(6)
_FUNCTIONS = (
    Path(__file__).resolve().parents[2]
    / "services"
    / "assignment"
    / "tiles"
    / "sql"
    / "territory_tile_geometry.sql"
)

_BACKFILL = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
        INSERT INTO territory_tile_geometry (territory_id, band, tenant_id, alignment_id, geom)
        SELECT t.id, b.band, t.tenant_id, t.alignment_id, b.geom
        FROM territory t CROSS JOIN LATERAL territory_tile_bands(t.geom) b
        WHERE t.tenant_id = v_tenant AND t.geom IS NOT NULL;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$
"""


def _execute_script(sql: str) -> None:
    """Run a script of several statements (``$fn$`` bodies) as it is: through asyncpg's simple
    query protocol, in the migration's transaction."""
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))


def upgrade() -> None:
    op.create_table(
        "territory_tile_geometry",
        sa.Column("territory_id", sa.UUID(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("alignment_id", sa.UUID(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                srid=3857, spatial_index=False, from_text="ST_GeomFromEWKT", name="geometry"
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_territory_tile_geometry_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_territory_tile_geometry_territory_id_territory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("territory_id", "band", name=op.f("pk_territory_tile_geometry")),
    )
    op.create_index(
        op.f("ix_territory_tile_geometry_tenant_id"),
        "territory_tile_geometry",
        ["tenant_id"],
        unique=False,
    )
    for band in BANDS:
        op.create_index(
            f"idx_territory_tile_geometry_geom_band_{band}",
            "territory_tile_geometry",
            ["geom"],
            unique=False,
            postgresql_using="gist",
            postgresql_where=sa.text(f"band = {band}"),
        )
    op.execute("ALTER TABLE territory_tile_geometry ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE territory_tile_geometry FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON territory_tile_geometry"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON territory_tile_geometry TO {APP_ROLE}")
    _execute_script(_FUNCTIONS.read_text())
    op.execute(
        "CREATE TRIGGER territory_insert_refreshes_tile_geometry AFTER INSERT ON territory"
        " REFERENCING NEW TABLE AS territory_new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION refresh_territory_tile_geometry()"
    )
    op.execute(
        "CREATE TRIGGER territory_update_refreshes_tile_geometry AFTER UPDATE ON territory"
        " REFERENCING OLD TABLE AS territory_old_rows NEW TABLE AS territory_new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION refresh_territory_tile_geometry()"
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER territory_update_refreshes_tile_geometry ON territory")
    op.execute("DROP TRIGGER territory_insert_refreshes_tile_geometry ON territory")
    op.execute("DROP FUNCTION refresh_territory_tile_geometry()")
    op.execute("DROP FUNCTION territory_tile_bands(geometry)")
    for band in BANDS:
        op.drop_index(
            f"idx_territory_tile_geometry_geom_band_{band}",
            table_name="territory_tile_geometry",
            postgresql_using="gist",
            postgresql_where=sa.text(f"band = {band}"),
        )
    op.drop_index(
        op.f("ix_territory_tile_geometry_tenant_id"), table_name="territory_tile_geometry"
    )
    op.drop_table("territory_tile_geometry")

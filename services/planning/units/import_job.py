"""A bulk import of units on the job worker: the upload (GeoJSON FeatureCollection or NDJSON of
features) parsed, checked and written by set-based SQL in one transaction, then the set's
adjacency (shared borders, or the given edges and the points' Voronoi cells) and islands.

Every feature with a problem is reported (1-based feature number, unit code, field, message);
any problem writes nothing unless the import was asked to skip bad features. Progress goes
through a second connection, so it is seen while the import's transaction is open.
"""

import json
import logging
import time
import uuid
from typing import Any

import asyncpg

from services.planning.units import islands, repository
from shared.jobs.connection import open_job_connection
from shared.settings import Settings

logger = logging.getLogger(__name__)

MAX_FEATURES = 200_000
MAX_ERRORS_LISTED = 1_000

# One row per feature: its number (1-based, a line number for NDJSON) and its JSON, or NULL
# when the line is not JSON. Blank lines of NDJSON are skipped (still counted in the numbers).
_FEATURES = {
    "geojson": """
        CREATE TEMP TABLE import_feature ON COMMIT DROP AS
        SELECT feature.n::int AS n, feature.value AS feature
        FROM unit_import_upload AS upload,
            jsonb_array_elements(bulk_try_jsonb(upload.body) -> 'features')
                WITH ORDINALITY AS feature(value, n)
        WHERE upload.tenant_id = $1 AND upload.import_id = $2
    """,
    "ndjson": """
        CREATE TEMP TABLE import_feature ON COMMIT DROP AS
        SELECT line.n::int AS n, bulk_try_jsonb(line.text) AS feature
        FROM unit_import_upload AS upload,
            regexp_split_to_table(upload.body, E'\\n') WITH ORDINALITY AS line(text, n)
        WHERE upload.tenant_id = $1 AND upload.import_id = $2 AND btrim(line.text, E' \\t\\r') <> ''
    """,
}

# The first problem of every feature, in the order a person would fix them. ``$3``: the set's
# kind, ``$4``: its required measures (text[]).
_CHECK = """
CREATE TEMP TABLE import_unit ON COMMIT DROP AS
WITH parsed AS MATERIALIZED (
    SELECT f.n, f.feature,
        CASE WHEN jsonb_typeof(f.feature -> 'properties') = 'object'
            THEN f.feature -> 'properties' ELSE '{}'::jsonb END AS properties,
        planning_try_geometry(
            CASE WHEN jsonb_typeof(f.feature -> 'geometry') = 'object'
                THEN f.feature -> 'geometry' END) AS geom
    FROM import_feature AS f
), coded AS (
    SELECT parsed.*,
        coalesce(
            CASE WHEN jsonb_typeof(parsed.feature -> 'id') IN ('string', 'number')
                THEN parsed.feature ->> 'id' END,
            CASE WHEN jsonb_typeof(parsed.properties -> 'code') IN ('string', 'number')
                THEN parsed.properties ->> 'code' END) AS code
    FROM parsed
), measured AS (
    SELECT coded.*,
        (SELECT name FROM unnest($4::text[]) AS name
         WHERE jsonb_typeof(coalesce(coded.properties -> 'measures' -> name,
                coded.properties -> name)) IS DISTINCT FROM 'number'
         LIMIT 1) AS non_numeric_measure,
        (SELECT name FROM unnest($4::text[]) AS name
         WHERE CASE WHEN jsonb_typeof(coalesce(coded.properties -> 'measures' -> name,
                coded.properties -> name)) = 'number'
            THEN (coalesce(coded.properties -> 'measures' -> name,
                coded.properties -> name))::float8 < 0 ELSE false END
         LIMIT 1) AS negative_measure,
        (SELECT key FROM jsonb_each(
            CASE WHEN jsonb_typeof(coded.properties -> 'measures') = 'object'
                THEN coded.properties -> 'measures' ELSE '{}'::jsonb END) AS m(key, value)
         WHERE CASE WHEN jsonb_typeof(m.value) = 'number' THEN (m.value)::float8 < 0
            ELSE true END
         LIMIT 1) AS bad_extra_measure,
        CASE WHEN coded.geom IS NOT NULL AND NOT ST_IsValid(coded.geom)
            THEN ST_IsValidReason(coded.geom) END AS invalid_reason,
        row_number() OVER (PARTITION BY coded.code ORDER BY coded.n) AS occurrence,
        min(coded.n) OVER (PARTITION BY coded.code) AS first_n
    FROM coded
)
SELECT measured.n, measured.code,
    CASE WHEN measured.properties ->> 'name' IS NOT NULL
        THEN left(measured.properties ->> 'name', 200) END AS name,
    measured.geom,
    measured.properties,
    CASE
        WHEN measured.feature IS NULL THEN
            ARRAY['feature', 'not JSON: send one GeoJSON Feature per line']
        WHEN jsonb_typeof(measured.feature) <> 'object'
            OR measured.feature ->> 'type' IS DISTINCT FROM 'Feature' THEN
            ARRAY['feature', 'not a GeoJSON Feature: send {"type": "Feature", "id": …,'
                || ' "geometry": …, "properties": {…}}']
        WHEN measured.code IS NULL OR btrim(measured.code) = '' THEN
            ARRAY['id', 'no unit id: give the feature an "id" or a "code" property']
        WHEN length(measured.code) > 100 THEN
            ARRAY['id', 'the unit id is longer than 100 characters']
        WHEN measured.occurrence > 1 THEN
            ARRAY['id', format('duplicate unit id %s: feature %s has it too',
                quote_literal(measured.code), measured.first_n)]
        WHEN jsonb_typeof(measured.feature -> 'geometry') IS DISTINCT FROM 'object' THEN
            ARRAY['geometry', 'no geometry: give a GeoJSON geometry object']
        WHEN measured.geom IS NULL THEN
            ARRAY['geometry', 'not a GeoJSON geometry PostGIS can read (check "type" and'
                || ' "coordinates")']
        WHEN $3 = 'polygon' AND GeometryType(measured.geom) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
            ARRAY['geometry', format('a %s in a set of polygon units: send a Polygon or'
                || ' MultiPolygon', ST_GeometryType(measured.geom))]
        WHEN $3 = 'point' AND GeometryType(measured.geom) <> 'POINT' THEN
            ARRAY['geometry', format('a %s in a set of point units: send a Point',
                ST_GeometryType(measured.geom))]
        WHEN ST_IsEmpty(measured.geom) THEN ARRAY['geometry', 'the geometry is empty']
        WHEN measured.invalid_reason IS NOT NULL THEN
            ARRAY['geometry', 'invalid geometry: ' || measured.invalid_reason]
        WHEN measured.non_numeric_measure IS NOT NULL THEN
            ARRAY['properties.' || measured.non_numeric_measure,
                format('measure %s is missing or not a number; every unit of this set needs it',
                    quote_literal(measured.non_numeric_measure))]
        WHEN measured.negative_measure IS NOT NULL THEN
            ARRAY['properties.' || measured.negative_measure,
                format('measure %s is negative; measures are counts or amounts, 0 or more',
                    quote_literal(measured.negative_measure))]
        WHEN measured.bad_extra_measure IS NOT NULL THEN
            ARRAY['properties.measures.' || measured.bad_extra_measure,
                'not a number of 0 or more']
        WHEN jsonb_typeof(measured.properties -> 'neighbours') NOT IN ('array', 'null') THEN
            ARRAY['properties.neighbours', 'a list of unit ids']
        WHEN EXISTS (
            SELECT FROM basic_unit AS existing
            WHERE existing.tenant_id = $1 AND existing.unit_set_id = $2
                AND existing.code = measured.code) THEN
            ARRAY['id', format('unit %s already exists in this set; delete it first or leave'
                || ' it out', quote_literal(measured.code))]
    END AS problem
FROM measured
"""

# A point unit's neighbours must be units of the upload (without a problem) or of the set.
_UNKNOWN_NEIGHBOURS = """
UPDATE import_unit AS unit
SET problem = ARRAY['properties.neighbours', format('unknown unit id %s: not in this upload or set',
    quote_literal(unknown.code))]
FROM (
    SELECT DISTINCT ON (u.n) u.n, neighbour.code
    FROM import_unit AS u,
        jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(u.properties -> 'neighbours') = 'array'
                THEN u.properties -> 'neighbours' ELSE '[]'::jsonb END) AS neighbour(code)
    WHERE u.problem IS NULL
        AND NOT EXISTS (
            SELECT FROM import_unit AS other WHERE other.code = neighbour.code
                AND other.problem IS NULL)
        AND NOT EXISTS (
            SELECT FROM basic_unit AS existing
            WHERE existing.tenant_id = $1 AND existing.unit_set_id = $2
                AND existing.code = neighbour.code)
    ORDER BY u.n, neighbour.code
) AS unknown
WHERE unit.n = unknown.n
"""

_INSERT_UNITS = """
INSERT INTO basic_unit (tenant_id, unit_set_id, code, name, geom, point, measures)
SELECT $1, $2, unit.code, unit.name,
    CASE WHEN $3 = 'polygon' THEN ST_Multi(unit.geom) END,
    CASE WHEN $3 = 'point' THEN unit.geom END,
    coalesce((
        SELECT jsonb_object_agg(m.key, m.value) FROM jsonb_each(
            CASE WHEN jsonb_typeof(unit.properties -> 'measures') = 'object'
                THEN unit.properties -> 'measures' ELSE '{}'::jsonb END) AS m(key, value)
    ), '{}'::jsonb) || coalesce((
        SELECT jsonb_object_agg(name,
            coalesce(unit.properties -> 'measures' -> name, unit.properties -> name))
        FROM unnest($4::text[]) AS name
    ), '{}'::jsonb)
FROM import_unit AS unit
WHERE unit.problem IS NULL
"""

_NEIGHBOUR_EDGES = """
SELECT coalesce(array_agg(unit.code), '{}') AS a, coalesce(array_agg(neighbour.code), '{}') AS b
FROM import_unit AS unit,
    jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(unit.properties -> 'neighbours') = 'array'
            THEN unit.properties -> 'neighbours' ELSE '[]'::jsonb END) AS neighbour(code)
WHERE unit.problem IS NULL
"""


class _Progress:
    """Stage, fraction and timings of the import, written on their own connection."""

    def __init__(self, connection: asyncpg.Connection, tenant_id: uuid.UUID, import_id: uuid.UUID):
        self.connection, self.tenant_id, self.import_id = connection, tenant_id, import_id
        self.timings: dict[str, float] = {}
        self._started = self._lap = time.perf_counter()

    async def stage(self, name: str, fraction: float) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._lap, 3)
        self._lap = now
        await self.connection.execute(
            "UPDATE unit_import SET stage = $3, progress = $4, timings = $5, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            self.tenant_id,
            self.import_id,
            name,
            fraction,
            self.timings,
        )

    def total(self) -> float:
        return round(time.perf_counter() - self._started, 3)


async def run(settings: Settings, *, tenant_id: uuid.UUID, import_id: uuid.UUID) -> None:
    # Without JIT: it compiles the geometry-heavy statements for about a second each and
    # gains nothing, the time goes to GEOS (measured: bench/planning_units).
    work = await open_job_connection(
        settings,
        tenant_id=tenant_id,
        application_name="planning-unit-import",
        server_settings={"jit": "off"},
    )
    side = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="planning-unit-import-progress"
    )
    try:
        row = await side.fetchrow(
            "UPDATE unit_import SET status = 'running', updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND status = 'pending'"
            " RETURNING unit_set_id, format, skip_invalid",
            tenant_id,
            import_id,
        )
        if row is None:
            return  # already run, or deleted with its set
        progress = _Progress(side, tenant_id, import_id)
        try:
            outcome = await _import(
                work,
                progress,
                tenant_id=tenant_id,
                unit_set_id=row["unit_set_id"],
                import_id=import_id,
                fmt=row["format"],
                skip_invalid=row["skip_invalid"],
            )
        except Exception:
            logger.exception("unit import failed", extra={"import_id": str(import_id)})
            outcome = {
                "status": "failed",
                "error": "the import failed on the worker; try again, or report the import id",
            }
        progress.timings["total"] = progress.total()
        await side.execute(
            "UPDATE unit_import SET status = $3, features = $4, imported = $5,"
            " error_count = $6, errors = $7, error = $8, timings = $9, progress = 1,"
            " finished_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            import_id,
            outcome["status"],
            outcome.get("features"),
            outcome.get("imported", 0),
            outcome.get("error_count", 0),
            outcome.get("errors", []),
            outcome.get("error"),
            progress.timings,
        )
        await side.execute(
            "DELETE FROM unit_import_upload WHERE tenant_id = $1 AND import_id = $2",
            tenant_id,
            import_id,
        )
    finally:
        await work.close()
        await side.close()


async def _import(
    connection: asyncpg.Connection,
    progress: _Progress,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    import_id: uuid.UUID,
    fmt: str,
    skip_invalid: bool,
) -> dict[str, Any]:
    unit_set = await connection.fetchrow(
        "SELECT kind, adjacency, min_shared_border_m, required_measures::text AS required"
        " FROM unit_set WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        unit_set_id,
    )
    if unit_set is None:
        return {"status": "failed", "error": "the unit set was deleted before the import ran"}
    kind: str = unit_set["kind"]
    required = _json_list(unit_set["required"])
    async with connection.transaction():
        await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set_id)
        if fmt == "geojson":
            shape = await connection.fetchval(
                "SELECT CASE WHEN parsed IS NULL THEN 'not json'"
                " WHEN jsonb_typeof(parsed -> 'features') <> 'array' THEN 'no features' END"
                " FROM (SELECT bulk_try_jsonb(body) AS parsed FROM unit_import_upload"
                " WHERE tenant_id = $1 AND import_id = $2) AS upload",
                tenant_id,
                import_id,
            )
            if shape is not None:
                return {
                    "status": "failed",
                    "error": "the body is not JSON; send a GeoJSON FeatureCollection"
                    if shape == "not json"
                    else 'the body has no "features" array; send a GeoJSON FeatureCollection',
                }
        await connection.execute(_FEATURES[fmt], tenant_id, import_id)
        await connection.execute("ANALYZE import_feature")
        await repository.analyze_units(connection)
        features = await connection.fetchval("SELECT count(*) FROM import_feature")
        if features > MAX_FEATURES:
            return {
                "status": "failed",
                "features": features,
                "error": f"{features:,} features: an import holds at most {MAX_FEATURES:,};"
                " split it",
            }
        await progress.stage("parse", 0.1)
        await connection.execute(_CHECK, tenant_id, unit_set_id, kind, required)
        await connection.execute("CREATE INDEX ON import_unit (code) WHERE problem IS NULL")
        await connection.execute("ANALYZE import_unit")
        await connection.execute(_UNKNOWN_NEIGHBOURS, tenant_id, unit_set_id)
        error_count = await connection.fetchval(
            "SELECT count(*) FROM import_unit WHERE problem IS NOT NULL"
        )
        errors = [
            {"feature": row["n"], "id": row["code"], "field": row["field"], "message": row["msg"]}
            for row in await connection.fetch(
                "SELECT n, code, problem[1] AS field, problem[2] AS msg FROM import_unit"
                " WHERE problem IS NOT NULL ORDER BY n LIMIT $1",
                MAX_ERRORS_LISTED,
            )
        ]
        await progress.stage("check", 0.3)
        if error_count and not skip_invalid:
            return {
                "status": "failed",
                "features": features,
                "error_count": error_count,
                "errors": errors,
                "error": f"{error_count:,} of {features:,} features have problems (listed in"
                " errors); nothing was imported: fix them, or import again with"
                " skip_invalid=true to import the others",
            }
        imported = int(
            (
                await connection.execute(_INSERT_UNITS, tenant_id, unit_set_id, kind, required)
            ).split()[-1]
        )
        await repository.analyze_units(connection)
        await progress.stage("write", 0.5)
        if kind == "point":
            pairs = await connection.fetchrow(_NEIGHBOUR_EDGES)
            await repository.insert_explicit_edges(
                connection,
                tenant_id=tenant_id,
                unit_set_id=unit_set_id,
                a_codes=list(pairs["a"]),
                b_codes=list(pairs["b"]),
            )
            await progress.stage("edges", 0.6)
            await repository.compute_point_cells(
                connection, tenant_id=tenant_id, unit_set_id=unit_set_id
            )
            await progress.stage("cells", 0.8)
        else:
            await repository.rebuild_border_adjacency(
                connection,
                tenant_id=tenant_id,
                unit_set_id=unit_set_id,
                rule=unit_set["adjacency"],
                min_shared_border_m=float(unit_set["min_shared_border_m"]),
            )
            await progress.stage("adjacency", 0.8)
        links = await islands.refresh_islands(
            connection, tenant_id=tenant_id, unit_set_id=unit_set_id, point_units=kind == "point"
        )
        await repository.mark_adjacency_built(
            connection, tenant_id=tenant_id, unit_set_id=unit_set_id
        )
        await progress.stage("islands", 0.95)
    return {
        "status": "succeeded",
        "features": features,
        "imported": imported,
        "error_count": error_count,
        "errors": errors,
        "islands": len(links),
    }


def _json_list(text: str) -> list[str]:
    value = json.loads(text)
    return [str(item) for item in value] if isinstance(value, list) else []

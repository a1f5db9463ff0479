"""The benchmark's tenant and data, built once with set-based SQL and reused by later runs.

In its own tenant (slug ``bench-assignment``): 10,000 irregular territory polygons over the
continental US in one active alignment (Voronoi cells of 10,000 points, half of them clustered
around 40 metros, each boundary densified and bent by one smooth displacement field, so cells
keep sharing their edges and carry tens to hundreds of vertices), stored whole and cut by
``ST_Subdivide(geom, 128)`` into ``territory_part``; five attribute-rule territories and a
fallback; 500 reps owning 1-3 territories each under round robin, weighted and capacity rules;
100,000 accounts with points and domains, 30% of them owned. A run reuses the data when the
tenant already holds the active alignment named ``DATASET_NAME``.
"""

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, update

from services.assignment.postal_codes.loader import load_us
from services.assignment.rules.criteria import criteria_from_json
from shared import api_keys
from shared.db import create_engine, create_sessionmaker
from shared.errors import NotFound
from shared.models import ApiKey
from shared.settings import Settings

BENCH_SLUG = "bench-assignment"
BENCH_TENANT_NAME = "Assignment benchmark"
BENCH_KEY_NAME = "bench"
# Bump when the generator changes: a tenant holding another version is rebuilt.
DATASET_NAME = "bench dataset v1"

TERRITORIES = 10_000
REPS = 500
ACCOUNTS = 100_000
OWNED_ACCOUNT_SHARE = 0.3
# Continental US: lon/lat box the territories tile.
US_BOX = (-124.7, 24.5, -66.9, 49.4)
# Boundaries are cut into pieces of at most this many degrees before being bent.
SEGMENT_DEGREES = 0.01
# Reps of capacity territories hold this many open leads at most: far more than a run assigns.
REP_CAPACITY = 5_000_000

# Forty big US metros (lon, lat): half the territory seeds, accounts and leads cluster here.
METROS = [
    (-74.0, 40.7), (-118.2, 34.05), (-87.6, 41.9), (-95.4, 29.8), (-112.1, 33.5), (-75.2, 40.0),
    (-98.5, 29.4), (-117.2, 32.7), (-96.8, 32.8), (-121.9, 37.3), (-97.7, 30.3), (-81.7, 30.3),
    (-83.0, 40.0), (-80.8, 35.2), (-86.2, 39.8), (-122.4, 37.8), (-122.3, 47.6), (-105.0, 39.7),
    (-77.0, 38.9), (-71.1, 42.4), (-86.8, 36.2), (-83.0, 42.3), (-122.7, 45.5), (-115.1, 36.2),
    (-90.0, 35.1), (-85.8, 38.3), (-76.6, 39.3), (-87.9, 43.0), (-106.6, 35.1), (-110.9, 32.2),
    (-119.8, 36.7), (-121.5, 38.6), (-94.6, 39.1), (-84.4, 33.7), (-80.2, 25.8), (-78.6, 35.8),
    (-96.0, 41.3), (-93.3, 44.98), (-82.5, 27.95), (-90.1, 29.95),
]  # fmt: skip

# Attribute-rule territories: (name, priority, distribution rule, criteria). Leads the generator
# marks as rule leads satisfy exactly one of them; every other lead is checked against all five.
RULE_TERRITORIES: list[tuple[str, int, str, dict[str, Any]]] = [
    (
        "Strategic software",
        10,
        "round_robin",
        {
            "all": [
                {"field": "industry", "op": "in", "values": ["Software", "SaaS"]},
                {"field": "employee_count", "op": "gte", "value": 5000},
            ]
        },
    ),
    (
        "Channel partners",
        20,
        "weighted",
        {"field": "attributes.channel", "op": "eq", "value": "partner"},
    ),
    (
        "Public sector",
        30,
        "capacity",
        {"field": "industry", "op": "in", "values": ["Government", "Education"]},
    ),
    (
        "Healthcare West",
        40,
        "round_robin",
        {
            "all": [
                {"field": "industry", "op": "eq", "value": "Healthcare"},
                {"field": "postal_code", "op": "prefix", "values": ["90", "91", "92", "93", "94"]},
            ]
        },
    ),
    (
        "Events",
        50,
        "weighted",
        {"field": "attributes.lead_source", "op": "in", "values": ["trade_show", "webinar"]},
    ),
]


@dataclass(frozen=True)
class BenchDataset:
    tenant_id: uuid.UUID
    alignment_id: uuid.UUID
    api_key: str
    built: bool
    build_seconds: float
    counts: dict[str, int]


def _metro_values() -> str:
    return ", ".join(f"({lon}, {lat})" for lon, lat in METROS)


# A point: half uniform in the box, half Gaussian (sigma 0.6 degrees) around a random metro,
# clamped to the box. Uses n (the row) and the temp table metro.
def _point_sql(n: str) -> str:
    min_lon, min_lat, max_lon, max_lat = US_BOX
    return f"""
    SELECT least({max_lon}, greatest({min_lon}, x)) AS x,
           least({max_lat}, greatest({min_lat}, y)) AS y
      FROM (SELECT CASE WHEN {n} % 2 = 0 THEN {min_lon} + random() * {max_lon - min_lon}
                        ELSE m.lon + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
                   END AS x,
                   CASE WHEN {n} % 2 = 0 THEN {min_lat} + random() * {max_lat - min_lat}
                        ELSE m.lat + 0.6 * sqrt(-2 * ln(1 - random())) * sin(2 * pi() * random())
                   END AS y
              FROM (SELECT lon, lat FROM bench_metro
                     ORDER BY random() + 0 * {n} LIMIT 1) m) raw
    """


# The smooth displacement field bending the boundaries. Its Jacobian stays below 1 in norm
# (0.012 * 37 + 0.006 * 75 < 1), so the map is one-to-one: neighbours still share their edges
# exactly, and the cells still tile the (bent) box without gaps or overlaps.
_BENT_X = "x + 0.012 * sin(y * 37 + 1.3) + 0.006 * sin(x * 71 + y * 23)"
_BENT_Y = "y + 0.012 * sin(x * 41 + 0.7) + 0.006 * sin(y * 67 - x * 29)"


async def _build(connection: asyncpg.Connection, tenant_id: uuid.UUID, log: Any) -> uuid.UUID:
    """Every row of the dataset, in the caller's transaction; returns the alignment id."""

    async def step(sql: str, *args: Any) -> None:
        started = time.perf_counter()
        status = await connection.execute(sql, *args)
        log(f"  {time.perf_counter() - started:6.1f} s  {status}")

    min_lon, min_lat, max_lon, max_lat = US_BOX
    box = f"ST_MakeEnvelope({min_lon}, {min_lat}, {max_lon}, {max_lat}, 4326)"
    await step("SELECT setseed(0.42)")
    await step(
        "CREATE TEMP TABLE bench_metro (lon float8, lat float8) ON COMMIT DROP;"
        f"INSERT INTO bench_metro VALUES {_metro_values()}"
    )
    for _name, _priority, _rule, criteria in RULE_TERRITORIES:
        criteria_from_json(criteria)  # the platform's own validation, before anything is stored
    alignment_id: uuid.UUID = await connection.fetchval(
        """
        INSERT INTO alignment (tenant_id, name, status, effective_from, published_at)
        VALUES ($1, $2, 'active', now(), now()) RETURNING id
        """,
        tenant_id,
        DATASET_NAME,
    )
    await step(
        f"""
        INSERT INTO rep (tenant_id, external_id, name, email, capacity, home)
        SELECT $1, 'bench-rep-' || lpad(n::text, 3, '0'), 'Rep ' || n,
               'rep' || n || '@bench.example.com',
               CASE WHEN n % 5 < 2 THEN {REP_CAPACITY} END,
               ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)
          FROM generate_series(1, {REPS}) n, LATERAL ({_point_sql("n")}) p
        """,
        tenant_id,
    )
    # Voronoi cells of the seeds, clipped to the box, densified, then bent vertex by vertex.
    await step(
        f"""
        CREATE TEMP TABLE bench_cell ON COMMIT DROP AS
        WITH seed AS (
            SELECT n, p.x, p.y FROM generate_series(1, {TERRITORIES}) n,
                   LATERAL ({_point_sql("n")}) p
        ), cell AS (
            SELECT row_number() OVER () AS n, ST_Intersection(c.geom, {box}) AS geom
              FROM (SELECT (ST_Dump(ST_VoronoiPolygons(
                        ST_Collect(ST_SetSRID(ST_MakePoint(x, y), 4326)), 0, {box}))).geom
                      FROM seed) c
        ), vertex AS (
            SELECT n, (d).path[2] AS i, ST_X((d).geom) AS x, ST_Y((d).geom) AS y
              FROM (SELECT n, ST_DumpPoints(ST_Segmentize(geom, {SEGMENT_DEGREES})) AS d
                      FROM cell) dumped
        )
        SELECT n, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_MakePolygon(
                   ST_MakeLine(ST_MakePoint({_BENT_X}, {_BENT_Y}) ORDER BY i)), 4326)), 3))
                   AS geom
          FROM vertex GROUP BY n
        """
    )
    await step(
        """
        INSERT INTO territory (tenant_id, alignment_id, name, geom, level, priority,
                               distribution_rule)
        SELECT $1, $2, 'Territory ' || lpad(n::text, 5, '0'), geom, 1, 100,
               CASE WHEN n % 10 < 6 THEN 'round_robin' WHEN n % 10 < 8 THEN 'weighted'
                    ELSE 'capacity' END
          FROM bench_cell
        """,
        tenant_id,
        alignment_id,
    )
    await step(
        """
        INSERT INTO territory (tenant_id, alignment_id, name, level, priority, distribution_rule,
                               criteria, is_fallback)
        SELECT $1::uuid, $2::uuid, r.name, 0, r.priority, r.rule, r.criteria, false
          FROM jsonb_to_recordset($3::jsonb) AS r(name text, priority int, rule text,
                                                 criteria jsonb)
        UNION ALL
        SELECT $1::uuid, $2::uuid, 'Fallback', 0, 1000, 'round_robin', NULL, true
        """,
        tenant_id,
        alignment_id,
        json.dumps(
            [
                {
                    "name": name,
                    "priority": priority,
                    "rule": rule,
                    "criteria": criteria,
                }
                for name, priority, rule, criteria in RULE_TERRITORIES
            ]
        ),
    )
    # The same INSERT as tests/assignment/territory_factories.py, for the whole alignment.
    await step(
        """
        INSERT INTO territory_part (tenant_id, alignment_id, territory_id, level,
                                    territory_area_m2, geom)
        SELECT t.tenant_id, t.alignment_id, t.id, t.level, ST_Area(t.geom::geography),
               (ST_Dump(ST_Subdivide(t.geom, 128))).geom
          FROM territory t
         WHERE t.alignment_id = $1 AND t.geom IS NOT NULL
        """,
        alignment_id,
    )
    # Territory n gets 1 + n % 3 owners, reps spread evenly (each owns about 40 territories);
    # weighted territories weigh their owners 1, 2, 3.
    await step(
        f"""
        WITH t AS (
            SELECT id, distribution_rule, row_number() OVER (ORDER BY name) AS n
              FROM territory WHERE alignment_id = $2
        ), r AS (
            SELECT id, row_number() OVER (ORDER BY external_id) - 1 AS k
              FROM rep WHERE tenant_id = $1
        )
        INSERT INTO territory_member (tenant_id, territory_id, rep_id, role, weight)
        SELECT $1, t.id, r.id, 'owner',
               CASE WHEN t.distribution_rule = 'weighted' THEN 1 + j ELSE 1 END
          FROM t CROSS JOIN LATERAL generate_series(0, (t.n % 3)::int) j
          JOIN r ON r.k = ((t.n - 1) * 7 + j * 97) % {REPS}
        """,
        tenant_id,
        alignment_id,
    )
    # Each account also gets the territory it lies in (the spatial index, one probe per row).
    await step("ANALYZE territory_part")
    await step(
        f"""
        WITH r AS (
            SELECT id, row_number() OVER (ORDER BY external_id) - 1 AS k
              FROM rep WHERE tenant_id = $1
        )
        INSERT INTO account (tenant_id, external_id, name, domain, location, country, industry,
                             employee_count, annual_revenue, owner_rep_id, territory_id)
        SELECT $1, 'BA-' || lpad(n::text, 6, '0'), 'Account ' || n, 'co' || n || '.example.com',
               pt.geom, 'US',
               (ARRAY['Retail', 'Manufacturing', 'Finance', 'Software', 'Healthcare',
                      'Logistics', 'Energy', 'Government'])[1 + n % 8],
               (10 + random() * 20000)::int, round((1e5 + random() * 1e9)::numeric, 2),
               r.id,
               (SELECT tp.territory_id FROM territory_part tp
                 WHERE tp.alignment_id = $2 AND ST_Intersects(tp.geom, pt.geom)
                 ORDER BY tp.territory_id LIMIT 1)
          FROM generate_series(1, {ACCOUNTS}) n
          CROSS JOIN LATERAL ({_point_sql("n")}) p
          CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(p.x, p.y), 4326) AS geom) pt
          LEFT JOIN r ON n % 10 < {round(OWNED_ACCOUNT_SHARE * 10)} AND r.k = (n * 13) % {REPS}
        """,
        tenant_id,
        alignment_id,
    )
    return alignment_id


async def _counts(connection: asyncpg.Connection, alignment_id: uuid.UUID) -> dict[str, int]:
    row = await connection.fetchrow(
        """
        SELECT (SELECT count(*) FROM territory WHERE alignment_id = $1 AND geom IS NOT NULL)
                   AS geo_territories,
               (SELECT count(*) FROM territory WHERE alignment_id = $1 AND criteria IS NOT NULL)
                   AS rule_territories,
               (SELECT count(*) FROM territory_part WHERE alignment_id = $1) AS territory_parts,
               (SELECT min(ST_NPoints(geom)) FROM territory WHERE alignment_id = $1)
                   AS min_vertices,
               (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ST_NPoints(geom))
                  FROM territory WHERE alignment_id = $1) AS median_vertices,
               (SELECT max(ST_NPoints(geom)) FROM territory WHERE alignment_id = $1)
                   AS max_vertices,
               (SELECT count(*) FROM territory_member m JOIN territory t ON t.id = m.territory_id
                 WHERE t.alignment_id = $1) AS owner_memberships,
               (SELECT count(*) FROM rep r JOIN alignment a ON a.tenant_id = r.tenant_id
                 WHERE a.id = $1) AS reps,
               (SELECT count(*) FROM account c JOIN alignment a ON a.tenant_id = c.tenant_id
                 WHERE a.id = $1) AS accounts,
               (SELECT count(*) FROM account c JOIN alignment a ON a.tenant_id = c.tenant_id
                 WHERE a.id = $1 AND c.owner_rep_id IS NOT NULL) AS owned_accounts
        """,
        alignment_id,
    )
    assert row is not None
    return {key: int(value) for key, value in row.items()}


async def _ensure_tenant_and_key(settings: Settings) -> tuple[uuid.UUID, str]:
    """The bench tenant (created if missing) and a fresh API key; earlier bench keys revoked."""
    engine = create_engine(settings, application_name="bench", as_owner=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            try:
                tenant = await api_keys.get_tenant_by_slug(session, BENCH_SLUG)
            except NotFound:
                tenant = await api_keys.create_tenant(
                    session, slug=BENCH_SLUG, name=BENCH_TENANT_NAME
                )
            # Tokens are stored hashed, so a run cannot reuse the last one: revoke, reissue.
            await session.execute(
                update(ApiKey)
                .where(
                    ApiKey.tenant_id == tenant.id,
                    ApiKey.name == BENCH_KEY_NAME,
                    ApiKey.revoked_at.is_(None),
                )
                .values(revoked_at=func.now())
            )
            # The high rate tier: the benchmark's load is no client's, and on a quiet machine the
            # tiles of bench-map outrun the standard tier's 100 requests/s.
            issued = await api_keys.issue_key(
                session,
                tenant_id=tenant.id,
                name=BENCH_KEY_NAME,
                scopes=["read", "write"],
                rate_tier="high",
            )
            return tenant.id, issued.token
    finally:
        await engine.dispose()


async def ensure_dataset(settings: Settings, *, log: Any = print) -> BenchDataset:
    """The dataset of this module, built now unless the tenant already holds it."""
    tenant_id, token = await _ensure_tenant_and_key(settings)
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        if not await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM postal_code WHERE country = 'US')"
        ):
            log("loading US postal codes (the platform's shipped loader)")
            await load_us(connection)
        alignment_id = await connection.fetchval(
            "SELECT id FROM alignment WHERE tenant_id = $1 AND status = 'active' AND name = $2",
            tenant_id,
            DATASET_NAME,
        )
        started = time.perf_counter()
        built = alignment_id is None
        if built:
            log(
                f"building the dataset ({TERRITORIES} territories, {REPS} reps, "
                f"{ACCOUNTS} accounts); later runs reuse it"
            )
            async with connection.transaction():
                # Whatever an older generator left behind goes; the tenant and key stay.
                for table in ("alignment", "account", "rep", "lead", "assignment_job"):
                    await connection.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)
                alignment_id = await _build(connection, tenant_id, log)
            for table in ("territory", "territory_part", "territory_member", "rep", "account"):
                await connection.execute(f"ANALYZE {table}")
        counts = await _counts(connection, alignment_id)
        return BenchDataset(
            tenant_id=tenant_id,
            alignment_id=alignment_id,
            api_key=token,
            built=built,
            build_seconds=time.perf_counter() - started,
            counts=counts,
        )
    finally:
        await connection.close()


async def reset_run_state(settings: Settings, tenant_id: uuid.UUID) -> dict[str, int]:
    """Forget what earlier runs assigned (leads, assignments, counters) so runs compare."""
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        async with connection.transaction():
            leads = await connection.fetchval(
                "WITH d AS (DELETE FROM lead WHERE tenant_id = $1 RETURNING 1) "
                "SELECT count(*) FROM d",
                tenant_id,
            )
            await connection.execute("DELETE FROM assignment WHERE tenant_id = $1", tenant_id)
            await connection.execute("DELETE FROM assignment_job WHERE tenant_id = $1", tenant_id)
            await connection.execute(
                "DELETE FROM idempotency_record WHERE tenant_id = $1", tenant_id
            )
            await connection.execute(
                "UPDATE rep SET open_assignments = 0 WHERE tenant_id = $1 AND open_assignments > 0",
                tenant_id,
            )
            await connection.execute(
                "UPDATE territory_turn SET turn_counter = 0"
                " WHERE tenant_id = $1 AND turn_counter > 0",
                tenant_id,
            )
            await connection.execute(
                "UPDATE territory_member SET assigned_count = 0"
                " WHERE tenant_id = $1 AND assigned_count > 0",
                tenant_id,
            )
        if leads:
            # Dead rows from the deletes would otherwise wake autovacuum in the middle of a run.
            await connection.execute(
                "VACUUM (ANALYZE) lead, assignment, rep, territory, territory_member"
            )
        return {"deleted_leads": int(leads)}
    finally:
        await connection.close()


# Lead rows of the generator: every column a lead or a CSV row can carry. kind = n % 20:
#  0-10 coordinates only (55%)            11-13 coordinates + email at an account's domain (15%)
#  14-15 coordinates + a rule match (10%)  16-17 US postal code only (10%)
#  18 coordinates + a freemail address     19 coordinates outside the US box (fallback)
_LEAD_ROWS_SQL = f"""
WITH zips AS (
    SELECT array_agg(code ORDER BY code) AS all_codes,
           array_agg(code ORDER BY code) FILTER (WHERE code ~ '^9[0-4]') AS west_codes
      FROM postal_code WHERE country = 'US'
), base AS (
    SELECT n, n % 20 AS kind, (n / 20) % 5 AS rule, p.x, p.y,
           1 + floor(random() * {ACCOUNTS})::int AS account_n, random() AS r1, random() AS r2
      FROM generate_series(1, $1::int) n CROSS JOIN LATERAL ({_point_sql("n")}) p
)
SELECT
    $2::text || n AS external_id,
    CASE WHEN kind BETWEEN 11 AND 13 THEN 'buyer' || n || '@co' || account_n || '.example.com'
         WHEN kind = 18 THEN 'someone' || n || '@gmail.com' END AS email,
    CASE WHEN kind IN (16, 17) THEN NULL
         WHEN kind = 19 THEN round((-60 + r1 * 25)::numeric, 5)
         ELSE round(x::numeric, 5) END AS longitude,
    CASE WHEN kind IN (16, 17) THEN NULL
         WHEN kind = 19 THEN round((30 + r2 * 15)::numeric, 5)
         ELSE round(y::numeric, 5) END AS latitude,
    CASE WHEN kind IN (16, 17) THEN all_codes[1 + floor(r1 * array_length(all_codes, 1))::int]
         WHEN kind IN (14, 15) AND rule = 3
              THEN west_codes[1 + floor(r1 * array_length(west_codes, 1))::int] END
        AS postal_code,
    CASE WHEN kind IN (16, 17) OR (kind IN (14, 15) AND rule = 3) THEN 'US' END AS country,
    CASE WHEN kind IN (14, 15) THEN
              (ARRAY['Software', 'Retail', 'Government', 'Healthcare', 'Finance'])[1 + rule]
         ELSE (ARRAY['Retail', 'Manufacturing', 'Finance', 'Logistics', 'Software',
                     'Healthcare', 'Energy'])[1 + floor(r2 * 7)::int] END AS industry,
    CASE WHEN kind IN (14, 15) AND rule = 0 THEN 5000 + floor(r2 * 50000)::int
         ELSE 1 + floor(r2 * 4000)::int END AS employee_count,
    CASE WHEN n % 3 = 0 THEN round((r1 * 5e8)::numeric, 2) END AS annual_revenue,
    CASE WHEN kind IN (14, 15) AND rule = 1 THEN 'partner' ELSE 'direct' END AS channel,
    CASE WHEN kind IN (14, 15) AND rule = 4 THEN 'trade_show'
         ELSE (ARRAY['web', 'referral', 'outbound'])[1 + n % 3] END AS lead_source
  FROM base, zips
"""

# One JSON lead per row, as POST /assignment/leads takes it (nulls dropped).
_LEAD_JSON_SQL = f"""
SELECT json_strip_nulls(json_build_object(
    'external_id', external_id, 'email', email, 'longitude', longitude, 'latitude', latitude,
    'postal_code', postal_code, 'country', country, 'industry', industry,
    'employee_count', employee_count, 'annual_revenue', annual_revenue,
    'attributes', json_build_object('channel', channel, 'lead_source', lead_source)))::text
  FROM ({_LEAD_ROWS_SQL}) lead
"""

# The CSV of the bulk upload: the same leads, custom attributes as attr.<key> columns.
_LEAD_CSV_SQL = f"""
SELECT external_id, email, longitude, latitude, postal_code, country, industry, employee_count,
       annual_revenue, channel AS "attr.channel", lead_source AS "attr.lead_source"
  FROM ({_LEAD_ROWS_SQL}) lead
"""


async def _copy_leads(
    settings: Settings, path: Path, *, query: str, count: int, seed: float, prefix: str, **copy: Any
) -> None:
    """COPY the generated leads out of the server into ``path``; one seed, one file."""
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        await connection.execute(f"SELECT setseed({seed})")
        await connection.execute(
            "CREATE TEMP TABLE bench_metro (lon float8, lat float8);"
            f"INSERT INTO bench_metro VALUES {_metro_values()}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        await connection.copy_from_query(query, count, prefix, output=str(partial), **copy)
        partial.replace(path)  # never leave a half-written file under the final name
    finally:
        await connection.close()


async def write_leads_jsonl(
    settings: Settings, path: Path, *, count: int, seed: float, prefix: str
) -> None:
    """``count`` generated leads, one JSON object a line (the body of POST /assignment/leads).

    COPY's text format escapes only backslashes and control characters, which these JSON
    objects never contain, so each line is the object as built."""
    await _copy_leads(
        settings, path, query=_LEAD_JSON_SQL, count=count, seed=seed, prefix=prefix, format="text"
    )


async def write_leads_csv(
    settings: Settings, path: Path, *, count: int, seed: float, prefix: str
) -> None:
    """``count`` generated leads as CSV with a header row, for POST /assignment/leads:bulk."""
    await _copy_leads(
        settings,
        path,
        query=_LEAD_CSV_SQL,
        count=count,
        seed=seed,
        prefix=prefix,
        format="csv",
        header=True,
    )

"""The active alignment of a tenant, compiled once into the SQL that matches a lead.

Active alignments are immutable (only drafts are edited; publishing swaps which one is active),
so a compiled alignment never goes stale: the match query reports the tenant's current active
alignment id with every answer, and a different id makes the caller recompile.
"""

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.assignment.rules.criteria import RuleValues, compile_criteria, criteria_from_json

MAX_CACHED_TENANTS = 1000


@dataclass(frozen=True)
class TerritoryInfo:
    id: uuid.UUID
    name: str
    level: int
    priority: int
    distribution_rule: str
    owner_rep_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class CompiledAlignment:
    alignment_id: uuid.UUID
    match_sql: str
    # Territories with criteria in precedence order: priority, then the deeper level, then name.
    rule_territory_ids: tuple[uuid.UUID, ...]
    territories: dict[uuid.UUID, TerritoryInfo] = field(repr=False)
    fallback_id: uuid.UUID | None = None
    # The rules' predicates over a lead row aliased ``l``, in ``rule_territory_ids`` order: the
    # bulk matcher evaluates the same text over its staging table. Their operands are bound:
    # ``rule_values.relation(k)`` joined in, ``rule_values.arguments`` passed as $k, $k+1.
    rule_predicates: tuple[str, ...] = ()
    rule_values: RuleValues = field(default_factory=RuleValues, repr=False)

    @property
    def match_arguments(self) -> tuple[Any, ...]:
        """The arguments of ``match_sql`` after its 14 fixed ones: the rules' operands."""
        return self.rule_values.arguments if self.rule_predicates else ()


# $1 tenant, $2 alignment, $3 account external id, $4 domain, $5 longitude, $6 latitude,
# $7 postal code, $8 country, $9 industry, $10 employee count, $11 annual revenue, $12 email,
# $13 attributes, $14 idempotency key; with rules, $15 and $16 their operands (RuleValues).
_MATCH_SQL = """
WITH l AS (
    SELECT $4::text AS domain, $7::text AS postal_code, $8::text AS country,
           $9::text AS industry, $10::int AS employee_count, $11::numeric AS annual_revenue,
           $12::text AS email, $13::jsonb AS attributes
), pc AS (
    -- Read with coordinates too: a point far from its postal code gets a warning.
    SELECT centroid FROM postal_code WHERE country = $8::text AND code = $7::text
), pt AS (
    SELECT CASE WHEN $5::float8 IS NOT NULL
                THEN ST_SetSRID(ST_MakePoint($5::float8, $6::float8), 4326)
                ELSE (SELECT centroid FROM pc) END AS point
), acct AS MATERIALIZED (
    SELECT a.id, a.name, a.owner_rep_id, r.name AS owner_name, r.active AS owner_active,
           coalesce(a.external_id = $3::text, false) AS by_external_id, a.location
      FROM account a LEFT JOIN rep r ON r.id = a.owner_rep_id
     WHERE a.tenant_id = $1 AND (a.external_id = $3::text OR a.domain = $4::text)
     ORDER BY coalesce(a.external_id = $3::text, false) DESC, a.created_at, a.id
     LIMIT 1
), loc AS MATERIALIZED (
    -- A lead without a location of its own is where its account is. Read below through an
    -- uncorrelated subquery, a parameter of the plan: the lookup's index condition under the
    -- generic plan the lead pool uses (a point computed from a joined row was no index
    -- condition there, so every part of the alignment was tested: ~50 ms a lead).
    SELECT coalesce((SELECT point FROM pt), (SELECT location FROM acct)) AS point
)
SELECT
    (SELECT id FROM alignment WHERE tenant_id = $1 AND status = 'active') AS active_alignment_id,
    acct.id AS account_id, acct.name AS account_name, acct.owner_rep_id,
    acct.owner_name, acct.owner_active, acct.by_external_id,
    rules.matched AS matched_rules,
    geo.territory_ids AS geo_territory_ids,
    ST_X(loc.point) AS longitude, ST_Y(loc.point) AS latitude,
    $5::float8 IS NULL AND EXISTS (SELECT 1 FROM pc) AS from_postal_code,
    pt.point IS NULL AND acct.location IS NOT NULL AS from_account,
    CASE WHEN $5::float8 IS NOT NULL
         THEN ST_DistanceSphere(pt.point, (SELECT centroid FROM pc)) / 1000 END
        AS postal_distance_km,
    swapped.territory_id AS swapped_territory_id,
    idem.request_hash AS idempotency_hash, idem.assignment_id AS idempotency_assignment_id
FROM pt
LEFT JOIN acct ON true
CROSS JOIN loc
LEFT JOIN LATERAL (
    SELECT {rule_array} AS matched FROM l{rule_values}
) rules ON true
LEFT JOIN LATERAL (
    SELECT array_agg(q.territory_id ORDER BY q.level DESC, q.territory_area_m2, q.territory_id)
           AS territory_ids
      FROM (SELECT DISTINCT p.territory_id, p.level, p.territory_area_m2
              FROM territory_part p
             WHERE p.alignment_id = $2 AND p.tenant_id = $1
               AND ST_Intersects(p.geom, (SELECT point FROM loc))) q
) geo ON true
-- Own coordinates in no territory: would they be in one with latitude and longitude swapped?
LEFT JOIN LATERAL (
    SELECT p.territory_id FROM territory_part p
     WHERE geo.territory_ids IS NULL AND $5::float8 IS NOT NULL AND abs($5::float8) <= 90
       AND p.alignment_id = $2 AND p.tenant_id = $1
       AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint($6::float8, $5::float8), 4326))
     ORDER BY p.level DESC, p.territory_area_m2, p.territory_id
     LIMIT 1
) swapped ON true
LEFT JOIN LATERAL (
    SELECT r.request_hash, (r.response_body ->> 'assignment_id')::uuid AS assignment_id
      FROM idempotency_record r WHERE r.tenant_id = $1 AND r.key = $14::text
) idem ON true
"""


def _json(value: Any) -> Any:
    """jsonb arrives decoded on our pools, as text on connections borrowed from SQLAlchemy."""
    return json.loads(value) if isinstance(value, str) else value


def build_match_sql(predicates: list[str], values: RuleValues) -> str:
    """One CASE per rule, collected into the array of every rule the lead satisfies."""
    if not predicates:
        return _MATCH_SQL.format(rule_array="ARRAY[]::int[]", rule_values="")
    cases = ", ".join(
        f"CASE WHEN {predicate} THEN {index} END" for index, predicate in enumerate(predicates)
    )
    return _MATCH_SQL.format(
        rule_array=f"array_remove(ARRAY[{cases}]::int[], NULL)",
        rule_values=", " + values.relation(15),
    )


async def compile_active_alignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID
) -> CompiledAlignment | None:
    alignment_id = await connection.fetchval(
        "SELECT id FROM alignment WHERE tenant_id = $1 AND status = 'active'", tenant_id
    )
    if alignment_id is None:
        return None
    return await compile_alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)


async def compile_alignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> CompiledAlignment:
    """Any alignment of the tenant (drafts too: the diff of a draft against the active one)."""
    rows = await connection.fetch(
        """
        SELECT t.id, t.name, t.level, t.priority, t.distribution_rule, t.criteria,
               t.is_fallback,
               coalesce(array_agg(m.rep_id ORDER BY m.rep_id)
                        FILTER (WHERE m.role = 'owner'), '{}') AS owner_rep_ids
          FROM territory t LEFT JOIN territory_member m ON m.territory_id = t.id
         WHERE t.tenant_id = $1 AND t.alignment_id = $2
         GROUP BY t.id
        """,
        tenant_id,
        alignment_id,
    )
    territories = {
        row["id"]: TerritoryInfo(
            id=row["id"],
            name=row["name"],
            level=row["level"],
            priority=row["priority"],
            distribution_rule=row["distribution_rule"],
            owner_rep_ids=tuple(row["owner_rep_ids"]),
        )
        for row in rows
    }
    with_rules = sorted(
        (row for row in rows if _json(row["criteria"])),
        key=lambda row: (row["priority"], -row["level"], row["name"], row["id"]),
    )
    values = RuleValues()
    predicates = [
        compile_criteria(criteria_from_json(_json(row["criteria"])), values=values)
        for row in with_rules
    ]
    fallback = next((row["id"] for row in rows if row["is_fallback"]), None)
    return CompiledAlignment(
        alignment_id=alignment_id,
        match_sql=build_match_sql(predicates, values),
        rule_territory_ids=tuple(row["id"] for row in with_rules),
        territories=territories,
        fallback_id=fallback,
        rule_predicates=tuple(predicates),
        rule_values=values,
    )


class CompiledAlignmentCache:
    """Per-process, per-tenant; bounded so a process serving many tenants stays small."""

    def __init__(self) -> None:
        self._entries: OrderedDict[uuid.UUID, CompiledAlignment] = OrderedDict()

    def get(self, tenant_id: uuid.UUID) -> CompiledAlignment | None:
        entry = self._entries.get(tenant_id)
        if entry is not None:
            self._entries.move_to_end(tenant_id)
        return entry

    def put(self, tenant_id: uuid.UUID, compiled: CompiledAlignment) -> None:
        self._entries[tenant_id] = compiled
        self._entries.move_to_end(tenant_id)
        while len(self._entries) > MAX_CACHED_TENANTS:
            self._entries.popitem(last=False)

"""The precedence of the design page over a whole relation of leads (or accounts) at once.

One statement: named account (hash joins on external id, then on the first account of each
domain), the alignment's compiled rule predicates (the same SQL text as the single-lead path),
the deepest containing ``territory_part`` through a LATERAL GiST lookup (only for the rows that
still need it), the fallback. ``decision_steps_sql`` renders the steps of
``services/assignment/leads/service.py`` in SQL, compactly.
"""

import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from services.assignment.leads.compiled_alignment import CompiledAlignment

RELATION_COLUMNS = (
    "row_number bigint, account_external_id text, domain text, location geometry(Point, 4326), "
    "postal_code text, country text, industry text, employee_count int, "
    "annual_revenue numeric, email text, attributes jsonb"
)

_CREATE_MATCH = """
CREATE TEMP TABLE {table} (
    row_number bigint NOT NULL,
    account_id uuid,
    account_name text,
    by_external_id boolean,
    owner_rep_id uuid,
    owner_name text,
    owner_active boolean,
    rule_indexes int[],
    geo_territory_ids uuid[],
    point geometry(Point, 4326),
    from_postal_code boolean,
    unknown_postal_code text,
    matched_rule text NOT NULL,
    territory_id uuid,
    rep_id uuid
)
"""

# Computed once per match: the first account of each domain (the single path's ORDER BY
# created_at, id), and each owner's territories in the single path's order.
_CREATE_LOOKUPS = """
CREATE TEMP TABLE {table}_domain AS
SELECT DISTINCT ON (a.domain) a.id, a.name, a.domain, a.owner_rep_id
  FROM account a
 WHERE a.tenant_id = {tenant} AND a.domain IS NOT NULL
 ORDER BY a.domain, a.created_at, a.id;

CREATE TEMP TABLE {table}_owned AS
SELECT tm.rep_id, array_agg(t.id ORDER BY t.level DESC, t.name, t.id) AS territory_ids
  FROM territory t JOIN territory_member tm ON tm.territory_id = t.id
 WHERE t.tenant_id = {tenant} AND t.alignment_id = {alignment} AND tm.role = 'owner'
 GROUP BY tm.rep_id;

ANALYZE {table}_domain;

ANALYZE {table}_owned;
"""

# $1 tenant, $2 alignment, $3 rule territory ids (in rule order), $4 fallback territory,
# $5/$6 the row_number range of this batch.
_MATCH = """
INSERT INTO {table}
SELECT m.row_number, m.account_id, m.account_name, m.by_external_id, m.owner_rep_id,
       m.owner_name, m.owner_active, m.rule_indexes, geo.territory_ids, m.point,
       m.from_postal_code, m.unknown_postal_code,
       CASE WHEN m.named THEN 'named_account'
            WHEN cardinality(m.rule_indexes) > 0 THEN 'attribute_rule'
            WHEN cardinality(geo.territory_ids) > 0 THEN 'geography'
            ELSE 'fallback' END,
       CASE WHEN m.named THEN owner_territory.id
            WHEN cardinality(m.rule_indexes) > 0 THEN ($3::uuid[])[m.rule_indexes[1] + 1]
            WHEN cardinality(geo.territory_ids) > 0 THEN geo.territory_ids[1]
            ELSE $4::uuid END,
       CASE WHEN m.named THEN m.owner_rep_id END
  FROM (
    SELECT l.row_number,
           coalesce(by_id.id, by_domain.id) AS account_id,
           coalesce(by_id.name, by_domain.name) AS account_name,
           CASE WHEN coalesce(by_id.id, by_domain.id) IS NOT NULL
                THEN by_id.id IS NOT NULL END AS by_external_id,
           owner.id AS owner_rep_id, owner.name AS owner_name, owner.active AS owner_active,
           coalesce(owner.active, false) AS named,
           {rule_array} AS rule_indexes,
           coalesce(l.location, pc.centroid) AS point,
           l.location IS NULL AND pc.centroid IS NOT NULL AS from_postal_code,
           CASE WHEN l.location IS NULL AND pc.centroid IS NULL AND l.postal_code IS NOT NULL
                THEN l.country || ' ' || l.postal_code END AS unknown_postal_code
      FROM ({relation}) l
      LEFT JOIN account by_id
             ON by_id.tenant_id = $1 AND by_id.external_id = l.account_external_id
      LEFT JOIN {table}_domain by_domain ON by_id.id IS NULL AND by_domain.domain = l.domain
      LEFT JOIN rep owner ON owner.id = coalesce(by_id.owner_rep_id, by_domain.owner_rep_id)
      LEFT JOIN postal_code pc
             ON l.location IS NULL AND pc.country = l.country AND pc.code = l.postal_code
     WHERE l.row_number BETWEEN $5 AND $6
    OFFSET 0
  ) m
  LEFT JOIN LATERAL (
    SELECT array_agg(q.territory_id ORDER BY q.level DESC, q.territory_area_m2, q.territory_id)
           AS territory_ids
      FROM (SELECT DISTINCT p.territory_id, p.level, p.territory_area_m2
              FROM territory_part p
             WHERE p.alignment_id = $2 AND p.tenant_id = $1
               AND ST_Intersects(p.geom, m.point)) q
     WHERE m.point IS NOT NULL AND (m.named OR cardinality(m.rule_indexes) = 0)
  ) geo ON true
  LEFT JOIN {table}_owned owned ON m.named AND owned.rep_id = m.owner_rep_id
  LEFT JOIN LATERAL (
    -- The owner's territory containing the lead if any, else their first: the single path's
    -- ORDER BY (contains the lead) DESC, level DESC, name, id.
    SELECT coalesce(
        (SELECT o.id FROM unnest(owned.territory_ids) WITH ORDINALITY AS o(id, ordinal)
          WHERE o.id = ANY (geo.territory_ids) ORDER BY o.ordinal LIMIT 1),
        owned.territory_ids[1]) AS id
  ) owner_territory ON true
"""

Progress = Callable[[int], Awaitable[None]]


def _rule_array(compiled: CompiledAlignment) -> str:
    if not compiled.rule_predicates:
        return "ARRAY[]::int[]"
    cases = ", ".join(
        f"CASE WHEN {predicate} THEN {index} END"
        for index, predicate in enumerate(compiled.rule_predicates)
    )
    return f"array_remove(ARRAY[{cases}]::int[], NULL)"


async def match_relation(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    relation_sql: str,
    batch_rows: int = 0,
    on_progress: Progress | None = None,
) -> str:
    """Match every row of ``relation_sql`` (a SELECT with the columns of ``RELATION_COLUMNS``;
    rule predicates read it as ``l``) and return the name of a new temp table with, per
    row_number: account_id, matched_rule, territory_id, rep_id (the owner, for named accounts),
    and what the explanation needs. ``batch_rows`` > 0 matches in row_number ranges of that
    size and reports the rows done after each, for progress."""
    table = f"match_{uuid.uuid4().hex[:12]}"
    await connection.execute(_CREATE_MATCH.format(table=table))
    # CREATE TABLE AS takes no parameters: the ids go in as literals (uuid.UUID renders safely).
    await connection.execute(
        _CREATE_LOOKUPS.format(
            table=table,
            tenant=f"'{tenant_id}'::uuid",
            alignment=f"'{compiled.alignment_id}'::uuid",
        )
    )
    bounds = await connection.fetchrow(
        f"SELECT min(row_number) AS low, max(row_number) AS high FROM ({relation_sql}) l"
    )
    assert bounds is not None
    if bounds["low"] is None:
        return table
    statement = _MATCH.format(table=table, relation=relation_sql, rule_array=_rule_array(compiled))
    step = batch_rows if batch_rows > 0 else bounds["high"] - bounds["low"] + 1
    low = bounds["low"]
    while low <= bounds["high"]:
        high = min(low + step - 1, bounds["high"])
        await connection.execute(
            statement,
            tenant_id,
            compiled.alignment_id,
            list(compiled.rule_territory_ids),
            compiled.fallback_id,
            low,
            high,
        )
        if on_progress is not None:
            await on_progress(high - bounds["low"] + 1)
        low = high + 1
    await connection.execute(f"ANALYZE {table}")
    return table


def decision_steps_sql(*, match: str, rule_ids: str, rule_count: int) -> str:
    """A jsonb array of the precedence steps of ``match`` (a match table row): the single path's
    step names and outcomes with their ids, compact (no prose: a million leads' explanations
    are written in one statement); ``rule_ids`` is the uuid[] of the rule territories."""
    how = f"CASE WHEN {match}.by_external_id THEN 'external_id' ELSE 'domain' END"
    named = f"""
    CASE WHEN {match}.account_id IS NULL
         THEN jsonb_build_object('step', 'named_account', 'outcome', 'no_match')
         WHEN {match}.matched_rule = 'named_account' THEN jsonb_build_object(
             'step', 'named_account', 'outcome', 'matched', 'account_id', {match}.account_id,
             'by', {how}, 'rep_id', {match}.owner_rep_id)
         ELSE jsonb_build_object(
             'step', 'named_account', 'outcome', 'skipped', 'account_id', {match}.account_id,
             'by', {how}, 'reason', CASE WHEN {match}.owner_rep_id IS NULL THEN 'no_owner'
                                         ELSE 'inactive_owner' END)
    END"""
    rule = f"""
    CASE WHEN {match}.matched_rule = 'attribute_rule' THEN jsonb_build_object(
             'step', 'attribute_rule', 'outcome', 'matched', 'territory_id', {match}.territory_id)
             || CASE WHEN cardinality({match}.rule_indexes) > 1 THEN jsonb_build_object(
                    'also_matched', (SELECT jsonb_agg(({rule_ids})[index + 1] ORDER BY ordinal)
                                       FROM unnest({match}.rule_indexes[2:])
                                            WITH ORDINALITY AS u(index, ordinal)),
                    'tie_break', 'lowest priority number, then deeper level, then name')
                ELSE '{{}}'::jsonb END
         ELSE jsonb_build_object(
             'step', 'attribute_rule', 'outcome', 'no_match', 'rules', {rule_count})
    END"""
    placed_by = f"CASE WHEN {match}.from_postal_code THEN 'postal_code' ELSE 'coordinates' END"
    point = f"jsonb_build_array(ST_X({match}.point), ST_Y({match}.point))"
    geography = f"""
    CASE WHEN {match}.point IS NULL THEN jsonb_build_object(
             'step', 'geography', 'outcome', 'no_location')
             || CASE WHEN {match}.unknown_postal_code IS NOT NULL THEN jsonb_build_object(
                    'unknown_postal_code', {match}.unknown_postal_code) ELSE '{{}}'::jsonb END
         WHEN {match}.matched_rule = 'geography' THEN jsonb_build_object(
             'step', 'geography', 'outcome', 'matched', 'territory_id', {match}.territory_id,
             'point', {point}, 'placed_by', {placed_by})
             || CASE WHEN cardinality({match}.geo_territory_ids) > 1 THEN jsonb_build_object(
                    'also_containing', to_jsonb({match}.geo_territory_ids[2:]),
                    'tie_break', 'deepest level, then smallest area, then id')
                ELSE '{{}}'::jsonb END
         ELSE jsonb_build_object(
             'step', 'geography', 'outcome', 'no_match', 'point', {point},
             'placed_by', {placed_by})
    END"""
    fallback = f"""jsonb_build_object(
        'step', 'fallback', 'outcome', 'matched', 'territory_id', {match}.territory_id)"""
    return f"""
    CASE {match}.matched_rule
        WHEN 'named_account' THEN jsonb_build_array({named})
        WHEN 'attribute_rule' THEN jsonb_build_array({named}, {rule})
        WHEN 'geography' THEN jsonb_build_array({named}, {rule}, {geography})
        ELSE jsonb_build_array({named}, {rule}, {geography}, {fallback})
    END"""

"""The precedence of the design page over a whole relation of leads (or accounts) at once.

Named account (hash joins on external id, then on the first account of each domain), the
alignment's compiled rule predicates (the same SQL text as the single-lead path), the deepest
containing ``territory_part`` through a spatial join on its GiST index (only for the rows that
still need it), the fallback. ``explanation.py`` renders the steps it took.
"""

import uuid
from typing import Any

import asyncpg

from services.assignment.leads.compiled_alignment import CompiledAlignment

RELATION_COLUMNS = (
    "row_number bigint, account_external_id text, domain text, location geometry(Point, 4326), "
    "postal_code text, country text, industry text, employee_count int, "
    "annual_revenue numeric, email text, attributes jsonb"
)

# Computed once per match: the first account of each domain (the single path's ORDER BY
# created_at, id), and each owner's territories in the single path's order.
_LOOKUPS = {
    "domain": """
SELECT DISTINCT ON (a.domain) a.id, a.name, a.domain, a.owner_rep_id, a.location
  FROM account a
 WHERE a.tenant_id = {tenant} AND a.domain IS NOT NULL AND {named_accounts}
 ORDER BY a.domain, a.created_at, a.id
""",
    "owned": """
SELECT tm.rep_id, array_agg(t.id ORDER BY t.level DESC, t.name, t.id) AS territory_ids
  FROM territory t JOIN territory_member tm ON tm.territory_id = t.id
 WHERE t.tenant_id = {tenant} AND t.alignment_id = {alignment} AND tm.role = 'owner'
 GROUP BY tm.rep_id
""",
}

# Three statements, each a CREATE TABLE AS (so that, over UNLOGGED tables, they may run in
# parallel workers, which a LATERAL subquery per row would prevent). {tenant}, {alignment},
# {fallback}: SQL values (ids, rendered by _uuid_sql); the rules' operands are bound ($1, $2).
# 1. Per row: its named account and owner, the territories whose rules it satisfies (in rule
# order), its point.
_ACCOUNT_AND_RULES = """
SELECT l.row_number, {carry}
       coalesce(by_id.id, by_domain.id) AS account_id,
       coalesce(by_id.name, by_domain.name) AS account_name,
       CASE WHEN coalesce(by_id.id, by_domain.id) IS NOT NULL
            THEN by_id.id IS NOT NULL END AS by_external_id,
       owner.id AS owner_rep_id, owner.name AS owner_name, owner.active AS owner_active,
       coalesce(owner.active, false) AND {named_accounts} AS named,
       {rule_array} AS rule_territory_ids,
       -- A lead without a location of its own is where its account is.
       coalesce(l.location, pc.centroid, by_id.location, by_domain.location) AS point,
       l.location IS NULL AND pc.centroid IS NOT NULL AS from_postal_code,
       l.location IS NULL AND pc.centroid IS NULL
           AND coalesce(by_id.location, by_domain.location) IS NOT NULL AS from_account,
       CASE WHEN l.location IS NULL AND pc.centroid IS NULL AND l.postal_code IS NOT NULL
            THEN l.country || ' ' || l.postal_code END AS unknown_postal_code,
       -- The single path's warning: a point far from its postal code's centroid.
       ST_DistanceSphere(l.location, pc.centroid) / 1000 AS postal_distance_km,
       l.country || ' ' || l.postal_code AS postal_code_label
  FROM ({relation}) l{rule_values}
  LEFT JOIN account by_id
         ON by_id.tenant_id = {tenant} AND by_id.external_id = l.account_external_id
  LEFT JOIN {domain} by_domain ON by_id.id IS NULL AND by_domain.domain = l.domain
  LEFT JOIN rep owner ON owner.id = coalesce(by_id.owner_rep_id, by_domain.owner_rep_id)
  LEFT JOIN postal_code pc ON pc.country = l.country AND pc.code = l.postal_code
"""

# 2. The territories containing the point of each row that needs them (geography decides, or a
# named account's owner has several territories), deepest first: one spatial join through the
# GiST index of territory_part.
_CONTAINING = """
SELECT h.row_number,
       array_agg(h.territory_id ORDER BY h.level DESC, h.territory_area_m2, h.territory_id)
           AS territory_ids
  FROM (SELECT DISTINCT m.row_number, p.territory_id, p.level, p.territory_area_m2
          FROM {accounts} m
          JOIN territory_part p
            ON p.alignment_id = {alignment} AND p.tenant_id = {tenant}
           AND ST_Intersects(p.geom, m.point)
         WHERE m.point IS NOT NULL AND (m.named OR cardinality(m.rule_territory_ids) = 0)) h
 GROUP BY h.row_number
"""

# 3. The precedence. In two statements: the named accounts' rows (few) look their owner's
# territory up with a subquery per row, which would keep the whole statement out of parallel
# workers; the others do not need it.
_DECIDE = """
SELECT m.row_number, {carry} m.account_id, m.account_name, m.by_external_id, m.owner_rep_id,
       m.owner_name, m.owner_active, m.rule_territory_ids,
       geo.territory_ids AS geo_territory_ids,
       m.point, m.from_postal_code, m.from_account, m.unknown_postal_code,
       m.postal_distance_km, m.postal_code_label, NULL::uuid AS swapped_territory_id,
       CASE WHEN m.named THEN 'named_account'
            WHEN cardinality(m.rule_territory_ids) > 0 THEN 'attribute_rule'
            WHEN cardinality(geo.territory_ids) > 0 THEN 'geography'
            ELSE 'fallback' END AS matched_rule,
       CASE WHEN m.named THEN {owner_territory}
            WHEN cardinality(m.rule_territory_ids) > 0 THEN m.rule_territory_ids[1]
            WHEN cardinality(geo.territory_ids) > 0 THEN geo.territory_ids[1]
            ELSE {fallback} END AS territory_id,
       CASE WHEN m.named THEN m.owner_rep_id END AS rep_id
  FROM {accounts} m
  LEFT JOIN {containing} geo ON geo.row_number = m.row_number
  {owner_join}
 WHERE m.named = {named}
"""

# The single path's warning for a lead whose own coordinates lie in no territory: where they
# would lie with latitude and longitude swapped. Only the fallback's rows (few) are looked at.
_SWAPPED = """
UPDATE {table} m SET swapped_territory_id = (
    SELECT p.territory_id FROM territory_part p
     WHERE p.alignment_id = {alignment} AND p.tenant_id = {tenant}
       AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(ST_Y(m.point), ST_X(m.point)), 4326))
     ORDER BY p.level DESC, p.territory_area_m2, p.territory_id
     LIMIT 1)
 WHERE m.matched_rule = 'fallback' AND m.point IS NOT NULL AND NOT m.from_postal_code
   AND NOT m.from_account AND abs(ST_X(m.point)) <= 90
"""

# The owner's territory containing the lead if any, else their first: the single path's
# ORDER BY (contains the lead) DESC, level DESC, name, id.
_OWNER_JOIN = """
  LEFT JOIN {owned} owned ON owned.rep_id = m.owner_rep_id
  LEFT JOIN LATERAL (
    SELECT coalesce(
        (SELECT o.id FROM unnest(owned.territory_ids) WITH ORDINALITY AS o(id, ordinal)
          WHERE o.id = ANY (geo.territory_ids) ORDER BY o.ordinal LIMIT 1),
        owned.territory_ids[1]) AS id
  ) owner_territory ON true
"""

# Working tables of one match, besides the match itself: {table}_<name>.
_STAGES = ("domain", "owned", "accounts", "containing")


def _rule_array(compiled: CompiledAlignment) -> str:
    if not compiled.rule_predicates:
        return "ARRAY[]::uuid[]"
    cases = ", ".join(
        f"CASE WHEN {predicate} THEN {_uuid_sql(territory_id)} END"
        for predicate, territory_id in zip(
            compiled.rule_predicates, compiled.rule_territory_ids, strict=True
        )
    )
    return f"array_remove(ARRAY[{cases}]::uuid[], NULL)"


def _uuid_sql(value: uuid.UUID | None) -> str:
    # DDL takes no parameters: ids go in as literals (a uuid.UUID renders safely).
    return f"'{uuid.UUID(str(value))}'::uuid" if value is not None else "NULL::uuid"


async def _match(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    relation_sql: str,
    table: str,
    create: str,
    carry: tuple[str, ...] = (),
    named_accounts: bool = True,
) -> None:
    names = {name: f"{table}_{name}" for name in _STAGES}
    values = {
        "named_accounts": "true" if named_accounts else "false",
        "tenant": _uuid_sql(tenant_id),
        "alignment": _uuid_sql(compiled.alignment_id),
        "fallback": _uuid_sql(compiled.fallback_id),
        "rule_array": _rule_array(compiled),
        "rule_values": (
            " CROSS JOIN " + compiled.rule_values.relation(1) if compiled.rule_predicates else ""
        ),
        "relation": relation_sql,
    }
    # Only the statement that evaluates the rules reads their operands.
    rule_arguments = compiled.rule_values.arguments if compiled.rule_predicates else ()
    others = {"named": "false", "owner_territory": "NULL::uuid", "owner_join": ""}
    named = {
        "named": "true",
        "owner_territory": "owner_territory.id",
        "owner_join": _OWNER_JOIN.format(**names),
    }
    # (table, statement, its alias of the rows whose ``carry`` columns it copies, values, args)
    statements: list[tuple[str | None, str, str, dict[str, str], tuple[Any, ...]]] = [
        (names["domain"], f"{create} {names['domain']} AS {_LOOKUPS['domain']}", "", {}, ()),
        (names["owned"], f"{create} {names['owned']} AS {_LOOKUPS['owned']}", "", {}, ()),
        (
            names["accounts"],
            f"{create} {names['accounts']} AS {_ACCOUNT_AND_RULES}",
            "l",
            {},
            rule_arguments,
        ),
        (names["containing"], f"{create} {names['containing']} AS {_CONTAINING}", "", {}, ()),
        (None, f"{create} {table} AS {_DECIDE}", "m", others, ()),
        (table, f"INSERT INTO {table} {_DECIDE}", "m", named, ()),
    ]
    statements.append((None, _SWAPPED.replace("{table}", table), "", {}, ()))
    for analyze, statement, alias, extra, arguments in statements:
        carried = "".join(f"{alias}.{column}, " for column in carry) if alias else ""
        sql = statement.format(**names, **(values | extra | {"carry": carried}))
        await connection.execute(sql, *arguments)
        if analyze:
            await connection.execute(f"ANALYZE {analyze}")
    await connection.execute(f"DROP TABLE {names['accounts']}, {names['containing']}")


async def match_relation(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    relation_sql: str,
    named_accounts: bool = True,
) -> str:
    """Match every row of ``relation_sql`` (a SELECT with the columns of ``RELATION_COLUMNS``;
    rule predicates read it as ``l``) and return the name of a new temp table with, per
    row_number: account_id, matched_rule, territory_id, rep_id (the owner, for named accounts),
    and what the explanation needs; its lookups are the temp tables ``<name>_domain`` and
    ``<name>_owned``. (Bulk lead jobs use ``match_into``, whose tables parallel workers read.)
    ``named_accounts=False`` skips the named-account step: where a row falls by the rules and
    geography alone, whoever owns its account."""
    table = f"match_{uuid.uuid4().hex[:12]}"
    await _match(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=relation_sql,
        table=table,
        create="CREATE TEMP TABLE",
        named_accounts=named_accounts,
    )
    return table


async def match_into(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    relation_sql: str,
    table: str,
    carry: tuple[str, ...] = (),
) -> None:
    """``match_relation`` into the UNLOGGED table ``table`` (and its lookups ``<table>_domain``,
    ``<table>_owned``), which parallel workers may build. The relation must not read temp
    tables (parallel workers cannot); its columns ``carry`` are copied into the match table."""
    await _match(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=relation_sql,
        table=table,
        create="CREATE UNLOGGED TABLE",
        carry=carry,
    )

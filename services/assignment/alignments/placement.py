"""Where every account of a tenant falls under an alignment: the bulk matcher run over accounts.

The same set-based precedence as bulk lead assignment (an account with an active owner is a
named account; otherwise rules, then geography, then the fallback), so a publish places
accounts exactly as it would route their leads. SQL on the raw asyncpg connection the matcher
needs; every temp table made here is dropped before returning.
"""

import uuid

import asyncpg

from services.assignment.bulk.matching import match_relation
from services.assignment.leads.compiled_alignment import compile_alignment

# The matcher's relation over the accounts snapshot (its columns: bulk.matching.RELATION_COLUMNS).
_ACCOUNT_RELATION = """
SELECT row_number, account_external_id, domain, location, postal_code, country, industry,
       employee_count, annual_revenue, email, attributes
  FROM {accounts}
"""

# Per account: the territory, and its owner: the account's own (named) or the territory's
# first active owner by weight, then id.
_PLACE = """
CREATE TEMP TABLE {placement} AS
SELECT s.account_id, m.territory_id, m.matched_rule,
       coalesce(m.rep_id, (
           SELECT tm.rep_id FROM territory_member tm JOIN rep r ON r.id = tm.rep_id
            WHERE tm.territory_id = m.territory_id AND tm.role = 'owner' AND r.active
            ORDER BY tm.weight DESC, tm.rep_id LIMIT 1)) AS owner_rep_id
  FROM {accounts} s JOIN {match} m ON m.row_number = s.row_number
"""


async def place_accounts(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    accounts: str,
    placement: str,
) -> None:
    """Fill the new temp table ``placement`` (account_id, territory_id, matched_rule,
    owner_rep_id) from the accounts snapshot ``accounts`` (made by ``snapshot_accounts``)."""
    compiled = await compile_alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)
    match = await match_relation(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=_ACCOUNT_RELATION.format(accounts=accounts),
    )
    await connection.execute(_PLACE.format(placement=placement, accounts=accounts, match=match))
    await connection.execute(
        f"DROP TABLE {match}, {match}_domain, {match}_owned; ANALYZE {placement}"
    )


async def snapshot_accounts(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, accounts: str
) -> int:
    """The tenant's accounts as lead-shaped rows, numbered, in a new temp table ``accounts``."""
    # CREATE TABLE AS takes no parameters; a uuid.UUID renders as a safe literal.
    await connection.execute(
        f"""
        CREATE TEMP TABLE {accounts} AS
        SELECT row_number() OVER (ORDER BY a.id) AS row_number, a.id AS account_id,
               a.external_id AS account_external_id, a.domain, a.location,
               a.postal_code::text, a.country::text, a.industry::text, a.employee_count,
               a.annual_revenue, NULL::text AS email, a.attributes
          FROM account a WHERE a.tenant_id = '{uuid.UUID(str(tenant_id))}'::uuid
        """
    )
    count: int = await connection.fetchval(f"SELECT count(*) FROM {accounts}")
    await connection.execute(f"ANALYZE {accounts}")
    return count


def temp_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


_DIFF_COLUMNS = """
    a.id AS account_id, a.external_id, a.name,
    f.territory_id AS from_territory_id, ft.name AS from_territory,
    f.owner_rep_id AS from_owner_rep_id, fr.name AS from_owner,
    t.territory_id AS to_territory_id, tt.name AS to_territory,
    t.owner_rep_id AS to_owner_rep_id, tr.name AS to_owner,
    ft.name IS DISTINCT FROM tt.name AS territory_changed,
    f.owner_rep_id IS DISTINCT FROM t.owner_rep_id AS owner_changed
"""

# Territory ids differ between alignments (a clone has new ids), so "the same territory" is the
# same name, which is unique within an alignment.
_DIFF_FROM = """
  FROM {before} f JOIN {after} t USING (account_id) JOIN account a ON a.id = f.account_id
  LEFT JOIN territory ft ON ft.id = f.territory_id LEFT JOIN territory tt ON tt.id = t.territory_id
  LEFT JOIN rep fr ON fr.id = f.owner_rep_id LEFT JOIN rep tr ON tr.id = t.owner_rep_id
 WHERE ft.name IS DISTINCT FROM tt.name OR f.owner_rep_id IS DISTINCT FROM t.owner_rep_id
"""


async def diff_placements(
    connection: asyncpg.Connection, *, before: str, after: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], asyncpg.Record]:
    """The accounts whose territory or owner differs (a page, by external id) and the totals."""
    source = _DIFF_FROM.format(before=before, after=after)
    rows = await connection.fetch(
        f"SELECT {_DIFF_COLUMNS} {source} ORDER BY a.external_id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    totals = await connection.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM {before}) AS accounts, count(*) AS changed,
               count(*) FILTER (WHERE ft.name IS DISTINCT FROM tt.name) AS territory_changes,
               count(*) FILTER (WHERE f.owner_rep_id IS DISTINCT FROM t.owner_rep_id)
                   AS owner_changes
        {source}
        """
    )
    assert totals is not None
    return list(rows), totals


async def apply_placement(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, placement: str
) -> int:
    """Move every account to its territory under the placement; returns how many moved."""
    moved: str = await connection.execute(
        f"""
        UPDATE account a SET territory_id = p.territory_id, updated_at = now()
          FROM {placement} p
         WHERE a.id = p.account_id AND a.tenant_id = $1
           AND a.territory_id IS DISTINCT FROM p.territory_id
        """,
        tenant_id,
    )
    return int(moved.rsplit(" ", 1)[1])

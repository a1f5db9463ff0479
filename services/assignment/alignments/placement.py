"""Where accounts fall under an alignment, with the bulk matcher run over accounts, and the one
computation of what a publish changes (the diff shows it, the publish writes it).

Each account gets two territories: ``territory_id``, where it falls by the rules and geography
(an account's leads would go there if it had no owner), and ``owner_territory_id``, its active
owner's territory, the named-account step (where its leads do go). The same set-based
precedence as lead assignment, so an account is placed exactly as its leads are routed. SQL on
the raw asyncpg connection the matcher needs; every temp table made here is dropped by its
caller (or before returning).
"""

import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.bulk.matching import match_relation
from services.assignment.leads.compiled_alignment import compile_alignment

# The matcher's relation over the accounts snapshot (its columns: bulk.matching.RELATION_COLUMNS).
_ACCOUNT_RELATION = """
SELECT row_number, account_external_id, domain, location, postal_code, country, industry,
       employee_count, annual_revenue, email, attributes
  FROM {accounts} {where}
"""

# Per account: the territory it falls in, and its owner's territory (named-account rows only).
_PLACE = """
CREATE TEMP TABLE {placement} AS
SELECT s.account_id, m.territory_id, o.territory_id AS owner_territory_id
  FROM {accounts} s JOIN {match} m ON m.row_number = s.row_number
  LEFT JOIN {owned} o ON o.row_number = s.row_number AND o.matched_rule = 'named_account'
"""


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, in the session's transaction."""
    raw = await (await session.connection()).get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection
    return connection


def temp_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def snapshot_accounts(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    accounts: str,
    within: str | None = None,
) -> int:
    """The tenant's accounts as lead-shaped rows, numbered, in a new temp table ``accounts``;
    ``within``: only the accounts whose id it selects (SQL of ours, never a caller's text)."""
    # CREATE TABLE AS takes no parameters; a uuid.UUID renders as a safe literal.
    scope = f"AND a.id IN ({within})" if within else ""
    await connection.execute(
        f"""
        CREATE TEMP TABLE {accounts} AS
        SELECT row_number() OVER (ORDER BY a.id) AS row_number, a.id AS account_id,
               a.external_id AS account_external_id, a.domain, a.location,
               a.postal_code::text, a.country::text, a.industry::text, a.employee_count,
               a.annual_revenue, NULL::text AS email, a.attributes, a.owner_rep_id
          FROM account a WHERE a.tenant_id = '{uuid.UUID(str(tenant_id))}'::uuid {scope}
        """
    )
    count: int = await connection.fetchval(f"SELECT count(*) FROM {accounts}")
    await connection.execute(f"ANALYZE {accounts}")
    return count


async def place_accounts(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    accounts: str,
    placement: str,
) -> None:
    """Fill the new temp table ``placement`` (account_id, territory_id, owner_territory_id)
    from the accounts snapshot ``accounts`` (made by ``snapshot_accounts``)."""
    compiled = await compile_alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)
    falls_in = await match_relation(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=_ACCOUNT_RELATION.format(accounts=accounts, where=""),
        named_accounts=False,
    )
    # Only accounts with an owner can be named accounts: a second, usually small, match.
    owned = await match_relation(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=_ACCOUNT_RELATION.format(
            accounts=accounts, where="WHERE owner_rep_id IS NOT NULL"
        ),
    )
    await connection.execute(
        _PLACE.format(placement=placement, accounts=accounts, match=falls_in, owned=owned)
    )
    await connection.execute(
        f"DROP TABLE {falls_in}, {falls_in}_domain, {falls_in}_owned, "
        f"{owned}, {owned}_domain, {owned}_owned; ANALYZE {placement}"
    )


async def stored_placement(
    connection: asyncpg.Connection, *, accounts: str, placement: str
) -> None:
    """The placement the snapshot's accounts hold now, as a new temp table ``placement``."""
    await connection.execute(
        f"""
        CREATE TEMP TABLE {placement} AS
        SELECT s.account_id, a.territory_id, a.owner_territory_id
          FROM {accounts} s JOIN account a ON a.id = s.account_id;
        ANALYZE {placement}
        """
    )


# Territory ids differ between alignments (a clone has new ids), so "the same territory" is the
# same name, which is unique within an alignment. The owner is the account's own: placing it
# never changes it, so it is shown, not compared.
_CHANGES = """
CREATE TEMP TABLE {changes} AS
SELECT a.id AS account_id, a.external_id, a.name, a.owner_rep_id, owner.name AS owner,
       f.territory_id AS from_territory_id, ft.name AS from_territory,
       f.owner_territory_id AS from_owner_territory_id, fo.name AS from_owner_territory,
       t.territory_id AS to_territory_id, tt.name AS to_territory,
       t.owner_territory_id AS to_owner_territory_id, tto.name AS to_owner_territory,
       ft.name IS DISTINCT FROM tt.name AS territory_changed,
       fo.name IS DISTINCT FROM tto.name AS owner_territory_changed
  FROM {before} f JOIN {after} t USING (account_id) JOIN account a ON a.id = f.account_id
  LEFT JOIN territory ft ON ft.id = f.territory_id
  LEFT JOIN territory tt ON tt.id = t.territory_id
  LEFT JOIN territory fo ON fo.id = f.owner_territory_id
  LEFT JOIN territory tto ON tto.id = t.owner_territory_id
  LEFT JOIN rep owner ON owner.id = a.owner_rep_id
 WHERE ft.name IS DISTINCT FROM tt.name OR fo.name IS DISTINCT FROM tto.name
"""


async def compute_changes(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    from_alignment_id: uuid.UUID | None,
    to_alignment_id: uuid.UUID,
    accounts: str,
    after: str,
    changes: str,
) -> None:
    """The one computation of what placing the snapshot ``accounts`` under ``to_alignment_id``
    changes: the new temp table ``after`` (every account's placement under it) and ``changes``
    (the accounts whose territory or owner's territory differs, by name). ``from_alignment_id``
    None: compared with what the accounts hold now (what a publish changes)."""
    before = temp_name("before")
    try:
        if from_alignment_id is None:
            await stored_placement(connection, accounts=accounts, placement=before)
        else:
            await place_accounts(
                connection,
                tenant_id=tenant_id,
                alignment_id=from_alignment_id,
                accounts=accounts,
                placement=before,
            )
        await place_accounts(
            connection,
            tenant_id=tenant_id,
            alignment_id=to_alignment_id,
            accounts=accounts,
            placement=after,
        )
        await connection.execute(_CHANGES.format(changes=changes, before=before, after=after))
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {before}")


async def page_of_changes(
    connection: asyncpg.Connection, *, changes: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], asyncpg.Record]:
    """A page of ``changes`` (by external id) and the totals."""
    rows = await connection.fetch(
        f"SELECT * FROM {changes} ORDER BY external_id LIMIT $1 OFFSET $2", limit, offset
    )
    totals = await connection.fetchrow(
        f"""
        SELECT count(*) AS changed,
               count(*) FILTER (WHERE territory_changed) AS territory_changes,
               count(*) FILTER (WHERE owner_territory_changed) AS owner_territory_changes
          FROM {changes}
        """
    )
    assert totals is not None
    return list(rows), totals


async def apply_placement(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, placement: str
) -> None:
    """Store the placement on the accounts (those whose territory ids differ: a publish points
    every account at the new alignment's territories, moved or not)."""
    await connection.execute(
        f"""
        UPDATE account a SET territory_id = p.territory_id,
                             owner_territory_id = p.owner_territory_id, updated_at = now()
          FROM {placement} p
         WHERE a.id = p.account_id AND a.tenant_id = $1
           AND (a.territory_id IS DISTINCT FROM p.territory_id
                OR a.owner_territory_id IS DISTINCT FROM p.owner_territory_id)
        """,
        tenant_id,
    )


async def place_written_accounts(
    session: AsyncSession, *, tenant_id: uuid.UUID, within: str
) -> None:
    """After a write of accounts: place those ``within`` selects (SQL of ours) under the
    tenant's active alignment and store it, so that an account is always where it falls."""
    connection = await driver_connection(session)
    # Waits for a publish in progress (it holds its tenant's alignments FOR UPDATE), and makes
    # a publish wait for this write: either way the account is placed under the alignment
    # that is active once both have committed.
    await connection.execute(
        "SELECT FROM alignment WHERE tenant_id = $1 ORDER BY id FOR KEY SHARE", tenant_id
    )
    alignment_id = await connection.fetchval(
        "SELECT id FROM alignment WHERE tenant_id = $1 AND status = 'active'", tenant_id
    )
    if alignment_id is None:
        return  # nothing to fall in before the first publish
    accounts, placement = temp_name("accounts"), temp_name("place")
    try:
        await snapshot_accounts(connection, tenant_id=tenant_id, accounts=accounts, within=within)
        await place_accounts(
            connection,
            tenant_id=tenant_id,
            alignment_id=alignment_id,
            accounts=accounts,
            placement=placement,
        )
        await apply_placement(connection, tenant_id=tenant_id, placement=placement)
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {accounts}, {placement}")

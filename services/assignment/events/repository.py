"""SQL of the outbox: written in the transaction of each change, read in commit-safe order.

Why the feed is ordered by ``(txid, id)`` and served only below the snapshot's xmin
-----------------------------------------------------------------------------------
A sequence number alone cannot be a cursor: ids are taken while transactions run, not when
they commit, so a transaction holding id 5 can commit after one holding id 6 has been read;
a reader that moved its cursor past 6 would never see 5.

Each event records the id of its writing transaction (``txid``, xid8 as a bigint: it never
wraps). A read serves only events whose ``txid`` is below ``xmin`` of its own snapshot, in
``(txid, id)`` order. Every transaction with an xid below xmin has ended (that is what xmin
means), so the events below it are final: each is visible (committed) or never will be
(aborted); none can still appear. Every event not yet visible belongs to a transaction still
running, whose xid is ≥ xmin, and so sorts after every event served. A cursor
``(txid, id)`` of the last event served therefore never has an event committed later behind
it. ``pg_current_snapshot()`` is the statement's own snapshot, so the xmin and the rows read
agree (both computed in one statement). ``outbox_horizon()`` (sql/outbox_horizon.sql) is
that xmin, leaving out running transactions of other databases on the cluster (they cannot
write this outbox): the same argument holds.

The price: an event waits until every transaction of this database that took its xid earlier
has ended (a long-running writer delays the feed, never loses from it). The single-lead and
most CRUD transactions last milliseconds; the bulk write's last seconds.

Order per account: two changes to one account where one commits before the other begins
writing are in commit order (a later transaction takes a larger xid). Concurrent ones are in
the order they began writing.
"""

import json
import uuid
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The xid horizon of the statement's snapshot (sql/outbox_horizon.sql), as ``txid`` is stored.
OUTBOX_HORIZON = "outbox_horizon()"


def lead_assigned_payload(
    *,
    lead_id: str,
    external_id: str,
    assignment_id: str,
    account_id: str,
    alignment_id: str,
    territory_id: str,
    rep_id: str,
    matched_rule: str,
) -> str:
    """The one shape of ``lead.assigned`` data, as SQL over the given column expressions:
    the single and the bulk path both render it from here."""
    return (
        "jsonb_build_object("
        f"'lead_id', {lead_id}, 'external_id', {external_id}, "
        f"'assignment_id', {assignment_id}, 'account_id', {account_id}, "
        f"'alignment_id', {alignment_id}, 'territory_id', {territory_id}, "
        f"'rep_id', {rep_id}, 'matched_rule', {matched_rule})"
    )


def single_lead_event_cte(
    *, result: str, tenant: str, alignment: str, account: str, lead: str, emit: str
) -> str:
    """A data-modifying CTE for the single-lead commit statement: its ``lead.assigned`` event
    in the same statement (no extra round trip), none for a replayed request."""
    payload = lead_assigned_payload(
        lead_id=f"{result}.lead_id",
        external_id=f"{lead} ->> 'external_id'",
        assignment_id=f"{result}.assignment_id",
        account_id=account,
        alignment_id=alignment,
        territory_id=f"{result}.territory_id",
        rep_id=f"{result}.rep_id",
        matched_rule=f"{result}.matched_rule",
    )
    return f"""
    INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)
    SELECT {tenant}, 'lead.assigned', {result}.lead_id,
           coalesce({account}, {result}.lead_id), {payload}
      FROM {result}
     WHERE NOT {result}.replayed AND {result}.lead_id IS NOT NULL AND {emit}
    """


async def write_bulk_lead_events(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    result: str,
    lead: str,
) -> int:
    """One ``lead.assigned`` per assignment of a bulk chunk (``result``, joined to the staged
    ``lead`` rows for their external ids): one INSERT … SELECT in the job's write transaction."""
    payload = lead_assigned_payload(
        lead_id="r.lead_id",
        external_id="l.external_id",
        assignment_id="r.assignment_id",
        account_id="r.account_id",
        alignment_id="$2::uuid",
        territory_id="r.territory_id",
        rep_id="r.rep_id",
        matched_rule="r.matched_rule",
    )
    status = await connection.execute(
        f"""
        INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)
        SELECT $1, 'lead.assigned', r.lead_id, coalesce(r.account_id, r.lead_id), {payload}
          FROM {result} r JOIN {lead} l ON l.lead_id = r.lead_id
         ORDER BY r.row_number
        """,
        tenant_id,
        alignment_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def write_account_changes(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    changes: str,
) -> int:
    """``account.owner_changed`` for every account a publish moved (the ``changes`` table of
    ``placement.compute_changes``: exactly what the publish writes), in one statement."""
    status = await connection.execute(
        f"""
        INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)
        SELECT $1, 'account.owner_changed', c.account_id, c.account_id,
               jsonb_build_object(
                   'account_id', c.account_id, 'external_id', c.external_id,
                   'owner_rep_id', c.owner_rep_id, 'reason', 'alignment_published',
                   'alignment_id', $2::uuid,
                   'territory_changed', c.territory_changed,
                   'owner_territory_changed', c.owner_territory_changed,
                   'before', jsonb_build_object(
                       'territory_id', c.from_territory_id,
                       'owner_territory_id', c.from_owner_territory_id),
                   'after', jsonb_build_object(
                       'territory_id', c.to_territory_id,
                       'owner_territory_id', c.to_owner_territory_id))
          FROM {changes} c
         ORDER BY c.external_id, c.account_id
        """,
        tenant_id,
        alignment_id,
    )
    return int(status.rsplit(" ", 1)[1])


_INSERT_ONE = """
INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)
VALUES ({p}1, {p}2, {p}3, {p}4, CAST({p}5 AS jsonb))
"""


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, default=str, separators=(",", ":"))


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    event_type: str,
    subject_id: uuid.UUID,
    ordering_key: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """One event in the session's transaction."""
    await session.execute(
        text(
            "INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)"
            " VALUES (:tenant_id, :type, :subject_id, :ordering_key, CAST(:payload AS jsonb))"
        ),
        {
            "tenant_id": tenant_id,
            "type": event_type,
            "subject_id": subject_id,
            "ordering_key": ordering_key,
            "payload": _json(payload),
        },
    )


async def record_on(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    event_type: str,
    subject_id: uuid.UUID,
    ordering_key: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """One event in the transaction an asyncpg connection holds."""
    await connection.execute(
        "INSERT INTO outbox_event (tenant_id, type, subject_id, ordering_key, payload)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        tenant_id,
        event_type,
        subject_id,
        ordering_key,
        _json(payload),
    )


# A page after the cursor, and (when the page is not full) the position of the last event
# below xmin whatever its type: a filtered reader moves past events it does not want. One
# statement, so both parts and the xmin come from the same snapshot.
_PAGE = f"""
WITH snap AS MATERIALIZED (SELECT {OUTBOX_HORIZON} AS xmin),
page AS (
    SELECT e.txid, e.id, e.type, e.version, e.subject_id, e.ordering_key, e.payload,
           e.occurred_at
      FROM outbox_event e, snap
     WHERE e.tenant_id = :tenant_id AND (e.txid, e.id) > (:after_txid, :after_id)
       AND e.txid < snap.xmin
       AND (CAST(:types AS text[]) IS NULL OR e.type = ANY (CAST(:types AS text[])))
     ORDER BY e.txid, e.id
     LIMIT :limit
),
horizon AS (
    SELECT e.txid, e.id
      FROM outbox_event e, snap
     WHERE e.tenant_id = :tenant_id AND (e.txid, e.id) > (:after_txid, :after_id)
       AND e.txid < snap.xmin
     ORDER BY e.txid DESC, e.id DESC
     LIMIT 1
)
SELECT false AS horizon, page.* FROM page
UNION ALL
SELECT true, h.txid, h.id, NULL, NULL, NULL, NULL, NULL, NULL FROM horizon h
"""


async def read_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    after: tuple[int, int],
    types: list[str] | None,
    limit: int,
) -> tuple[list[Any], tuple[int, int] | None]:
    """Up to ``limit`` events after ``after`` in feed order, and the last position below the
    snapshot's xmin (None when there is none after ``after``)."""
    rows = (
        await session.execute(
            text(_PAGE),
            {
                "tenant_id": tenant_id,
                "after_txid": after[0],
                "after_id": after[1],
                "types": types,
                "limit": limit,
            },
        )
    ).all()
    events = [row for row in rows if not row.horizon]
    horizons = [(row.txid, row.id) for row in rows if row.horizon]
    return events, (horizons[0] if horizons else None)

"""SQL of webhook subscriptions (request sessions) and of the delivery pump (asyncpg)."""

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.events.repository import OUTBOX_HORIZON
from shared.models import WebhookDelivery, WebhookSubscription

# --- subscriptions (request session) ---


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> WebhookSubscription:
    """A new subscription, positioned at the current xmin: it receives every event whose
    transaction had not ended when it was created, and none before."""
    cursor_txid = await session.scalar(text(f"SELECT {OUTBOX_HORIZON}"))
    subscription = WebhookSubscription(tenant_id=tenant_id, cursor_txid=cursor_txid, **values)
    session.add(subscription)
    await session.flush()
    await session.refresh(subscription)
    return subscription


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> WebhookSubscription | None:
    subscription: WebhookSubscription | None = await session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.tenant_id == tenant_id, WebhookSubscription.id == subscription_id
        )
    )
    return subscription


async def list_all(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[WebhookSubscription]:
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.tenant_id == tenant_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return list(rows)


async def delivery_counts(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    rows = await session.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.subscription_id.in_(subscription_ids),
            WebhookDelivery.status.in_(("pending", "dead")),
        )
        .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
    )
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for subscription_id, status, count in rows:
        counts.setdefault(subscription_id, {})[status] = count
    return counts


async def delete(session: AsyncSession, *, subscription: WebhookSubscription) -> None:
    await session.delete(subscription)
    await session.flush()


async def list_deliveries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    status: str | None,
    limit: int,
    offset: int,
) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.subscription_id == subscription_id
    )
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    rows = await session.scalars(
        statement.order_by(WebhookDelivery.event_txid, WebhookDelivery.event_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


async def get_delivery(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> WebhookDelivery | None:
    delivery: WebhookDelivery | None = await session.scalar(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.id == delivery_id,
        )
        .with_for_update()
    )
    return delivery


async def requeue(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    delivery_ids: list[uuid.UUID] | None,
    statuses: tuple[str, ...],
) -> int:
    """Put deliveries back in the queue as new (attempts from 0, due now). It keeps its place
    in event order, so it goes before the later events of its ordering key still pending."""
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status.in_(statuses),
        )
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=func.now(),
            leased_until=None,
            leased_by=None,
            dead_at=None,
            delivered_at=None,
            last_error=None,
            last_status_code=None,
        )
    )
    if delivery_ids is not None:
        statement = statement.where(WebhookDelivery.id.in_(delivery_ids))
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- the delivery pump (asyncpg; each statement in a transaction bound to one tenant) ---


async def pump_tenants(connection: asyncpg.Connection) -> list[uuid.UUID]:
    return [row[0] for row in await connection.fetch("SELECT * FROM webhook_pump_tenants()")]


async def release_leases(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> int:
    """Leases of a pump that died (its session, ``leased_by``, is gone): nobody will record
    their outcome, so they are tried again now rather than when the lease runs out."""
    status = await connection.execute(
        """
        UPDATE webhook_delivery d SET leased_until = NULL, leased_by = NULL
         WHERE d.tenant_id = $1 AND d.status = 'pending' AND d.leased_until IS NOT NULL
           AND NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = d.leased_by)
        """,
        tenant_id,
    )
    return int(status.rsplit(" ", 1)[1])


# Fan out: for each active subscription, the next events after its cursor below xmin (the
# feed's rule, so none is ever skipped), a delivery for each of the wanted types, and the
# cursor moved past every event read (wanted or not).
_FAN_OUT = f"""
WITH snap AS MATERIALIZED (SELECT {OUTBOX_HORIZON} AS xmin),
subscription AS (
    SELECT s.id, s.event_types, s.cursor_txid, s.cursor_event_id
      FROM webhook_subscription s
     WHERE s.tenant_id = $1 AND s.active
       FOR NO KEY UPDATE
),
scanned AS (
    SELECT s.id AS subscription_id, s.event_types, e.txid, e.id, e.type, e.ordering_key
      FROM subscription s CROSS JOIN snap
     CROSS JOIN LATERAL (
        SELECT e.txid, e.id, e.type, e.ordering_key
          FROM outbox_event e
         WHERE e.tenant_id = $1 AND (e.txid, e.id) > (s.cursor_txid, s.cursor_event_id)
           AND e.txid < snap.xmin
         ORDER BY e.txid, e.id
         LIMIT $2
     ) e
),
inserted AS (
    INSERT INTO webhook_delivery (tenant_id, subscription_id, event_txid, event_id, event_type,
                                  ordering_key)
    SELECT $1, subscription_id, txid, id, type, ordering_key
      FROM scanned
     WHERE cardinality(event_types) = 0 OR type = ANY (event_types)
    ON CONFLICT ON CONSTRAINT uq_webhook_delivery_subscription_id_event_id DO NOTHING
    RETURNING 1
),
last AS (
    SELECT DISTINCT ON (subscription_id) subscription_id, txid, id
      FROM scanned ORDER BY subscription_id, txid DESC, id DESC
),
moved AS (
    UPDATE webhook_subscription s SET cursor_txid = last.txid, cursor_event_id = last.id
      FROM last WHERE s.id = last.subscription_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS deliveries, (SELECT count(*) FROM scanned) AS scanned
"""


async def fan_out(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, batch: int
) -> tuple[int, int]:
    """Returns (deliveries created, events read)."""
    row = await connection.fetchrow(_FAN_OUT, tenant_id, batch)
    assert row is not None
    return int(row["deliveries"]), int(row["scanned"])


# Claim: per subscription, the first WINDOW pending deliveries in event order; the head of
# each ordering key among them (a key's head is always in the window: the window is a prefix
# of the event order); those due and not in flight, up to the subscription's free slots
# (concurrency minus its leased heads); each leased for the attempt.
_CLAIM = """
WITH win AS (
    SELECT d.id, d.subscription_id, d.ordering_key, d.event_txid, d.event_id,
           d.next_attempt_at, d.leased_until
      FROM webhook_subscription s
     CROSS JOIN LATERAL (
        SELECT d.* FROM webhook_delivery d
         WHERE d.subscription_id = s.id AND d.status = 'pending'
         ORDER BY d.event_txid, d.event_id
         LIMIT $2
     ) d
     WHERE s.tenant_id = $1 AND s.active
),
head AS (
    SELECT DISTINCT ON (subscription_id, ordering_key) *
      FROM win ORDER BY subscription_id, ordering_key, event_txid, event_id
),
busy AS (
    SELECT subscription_id, count(*) FILTER (WHERE leased_until > now()) AS leased
      FROM head GROUP BY subscription_id
),
ready AS (
    SELECT h.id, h.subscription_id,
           row_number() OVER (PARTITION BY h.subscription_id
                              ORDER BY h.event_txid, h.event_id) AS n
      FROM head h
     WHERE h.next_attempt_at <= now() AND (h.leased_until IS NULL OR h.leased_until <= now())
),
pick AS (
    SELECT r.id FROM ready r JOIN busy b USING (subscription_id)
     WHERE r.n <= $3 - b.leased
)
UPDATE webhook_delivery d
   SET leased_until = now() + make_interval(secs => $4), leased_by = pg_backend_pid(),
       attempts = d.attempts + 1
  FROM pick
 WHERE d.id = pick.id AND d.status = 'pending'
   AND (d.leased_until IS NULL OR d.leased_until <= now())
RETURNING d.id
"""

_LOAD = """
SELECT d.id, d.subscription_id, d.attempts, s.url, s.secret,
       e.id AS event_id, e.txid, e.type, e.version, e.subject_id, e.ordering_key, e.payload,
       e.occurred_at
  FROM webhook_delivery d
  JOIN webhook_subscription s ON s.id = d.subscription_id
  JOIN outbox_event e
    ON e.tenant_id = d.tenant_id AND e.txid = d.event_txid AND e.id = d.event_id
 WHERE d.tenant_id = $1 AND d.id = ANY ($2::uuid[])
 ORDER BY d.event_txid, d.event_id
"""


async def claim(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    window: int,
    concurrency: int,
    lease_seconds: float,
) -> list[asyncpg.Record]:
    """The deliveries this pump may send now, leased, with what it needs to send them."""
    ids = [
        row["id"]
        for row in await connection.fetch(_CLAIM, tenant_id, window, concurrency, lease_seconds)
    ]
    if not ids:
        return []
    return list(await connection.fetch(_LOAD, tenant_id, ids))


async def delivered(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    status_code: int,
) -> None:
    await connection.execute(
        """
        UPDATE webhook_delivery
           SET status = 'delivered', delivered_at = now(), leased_until = NULL, leased_by = NULL,
               last_status_code = $3, last_error = NULL
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
        """,
        tenant_id,
        delivery_id,
        status_code,
    )


async def failed(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    status_code: int | None,
    error: str,
    retry_at: datetime | None,
) -> None:
    """A failed attempt: tried again at ``retry_at``, or dead (None)."""
    await connection.execute(
        """
        UPDATE webhook_delivery
           SET status = CASE WHEN $5::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,
               dead_at = CASE WHEN $5::timestamptz IS NULL THEN now() END,
               next_attempt_at = coalesce($5::timestamptz, next_attempt_at),
               leased_until = NULL, leased_by = NULL, last_status_code = $3,
               last_error = left($4, 500)
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
        """,
        tenant_id,
        delivery_id,
        status_code,
        error,
        retry_at,
    )

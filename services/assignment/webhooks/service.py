"""Webhook subscriptions (the secret written, never read back) and their deliveries."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.webhooks import repository, signing
from services.assignment.webhooks.errors import (
    DeliveryNotFound,
    DeliveryNotReplayable,
    SubscriptionNotFound,
)
from services.assignment.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    ReplayResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from shared.models import WebhookDelivery, WebhookSubscription


def _read(subscription: WebhookSubscription, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "description": subscription.description,
        "active": subscription.active,
        "pending_deliveries": counts.get("pending", 0),
        "dead_deliveries": counts.get("dead", 0),
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


async def _require(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> WebhookSubscription:
    subscription = await repository.get(
        session, tenant_id=tenant_id, subscription_id=subscription_id
    )
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription


async def _with_counts(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription: WebhookSubscription
) -> WebhookRead:
    counts = await repository.delivery_counts(
        session, tenant_id=tenant_id, subscription_ids=[subscription.id]
    )
    return WebhookRead(**_read(subscription, counts.get(subscription.id, {})))


async def create_subscription(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: WebhookCreate
) -> WebhookCreated:
    """A subscription receives the events committed from now on."""
    secret = data.secret or signing.new_secret()
    subscription = await repository.add(
        session,
        tenant_id=tenant_id,
        values={
            "url": str(data.url),
            "event_types": list(data.event_types),
            "description": data.description,
            "secret": secret,
            "active": data.active,
        },
    )
    return WebhookCreated(**_read(subscription, {}), secret=secret)


async def list_subscriptions(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[WebhookRead]:
    subscriptions = await repository.list_all(session, tenant_id=tenant_id)
    counts = await repository.delivery_counts(
        session, tenant_id=tenant_id, subscription_ids=[s.id for s in subscriptions]
    )
    return [WebhookRead(**_read(s, counts.get(s.id, {}))) for s in subscriptions]


async def get_subscription(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> WebhookRead:
    subscription = await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    return await _with_counts(session, tenant_id=tenant_id, subscription=subscription)


async def update_subscription(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID, data: WebhookUpdate
) -> WebhookRead:
    subscription = await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(subscription, field, str(value) if field == "url" else value)
    await session.flush()
    await session.refresh(subscription)
    return await _with_counts(session, tenant_id=tenant_id, subscription=subscription)


async def delete_subscription(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> None:
    """Deletes its deliveries too (the events stay in the feed)."""
    subscription = await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    await repository.delete(session, subscription=subscription)


def _delivery(delivery: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        ordering_key=delivery.ordering_key,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        dead_at=delivery.dead_at,
    )


async def list_deliveries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    status: str | None,
    limit: int,
    offset: int,
) -> DeliveryPage:
    await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    rows = await repository.list_deliveries(
        session,
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        status=status,
        limit=limit + 1,
        offset=offset,
    )
    return DeliveryPage(
        items=[_delivery(row) for row in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


async def replay_delivery(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> DeliveryRead:
    """Send a dead (or delivered) delivery again, as new: attempts from zero."""
    await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    delivery = await repository.get_delivery(
        session, tenant_id=tenant_id, subscription_id=subscription_id, delivery_id=delivery_id
    )
    if delivery is None:
        raise DeliveryNotFound(delivery_id)
    if delivery.status == "pending":
        raise DeliveryNotReplayable(delivery_id)
    await repository.requeue(
        session,
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        delivery_ids=[delivery_id],
        statuses=("dead", "delivered"),
    )
    await session.refresh(delivery)
    return _delivery(delivery)


async def replay_dead(
    session: AsyncSession, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> ReplayResult:
    """Every dead-lettered delivery of the subscription back in the queue."""
    await _require(session, tenant_id=tenant_id, subscription_id=subscription_id)
    replayed = await repository.requeue(
        session,
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        delivery_ids=None,
        statuses=("dead",),
    )
    return ReplayResult(replayed=replayed)

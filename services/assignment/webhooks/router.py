"""HTTP endpoints of webhook subscriptions, their deliveries and dead letters."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.assignment.webhooks import service
from services.assignment.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    ReplayResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from shared.auth import AdminPrincipal, ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/assignment/webhooks", tags=["webhooks"])
_NOT_FOUND = problem_doc("No such webhook subscription in this tenant")


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="webhooks.create")
async def create_webhook(
    body: WebhookCreate, session: SessionDep, principal: AdminPrincipal
) -> WebhookCreated:
    """Subscribe a URL to events (admin keys); the answer holds the signing secret, once."""
    return await service.create_subscription(session, tenant_id=principal.tenant_id, data=body)


@router.get("", operation_id="webhooks.list")
async def list_webhooks(session: SessionDep, principal: ReadPrincipal) -> list[WebhookRead]:
    """List the tenant's webhook subscriptions (secrets are never shown)."""
    return await service.list_subscriptions(session, tenant_id=principal.tenant_id)


@router.get("/{subscription_id}", operation_id="webhooks.get", responses={404: _NOT_FOUND})
async def get_webhook(
    subscription_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> WebhookRead:
    """Get one webhook subscription with its pending and dead delivery counts."""
    return await service.get_subscription(
        session, tenant_id=principal.tenant_id, subscription_id=subscription_id
    )


@router.patch("/{subscription_id}", operation_id="webhooks.update", responses={404: _NOT_FOUND})
async def update_webhook(
    subscription_id: uuid.UUID, body: WebhookUpdate, session: SessionDep, principal: AdminPrincipal
) -> WebhookRead:
    """Change a subscription: URL, types, secret (write-only), or `active: false` to pause."""
    return await service.update_subscription(
        session, tenant_id=principal.tenant_id, subscription_id=subscription_id, data=body
    )


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="webhooks.delete",
    responses={404: _NOT_FOUND},
)
async def delete_webhook(
    subscription_id: uuid.UUID, session: SessionDep, principal: AdminPrincipal
) -> Response:
    """Delete a subscription and its deliveries."""
    await service.delete_subscription(
        session, tenant_id=principal.tenant_id, subscription_id=subscription_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{subscription_id}/deliveries",
    operation_id="webhooks.list_deliveries",
    responses={404: _NOT_FOUND},
)
async def list_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    status_filter: Annotated[
        DeliveryStatus | None,
        Query(alias="status", description="dead: the dead-letter list"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryPage:
    """List a subscription's deliveries in event order; `status=dead` is its dead letters."""
    return await service.list_deliveries(
        session,
        tenant_id=principal.tenant_id,
        subscription_id=subscription_id,
        status=status_filter,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/{subscription_id}/deliveries:replay",
    operation_id="webhooks.replay_dead",
    responses={404: _NOT_FOUND},
)
async def replay_dead(
    subscription_id: uuid.UUID, session: SessionDep, principal: AdminPrincipal
) -> ReplayResult:
    """Put every dead-lettered delivery of the subscription back in the queue."""
    return await service.replay_dead(
        session, tenant_id=principal.tenant_id, subscription_id=subscription_id
    )


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}:replay",
    operation_id="webhooks.replay_delivery",
    responses={
        404: problem_doc("No such subscription, or no such delivery of it"),
        409: problem_doc("The delivery is still pending"),
    },
)
async def replay_delivery(
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: SessionDep,
    principal: AdminPrincipal,
) -> DeliveryRead:
    """Send a dead (or delivered) delivery again, from attempt one."""
    return await service.replay_delivery(
        session,
        tenant_id=principal.tenant_id,
        subscription_id=subscription_id,
        delivery_id=delivery_id,
    )

"""Errors of webhook subscriptions and deliveries."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class SubscriptionNotFound(NotFound):
    def __init__(self, subscription_id: uuid.UUID) -> None:
        super().__init__(f"no webhook subscription {subscription_id} in this tenant")


class DeliveryNotFound(NotFound):
    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__(f"no delivery {delivery_id} of this webhook subscription")


class DeliveryNotReplayable(Conflict):
    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__(
            f"delivery {delivery_id} is still pending (it is being tried): only a dead or "
            "delivered one can be replayed"
        )


class InvalidWebhookUrl(InvalidInput):
    def __init__(self, reason: str) -> None:
        super().__init__(f"url {reason}", field="url")

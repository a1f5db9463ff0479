"""Errors specific to the CRM adapters."""

import uuid

from shared.errors import AppError, InvalidInput, NotFound


class ConnectorNotFound(NotFound):
    def __init__(self, connector_id: uuid.UUID) -> None:
        super().__init__(
            f"no CRM connector with id {connector_id} in this tenant", field="connector_id"
        )


class WrongConnectorKind(NotFound):
    def __init__(self, connector_id: uuid.UUID, kind: str, expected: str) -> None:
        super().__init__(
            f"connector {connector_id} is a {kind} connector; this endpoint is for {expected}",
            field="connector_id",
        )


class BadSignature(AppError):
    """The sender could not prove it is the CRM this connector trusts."""

    status, slug, title = 401, "bad-signature", "The CRM request's signature does not verify"


class UnmappedFields(InvalidInput):
    slug, title = "unmapped-fields", "The CRM record has fields with no mapping"

    def __init__(self, detail: str, *, fields: list[str], record: int | None = None) -> None:
        super().__init__(detail, field=fields[0], unmapped=fields, record=record)


class BadRecord(InvalidInput):
    """A mapped value our lead or account cannot take (named with its CRM field)."""

    def __init__(self, detail: str, *, field: str, record: int | None = None) -> None:
        super().__init__(detail, field=field, record=record)


class BadEnvelope(InvalidInput):
    slug, title = "bad-envelope", "Not a message this adapter understands"

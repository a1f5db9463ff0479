"""CRM connectors: how a tenant's HubSpot portal or Salesforce org sends us leads."""

import enum
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.assignment import _enum
from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


class CrmKind(enum.StrEnum):
    hubspot = "hubspot"
    salesforce = "salesforce"


class UnmappedPolicy(enum.StrEnum):
    error = "error"
    ignore = "ignore"


class CrmConnector(Base):
    __tablename__ = "crm_connector"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    kind: Mapped[CrmKind] = mapped_column(_enum(CrmKind, "crm_kind"))
    name: Mapped[str] = mapped_column(String(200))
    # HubSpot: the app's client secret, the HMAC key of X-HubSpot-Signature-v3. Kept as given
    # because verifying needs it (a hash would not do); never returned by the API.
    client_secret: Mapped[str | None] = mapped_column(String(200))
    # Salesforce: the org whose Outbound Messages are accepted (15- or 18-character id).
    organization_id: Mapped[str | None] = mapped_column(String(18))
    # The tenant's overrides of the default mapping: CRM field → lead field (or "" to ignore).
    field_mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    unmapped: Mapped[UnmappedPolicy] = mapped_column(
        _enum(UnmappedPolicy, "crm_unmapped_policy"), server_default=UnmappedPolicy.error.value
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

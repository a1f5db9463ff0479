"""Request and response bodies for CRM connectors."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from services.assignment.crm.mapping import FIELDS, Target, check_target
from shared.models.crm import CrmKind, UnmappedPolicy
from shared.patch import NotNull
from shared.validation import Text

FieldMapping = dict[Text, dict[Text, Text]]


def _check_mapping(value: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]] | None:
    if value is None:
        return value
    for target, fields in value.items():
        if target not in FIELDS:
            raise ValueError(f"field_mapping keys are 'leads' and 'accounts', not {target!r}")
        if len(fields) > 500:
            raise ValueError(f"field_mapping.{target}: at most 500 fields")
        for crm_field, destination in fields.items():
            problem = check_target(target_of(target), destination)
            if problem:
                raise ValueError(f"field_mapping.{target}.{crm_field}: {problem}")
    return value


def target_of(name: str) -> Target:
    return "leads" if name == "leads" else "accounts"


_MAPPING_HELP = (
    'Overrides of the default mapping, per target: {"leads": {"<CRM field>": "<lead field>" |'
    ' "attributes.<key>" | ""}, "accounts": {…}}; "" ignores the CRM field'
)


class ConnectorCreate(BaseModel):
    kind: CrmKind
    name: Text = Field(min_length=1, max_length=200)
    client_secret: Text | None = Field(
        default=None,
        min_length=8,
        max_length=200,
        description="HubSpot: your app's client secret (verifies X-HubSpot-Signature-v3)",
    )
    organization_id: Text | None = Field(
        default=None,
        min_length=15,
        max_length=18,
        description="Salesforce: the org id whose Outbound Messages are accepted",
    )
    field_mapping: FieldMapping = Field(default_factory=dict, description=_MAPPING_HELP)
    unmapped: UnmappedPolicy = Field(
        default=UnmappedPolicy.error,
        description="A field with no mapping: refuse the record naming it (error) or drop it",
    )

    _mapping = field_validator("field_mapping")(_check_mapping)

    @model_validator(mode="after")
    def _credentials(self) -> "ConnectorCreate":
        if self.kind == CrmKind.hubspot and not self.client_secret:
            raise ValueError("a hubspot connector needs the app's client_secret")
        if self.kind == CrmKind.salesforce and not self.organization_id:
            raise ValueError("a salesforce connector needs the org's organization_id")
        return self


class ConnectorUpdate(BaseModel):
    name: NotNull[Text] = Field(default=None, min_length=1, max_length=200)
    client_secret: NotNull[Text] = Field(default=None, min_length=8, max_length=200)
    organization_id: NotNull[Text] = Field(default=None, min_length=15, max_length=18)
    field_mapping: NotNull[FieldMapping] = Field(default=None, description=_MAPPING_HELP)
    unmapped: NotNull[UnmappedPolicy] = None

    _mapping = field_validator("field_mapping")(_check_mapping)


class ConnectorRead(BaseModel):
    id: uuid.UUID
    kind: CrmKind
    name: str
    has_client_secret: bool = Field(description="The secret itself is never returned")
    organization_id: str | None
    field_mapping: dict[str, dict[str, str]] = Field(description="The tenant's overrides")
    unmapped: UnmappedPolicy
    effective_mapping: dict[str, dict[str, str]] = Field(
        description="Defaults with the overrides applied: what a record goes through"
    )
    endpoints: dict[str, str] = Field(description="Where the CRM sends to (paths on the gateway)")
    created_at: datetime
    updated_at: datetime


class ConnectorList(BaseModel):
    items: list[ConnectorRead]


class RecordProblem(BaseModel):
    record: int = Field(description="1-based position of the notification in the message")
    field: str
    message: str


def mapping_dump(value: Any) -> dict[str, dict[str, str]]:
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in (value or {}).items()}

"""CRM connector rules: configuration, and a CRM's record turned into a lead through the mapping
(validated before anything is written), then assigned by the one lead path every lead takes."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.crm import hubspot, repository, salesforce
from services.assignment.crm.csv_export import translate
from services.assignment.crm.errors import (
    BadEnvelope,
    BadRecord,
    BadSignature,
    ConnectorNotFound,
    UnmappedFields,
    WrongConnectorKind,
)
from services.assignment.crm.mapping import DEFAULTS, FieldMap, Target, apply
from services.assignment.crm.schemas import (
    ConnectorCreate,
    ConnectorRead,
    ConnectorUpdate,
    mapping_dump,
)
from services.assignment.leads import service as leads
from services.assignment.leads.compiled_alignment import CompiledAlignmentCache
from services.assignment.leads.errors import IdempotencyKeyReused
from services.assignment.leads.schemas import AssignmentRead, LeadIn
from shared.http_client import ServiceClient
from shared.models.crm import CrmConnector, CrmKind, UnmappedPolicy


def endpoints(connector: CrmConnector) -> dict[str, str]:
    base = f"/assignment/crm-connectors/{connector.id}"
    inbound = (
        {"leads_webhook": f"/assignment/crm/hubspot/{connector.id}/leads"}
        if connector.kind == CrmKind.hubspot
        else {
            "outbound_messages": f"/assignment/crm/salesforce/{connector.id}/outbound-messages"
            "?api_key=<a write key>"
        }
    )
    return inbound | {
        "leads_csv": f"{base}/leads:import",
        "accounts_csv": f"{base}/accounts:import",
    }


def _field_map(connector: CrmConnector, target: Target) -> FieldMap:
    return FieldMap.of(
        connector.kind,
        target,
        connector.field_mapping,
        ignore_unmapped=connector.unmapped == UnmappedPolicy.ignore,
    )


def to_read(connector: CrmConnector) -> ConnectorRead:
    overrides = mapping_dump(connector.field_mapping)
    effective = {
        target: dict(DEFAULTS[connector.kind][target]) | overrides.get(target, {})
        for target in ("leads", "accounts")
    }
    return ConnectorRead(
        id=connector.id,
        kind=connector.kind,
        name=connector.name,
        has_client_secret=connector.client_secret is not None,
        organization_id=connector.organization_id,
        field_mapping=overrides,
        unmapped=connector.unmapped,
        effective_mapping=effective,
        endpoints=endpoints(connector),
        created_at=connector.created_at,
        updated_at=connector.updated_at,
    )


async def create(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: ConnectorCreate
) -> ConnectorRead:
    connector = await repository.add(session, tenant_id=tenant_id, values=data.model_dump())
    return to_read(connector)


async def connector(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    connector_id: uuid.UUID,
    kind: CrmKind | None = None,
) -> CrmConnector:
    found = await repository.get(session, tenant_id=tenant_id, connector_id=connector_id)
    if found is None:
        raise ConnectorNotFound(connector_id)
    if kind is not None and found.kind != kind:
        raise WrongConnectorKind(connector_id, found.kind.value, kind.value)
    return found


async def update(
    session: AsyncSession, *, tenant_id: uuid.UUID, connector_id: uuid.UUID, data: ConnectorUpdate
) -> ConnectorRead:
    values = data.model_dump(exclude_unset=True)
    if not values:
        return to_read(await connector(session, tenant_id=tenant_id, connector_id=connector_id))
    updated = await repository.patch(
        session, tenant_id=tenant_id, connector_id=connector_id, values=values
    )
    if updated is None:
        raise ConnectorNotFound(connector_id)
    return to_read(updated)


async def delete(session: AsyncSession, *, tenant_id: uuid.UUID, connector_id: uuid.UUID) -> None:
    if not await repository.remove(session, tenant_id=tenant_id, connector_id=connector_id):
        raise ConnectorNotFound(connector_id)


def lead_from_record(
    field_map: FieldMap, record: Mapping[str, Any], *, position: int | None = None
) -> LeadIn:
    """The lead a CRM record maps to; every refusal names the CRM field it came from."""
    mapped = apply(field_map, record)
    if mapped.unmapped:
        raise UnmappedFields(
            field_map.unmapped_help(mapped.unmapped), fields=mapped.unmapped, record=position
        )
    if mapped.problems:
        crm_field, why = mapped.problems[0]
        raise BadRecord(f"{crm_field}: {why}", field=crm_field, record=position)
    try:
        return LeadIn.model_validate(mapped.values)
    except ValidationError as error:
        first = error.errors()[0]
        ours = ".".join(str(part) for part in first["loc"]) or "record"
        crm_field = next(
            (
                name
                for name in record
                if field_map.destination(name) in (ours, f"attributes.{ours.split('.')[-1]}")
            ),
            ours,
        )
        raise BadRecord(
            f"{crm_field} (mapped to {ours}): {first['msg']}", field=crm_field, record=position
        ) from error


@dataclass(frozen=True)
class LeadRouting:
    """What the one lead path needs from the assignment app."""

    pool: asyncpg.Pool
    cache: CompiledAlignmentCache
    proximity: ServiceClient | None
    proximity_timeout_seconds: float


async def _assign(
    routing: LeadRouting, *, tenant_id: uuid.UUID, api_key: str, lead: LeadIn, key: str
) -> AssignmentRead:
    return await leads.assign_lead(
        routing.pool,
        cache=routing.cache,
        proximity=routing.proximity,
        proximity_timeout_seconds=routing.proximity_timeout_seconds,
        tenant_id=tenant_id,
        api_key=api_key,
        lead=lead,
        idempotency_key=key,
    )


async def hubspot_lead(
    session: AsyncSession,
    routing: LeadRouting,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    connector_id: uuid.UUID,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> AssignmentRead:
    found = await connector(
        session, tenant_id=tenant_id, connector_id=connector_id, kind=CrmKind.hubspot
    )
    if found.client_secret is None:
        raise BadSignature("this connector has no client_secret to verify HubSpot's signature")
    hubspot.verify(
        secret=found.client_secret,
        method=method,
        uris=hubspot.candidate_uris(headers, path_and_query),
        body=body,
        headers=headers,
    )
    field_map = _field_map(found, "leads")
    await session.commit()  # nothing held while the lead path runs on its own connection
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise BadEnvelope(f"the body is not JSON: {error}") from error
    record = hubspot.flatten(payload)
    if not record:
        raise BadEnvelope(
            "the body holds no HubSpot properties: send the record (its properties) as JSON"
        )
    lead = lead_from_record(field_map, record)
    # HubSpot retries a webhook that failed with the same body: the retry must not be a second
    # lead. A record sent again with other values (a re-enrolment) is a new lead.
    digest = hashlib.sha256(body).hexdigest()[:32]
    key = f"hubspot:{connector_id}:{record.get('hs_object_id', '')}:{digest}"
    return await _assign(routing, tenant_id=tenant_id, api_key=api_key, lead=lead, key=key)


async def salesforce_message(
    session: AsyncSession,
    routing: LeadRouting,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    connector_id: uuid.UUID,
    body: bytes,
) -> list[AssignmentRead]:
    """Every notification of the message validated first (one bad notification: nothing is
    assigned, Salesforce keeps retrying until the mapping is fixed), then each assigned once."""
    found = await connector(
        session, tenant_id=tenant_id, connector_id=connector_id, kind=CrmKind.salesforce
    )
    message = salesforce.parse(body)
    if found.organization_id is None or not salesforce.same_org(
        found.organization_id, message.organization_id
    ):
        raise BadSignature(
            f"OrganizationId {message.organization_id} is not the org this connector accepts"
        )
    field_map = _field_map(found, "leads")
    await session.commit()
    prepared: list[tuple[str, LeadIn]] = []
    for position, notification in enumerate(message.notifications, start=1):
        if notification.sobject_type and notification.sobject_type != "Lead":
            raise BadRecord(
                f"notification {position} carries a {notification.sobject_type}: this endpoint"
                " takes Lead outbound messages",
                field="sObject",
                record=position,
            )
        lead = lead_from_record(field_map, notification.record, position=position)
        prepared.append((notification.notification_id, lead))
    results = []
    for notification_id, lead in prepared:
        key = f"salesforce:{connector_id}:{notification_id}"
        try:
            results.append(
                await _assign(routing, tenant_id=tenant_id, api_key=api_key, lead=lead, key=key)
            )
        except IdempotencyKeyReused:
            # Salesforce re-sent a notification it had queued, with the record's newer values:
            # it was assigned the first time; acknowledge, do not assign twice.
            continue
    return results


async def export_chunks(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    connector_id: uuid.UUID,
    target: Target,
    chunks: AsyncIterator[bytes],
) -> AsyncIterator[bytes]:
    """The CRM export's chunks rewritten to our layout (see csv_export)."""
    found = await connector(session, tenant_id=tenant_id, connector_id=connector_id)
    return translate(_field_map(found, target), chunks)

"""HTTP endpoints for CRM connectors: their configuration (admin), the inbound HubSpot webhook and
Salesforce Outbound Message, and imports of a CRM's CSV exports."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from services.assignment.accounts import bulk as account_bulk
from services.assignment.accounts import service as accounts
from services.assignment.accounts.errors import UnsupportedMediaType
from services.assignment.accounts.schemas import MAX_BULK_BODY_BYTES, BulkResult
from services.assignment.bulk import service as lead_bulk
from services.assignment.bulk.schemas import JobRead
from services.assignment.crm import salesforce, service
from services.assignment.crm.schemas import (
    ConnectorCreate,
    ConnectorList,
    ConnectorRead,
    ConnectorUpdate,
)
from services.assignment.crm.service import LeadRouting
from services.assignment.leads.instruments import record_assignment
from services.assignment.leads.schemas import AssignmentRead
from shared.auth import AdminPrincipal, QueryKeyWritePrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep

router = APIRouter(tags=["crm"])

CONNECTORS = "/assignment/crm-connectors"
_NOT_FOUND = problem_doc("No such connector in this tenant (or not of this CRM)")
_UNMAPPED = problem_doc(
    "A field has no mapping (`unmapped` lists them), a value does not fit its lead field"
    " (`field` names the CRM field), or the body is not the CRM's format"
)
_BAD_SIGNATURE = problem_doc(
    "The CRM's signature (or org) does not verify: API key alone is not enough"
)


def _routing(request: Request) -> LeadRouting:
    state = request.app.state
    return LeadRouting(
        pool=state.lead_pool,
        cache=state.compiled_alignments,
        proximity=state.clients.get("proximity"),
        proximity_timeout_seconds=state.settings.proximity_ranking_timeout_seconds,
    )


def _csv_only(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/csv":
        raise UnsupportedMediaType("text/csv", media)


@router.post(
    CONNECTORS,
    status_code=status.HTTP_201_CREATED,
    operation_id="crm_connectors.create",
)
async def create_connector(
    body: ConnectorCreate, session: SessionDep, principal: AdminPrincipal
) -> ConnectorRead:
    """Connect a HubSpot portal (its app's client secret) or a Salesforce org (its org id)."""
    return await service.create(session, tenant_id=principal.tenant_id, data=body)


@router.get(CONNECTORS, operation_id="crm_connectors.list")
async def list_connectors(session: SessionDep, principal: AdminPrincipal) -> ConnectorList:
    """The tenant's CRM connectors, with their effective field mappings."""
    found = await service.repository.list_all(session, tenant_id=principal.tenant_id)
    return ConnectorList(items=[service.to_read(c) for c in found])


@router.get(
    CONNECTORS + "/{connector_id}", operation_id="crm_connectors.get", responses={404: _NOT_FOUND}
)
async def get_connector(
    connector_id: uuid.UUID, session: SessionDep, principal: AdminPrincipal
) -> ConnectorRead:
    """A connector: its mapping (defaults + overrides) and the URLs the CRM must call."""
    found = await service.connector(
        session, tenant_id=principal.tenant_id, connector_id=connector_id
    )
    return service.to_read(found)


@router.patch(
    CONNECTORS + "/{connector_id}",
    operation_id="crm_connectors.update",
    responses={404: _NOT_FOUND},
)
async def update_connector(
    connector_id: uuid.UUID, body: ConnectorUpdate, session: SessionDep, principal: AdminPrincipal
) -> ConnectorRead:
    """Change a connector: name, secret, org, mapping overrides (replaced whole), policy."""
    return await service.update(
        session, tenant_id=principal.tenant_id, connector_id=connector_id, data=body
    )


@router.delete(
    CONNECTORS + "/{connector_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="crm_connectors.delete",
    responses={404: _NOT_FOUND},
)
async def delete_connector(
    connector_id: uuid.UUID, session: SessionDep, principal: AdminPrincipal
) -> Response:
    """Disconnect: the CRM's further calls are refused (404)."""
    await service.delete(session, tenant_id=principal.tenant_id, connector_id=connector_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The body of a HubSpot workflow webhook: the contact as HubSpot sends it (`vid` or"
            " `objectId` and `properties` of `{value}`), a CRM object (`id`, `properties`), or a"
            " customised body of property values. Signed with X-HubSpot-Signature-v3."
        ),
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/assignment/crm/hubspot/{connector_id}/leads",
    status_code=status.HTTP_201_CREATED,
    operation_id="crm.hubspot_lead",
    openapi_extra=_JSON_BODY,
    responses={
        401: _BAD_SIGNATURE,
        404: _NOT_FOUND,
        409: problem_doc("The tenant has no active alignment to route leads with"),
        422: _UNMAPPED,
    },
)
async def hubspot_lead(
    connector_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: WritePrincipal,
) -> AssignmentRead:
    """A lead from a HubSpot workflow webhook, mapped and assigned like any lead."""
    body = await request.body()
    query = request.url.query
    result = await service.hubspot_lead(
        session,
        _routing(request),
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        connector_id=connector_id,
        method=request.method,
        path_and_query=request.url.path + (f"?{query}" if query else ""),
        headers=request.headers,
        body=body,
    )
    record_assignment(result)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


_SOAP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A Salesforce Outbound Message (SOAP `notifications` of Lead sObjects)",
        "content": {"text/xml": {"schema": {"type": "string", "format": "binary", "minLength": 1}}},
    }
}


@router.post(
    "/assignment/crm/salesforce/{connector_id}/outbound-messages",
    operation_id="crm.salesforce_message",
    openapi_extra=_SOAP_BODY,
    response_class=Response,
    responses={
        200: {
            "description": "The acknowledgement Salesforce expects (notificationsResponse, Ack)",
            "content": {"text/xml": {"schema": {"type": "string"}}},
        },
        401: _BAD_SIGNATURE,
        404: _NOT_FOUND,
        409: problem_doc("The tenant has no active alignment to route leads with"),
        422: _UNMAPPED,
    },
)
async def salesforce_message(
    connector_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: QueryKeyWritePrincipal,
) -> Response:
    """Leads from a Salesforce Outbound Message (the API key may be in the URL: ?api_key=)."""
    results = await service.salesforce_message(
        session,
        _routing(request),
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        connector_id=connector_id,
        body=await request.body(),
    )
    for result in results:
        record_assignment(result)
    return Response(salesforce.ACK, media_type="text/xml; charset=utf-8")


def _csv_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary", "minLength": 1}}
            },
        }
    }


@router.post(
    CONNECTORS + "/{connector_id}/leads:import",
    operation_id="crm_connectors.import_leads",
    openapi_extra=_csv_body(
        "The CRM's lead/contact CSV export as it comes (its column labels or API names)"
    ),
    responses={
        202: {"description": "Staged and queued for the job worker", "model": JobRead},
        404: _NOT_FOUND,
        409: problem_doc("The tenant has no active alignment"),
        413: problem_doc("Too many rows or bytes"),
        415: problem_doc("Not text/csv"),
        422: _UNMAPPED,
    },
)
async def import_leads(
    connector_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: WritePrincipal,
    queue: QueueDep,
    wait: Annotated[bool, Query(description="Process before answering even when large")] = False,
) -> JobRead:
    """Assign the leads of a CRM export, mapped as the connector says (bad rows per row)."""
    _csv_only(request)
    chunks = await service.export_chunks(
        session,
        tenant_id=principal.tenant_id,
        connector_id=connector_id,
        target="leads",
        chunks=request.stream(),
    )
    await session.commit()
    result = await lead_bulk.upload_leads(
        settings=request.app.state.settings,
        pool=request.app.state.lead_pool,
        queue=queue,
        tenant_id=principal.tenant_id,
        content_type="text/csv",
        body=chunks,
        wait=wait,
    )
    if not result.finished:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = result.job.links["self"]
    return result.job


@router.post(
    CONNECTORS + "/{connector_id}/accounts:import",
    operation_id="crm_connectors.import_accounts",
    openapi_extra=_csv_body(
        "The CRM's company/account CSV export as it comes (its column labels or API names)"
    ),
    responses={
        404: _NOT_FOUND,
        413: problem_doc("Over 1,000,000 rows or 512 MiB"),
        415: problem_doc("Not text/csv"),
        422: _UNMAPPED,
    },
)
async def import_accounts(
    connector_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: WritePrincipal,
    atomic: Annotated[
        bool, Query(description="true: any bad row rejects the file (422), nothing is written")
    ] = False,
) -> BulkResult:
    """Import the accounts of a CRM export, mapped as the connector says."""
    _csv_only(request)
    chunks = await service.export_chunks(
        session,
        tenant_id=principal.tenant_id,
        connector_id=connector_id,
        target="accounts",
        chunks=account_bulk.body_chunks(request, limit_bytes=MAX_BULK_BODY_BYTES),
    )
    return await accounts.import_csv(
        session, tenant_id=principal.tenant_id, chunks=chunks, atomic=atomic
    )

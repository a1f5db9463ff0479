"""HTTP endpoints for accounts: upsert by external_id, one at a time or in bulk."""

import asyncio
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.assignment.accounts import bulk, service
from services.assignment.accounts.domains import InvalidDomain, normalise_domain
from services.assignment.accounts.errors import UnsupportedMediaType
from services.assignment.accounts.schemas import (
    MAX_BULK_BODY_BYTES,
    AccountBulkRequest,
    AccountLocations,
    AccountRead,
    AccountUpsert,
    BulkResult,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import InvalidInput, problem_doc
from shared.pagination import Page, PageDep
from shared.validation import Text

router = APIRouter(prefix="/assignment/accounts", tags=["accounts"])

ExternalId = Annotated[
    Text, Path(min_length=1, max_length=255, description="Your CRM's account id")
]


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its $defs inlined, to document a body read by hand."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_CSV_DESCRIPTION = (
    "UTF-8 CSV (comma; a header with semicolons or tabs is also read). The header names the "
    "columns: external_id and name (required), domain, website, latitude, longitude, postal_code, "
    "country, industry, employee_count, annual_revenue, potential, owner_rep_id, "
    "owner_external_id, and attr.<key> for custom attributes (kept as text). Empty cells are "
    "empty values. "
    "Existing accounts get only the columns the file has. Up to 1,000,000 rows; the header "
    "row is required (an empty file is refused), a header alone imports nothing."
)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@router.put(
    "/{external_id}",
    operation_id="accounts.upsert",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {
            "model": AccountRead,
            "description": "The account with this external_id existed and was replaced",
        },
        status.HTTP_404_NOT_FOUND: problem_doc("The owner is not a rep of this tenant"),
    },
)
async def upsert_account(
    external_id: ExternalId,
    body: AccountUpsert,
    response: Response,
    session: SessionDep,
    principal: WritePrincipal,
) -> AccountRead:
    """Create (201) or replace (200) the account with this external_id."""
    account, created = await service.upsert_account(
        session, tenant_id=principal.tenant_id, external_id=external_id, data=body
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return account


@router.get(
    "/{external_id}",
    responses={404: problem_doc("No such account in this tenant")},
    operation_id="accounts.get",
)
async def get_account(
    external_id: ExternalId, session: SessionDep, principal: ReadPrincipal
) -> AccountRead:
    """Get one account by its external_id."""
    return await service.get_account(
        session, tenant_id=principal.tenant_id, external_id=external_id
    )


_LOCATION_FIELD = re.compile(
    r"^(annual_revenue|potential|employee_count|attributes\.[A-Za-z_][A-Za-z0-9_]{0,62})$"
)


@router.get(":locations", operation_id="accounts.locations")
async def account_locations(
    session: SessionDep,
    principal: ReadPrincipal,
    after: Annotated[
        uuid.UUID | None, Query(description="The last id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50_000, description="Accounts per page")] = 10_000,
    fields: Annotated[
        Text | None,
        Query(
            max_length=2048,
            description="Comma-separated numeric fields: annual_revenue, potential,"
            " employee_count, attributes.<key>",
        ),
    ] = None,
) -> AccountLocations:
    """Page through the accounts that have a location, by id: the planning service's input
    for measures by location."""
    names = [name.strip() for name in (fields or "").split(",") if name.strip()]
    for name in names:
        if not _LOCATION_FIELD.match(name):
            raise InvalidInput(
                f"unknown field {name!r}: use annual_revenue, potential, employee_count or"
                " attributes.<key>",
                field="fields",
            )
    return await service.account_locations(
        session, tenant_id=principal.tenant_id, fields=names, after=after, limit=limit
    )


@router.get("", operation_id="accounts.list")
async def list_accounts(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    owner_rep_id: Annotated[uuid.UUID | None, Query(description="Only this rep's accounts")] = None,
    territory_id: Annotated[uuid.UUID | None, Query(description="Only this territory's")] = None,
    domain: Annotated[
        Text | None, Query(max_length=2048, description="Only this domain (normalised first)")
    ] = None,
) -> Page[AccountRead]:
    """List accounts in external_id order."""
    try:
        normalised_domain = normalise_domain(domain) if domain else None
    except InvalidDomain as error:
        raise InvalidInput(str(error), field="domain") from error
    accounts = await service.list_accounts(
        session,
        tenant_id=principal.tenant_id,
        owner_rep_id=owner_rep_id,
        territory_id=territory_id,
        domain=normalised_domain,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[AccountRead].build(accounts, page)


@router.post(
    ":bulk",
    operation_id="accounts.bulk_upsert",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline_refs(AccountBulkRequest.model_json_schema())}
            },
        }
    },
    responses={
        413: problem_doc("Over 50,000 rows or 512 MiB"),
        415: problem_doc("Not application/json"),
        422: problem_doc(
            "The body is not a bulk request, or atomic is true and rows are bad: `errors` "
            "lists each (row, external_id, field, message) and nothing was written"
        ),
    },
)
async def upsert_accounts(
    request: Request, session: SessionDep, principal: WritePrincipal
) -> BulkResult:
    """Upsert up to 50,000 accounts; bad rows are reported, the others written."""
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("application/json", _media_type(request))
    body = await bulk.read_body(request, limit_bytes=MAX_BULK_BODY_BYTES)
    rows, atomic = await asyncio.to_thread(bulk.parse_json_upload, body)
    return await service.upsert_accounts(
        session, tenant_id=principal.tenant_id, rows=rows, atomic=atomic
    )


@router.post(
    ":import",
    operation_id="accounts.import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": _CSV_DESCRIPTION,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary", "minLength": 1}}
            },
        }
    },
    responses={
        413: problem_doc("Over 1,000,000 rows or 512 MiB"),
        415: problem_doc("Not text/csv"),
        422: problem_doc(
            "The header or encoding is wrong, or atomic is true and rows are bad: `errors` "
            "lists each (row, external_id, field, message) and nothing was written"
        ),
    },
)
async def import_accounts(
    request: Request,
    session: SessionDep,
    principal: WritePrincipal,
    atomic: Annotated[
        bool, Query(description="true: any bad row rejects the file (422), nothing is written")
    ] = False,
) -> BulkResult:
    """Import accounts from a CSV of up to 1,000,000 rows, streamed as it arrives."""
    if _media_type(request) != "text/csv":
        raise UnsupportedMediaType("text/csv", _media_type(request))
    return await service.import_csv(
        session,
        tenant_id=principal.tenant_id,
        chunks=bulk.body_chunks(request, limit_bytes=MAX_BULK_BODY_BYTES),
        atomic=atomic,
    )

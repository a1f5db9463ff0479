"""HTTP endpoints for bulk uploads (import jobs) and the stage catalogue."""

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.ingest import service, stages
from services.metrics.ingest.kinds import KINDS, Kind
from services.metrics.ingest.schemas import (
    ImportErrorRead,
    ImportJobRead,
    OnError,
    StagesPut,
    StagesRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["imports"])

_UPLOAD = {"type": "string", "format": "binary", "minLength": 1}
_EXAMPLES: dict[Kind, tuple[str, str]] = {
    "opportunities": (
        "external_id,name,account_external_id,rep_external_id,stage,status,amount,currency,"
        "opened_at,closed_at\nopp-1,Acme renewal,acme,rep-7,Negotiation,open,12000.00,USD,"
        "2026-01-05,\n",
        '{"external_id": "opp-1", "amount": "12000.00", "stage": "Negotiation"}\n',
    ),
    "activities": (
        "external_id,kind,occurred_at,rep_external_id,account_external_id\n"
        "act-1,call,2026-01-05T10:00:00Z,rep-7,acme\n",
        '{"external_id": "act-1", "kind": "call", "occurred_at": "2026-01-05T10:00:00Z"}\n',
    ),
    "quotas": (
        "external_id,rep_external_id,period_start,period_end,amount\n"
        "q-1,rep-7,2026-01-01,2026-04-01,90000\n",
        '{"external_id": "q-1", "territory_id": "…", "period_start": "2026-01-01", '
        '"period_end": "2026-04-01", "amount": "90000"}\n',
    ),
}


def _body(kind: Kind) -> dict[str, Any]:
    csv_example, ndjson_example = _EXAMPLES[kind]
    return {
        "requestBody": {
            "required": True,
            "description": f"CSV with a header row naming some of {', '.join(KINDS[kind].fields)}"
            f" (required: {', '.join(KINDS[kind].required)}), or JSON lines with those keys."
            " Dates are ISO 8601; without an offset they are the tenant's local time.",
            "content": {
                "text/csv": {"schema": _UPLOAD, "example": csv_example},
                "application/x-ndjson": {"schema": _UPLOAD, "example": ndjson_example},
            },
        }
    }


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Staged and queued: follow Location for the job"},
    409: problem_doc("The job queue did not take the upload"),
    415: problem_doc("Not text/csv or application/x-ndjson"),
    422: problem_doc("No rows, an unknown or missing column, or a CSV that cannot be read"),
}
OnErrorParam = Annotated[
    OnError,
    Query(
        description="abort: one bad row and nothing is written (default); skip: write the "
        "good rows and report the bad ones"
    ),
]


async def _upload(
    kind: Kind, request: Request, response: Response, principal: Any, queue: Any, on_error: OnError
) -> ImportJobRead:
    job = await service.upload(
        settings=request.app.state.settings,
        queue=queue,
        tenant_id=principal.tenant_id,
        kind=kind,
        content_type=request.headers.get("content-type"),
        body=request.stream(),
        on_error=on_error,
    )
    response.headers["Location"] = job.links["self"]
    return job


@router.post(
    "/metrics/opportunities:import",
    operation_id="opportunities.import",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body("opportunities"),
    responses=_RESPONSES,
)
async def import_opportunities(
    request: Request,
    response: Response,
    principal: WritePrincipal,
    queue: QueueDep,
    on_error: OnErrorParam = "abort",
) -> ImportJobRead:
    """Upsert opportunities in bulk by external id on the job worker; bad rows reported per row."""
    return await _upload("opportunities", request, response, principal, queue, on_error)


@router.post(
    "/metrics/activities:import",
    operation_id="activities.import",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body("activities"),
    responses=_RESPONSES,
)
async def import_activities(
    request: Request,
    response: Response,
    principal: WritePrincipal,
    queue: QueueDep,
    on_error: OnErrorParam = "abort",
) -> ImportJobRead:
    """Upsert activities in bulk by external id on the job worker; bad rows reported per row."""
    return await _upload("activities", request, response, principal, queue, on_error)


@router.post(
    "/metrics/quotas:import",
    operation_id="quotas.import",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_body("quotas"),
    responses=_RESPONSES,
)
async def import_quotas(
    request: Request,
    response: Response,
    principal: WritePrincipal,
    queue: QueueDep,
    on_error: OnErrorParam = "abort",
) -> ImportJobRead:
    """Upsert quotas in bulk by external id on the job worker; bad rows reported per row."""
    return await _upload("quotas", request, response, principal, queue, on_error)


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    """The request session's asyncpg connection (tenant already set on it)."""
    raw = await (await session.connection()).get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection
    return connection


@router.get(
    "/metrics/imports/{job_id}",
    operation_id="metrics_imports.get",
    responses={404: problem_doc("No such import job in this tenant")},
)
async def get_import(
    job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ImportJobRead:
    """An import job: status, stage, progress, counts (inserted, updated, unchanged, failed)."""
    return await service.get_job(
        await _driver(session), tenant_id=principal.tenant_id, job_id=job_id
    )


@router.get(
    "/metrics/imports/{job_id}/errors",
    operation_id="metrics_imports.list_errors",
    responses={404: problem_doc("No such import job in this tenant")},
)
async def list_import_errors(
    job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[ImportErrorRead]:
    """An import's problems in row order: row number, field and reason."""
    errors = await service.list_errors(
        await _driver(session),
        tenant_id=principal.tenant_id,
        job_id=job_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[ImportErrorRead].build(errors, page)


@router.get("/metrics/stages", operation_id="stages.get")
async def get_stages(session: SessionDep, principal: ReadPrincipal) -> StagesRead:
    """The tenant's opportunity stages in pipeline order, with the status each means."""
    return await stages.get_stages(session, tenant_id=principal.tenant_id)


@router.put(
    "/metrics/stages",
    operation_id="stages.put",
    responses={422: problem_doc("A stage named twice")},
)
async def put_stages(body: StagesPut, session: SessionDep, principal: WritePrincipal) -> StagesRead:
    """Replace the tenant's stage list; uploads then refuse rows naming any other stage."""
    return await stages.put_stages(session, tenant_id=principal.tenant_id, data=body)

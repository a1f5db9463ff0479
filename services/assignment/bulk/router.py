"""HTTP endpoints for bulk lead assignment and its jobs."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.assignment.bulk import service
from services.assignment.bulk.schemas import JobErrorRead, JobRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.errors import problem_doc
from shared.jobs.app import QueueDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["bulk"])

_CSV_EXAMPLE = (
    "external_id,email,country,postal_code,industry,employee_count,attr.segment\n"
    "crm-1,pat@acme.com,US,10001,software,250,enterprise\n"
)
_UPLOAD = {"type": "string", "format": "binary", "minLength": 1}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "CSV with a header row (external_id, email, domain, account_external_id, latitude, "
            "longitude, postal_code, country, industry, employee_count, annual_revenue, and "
            "attr.<key> for custom attributes) or JSON lines (one lead object per line, the "
            f"body of POST /assignment/leads). At least one lead and at most "
            f"{service.MAX_ROWS:,}: an empty upload, or a CSV header alone, is refused (422)."
        ),
        "content": {
            "text/csv": {"schema": _UPLOAD, "example": _CSV_EXAMPLE},
            "application/x-ndjson": {
                "schema": _UPLOAD,
                "example": '{"email": "pat@acme.com", "country": "US", "postal_code": "10001"}\n',
            },
        },
    }
}


@router.post(
    "/assignment/leads:bulk",
    operation_id="leads.bulk_assign",
    openapi_extra=_BODY,
    responses={
        202: {
            "description": f"More than {service.INLINE_ROWS:,} rows: staged and queued for the "
            "job worker; follow Location for the job",
            "model": JobRead,
        },
        409: problem_doc("The tenant has no active alignment"),
        413: problem_doc(f"More than {service.MAX_ROWS:,} rows or {service.MAX_BYTES} bytes"),
        415: problem_doc("Not text/csv or application/x-ndjson"),
    },
)
async def bulk_assign_leads(
    request: Request,
    response: Response,
    principal: WritePrincipal,
    queue: QueueDep,
    wait: Annotated[
        bool,
        Query(description="Process before answering even above the inline size (10,000 rows)"),
    ] = False,
) -> JobRead:
    """Assign up to a million leads from CSV or JSON lines; bad rows are reported per row."""
    result = await service.upload_leads(
        settings=request.app.state.settings,
        pool=request.app.state.lead_pool,
        queue=queue,
        tenant_id=principal.tenant_id,
        content_type=request.headers.get("content-type"),
        body=request.stream(),
        wait=wait,
    )
    if not result.finished:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = result.job.links["self"]
    return result.job


@router.get("/assignment/jobs/{job_id}", operation_id="jobs.get")
async def get_job(job_id: uuid.UUID, request: Request, principal: ReadPrincipal) -> JobRead:
    """Get a bulk assignment job: status, stage, progress and summary."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.get_job(connection, tenant_id=principal.tenant_id, job_id=job_id)


@router.post(
    "/assignment/jobs/{job_id}:cancel",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="jobs.cancel",
    responses={
        404: problem_doc("No such job of this tenant"),
        409: problem_doc("The job already ended, or runs inside its upload's request"),
    },
)
async def cancel_job(
    job_id: uuid.UUID, request: Request, principal: WritePrincipal, queue: QueueDep
) -> JobRead:
    """Cancel a queued or running job: it writes nothing and gives its reservation back."""
    async with request.app.state.lead_pool.acquire() as connection:
        return await service.cancel_job(
            connection, queue, tenant_id=principal.tenant_id, job_id=job_id
        )


@router.get("/assignment/jobs/{job_id}/errors", operation_id="jobs.list_errors")
async def list_job_errors(
    job_id: uuid.UUID, request: Request, principal: ReadPrincipal, page: PageDep
) -> Page[JobErrorRead]:
    """List a job's rejected rows in file order: row number, field and why."""
    async with request.app.state.lead_pool.acquire() as connection:
        errors = await service.list_errors(
            connection,
            tenant_id=principal.tenant_id,
            job_id=job_id,
            limit=page.limit + 1,
            offset=page.offset,
        )
    return Page[JobErrorRead].build(errors, page)


@router.get(
    "/assignment/jobs/{job_id}/assignments.csv",
    operation_id="jobs.export_assignments",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One line per assigned row",
        }
    },
)
async def export_job_assignments(
    job_id: uuid.UUID, request: Request, principal: ReadPrincipal
) -> StreamingResponse:
    """Download a job's assignments as CSV: row_number, lead_id, assignment_id, territory_id,
    rep_id, rule."""
    chunks = await service.stream_assignments(
        request.app.state.lead_pool, tenant_id=principal.tenant_id, job_id=job_id
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}.csv"'},
    )

"""HTTP endpoints for bulk uploads of people and connections, and their imports."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from services.proximity.ingest import service
from services.proximity.ingest.fields import CONNECTION_FIELDS, PEOPLE_FIELDS, Mode, Target
from services.proximity.ingest.schemas import ImportErrorRead, ImportRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/proximity", tags=["imports"])

_UPLOAD = {"type": "string", "format": "binary", "minLength": 1}
_EXAMPLES = {
    "people": (
        "external_id,kind,name,email,rep_id,account_external_id\n"
        "crm-contact-1,contact,Ada Lovelace,ada@acme.com,,acme\n",
        '{"external_id": "crm-contact-1", "kind": "contact", "name": "Ada Lovelace"}\n',
    ),
    "connections": (
        "person_a_external_id,person_b_external_id,kind,strength,last_interaction_at\n"
        "crm-rep-7,crm-contact-1,former_colleague,0.8,2026-10-01\n",
        '{"person_a_external_id": "crm-rep-7", "person_b_external_id": "crm-contact-1", '
        '"kind": "meeting", "strength": 0.6, "interaction_count": 4}\n',
    ),
}


def _body(target: Target, fields: tuple[str, ...]) -> dict[str, Any]:
    csv_example, ndjson_example = _EXAMPLES[target]
    return {
        "requestBody": {
            "required": True,
            "description": (
                f"CSV with a header row naming some of: {', '.join(fields)}; or JSON lines with "
                f"those keys. At most {service.MAX_ROWS:,} rows. A row with op=delete (or "
                "deleted=true) is deleted; every other row is upserted by its key."
            ),
            "content": {
                "text/csv": {"schema": _UPLOAD, "example": csv_example},
                "application/x-ndjson": {"schema": _UPLOAD, "example": ndjson_example},
            },
        }
    }


_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: problem_doc(f"More than {service.MAX_ROWS:,} rows or 512 MiB"),
    415: problem_doc("Not text/csv or application/x-ndjson"),
}
ModeQuery = Annotated[
    Mode, Query(description="upsert (rows may still say op=delete), or delete every row")
]
SkipQuery = Annotated[
    bool,
    Query(description="Write the good rows and list the bad ones (default: all or nothing)"),
]


async def _upload(
    target: Target,
    request: Request,
    response: Response,
    session: SessionDep,
    queue: QueueDep,
    tenant_id: uuid.UUID,
    mode: Mode,
    skip_bad_rows: bool,
) -> ImportRead:
    read = await service.upload(
        session,
        queue,
        settings=request.app.state.settings,
        tenant_id=tenant_id,
        target=target,
        content_type=request.headers.get("content-type"),
        body=request.stream(),
        mode=mode,
        skip_bad_rows=skip_bad_rows,
    )
    response.headers["Location"] = f"/proximity/imports/{read.id}"
    return read


@router.post(
    "/people:import",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="people.import",
    openapi_extra=_body("people", PEOPLE_FIELDS),
    responses=_RESPONSES,
)
async def import_people(
    request: Request,
    response: Response,
    session: SessionDep,
    queue: QueueDep,
    principal: WritePrincipal,
    mode: ModeQuery = "upsert",
    skip_bad_rows: SkipQuery = False,
) -> ImportRead:
    """Upload people (CSV or JSON lines): upserted by external_id, on the job worker."""
    return await _upload(
        "people", request, response, session, queue, principal.tenant_id, mode, skip_bad_rows
    )


@router.post(
    "/connections:import",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="connections.import",
    openapi_extra=_body("connections", CONNECTION_FIELDS),
    responses=_RESPONSES,
)
async def import_connections(
    request: Request,
    response: Response,
    session: SessionDep,
    queue: QueueDep,
    principal: WritePrincipal,
    mode: ModeQuery = "upsert",
    skip_bad_rows: SkipQuery = False,
) -> ImportRead:
    """Upload connections (CSV or JSON lines): upserted by the pair and kind, on the worker."""
    return await _upload(
        "connections", request, response, session, queue, principal.tenant_id, mode, skip_bad_rows
    )


@router.get(
    "/imports/{import_id}",
    operation_id="proximity_imports.get",
    responses={404: problem_doc("The import is not in this tenant")},
)
async def get_import(
    import_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ImportRead:
    """An upload's status, counts and first refused rows."""
    return await service.get_import(session, tenant_id=principal.tenant_id, import_id=import_id)


@router.get(
    "/imports/{import_id}/errors",
    operation_id="proximity_imports.list_errors",
    responses={404: problem_doc("The import is not in this tenant")},
)
async def list_import_errors(
    import_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[ImportErrorRead]:
    """An upload's refused rows in file order: row number, field and reason."""
    errors = await service.list_errors(
        session,
        tenant_id=principal.tenant_id,
        import_id=import_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[ImportErrorRead].build(errors, page)

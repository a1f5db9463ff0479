"""HTTP endpoints for proximity jobs: the accounts × reps matrix."""

import uuid

from fastapi import APIRouter, Response, status

from services.proximity.matrix import service
from services.proximity.matrix.schemas import MatrixCreate, ProximityJobRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep

router = APIRouter(prefix="/proximity", tags=["proximity jobs"])


@router.post(
    "/matrix",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="proximity_jobs.matrix",
)
async def start_matrix(
    body: MatrixCreate, session: SessionDep, queue: QueueDep, principal: WritePrincipal
) -> ProximityJobRead:
    """Score every account with contacts against every rep, as a job on the worker."""
    return await service.start_matrix(session, queue, tenant_id=principal.tenant_id, data=body)


@router.get(
    "/jobs/{job_id}",
    operation_id="proximity_jobs.get",
    responses={404: problem_doc("The job is not in this tenant")},
)
async def get_job(
    job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ProximityJobRead:
    """A proximity job's status."""
    job = await service.get_job(session, tenant_id=principal.tenant_id, job_id=job_id)
    return service.to_read(job)


@router.get(
    "/jobs/{job_id}/result",
    operation_id="proximity_jobs.result",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "account_id,rep_id,score rows"},
        404: problem_doc("The job is not in this tenant"),
        409: problem_doc("The job has not succeeded"),
    },
)
async def get_result(job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal) -> Response:
    """The job's result: CSV of account_id, rep_id, score for every pair with a path."""
    payload = await service.result_csv(session, tenant_id=principal.tenant_id, job_id=job_id)
    return Response(content=payload, media_type="text/csv")

"""HTTP endpoints for social territories: start the job, follow it, fetch its result, cancel."""

import uuid

from fastapi import APIRouter, Response, status

from services.proximity.social_territories import service
from services.proximity.social_territories.schemas import (
    SocialTerritoriesCreate,
    SocialTerritoriesJobRead,
    SocialTerritoriesResult,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep

router = APIRouter(prefix="/proximity/social-territories", tags=["social territories"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="social_territories.create",
    responses={
        422: problem_doc(
            "Invalid input, or constraints no assignment can meet (capacity below the "
            "accounts, balance bounds crossing)"
        )
    },
)
async def create_social_territories(
    body: SocialTerritoriesCreate, session: SessionDep, queue: QueueDep, principal: WritePrincipal
) -> SocialTerritoriesJobRead:
    """Assign accounts to reps maximising total proximity under capacity and balance (a job)."""
    return await service.start(
        session, queue, tenant_id=principal.tenant_id, api_key=principal.token, data=body
    )


@router.get(
    "/{job_id}",
    operation_id="social_territories.get",
    responses={404: problem_doc("The job is not in this tenant")},
)
async def get_social_territories(
    job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> SocialTerritoriesJobRead:
    """A social territories job: status, stage, progress, and its summary once done."""
    job = await service.get_job(session, tenant_id=principal.tenant_id, job_id=job_id)
    return service.to_read(job)


@router.get(
    "/{job_id}/result",
    operation_id="social_territories.result",
    response_class=Response,
    responses={
        200: {
            "description": "Every account's rep and score, per-rep loads, the comparisons",
            "model": SocialTerritoriesResult,
        },
        404: problem_doc("The job is not in this tenant"),
        409: problem_doc("The job has not succeeded"),
    },
)
async def get_social_territories_result(
    job_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> Response:
    """The job's result: every account → rep with its score, against current and greedy."""
    payload = await service.result_json(session, tenant_id=principal.tenant_id, job_id=job_id)
    return Response(content=payload, media_type="application/json")


@router.post(
    "/{job_id}:cancel",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="social_territories.cancel",
    responses={
        404: problem_doc("The job is not in this tenant"),
        409: problem_doc("The job has already ended"),
    },
)
async def cancel_social_territories(
    job_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> SocialTerritoriesJobRead:
    """Cancel the job: a queued one at once, a running one at its next stage."""
    return await service.cancel(session, tenant_id=principal.tenant_id, job_id=job_id)

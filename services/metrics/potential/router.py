"""HTTP endpoints for the account-potential model."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.metrics.potential import service
from services.metrics.potential.schemas import (
    PotentialEstimatesRead,
    PotentialModelRead,
    PotentialRunRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/metrics", tags=["account potential"])


@router.get(
    "/account-potential",
    operation_id="account_potential.get",
    responses={422: problem_doc("as_of outside the years served")},
)
async def get_account_potential(
    session: SessionDep,
    principal: ReadPrincipal,
    months: Annotated[int, Query(ge=1, le=36, description="Revenue window before as_of")] = 12,
    as_of: Annotated[date | None, Query(description="End of the window (default today)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Accounts to list")] = 100,
) -> PotentialModelRead:
    """Account potential estimated from firmographics and history, with its held-out error."""
    return await service.account_potential(
        session, tenant_id=principal.tenant_id, as_of=as_of, months=months, limit=limit
    )


@router.post(
    "/account-potential/runs",
    operation_id="account_potential_runs.create",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: problem_doc("Too few accounts won anything in the window to fit the model"),
        422: problem_doc("as_of outside the years served"),
    },
)
async def create_potential_run(
    session: SessionDep,
    principal: WritePrincipal,
    months: Annotated[int, Query(ge=1, le=36, description="Revenue window before as_of")] = 12,
    as_of: Annotated[date | None, Query(description="End of the window (default today)")] = None,
) -> PotentialRunRead:
    """Fit the potential model and store every account's estimate as a new run."""
    return await service.store_run(
        session, tenant_id=principal.tenant_id, as_of=as_of, months=months
    )


@router.get(
    "/account-potential/estimates",
    operation_id="account_potential_estimates.list",
    responses={409: problem_doc("No run stored yet")},
)
async def list_potential_estimates(
    session: SessionDep,
    principal: ReadPrincipal,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Accounts per page")] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Accounts to skip")] = 0,
) -> PotentialEstimatesRead:
    """The latest run's potential estimate of each account (by account id), for planning."""
    run, items = await service.latest_estimates(
        session, tenant_id=principal.tenant_id, limit=limit + 1, offset=offset
    )
    return PotentialEstimatesRead(
        run=run,
        items=items[:limit],
        next_offset=offset + limit if len(items) > limit else None,
    )

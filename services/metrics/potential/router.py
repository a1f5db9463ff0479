"""HTTP endpoints for the account-potential model."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.metrics.potential import service
from services.metrics.potential.schemas import (
    AccountEstimate,
    PotentialEstimatesRead,
    PotentialModelRead,
    PotentialRunRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.pagination import Page, PageDep

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


@router.get("/account-potential/estimates", operation_id="account_potential_estimates.list")
async def list_potential_estimates(
    session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> PotentialEstimatesRead:
    """The latest run's potential estimate of each account (by account id), for planning."""
    run, items = await service.latest_estimates(
        session, tenant_id=principal.tenant_id, limit=page.limit + 1, offset=page.offset
    )
    built = Page[AccountEstimate].build(items, page)
    return PotentialEstimatesRead(
        run=run,
        reason=service.NO_RUN if run is None else None,
        items=built.items,
        limit=built.limit,
        offset=built.offset,
        next_offset=built.next_offset,
    )

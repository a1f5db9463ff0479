"""HTTP endpoints for the account-potential model."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.potential import service
from services.metrics.potential.schemas import PotentialModelRead
from shared.auth import ReadPrincipal
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

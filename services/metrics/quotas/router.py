"""HTTP endpoints for quotas."""

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.metrics.kpis.router import EndParam, PeriodParam, StartParam
from services.metrics.quotas import service
from services.metrics.quotas.schemas import QuotaCreate, QuotaRead, QuotaSuggestionsRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/metrics/quotas", tags=["quotas"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="quotas.create",
    responses={404: problem_doc("The rep or territory is not in this tenant")},
)
async def create_quota(
    body: QuotaCreate, session: SessionDep, principal: WritePrincipal
) -> QuotaRead:
    """Set a quota for one rep or one territory over a period (end day exclusive)."""
    return await service.create_quota(session, tenant_id=principal.tenant_id, data=body)


@router.get("", operation_id="quotas.list")
async def list_quotas(
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    rep_id: Annotated[uuid.UUID | None, Query(description="Only this rep's quotas")] = None,
) -> Page[QuotaRead]:
    """List quotas, earliest period first."""
    quotas = await service.list_quotas(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[QuotaRead].build(quotas, page)


suggestions_router = APIRouter(prefix="/metrics", tags=["quotas"])


@suggestions_router.get(
    "/quota-suggestions",
    operation_id="quota_suggestions.get",
    responses={
        404: problem_doc("The alignment is not in this tenant"),
        422: problem_doc("A period that cannot be read"),
    },
)
async def get_quota_suggestions(
    session: SessionDep,
    principal: ReadPrincipal,
    alignment_id: Annotated[uuid.UUID, Query(description="Whose leaf territories get quotas")],
    team_target: Annotated[
        Decimal, Query(gt=0, max_digits=18, decimal_places=2, description="Total to split")
    ],
    period: PeriodParam = None,
    start: StartParam = None,
    end: EndParam = None,
    potential_weight: Annotated[
        float, Query(ge=0, le=1, description="Weight of potential vs trailing revenue")
    ] = 0.5,
) -> QuotaSuggestionsRead:
    """Quotas per territory from potential and history, with the fairness they would give."""
    return await service.suggest_quotas(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        period=period,
        start=start,
        end=end,
        team_target=team_target,
        potential_weight=potential_weight,
    )

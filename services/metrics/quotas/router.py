"""HTTP endpoints for quotas."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.metrics.quotas import service
from services.metrics.quotas.schemas import QuotaCreate, QuotaRead
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/metrics/quotas", tags=["quotas"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="quotas.create")
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

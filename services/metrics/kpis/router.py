"""HTTP endpoints for KPIs."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.kpis import service
from services.metrics.kpis.schemas import AttainmentRead
from shared.auth import ReadPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/metrics/reps", tags=["kpis"])


@router.get("/{rep_id}/attainment", operation_id="attainment.get")
async def get_rep_attainment(
    rep_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    period_start: Annotated[date, Query(description="First day of the period (UTC)")],
    period_end: Annotated[date, Query(description="Day after the period's last day (UTC)")],
) -> AttainmentRead:
    """A rep's quota attainment, win rate and open pipeline for a period (end day exclusive)."""
    return await service.rep_attainment(
        session,
        tenant_id=principal.tenant_id,
        rep_id=rep_id,
        period_start=period_start,
        period_end=period_end,
    )

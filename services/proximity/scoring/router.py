"""HTTP endpoints for the tenant's scoring settings (kind weights)."""

from fastapi import APIRouter

from services.proximity.scoring import service
from services.proximity.scoring.schemas import ScoringSettingsRead, ScoringSettingsUpdate
from shared.auth import AdminPrincipal, ReadPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/proximity", tags=["scoring settings"])


@router.get("/settings", operation_id="scoring_settings.get")
async def get_settings(session: SessionDep, principal: ReadPrincipal) -> ScoringSettingsRead:
    """The scoring model's parameters in force for this tenant, kind weights included."""
    return await service.get_settings(session, tenant_id=principal.tenant_id)


@router.put("/settings", operation_id="scoring_settings.put")
async def put_settings(
    body: ScoringSettingsUpdate, session: SessionDep, principal: AdminPrincipal
) -> ScoringSettingsRead:
    """Set the tenant's kind weights; rankings use them within seconds (the graph is rebuilt)."""
    return await service.put_settings(session, tenant_id=principal.tenant_id, data=body)

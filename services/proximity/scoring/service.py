"""The tenant's scoring settings: its own weight per connection kind over the model's defaults."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.scoring import repository
from services.proximity.scoring.model import DEFAULT_MODEL, tenant_model
from services.proximity.scoring.schemas import ScoringSettingsRead, ScoringSettingsUpdate


def _read(kind_weights: dict[str, float], updated_at: datetime | None) -> ScoringSettingsRead:
    model = tenant_model(kind_weights)
    return ScoringSettingsRead(
        kind_weights=model.kind_weights,
        tenant_kind_weights=kind_weights,
        default_kind_weights=DEFAULT_MODEL.kind_weights,
        unknown_kind_weight=model.unknown_kind_weight,
        hop_decay=model.hop_decay,
        half_life_days=model.half_life_days,
        hub_degree=model.hub_degree,
        updated_at=updated_at,
    )


async def get_settings(session: AsyncSession, *, tenant_id: uuid.UUID) -> ScoringSettingsRead:
    row = await repository.get_settings(session, tenant_id=tenant_id)
    if row is None:
        return _read({}, None)
    return _read(dict(row.kind_weights), row.updated_at)


async def put_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: ScoringSettingsUpdate
) -> ScoringSettingsRead:
    row = await repository.put_settings(
        session, tenant_id=tenant_id, kind_weights=dict(data.kind_weights)
    )
    return _read(dict(row.kind_weights), row.updated_at)

"""The tenant's stage catalogue: which stage names uploads accept and the status each means."""

import uuid

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.ingest.schemas import StageIn, StagesPut, StagesRead
from shared.errors import InvalidInput
from shared.models import OpportunityStage


async def get_stages(session: AsyncSession, *, tenant_id: uuid.UUID) -> StagesRead:
    rows = await session.scalars(
        select(OpportunityStage)
        .where(OpportunityStage.tenant_id == tenant_id)
        .order_by(OpportunityStage.position, OpportunityStage.name)
    )
    return StagesRead(stages=[StageIn(name=row.name, status=row.status) for row in rows])


async def put_stages(session: AsyncSession, *, tenant_id: uuid.UUID, data: StagesPut) -> StagesRead:
    names = [stage.name for stage in data.stages]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidInput(f"stage(s) named twice: {', '.join(twice)}", field="stages")
    await session.execute(delete(OpportunityStage).where(OpportunityStage.tenant_id == tenant_id))
    if data.stages:
        await session.execute(
            insert(OpportunityStage),
            [
                {
                    "tenant_id": tenant_id,
                    "name": stage.name,
                    "status": stage.status,
                    "position": position,
                }
                for position, stage in enumerate(data.stages)
            ],
        )
    return StagesRead(stages=data.stages)

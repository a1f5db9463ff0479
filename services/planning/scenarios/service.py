"""Design scenario rules: the request checked against the tenant's units, then queued."""

import uuid
from typing import Any

from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.scenarios import repository
from services.planning.scenarios.errors import (
    BadDesignRequest,
    BaseScenarioNotReady,
    ScenarioFinished,
    ScenarioNotFound,
    UnknownUnits,
)
from services.planning.scenarios.schemas import ScenarioCreate, ScenarioRead
from services.planning.scenarios.tasks import TASK_NAME
from shared.models import Scenario
from shared.models.planning import ScenarioStatus


def to_read(scenario: Scenario) -> ScenarioRead:
    return ScenarioRead(
        id=scenario.id,
        name=scenario.name,
        status=scenario.status.value,
        progress=scenario.progress,
        error=scenario.error,
        parameters=scenario.parameters,
        result=scenario.statistics,
        created_at=scenario.created_at,
        updated_at=scenario.updated_at,
        finished_at=scenario.finished_at,
    )


async def create_scenario(
    session: AsyncSession, queue: App, *, tenant_id: uuid.UUID, data: ScenarioCreate
) -> ScenarioRead:
    k = data.k
    units = await repository.count_units(session, tenant_id=tenant_id)
    if units < k:
        raise BadDesignRequest(
            f"{k} territories were asked of {units} basic units: every territory needs at"
            " least one unit; add units or ask for fewer territories",
            field="territories",
        )
    for code, territory in data.locked.items():
        if not 0 <= territory < k:
            raise BadDesignRequest(
                f"unit {code!r} is locked to territory {territory}, but territories are"
                f" numbered 0 to {k - 1}",
                field="locked",
            )
    for rule in data.balance:
        if rule.tolerance is None and rule.lower is None and rule.upper is None:
            raise BadDesignRequest(
                f"measure {rule.measure!r} has neither a tolerance nor bounds: give one",
                field="balance",
            )
        if rule.lower is not None and rule.upper is not None and rule.lower > rule.upper:
            raise BadDesignRequest(
                f"measure {rule.measure!r}: lower bound {rule.lower} exceeds upper {rule.upper}",
                field="balance",
            )
    await _check_codes(session, tenant_id=tenant_id, codes=list(data.locked), field="locked")
    if data.reps:
        await _check_codes(
            session, tenant_id=tenant_id, codes=[rep.home_unit for rep in data.reps], field="reps"
        )
    if data.current:
        await _check_codes(session, tenant_id=tenant_id, codes=list(data.current), field="current")
    if data.base_scenario_id is not None:
        base = await repository.get(session, tenant_id=tenant_id, scenario_id=data.base_scenario_id)
        if base is None:
            raise ScenarioNotFound(data.base_scenario_id, field="base_scenario_id")
        if base.status != ScenarioStatus.succeeded:
            raise BaseScenarioNotReady(base.id, base.status.value)
    parameters: dict[str, Any] = data.model_dump(mode="json") | {"k": k}
    scenario = await repository.add(
        session, tenant_id=tenant_id, name=data.name, parameters=parameters
    )
    # The job waits for this row to be committed (design_job.ROW_WAIT_SECONDS).
    await queue.configure_task(TASK_NAME).defer_async(
        scenario_id=str(scenario.id), tenant_id=str(tenant_id)
    )
    return to_read(scenario)


async def _check_codes(
    session: AsyncSession, *, tenant_id: uuid.UUID, codes: list[str], field: str
) -> None:
    if not codes:
        return
    known = await repository.existing_codes(session, tenant_id=tenant_id, codes=codes)
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise UnknownUnits(unknown, field=field)


async def get_scenario(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> ScenarioRead:
    scenario = await repository.get(session, tenant_id=tenant_id, scenario_id=scenario_id)
    if scenario is None:
        raise ScenarioNotFound(scenario_id)
    return to_read(scenario)


async def cancel_scenario(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> ScenarioRead:
    scenario = await repository.cancel(session, tenant_id=tenant_id, scenario_id=scenario_id)
    if scenario is None:
        existing = await repository.get(session, tenant_id=tenant_id, scenario_id=scenario_id)
        if existing is None:
            raise ScenarioNotFound(scenario_id)
        raise ScenarioFinished(scenario_id, existing.status.value)
    return to_read(scenario)

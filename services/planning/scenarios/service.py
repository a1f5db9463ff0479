"""Design scenario rules: the request checked against the tenant's units, then queued."""

import functools
import uuid
from typing import Any

from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.change_requests import service as change_requests
from services.planning.scenarios import client as assignment_client
from services.planning.scenarios import repository
from services.planning.scenarios.errors import (
    BadDesignRequest,
    BaseScenarioNotReady,
    ScenarioAlreadyDrafted,
    ScenarioFinished,
    ScenarioNotDrafted,
    ScenarioNotFound,
    ScenarioNotReady,
    UnknownUnits,
)
from services.planning.scenarios.schemas import (
    ScenarioComparison,
    ScenarioCreate,
    ScenarioDraft,
    ScenarioDrafted,
    ScenarioPage,
    ScenarioRead,
    ScenarioSummary,
)
from services.planning.scenarios.tasks import TASK_NAME
from services.planning.units import service as units_service
from shared.http_client import ServiceClient
from shared.models import Scenario
from shared.models.planning import ScenarioStatus


def to_read(scenario: Scenario) -> ScenarioRead:
    return ScenarioRead(
        id=scenario.id,
        name=scenario.name,
        unit_set_id=scenario.unit_set_id,
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
    unit_set = await units_service.resolve_set(
        session, tenant_id=tenant_id, unit_set_id=data.unit_set_id
    )
    units = await repository.count_units(session, tenant_id=tenant_id, unit_set_id=unit_set.id)
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
    check = functools.partial(_check_codes, session, tenant_id=tenant_id, unit_set_id=unit_set.id)
    await check(codes=list(data.locked), field="locked")
    if data.reps:
        await check(codes=[rep.home_unit for rep in data.reps], field="reps")
    if data.current:
        await check(codes=list(data.current), field="current")
    if data.base_scenario_id is not None:
        base = await repository.get(session, tenant_id=tenant_id, scenario_id=data.base_scenario_id)
        if base is None:
            raise ScenarioNotFound(data.base_scenario_id, field="base_scenario_id")
        if base.status != ScenarioStatus.succeeded:
            raise BaseScenarioNotReady(base.id, base.status.value)
    parameters: dict[str, Any] = data.model_dump(mode="json") | {
        "k": k,
        "unit_set_id": str(unit_set.id),
    }
    scenario = await repository.add(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, name=data.name, parameters=parameters
    )
    # The job waits for this row to be committed (design_job.ROW_WAIT_SECONDS).
    await queue.configure_task(TASK_NAME).defer_async(
        scenario_id=str(scenario.id), tenant_id=str(tenant_id)
    )
    return to_read(scenario)


async def _check_codes(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    codes: list[str],
    field: str,
) -> None:
    if not codes:
        return
    known = await repository.existing_codes(
        session, tenant_id=tenant_id, unit_set_id=unit_set_id, codes=codes
    )
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise UnknownUnits(unknown, field=field)


async def list_scenarios(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: ScenarioStatus | None,
    unit_set_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> ScenarioPage:
    cursor = None
    if after is not None:
        cursor = await repository.get(session, tenant_id=tenant_id, scenario_id=after)
        if cursor is None:
            raise ScenarioNotFound(after, field="after")
    rows = await repository.list_page(
        session,
        tenant_id=tenant_id,
        status=status,
        unit_set_id=unit_set_id,
        after=cursor,
        limit=limit + 1,
    )
    items = [
        ScenarioSummary(
            id=scenario.id,
            name=scenario.name,
            unit_set_id=scenario.unit_set_id,
            status=scenario.status.value,
            progress=scenario.progress,
            error=scenario.error,
            created_at=scenario.created_at,
            finished_at=scenario.finished_at,
        )
        for scenario in rows[:limit]
    ]
    return ScenarioPage(items=items, next_after=items[-1].id if len(rows) > limit else None)


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


async def _succeeded(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID, field: str
) -> Scenario:
    scenario = await repository.get(session, tenant_id=tenant_id, scenario_id=scenario_id)
    if scenario is None:
        raise ScenarioNotFound(scenario_id, field=field)
    if scenario.status != ScenarioStatus.succeeded or not scenario.statistics:
        raise ScenarioNotReady(scenario_id, scenario.status.value)
    return scenario


async def draft_scenario(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    scenario_id: uuid.UUID,
    data: ScenarioDraft,
) -> ScenarioDrafted:
    scenario = await _succeeded(
        session, tenant_id=tenant_id, scenario_id=scenario_id, field="scenario_id"
    )
    if scenario.alignment_id is not None:
        raise ScenarioAlreadyDrafted(scenario_id, scenario.alignment_id)
    statistics: dict[str, Any] = scenario.statistics or {}
    name = data.name or scenario.name
    k = len(statistics["territories"])
    if data.owners is not None and len(data.owners) != k:
        raise BadDesignRequest(
            f"owners lists {len(data.owners)} reps for {k} territories: give one per territory"
            " (null for none)",
            field="owners",
        )
    if data.fallback_territory is not None and data.fallback_territory >= k:
        raise BadDesignRequest(
            f"fallback_territory {data.fallback_territory} is not one of the {k} territories",
            field="fallback_territory",
        )
    features = []
    for feature in statistics["geojson"]["features"]:
        territory = int(feature["properties"]["territory"])
        owner = data.owners[territory] if data.owners is not None else None
        features.append(
            {
                "type": "Feature",
                "geometry": feature["geometry"],
                "properties": {
                    "name": f"{name} {territory + 1}",
                    "is_fallback": territory == data.fallback_territory,
                    "members": [{"rep_id": str(owner), "role": "owner"}] if owner else [],
                    "attributes": {
                        "planning_scenario_id": str(scenario_id),
                        "territory": territory,
                    },
                },
            }
        )
    # No connection held while the assignment service works: this request's reads are done.
    await session.commit()
    alignment_id = await assignment_client.create_draft(
        assignment, api_key=api_key, name=name, features=features
    )
    await repository.set_alignment(
        session, tenant_id=tenant_id, scenario_id=scenario_id, alignment_id=alignment_id
    )
    under_review = await change_requests.proposed_for(
        session, tenant_id=tenant_id, scenario_id=scenario_id
    )
    if under_review is not None:
        await assignment_client.hold(
            assignment,
            api_key=api_key,
            alignment_id=alignment_id,
            reason=change_requests.hold_reason(under_review),
        )
    return ScenarioDrafted(scenario_id=scenario_id, alignment_id=alignment_id, territories=k)


async def publish_scenario(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    scenario_id: uuid.UUID,
    actor_key_id: uuid.UUID,
) -> ScenarioDrafted:
    scenario = await _succeeded(
        session, tenant_id=tenant_id, scenario_id=scenario_id, field="scenario_id"
    )
    if scenario.alignment_id is None:
        raise ScenarioNotDrafted(scenario_id)
    approved = await change_requests.publish_gate(
        session, tenant_id=tenant_id, scenario_id=scenario_id
    )
    alignment_id, k = scenario.alignment_id, len((scenario.statistics or {})["territories"])
    await session.commit()  # as in draft_scenario: nothing held across the call
    await assignment_client.publish(assignment, api_key=api_key, alignment_id=alignment_id)
    if approved is not None:
        await change_requests.mark_published(
            session, change_request=approved, actor_key_id=actor_key_id
        )
    return ScenarioDrafted(scenario_id=scenario_id, alignment_id=alignment_id, territories=k)


_COMPARED = (
    "feasible",
    "cut_edges",
    "moved_units",
    "accounts_moved",
    "objective_value",
    "max_relative_deviation",
    "coefficient_of_variation",
    "elapsed_seconds",
)


async def compare_scenarios(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID, other_id: uuid.UUID
) -> ScenarioComparison:
    this = await _succeeded(
        session, tenant_id=tenant_id, scenario_id=scenario_id, field="scenario_id"
    )
    other = await _succeeded(session, tenant_id=tenant_id, scenario_id=other_id, field="other_id")
    mine, theirs = this.statistics or {}, other.statistics or {}
    statistics = {name: {"this": mine.get(name), "other": theirs.get(name)} for name in _COMPARED}
    territories = []
    for index in range(max(len(mine["territories"]), len(theirs["territories"]))):
        here = mine["territories"][index] if index < len(mine["territories"]) else None
        there = theirs["territories"][index] if index < len(theirs["territories"]) else None
        territories.append({"territory": index, "this": here, "other": there})
    plan, other_plan = mine["assignment"], theirs["assignment"]
    moved = sorted(code for code in plan if other_plan.get(code, -1) != plan[code])
    moves = [{"unit": code, "this": plan[code], "other": other_plan.get(code)} for code in moved]
    pieces = await repository.dissolve_moves(
        session,
        tenant_id=tenant_id,
        unit_set_id=this.unit_set_id or uuid.UUID(int=0),
        codes=moved,
        from_territories=[plan[code] for code in moved],
        to_territories=[other_plan.get(code, -1) for code in moved],
    )
    difference = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"this_territory": here, "other_territory": there, "units": units},
            }
            for here, there, units, geometry in pieces
        ],
    }
    return ScenarioComparison(
        scenario_id=scenario_id,
        other_scenario_id=other_id,
        statistics=statistics,
        territories=territories,
        units_moved=len(moved),
        moves=moves,
        difference=difference,
    )

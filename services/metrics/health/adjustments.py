"""Adjustment suggestions: territories outside the balance tolerance, and concrete moves from the
planning service's realignment (over HTTP), with the balance expected after them.

The planning engine realigns basic units. The alignment's current plan in its terms is each
unit's territory (the leaf holding the unit's interior point); territory i of the scenario is the
alignment's i-th leaf by id, so the answer can be read back at any time from the scenario alone.
The balance after is computed here, on the same measures as today's (accounts placed in the
territories and their stated potential): accounts located in a moved unit move with it.
When planning cannot realign (no units, units outside the alignment, no such measure on the
units, a refusal or an outage), the answer says why instead of inventing moves.
"""

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import planning_queries, reference_queries
from services.metrics.errors import ReferenceNotFound
from services.metrics.health import planning_client
from services.metrics.health.balance import balance
from services.metrics.health.schemas import (
    AdjustmentsRead,
    Balance,
    OutOfTolerance,
    UnitMove,
)
from shared.http_client import ServiceClient

MEASURES = ("accounts", "potential")


class _Today:
    """The alignment's leaves (scenario index order), their measures, and the units' plan."""

    def __init__(self, profile: list[RowMapping], units: list[RowMapping]) -> None:
        self.territories = sorted(profile, key=lambda row: str(row["territory_id"]))
        self.index = {row["territory_id"]: i for i, row in enumerate(self.territories)}
        self.values = {name: [float(row[name]) for row in self.territories] for name in MEASURES}
        self.unit_territory: dict[str, uuid.UUID | None] = {}
        # Accounts per unit that sit in the unit's own territory: they move with the unit.
        self.unit_load: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
        for row in units:
            self.unit_territory[row["code"]] = row["territory_id"]
            if (
                row["territory_id"] is not None
                and row["account_territory_id"] == row["territory_id"]
            ):
                self.unit_load[row["code"]] = (int(row["accounts"]), float(row["potential"]))

    @property
    def current(self) -> dict[str, int]:
        return {
            code: self.index[territory]
            for code, territory in self.unit_territory.items()
            if territory is not None
        }

    def balances(self, values: dict[str, list[float]] | None = None) -> dict[str, Balance]:
        values = values or self.values
        return {name: balance(values[name]) for name in MEASURES}

    def out_of_tolerance(self, tolerance: float) -> list[OutOfTolerance]:
        found = []
        for name in MEASURES:
            mean = balance(self.values[name]).mean
            if not mean:
                continue
            for row, value in zip(self.territories, self.values[name], strict=True):
                if abs(value / mean - 1) > tolerance:
                    found.append(
                        OutOfTolerance(
                            territory_id=row["territory_id"],
                            name=row["name"],
                            measure=name,
                            value=value,
                            deviation=value / mean - 1,
                        )
                    )
        return found


async def _today(session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID) -> _Today:
    if not await reference_queries.alignment_exists(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    ):
        raise ReferenceNotFound("alignment_id", alignment_id)
    profile = list(
        (
            await session.execute(
                reference_queries.territory_profile(tenant_id=tenant_id, alignment_id=alignment_id)
            )
        ).mappings()
    )
    units = await planning_queries.units_of_alignment(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    )
    return _Today(profile, units)


def _answer(
    today: _Today,
    *,
    alignment_id: uuid.UUID,
    tolerance: float,
    status: str,
    reason: str | None,
    measures: list[str],
    scenario_id: uuid.UUID | None = None,
    moves: list[UnitMove] | None = None,
    balance_after: dict[str, Balance] | None = None,
) -> AdjustmentsRead:
    links = {}
    if scenario_id is not None:
        links["self"] = (
            f"/metrics/territory-health/adjustments/{scenario_id}?alignment_id={alignment_id}"
            f"&tolerance={tolerance}"
        )
        links["scenario"] = f"/planning/scenarios/{scenario_id}"
    return AdjustmentsRead(
        alignment_id=alignment_id,
        tolerance=tolerance,
        status=status,
        reason=reason,
        scenario_id=scenario_id,
        measures=measures,
        out_of_tolerance=today.out_of_tolerance(tolerance),
        balance_today=today.balances(),
        moves=moves,
        accounts_moved=sum(move.accounts for move in moves) if moves is not None else None,
        balance_after=balance_after,
        links=links,
    )


async def request_adjustments(
    session: AsyncSession,
    client: ServiceClient,
    *,
    api_key: str,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    tolerance: float,
    time_limit_seconds: float,
) -> AdjustmentsRead:
    """Ask the planning service to realign the alignment's units so that the measures out of
    tolerance come within it, disturbing as little as it can."""
    today = await _today(session, tenant_id=tenant_id, alignment_id=alignment_id)
    available = await planning_queries.unit_measure_names(session, tenant_id=tenant_id)
    # No connection is held across the call to planning (STYLE 13).
    await session.commit()
    outside = today.out_of_tolerance(tolerance)
    measures = sorted({row.measure for row in outside})
    common: dict[str, Any] = {"alignment_id": alignment_id, "tolerance": tolerance}
    if not outside:
        return _answer(
            today, **common, status="balanced", measures=[],
            reason=f"every territory is within ±{tolerance:.0%} of the mean: nothing to move",
        )  # fmt: skip
    if not today.unit_territory:
        return _answer(
            today, **common, status="cannot", measures=measures,
            reason="the planning service cannot realign this alignment: the tenant has no "
            "planning units (POST /planning/units) to move between territories",
        )  # fmt: skip
    current = today.current
    if not current:
        return _answer(
            today, **common, status="cannot", measures=measures,
            reason="the planning service cannot realign this alignment: none of the tenant's "
            "planning units lies inside one of its territories",
        )  # fmt: skip
    missing = [name for name in measures if name not in available]
    if missing:
        return _answer(
            today, **common, status="cannot", measures=measures,
            reason=f"the planning service cannot balance {', '.join(missing)}: its units carry "
            f"no such measure (they carry {', '.join(sorted(available)) or 'none'})",
        )  # fmt: skip
    answer = await planning_client.create_scenario(
        client,
        api_key=api_key,
        body={
            "name": f"metrics adjustment of alignment {alignment_id}",
            "territories": len(today.territories),
            "balance": [{"measure": name, "tolerance": tolerance} for name in measures],
            "current": current,
            "objective": {"disruption_weight": 1.0},
            "time_limit_seconds": time_limit_seconds,
        },
    )
    if answer.body is None:
        return _answer(
            today, **common, status="cannot", measures=measures,
            reason=f"the planning service cannot realign this alignment: {answer.refusal}",
        )  # fmt: skip
    return _answer(
        today, **common, status=answer.body["status"], measures=measures, reason=None,
        scenario_id=uuid.UUID(answer.body["id"]),
    )  # fmt: skip


async def read_adjustments(
    session: AsyncSession,
    client: ServiceClient,
    *,
    api_key: str,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    scenario_id: uuid.UUID,
    tolerance: float,
) -> AdjustmentsRead:
    """The scenario's moves, as units (and their accounts) from → to, and the balance after."""
    today = await _today(session, tenant_id=tenant_id, alignment_id=alignment_id)
    await session.commit()
    answer = await planning_client.get_scenario(client, api_key=api_key, scenario_id=scenario_id)
    common: dict[str, Any] = {
        "alignment_id": alignment_id,
        "tolerance": tolerance,
        "scenario_id": scenario_id,
    }
    if answer.body is None:
        return _answer(today, **common, status="cannot", measures=[], reason=answer.refusal)
    scenario = answer.body
    measures = [rule["measure"] for rule in scenario["parameters"].get("balance", [])]
    if scenario["status"] in ("pending", "running"):
        return _answer(today, **common, status=scenario["status"], measures=measures, reason=None)
    result = scenario.get("result") or {}
    if scenario["status"] != "succeeded" or "assignment" not in result:
        return _answer(
            today, **common, status="failed", measures=measures,
            reason=f"the planning scenario ended {scenario['status']}: {scenario.get('error')}",
        )  # fmt: skip
    plan: dict[str, int] = result["assignment"]
    if len(result.get("territories", [])) != len(today.territories):
        return _answer(
            today, **common, status="cannot", measures=measures,
            reason="the alignment's territories changed since the scenario was asked for: ask "
            "again",
        )  # fmt: skip
    names = {row["territory_id"]: row["name"] for row in today.territories}
    after = {name: list(values) for name, values in today.values.items()}
    moves = []
    for code, index in sorted(plan.items()):
        source = today.unit_territory.get(code)
        target = today.territories[index]["territory_id"]
        if source == target:
            continue
        accounts, potential = today.unit_load[code] if source is not None else (0, 0.0)
        if source is not None:
            after["accounts"][today.index[source]] -= accounts
            after["potential"][today.index[source]] -= potential
        after["accounts"][index] += accounts
        after["potential"][index] += potential
        moves.append(
            UnitMove(
                unit=code,
                from_territory_id=source,
                from_territory=names.get(source) if source is not None else None,
                to_territory_id=target,
                to_territory=names[target],
                accounts=accounts,
                potential=potential,
            )
        )
    reason = None
    if not result.get("feasible", True):
        reason = (
            "the planning service could not bring every territory within the tolerance; these "
            "moves are its best plan"
        )
    return _answer(
        today, **common, status="succeeded", measures=measures, reason=reason, moves=moves,
        balance_after=today.balances(after),
    )  # fmt: skip

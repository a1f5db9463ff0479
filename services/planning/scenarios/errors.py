"""Errors specific to design scenarios."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class ScenarioNotFound(NotFound):
    def __init__(self, scenario_id: uuid.UUID, *, field: str = "scenario_id") -> None:
        super().__init__(f"no scenario with id {scenario_id} in this tenant", field=field)


class ScenarioFinished(Conflict):
    def __init__(self, scenario_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"scenario {scenario_id} is already {status}: only a pending or running scenario"
            " can be cancelled",
            field="scenario_id",
        )


class BaseScenarioNotReady(Conflict):
    def __init__(self, scenario_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"scenario {scenario_id} is {status}: realign from a scenario that succeeded",
            field="base_scenario_id",
        )


class UnknownUnits(InvalidInput):
    def __init__(self, codes: list[str], *, field: str) -> None:
        shown = ", ".join(repr(code) for code in codes[:10])
        more = f" and {len(codes) - 10} more" if len(codes) > 10 else ""
        super().__init__(
            f"no basic unit with code {shown}{more} in this tenant; create the units first",
            field=field,
        )


class BadDesignRequest(InvalidInput):
    """A request the units cannot answer (too few units, a measure no unit has…)."""


class ScenarioNotReady(Conflict):
    def __init__(self, scenario_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"scenario {scenario_id} is {status}: only a scenario that succeeded has a plan",
            field="scenario_id",
        )


class ScenarioAlreadyDrafted(Conflict):
    def __init__(self, scenario_id: uuid.UUID, alignment_id: uuid.UUID) -> None:
        super().__init__(
            f"scenario {scenario_id} is already the draft alignment {alignment_id}; edit or"
            " publish that one",
            field="scenario_id",
        )


class ScenarioNotDrafted(Conflict):
    def __init__(self, scenario_id: uuid.UUID) -> None:
        super().__init__(
            f"scenario {scenario_id} has no draft alignment yet: POST"
            f" /planning/scenarios/{scenario_id}:draft first",
            field="scenario_id",
        )

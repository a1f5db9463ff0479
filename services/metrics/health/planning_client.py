"""The metrics service's calls to the planning service: a realignment scenario is asked for,
then read back. Refusals come back as ``PlanningAnswer`` with the planning service's own words,
so the caller can say plainly why there are no moves."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from shared.errors import NotFound, UpstreamUnavailable
from shared.http_client import ServiceClient


def get_planning_client(request: Request) -> ServiceClient:
    client: ServiceClient = request.app.state.clients["planning"]
    return client


PlanningClientDep = Annotated[ServiceClient, Depends(get_planning_client)]


@dataclass(frozen=True)
class PlanningAnswer:
    body: dict[str, Any] | None
    refusal: str | None


def _refusal(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return f"the planning service answered {response.status_code}: {detail}"


async def create_scenario(
    client: ServiceClient, *, api_key: str, body: dict[str, Any]
) -> PlanningAnswer:
    try:
        response = await client.request("POST", "/planning/scenarios", api_key=api_key, json=body)
    except UpstreamUnavailable as error:
        return PlanningAnswer(None, f"the planning service could not be reached: {error.detail}")
    if response.status_code >= 400:
        return PlanningAnswer(None, _refusal(response))
    answer: dict[str, Any] = response.json()
    return PlanningAnswer(answer, None)


async def get_scenario(
    client: ServiceClient, *, api_key: str, scenario_id: uuid.UUID
) -> PlanningAnswer:
    try:
        response = await client.request(
            "GET", f"/planning/scenarios/{scenario_id}", api_key=api_key
        )
    except UpstreamUnavailable as error:
        return PlanningAnswer(None, f"the planning service could not be reached: {error.detail}")
    if response.status_code == 404:
        raise NotFound(f"no planning scenario {scenario_id} in this tenant", field="scenario_id")
    if response.status_code >= 400:
        return PlanningAnswer(None, _refusal(response))
    answer: dict[str, Any] = response.json()
    return PlanningAnswer(answer, None)

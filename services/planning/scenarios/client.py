"""The planning service's calls to the assignment service: a scenario becomes a draft
alignment (its territories imported as GeoJSON), and a draft is published."""

import uuid
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from shared.http_client import ServiceClient, raise_for_refusal


def get_assignment_client(request: Request) -> ServiceClient:
    client: ServiceClient = request.app.state.clients["assignment"]
    return client


AssignmentClientDep = Annotated[ServiceClient, Depends(get_assignment_client)]


def raise_for(response: httpx.Response, action: str) -> None:
    raise_for_refusal(response, service="assignment", action=action)


async def create_draft(
    client: ServiceClient, *, api_key: str, name: str, features: list[dict[str, Any]]
) -> uuid.UUID:
    """A new draft alignment holding ``features`` as its territories; its id."""
    response = await client.request(
        "POST", "/assignment/alignments", api_key=api_key, json={"name": name}
    )
    raise_for(response, "create the draft alignment")
    alignment_id = uuid.UUID(response.json()["id"])
    imported = await client.request(
        "POST",
        f"/assignment/alignments/{alignment_id}/territories:import",
        api_key=api_key,
        params={"repair": "true"},
        json={"type": "FeatureCollection", "features": features},
        timeout_seconds=60.0,
    )
    raise_for(imported, "import the scenario's territories")
    return alignment_id


async def publish(client: ServiceClient, *, api_key: str, alignment_id: uuid.UUID) -> None:
    response = await client.request(
        "POST", f"/assignment/alignments/{alignment_id}:publish", api_key=api_key, json={}
    )
    raise_for(response, "publish the alignment")


async def territory_exists(client: ServiceClient, *, api_key: str, territory_id: uuid.UUID) -> bool:
    """Whether the caller's tenant has this territory (in any alignment)."""
    response = await client.request(
        "GET", f"/assignment/territories/{territory_id}", api_key=api_key
    )
    if response.status_code == 404:
        return False
    raise_for(response, "look up the territory")
    return True


async def hold(
    client: ServiceClient, *, api_key: str, alignment_id: uuid.UUID, reason: str
) -> None:
    """Freeze the draft alignment while its change request is under review."""
    response = await client.request(
        "POST",
        f"/assignment/alignments/{alignment_id}:hold",
        api_key=api_key,
        json={"reason": reason},
    )
    raise_for(response, "hold the draft alignment for review")


async def release(client: ServiceClient, *, api_key: str, alignment_id: uuid.UUID) -> None:
    response = await client.request(
        "POST", f"/assignment/alignments/{alignment_id}:release", api_key=api_key, json={}
    )
    raise_for(response, "release the draft alignment")

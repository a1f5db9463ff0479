"""The proximity service's calls to the assignment service for social territories: the reps,
the accounts (location, potential, owner, territory), the active alignment's territories (their
polygons and owners), and the draft alignment a result is saved as. Paged reads of 1,000."""

import uuid
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from shared.http_client import ServiceClient, raise_for_refusal

PAGE = 1000
# A page of 1,000 accounts with their attributes is a few hundred kB: well within a minute.
READ_TIMEOUT_SECONDS = 60.0


class RemoteRep(BaseModel):
    id: uuid.UUID
    name: str
    active: bool


class RemoteAccount(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str
    domain: str | None
    location: dict[str, Any] | None
    potential: Decimal | None
    owner_rep_id: uuid.UUID | None
    territory_id: uuid.UUID | None


class RemoteMember(BaseModel):
    rep_id: uuid.UUID
    role: str


class RemoteTerritory(BaseModel):
    id: uuid.UUID
    name: str
    geometry: dict[str, Any] | None
    members: list[RemoteMember]


class _Page(BaseModel):
    items: list[dict[str, Any]]
    next_offset: int | None


def _raise_for(response: httpx.Response, action: str) -> None:
    raise_for_refusal(response, service="assignment", action=action)


async def _all_pages(
    client: ServiceClient, path: str, *, api_key: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = await client.request(
            "GET",
            path,
            api_key=api_key,
            params={**(params or {}), "limit": PAGE, "offset": offset},
            timeout_seconds=READ_TIMEOUT_SECONDS,
        )
        _raise_for(response, f"list {path}")
        page = _Page.model_validate_json(response.content)
        items.extend(page.items)
        offset = page.next_offset
    return items


async def list_reps(client: ServiceClient, *, api_key: str) -> list[RemoteRep]:
    items = await _all_pages(client, "/assignment/reps", api_key=api_key)
    return TypeAdapter(list[RemoteRep]).validate_python(items)


async def list_accounts(client: ServiceClient, *, api_key: str) -> list[RemoteAccount]:
    items = await _all_pages(client, "/assignment/accounts", api_key=api_key)
    return TypeAdapter(list[RemoteAccount]).validate_python(items)


async def active_territories(client: ServiceClient, *, api_key: str) -> list[RemoteTerritory]:
    """The active alignment's territories (none without an active alignment)."""
    alignments = await _all_pages(
        client, "/assignment/alignments", api_key=api_key, params={"status": "active"}
    )
    if not alignments:
        return []
    items = await _all_pages(
        client, f"/assignment/alignments/{alignments[0]['id']}/territories", api_key=api_key
    )
    return TypeAdapter(list[RemoteTerritory]).validate_python(items)


async def active_alignment_id(client: ServiceClient, *, api_key: str) -> uuid.UUID | None:
    alignments = await _all_pages(
        client, "/assignment/alignments", api_key=api_key, params={"status": "active"}
    )
    return uuid.UUID(alignments[0]["id"]) if alignments else None


async def create_draft(
    client: ServiceClient,
    *,
    api_key: str,
    name: str,
    clone_of: uuid.UUID | None,
    features: list[dict[str, Any]],
) -> uuid.UUID:
    """A draft alignment: a clone of ``clone_of`` (or a new empty one) with ``features``
    imported as more territories; its id."""
    if clone_of is not None:
        response = await client.request(
            "POST",
            f"/assignment/alignments/{clone_of}:clone",
            api_key=api_key,
            json={"name": name},
            timeout_seconds=READ_TIMEOUT_SECONDS,
        )
        _raise_for(response, "clone the active alignment")
    else:
        response = await client.request(
            "POST", "/assignment/alignments", api_key=api_key, json={"name": name}
        )
        _raise_for(response, "create the draft alignment")
    alignment_id = uuid.UUID(response.json()["id"])
    imported = await client.request(
        "POST",
        f"/assignment/alignments/{alignment_id}/territories:import",
        api_key=api_key,
        json={"type": "FeatureCollection", "features": features},
        timeout_seconds=READ_TIMEOUT_SECONDS,
    )
    _raise_for(imported, "import the social territories")
    return alignment_id

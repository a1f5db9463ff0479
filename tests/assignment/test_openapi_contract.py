"""The merged OpenAPI document and the services agree, through nginx: a PATCH takes null exactly
where its schema allows null, and an upload body the schema allows is not refused for being
empty (nor an empty one accepted where the schema refuses it)."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.openapi import iter_operations
from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"

# path template of a PATCH → makes the resource and returns the concrete path.
ResourceFactory = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[str]]


async def _created(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _rep(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    rep = await _created(client, "/assignment/reps", {"name": "Pat"}, headers)
    return f"/assignment/reps/{rep['id']}"


async def _alignment(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    alignment = await _created(client, "/assignment/alignments", {"name": "FY27"}, headers)
    return f"/assignment/alignments/{alignment['id']}"


async def _territory(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    alignment = await _alignment(client, headers)
    territory = await _created(client, f"{alignment}/territories", {"name": "East"}, headers)
    return f"/assignment/territories/{territory['id']}"


async def _webhook(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    # Paused: it must not send this tenant's events anywhere.
    body = {"url": "https://crm.example.com/hooks", "active": False}
    subscription = await _created(client, "/assignment/webhooks", body, headers)
    return f"/assignment/webhooks/{subscription['id']}"


async def _crm_connector(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    body = {"kind": "hubspot", "name": "Portal", "client_secret": "hs-secret-123456"}
    connector = await _created(client, "/assignment/crm-connectors", body, headers)
    return f"/assignment/crm-connectors/{connector['id']}"


async def _comment(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    territory_id = (await _territory(client, headers)).rsplit("/", 1)[-1]
    body = {"subject_type": "territory", "subject_id": territory_id, "body": "Heavy in the north"}
    comment = await _created(client, "/planning/comments", body, headers)
    return f"/planning/comments/{comment['id']}"


FACTORIES: dict[str, ResourceFactory] = {
    "/planning/comments/{comment_id}": _comment,
    "/assignment/reps/{rep_id}": _rep,
    "/assignment/crm-connectors/{connector_id}": _crm_connector,
    "/assignment/webhooks/{subscription_id}": _webhook,
    "/assignment/alignments/{alignment_id}": _alignment,
    "/assignment/territories/{territory_id}": _territory,
}


@pytest.fixture
async def document(gateway_client: httpx.AsyncClient) -> dict[str, Any]:
    response = await gateway_client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _schema(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _allows_null(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return (
        types == "null"
        or (isinstance(types, list) and "null" in types)
        or any(_allows_null(branch) for branch in schema.get("anyOf", []))
        or any(_allows_null(branch) for branch in schema.get("oneOf", []))
    )


async def test_patch_takes_null_exactly_where_the_schema_allows_it(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, document: dict[str, Any]
) -> None:
    patches = [
        (path, operation)
        for path, method, operation in iter_operations(document)
        if method == "patch"
    ]
    assert patches
    outcomes: dict[str, tuple[bool, int]] = {}
    for path, operation in patches:
        assert path in FACTORIES, f"add a factory for PATCH {path} to this test"
        resource = await FACTORIES[path](gateway_client, tenant.headers)
        body = _schema(document, operation["requestBody"]["content"]["application/json"]["schema"])
        for field, field_schema in body["properties"].items():
            allowed = _allows_null(_schema(document, field_schema))
            response = await gateway_client.patch(
                resource, json={field: None}, headers=tenant.headers
            )
            outcomes[f"{path} {field}"] = (allowed, response.status_code)
            if not allowed and response.status_code == 422:
                assert response.headers["content-type"].startswith(PROBLEM_JSON)
                assert response.json()["field"] == field, response.text
    disagreements = {
        where: status
        for where, (allowed, status) in outcomes.items()
        if status != (200 if allowed else 422)
    }
    assert disagreements == {}
    # Both kinds exist: nullable columns are cleared, the others keep their value.
    assert {allowed for allowed, _status in outcomes.values()} == {True, False}


async def test_empty_uploads_agree_with_the_schema(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, document: dict[str, Any]
) -> None:
    uploads = [
        (path, media_type, media["schema"])
        for path, method, operation in iter_operations(document)
        if method == "post"
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if media.get("schema", {}).get("format") == "binary"
    ]
    assert {path for path, _media_type, _schema in uploads} >= {
        "/assignment/leads:bulk",
        "/assignment/accounts:import",
    }
    for path, media_type, schema in uploads:
        response = await gateway_client.post(
            path, content=b"", headers={**tenant.headers, "Content-Type": media_type}
        )
        if schema.get("minLength", 0) >= 1:
            assert response.status_code == 422, (path, media_type, response.text)
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
        else:
            assert response.status_code < 300, (path, media_type, response.text)


def test_the_explanation_is_a_typed_union_of_steps(document: dict[str, Any]) -> None:
    """Single and bulk assignments share one explanation schema: a union of typed steps told
    apart by ``step``, each with its rendered ``detail``."""
    schemas = document["components"]["schemas"]
    read = next(schema for name, schema in schemas.items() if name.endswith("AssignmentRead"))
    items = read["properties"]["explanation"]["items"]
    assert items["discriminator"]["propertyName"] == "step"
    kinds = set(items["discriminator"]["mapping"])
    assert kinds >= {
        "named_account", "attribute_rule", "geography", "fallback", "proximity",
        "distribution", "escalation", "queue", "warning",
    }  # fmt: skip
    for ref in items["discriminator"]["mapping"].values():
        step = schemas[ref.rsplit("/", 1)[1]]
        assert {"step", "outcome", "detail"} <= set(step["properties"]), ref

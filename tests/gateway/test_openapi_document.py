"""The merged OpenAPI document as integrators get it (GET /openapi.json through nginx): valid,
every reference resolvable, service-prefixed schema names, short unique operation ids, and the
responses each operation can really get."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from shared.openapi import (
    OPERATION_ID_MAX_LENGTH,
    OPERATION_ID_PATTERN,
    SHARED_SCHEMAS,
    iter_operations,
)
from shared.settings import SERVICE_NAMES
from tests.conftest import Platform

PROBLEM_JSON = "application/problem+json"
PLATFORM_ERRORS = ("429", "500", "502", "503", "504")
RETRY_AFTER_ERRORS = ("429", "502", "503")
HEALTH = ("healthz", "readyz")


@pytest.fixture(scope="module")
def documents(platform: Platform) -> dict[str, dict[str, Any]]:
    """The merged document under "", and each service's own."""
    with httpx.Client(base_url=platform.url, timeout=30.0) as client:
        served = {"": client.get("/openapi.json")}
        served |= {name: client.get(f"/{name}/openapi.json") for name in SERVICE_NAMES}
    for name, response in served.items():
        assert response.status_code == 200, (name, response.text)
    return {name: response.json() for name, response in served.items()}


@pytest.fixture(scope="module")
def merged(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    document = documents[""]
    assert "x-unavailable-services" not in document["info"]
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    yield from iter_operations(document)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected, got {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def test_merged_document_is_valid_openapi(merged: dict[str, Any]) -> None:
    validate(merged)
    assert merged["openapi"].startswith("3.1")
    assert sum(1 for _ in _operations(merged)) >= 50


@pytest.mark.parametrize("name", ["", *SERVICE_NAMES])
def test_every_reference_resolves(documents: dict[str, dict[str, Any]], name: str) -> None:
    document = documents[name]
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_schema_names_are_prefixed_per_service(documents: dict[str, dict[str, Any]]) -> None:
    merged_schemas = documents[""]["components"]["schemas"]
    seen: dict[str, str] = {}
    for service in SERVICE_NAMES:
        schemas = documents[service]["components"]["schemas"]
        for name, schema in schemas.items():
            if name in SHARED_SCHEMAS:
                assert merged_schemas[name] == schema, f"{service} serves another {name}"
                continue
            assert name.startswith(service.capitalize()), f"{service} serves {name}, unprefixed"
            assert name not in seen, f"{name} is served by {seen[name]} and {service}"
            seen[name] = service
            # The merged document keeps each service's schema under the name it serves.
            assert merged_schemas[name] == schema, name
    assert set(merged_schemas) == set(seen) | SHARED_SCHEMAS


def test_proximity_connections_list_its_own_neighbours(merged: dict[str, Any]) -> None:
    """The clash that crashed generated clients: the page of a person's connections pointed
    at planning's NeighbourRead (a unit's neighbour) instead of proximity's."""
    response = merged["paths"]["/proximity/people/{person_id}/connections"]["get"]["responses"]
    page = _resolve(merged, response["200"]["content"]["application/json"]["schema"]["$ref"])
    item = page["properties"]["items"]["items"]["$ref"]
    assert item == "#/components/schemas/ProximityNeighbourRead"
    assert "person_id" in _resolve(merged, item)["properties"]


def test_operation_ids_are_short_unique_and_declared(merged: dict[str, Any]) -> None:
    ids: dict[str, str] = {}
    for path, method, operation in _operations(merged):
        where = f"{method.upper()} {path}"
        operation_id = operation.get("operationId")
        assert operation_id, f"{where} has no operationId"
        assert OPERATION_ID_PATTERN.match(operation_id), (where, operation_id)
        assert len(operation_id) <= OPERATION_ID_MAX_LENGTH, (where, operation_id)
        assert operation_id not in ids, f"{operation_id}: {ids.get(operation_id)} and {where}"
        ids[operation_id] = where
        # `<service>.<function>` is the factory's fallback for a route that declares no id.
        service = path.split("/")[1]
        if path.rsplit("/", 1)[-1] not in HEALTH:
            assert not operation_id.startswith(f"{service}."), (
                f"{where}: declare operation_id='<resource>.<action>' on the route"
            )
    assert ids["reps.create"] == "POST /assignment/reps"
    assert ids["leads.assign"] == "POST /assignment/leads"
    assert ids["territories.import"].endswith("/{alignment_id}/territories:import")


def test_routes_with_an_id_declare_404(merged: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(merged)
        if "{" in path and "404" not in operation["responses"]
    ]
    assert missing == []


def test_every_operation_declares_rate_limit_and_server_errors(merged: dict[str, Any]) -> None:
    for path, method, operation in _operations(merged):
        responses = operation["responses"]
        for status in PLATFORM_ERRORS:
            assert status in responses, f"{method.upper()} {path} does not declare {status}"
            assert PROBLEM_JSON in responses[status]["content"], (path, status)
            if not path.endswith("/readyz"):  # its 503 also has the readiness body
                assert list(responses[status]["content"]) == [PROBLEM_JSON], (path, status)
        for status in RETRY_AFTER_ERRORS:
            assert "Retry-After" in responses[status].get("headers", {}), (path, status)


def test_errors_are_problem_json_whatever_the_success_media_type(merged: dict[str, Any]) -> None:
    for path, method, operation in _operations(merged):
        for status, response in operation["responses"].items():
            if status[0] not in "45" or path.endswith("/readyz"):
                continue
            assert response["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path, status)


def test_health_routes_declare_no_key_or_input_errors(merged: dict[str, Any]) -> None:
    health = [
        (path, operation)
        for path, _method, operation in _operations(merged)
        if path.rsplit("/", 1)[-1] in HEALTH
    ]
    assert len(health) == 2 * len(SERVICE_NAMES)
    for path, operation in health:
        assert not {"401", "403", "422"} & set(operation["responses"]), path
        assert "security" not in operation, path


def test_geojson_export_is_a_typed_feature_collection(merged: dict[str, Any]) -> None:
    export = merged["paths"]["/assignment/alignments/{alignment_id}/territories.geojson"]["get"]
    content = export["responses"]["200"]["content"]
    assert list(content) == ["application/geo+json"]
    collection = _resolve(merged, content["application/geo+json"]["schema"]["$ref"])
    assert collection["properties"]["type"]["const"] == "FeatureCollection"
    feature = _resolve(merged, collection["properties"]["features"]["items"]["$ref"])
    geometry_types = {
        branch["properties"]["type"]["const"]
        for option in feature["properties"]["geometry"]["anyOf"]
        for branch in option.get("oneOf", [])
    }
    assert geometry_types == {"Polygon", "MultiPolygon"}
    assert "$ref" in feature["properties"]["properties"]
    for status in ("401", "404", "500"):
        assert list(export["responses"][status]["content"]) == [PROBLEM_JSON]


def test_geojson_import_features_are_typed(merged: dict[str, Any]) -> None:
    operation = merged["paths"]["/assignment/alignments/{alignment_id}/territories:import"]["post"]
    body = _resolve(
        merged, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    feature = body["properties"]["features"]["items"]
    assert feature["properties"]["type"] == {"const": "Feature"}
    assert {"type", "geometry", "properties"} <= set(feature["required"])
    assert feature["properties"]["properties"]["type"] == "object"


@pytest.mark.parametrize(
    ("path", "media_types"),
    [
        ("/assignment/leads:bulk", {"text/csv", "application/x-ndjson"}),
        ("/assignment/accounts:import", {"text/csv"}),
    ],
)
def test_uploads_are_binary_bodies_with_their_columns(
    merged: dict[str, Any], path: str, media_types: set[str]
) -> None:
    body = merged["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == media_types
    for media in body["content"].values():
        assert media["schema"]["type"] == "string"
        assert media["schema"]["format"] == "binary"
        assert media["schema"]["minLength"] == 1
    assert "external_id" in body["description"]


def test_patch_bodies_allow_null_only_where_a_value_can_be_cleared(merged: dict[str, Any]) -> None:
    """Which fields take null is asserted against the service in
    tests/assignment/test_patch_nulls.py; here: the document says it field by field."""
    rep_update = merged["components"]["schemas"]["AssignmentRepUpdate"]["properties"]
    assert rep_update["name"]["type"] == "string"
    assert {"type": "null"} in rep_update["capacity"]["anyOf"]

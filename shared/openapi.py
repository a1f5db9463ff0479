"""The OpenAPI document every service serves: service-prefixed schema names, short operation ids,
and the error responses each operation can really get (problem+json, 404, 429, 5xx).

The gateway merges these documents as they are (services/gateway/openapi_merge.py), so a service's
own document and the merged one always agree.
"""

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from shared.errors import PROBLEM_CONTENT_TYPE, Problem

SCHEMA_REF_PREFIX = "#/components/schemas/"
# One schema shared by every service: the error body is the same everywhere.
SHARED_SCHEMAS = frozenset({"Problem"})
# `<resource>.<action>` (or `<service>.<route function>` for a route without an explicit id):
# short, lower-case, dotted, so generated clients get names like `reps_create`.
OPERATION_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OPERATION_ID_MAX_LENGTH = 40
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _problem_response(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": SCHEMA_REF_PREFIX + "Problem"}}},
    }
    if retry_after:
        response["headers"] = dict(_RETRY_AFTER)
    return response


# What any operation can get, from the gateway (429, 502-504) or the service (500, 503).
PLATFORM_RESPONSES: dict[str, dict[str, Any]] = {
    "429": _problem_response(
        "Too many requests: the gateway's rate limit for this API key (or, without a valid key, "
        "for this client address) is exhausted; wait Retry-After seconds",
        retry_after=True,
    ),
    "500": _problem_response(
        "An unexpected error; retry, and quote the request_id if it keeps failing"
    ),
    "502": _problem_response(
        "The gateway could not reach the service; retry with the same Idempotency-Key",
        retry_after=True,
    ),
    "503": _problem_response(
        "The service, its database or a service it depends on is unavailable or at capacity; "
        "retry after Retry-After seconds",
        retry_after=True,
    ),
    "504": _problem_response(
        "The service did not answer in time and may still complete the request; retry with the "
        "same Idempotency-Key"
    ),
}
NOT_FOUND_RESPONSE = _problem_response("Nothing with this id (or key) exists in your tenant")


def operation_id_fallback(service: str) -> Callable[[APIRoute], str]:
    """Operation ids of routes that do not declare one: ``<service>.<route function>``."""

    def generate(route: APIRoute) -> str:
        return f"{service}.{route.name}"

    return generate


def iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of the document."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def schema_name(service: str, name: str) -> str:
    """``Page_RepRead_`` of assignment → ``AssignmentPageRepRead``: PascalCase, service first,
    so that no two services' schemas ever share a name. A name that already starts with the
    service (``AssignmentRead``) is not prefixed twice."""
    if name in SHARED_SCHEMAS:
        return name
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", name) if part]
    pascal = "".join(part[0].upper() + part[1:] for part in parts)
    prefix = service.capitalize()
    if pascal.startswith(prefix) and pascal[len(prefix) : len(prefix) + 1].isupper():
        return pascal
    return prefix + pascal


def _renamed_ref(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(SCHEMA_REF_PREFIX):
        name = value[len(SCHEMA_REF_PREFIX) :]
        return SCHEMA_REF_PREFIX + renames.get(name, name)
    return value


def rename_schema_refs(node: Any, renames: dict[str, str]) -> Any:
    """Rewrite every ``$ref`` to a component schema through ``renames`` (and a discriminator's
    mapping, whose values are references too)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref":
                result[key] = _renamed_ref(value, renames)
            elif key == "discriminator" and isinstance(value, dict) and "mapping" in value:
                mapping = {tag: _renamed_ref(ref, renames) for tag, ref in value["mapping"].items()}
                result[key] = {**value, "mapping": mapping}
            else:
                result[key] = rename_schema_refs(value, renames)
        return result
    if isinstance(node, list):
        return [rename_schema_refs(item, renames) for item in node]
    return node


def _prefix_schemas(document: dict[str, Any], service: str) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renames = {name: schema_name(service, name) for name in schemas}
    if len(set(renames.values())) != len(renames):
        clashing = sorted(
            name for name in renames if list(renames.values()).count(renames[name]) > 1
        )
        raise ValueError(f"{service}: schema names {clashing} clash once prefixed; rename one")
    document = rename_schema_refs(document, renames)
    # Client generators name models by title: pydantic's (``NeighbourRead`` in two services,
    # ``AllGroup`` for both ``AllGroup-Input`` and ``AllGroup-Output``) would clash again.
    document["components"]["schemas"] = {
        renames[name]: {**schema, "title": renames[name]}
        for name, schema in document["components"]["schemas"].items()
    }
    return document


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5") or status == "default"


def _declare_responses(path: str, operation: dict[str, Any], *, health: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        # Errors are problem+json, whatever the operation's success media type is (FastAPI files
        # them under it); an error declared with a body of its own (readiness) keeps it.
        content = response.get("content", {})
        own_body = any(
            media.get("schema", {}).get("$ref") != SCHEMA_REF_PREFIX + "Problem"
            for media in content.values()
            if media.get("schema")
        )
        if _is_error(status) and not own_body:
            response["content"] = _problem_response("")["content"]
    if health:
        # Health routes need no key and take no input.
        for status in ("401", "403", "422"):
            responses.pop(status, None)
    elif not operation.get("parameters") and "requestBody" not in operation:
        responses.pop("422", None)  # nothing to validate
    if "{" in path and "404" not in responses:
        responses["404"] = copy.deepcopy(NOT_FOUND_RESPONSE)
    for status, response in PLATFORM_RESPONSES.items():
        # A copy each: shared dicts would make an edit to one operation change them all.
        declared = responses.setdefault(status, copy.deepcopy(response))
        # The gateway's 429, 502 and 503 say when to retry, on a route's own 503 too.
        for name, header in response.get("headers", {}).items():
            declared.setdefault("headers", {}).setdefault(name, header)
    operation["responses"] = dict(sorted(responses.items()))


def finish_document(document: dict[str, Any], *, service: str) -> dict[str, Any]:
    """Post-process FastAPI's document of one service (see the module docstring)."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault(
        "Problem", Problem.model_json_schema(ref_template=SCHEMA_REF_PREFIX + "{model}")
    )
    for path, _method, operation in iter_operations(document):
        description = operation.get("description", "")
        if description:
            operation["summary"] = description.strip().splitlines()[0]
        health = path.rsplit("/", 1)[-1] in ("healthz", "readyz")
        _declare_responses(path, operation, health=health)
    return _prefix_schemas(document, service)

"""Merge the services' OpenAPI documents into the one document integrators generate clients from."""

import copy
import json
from collections.abc import Mapping
from typing import Any

from shared.openapi import iter_operations, rename_schema_refs


def _renames_against(
    merged_schemas: Mapping[str, Any], schemas: Mapping[str, Any], service: str
) -> dict[str, str]:
    """Names of ``schemas`` taken in ``merged_schemas`` by a different schema, renamed
    ``<Service><Name>``. Repeated until stable: a schema identical as written but referring to
    a renamed schema (``Page[X]`` when ``X`` clashes) differs once its refs follow, so it is
    renamed too."""
    renames: dict[str, str] = {}
    while True:
        renamed = rename_schema_refs(dict(schemas), renames)
        clashing = {
            name: service.capitalize() + name
            for name, schema in renamed.items()
            if name in merged_schemas and _canonical(merged_schemas[name]) != _canonical(schema)
        }
        if clashing.keys() <= renames.keys():
            return renames
        renames.update(clashing)


def merge_documents(
    documents: Mapping[str, dict[str, Any]], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """Paths are prefixed per service, and so are schema names (shared/openapi.py), except the
    shared ``Problem``: a schema defined identically by several services is kept once.

    A service still serving unprefixed names (an older version, during a rolling update) may
    clash: the clashing schema is then renamed ``<Service><Name>`` and every reference follows.
    """
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    seen_tags: set[str] = set()
    for service, document in sorted(documents.items()):
        document = copy.deepcopy(document)
        components = document.get("components", {})
        renames = _renames_against(schemas, components.get("schemas", {}), service)
        document = rename_schema_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        merged["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
        paths = {
            path: operations
            for path, operations in document.get("paths", {}).items()
            if path not in ("/healthz", "/readyz")
        }
        merged["paths"].update(paths)
        for _path, _method, operation in iter_operations({"paths": paths}):
            for tag in operation.get("tags", []):
                if tag not in seen_tags:
                    seen_tags.add(tag)
                    merged["tags"].append({"name": tag, "description": f"{service} service"})
    return merged


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)

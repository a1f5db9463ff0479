"""Merge the services' OpenAPI documents into the one document integrators generate clients from."""

import copy
import json
from collections.abc import Mapping
from typing import Any

REF_PREFIX = "#/components/schemas/"


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """Rewrite ``$ref``s to schemas that had to be renamed to avoid a clash."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                name = value[len(REF_PREFIX) :]
                result[key] = REF_PREFIX + renames.get(name, name)
            else:
                result[key] = _rename_refs(value, renames)
        return result
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(
    documents: Mapping[str, dict[str, Any]], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """Paths are already prefixed per service, so they never clash; schemas may.

    A schema defined identically by several services is kept once; a different schema under a
    name already taken is renamed ``<Service><Name>`` and every reference to it follows.
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
        renames: dict[str, str] = {}
        for name, schema in components.get("schemas", {}).items():
            if name in schemas and _canonical(schemas[name]) != _canonical(schema):
                renames[name] = service.capitalize() + name
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        merged["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
        for path, operations in document.get("paths", {}).items():
            if path in ("/healthz", "/readyz"):
                continue
            merged["paths"][path] = operations
            for operation in operations.values():
                for tag in operation.get("tags", []) if isinstance(operation, dict) else []:
                    if tag not in seen_tags:
                        seen_tags.add(tag)
                        merged["tags"].append({"name": tag, "description": f"{service} service"})
    return merged


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)

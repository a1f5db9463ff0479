"""Merging the services' OpenAPI documents: clashing schema names are renamed, refs follow."""

from typing import Any

from services.gateway.openapi_merge import merge_documents


def _document(path: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "openapi": "3.1.0",
        "paths": {
            path: {
                "get": {
                    "tags": [path.split("/")[1]],
                    "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
                }
            },
            "/healthz": {"get": {"responses": {}}},
        },
        "components": {
            "schemas": {schema_name: schema, "Problem": {"type": "object"}},
            "securitySchemes": {"APIKeyHeader": {"type": "apiKey", "in": "header"}},
        },
    }


def test_identical_schemas_are_kept_once_and_clashes_renamed() -> None:
    merged = merge_documents(
        {
            "assignment": _document("/assignment/items", "Item", {"type": "object", "x": 1}),
            "metrics": _document("/metrics/items", "Item", {"type": "object", "x": 2}),
        },
        title="T",
        version="1",
        description="D",
    )
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Item", "MetricsItem", "Problem"}
    assert schemas["Item"]["x"] == 1 and schemas["MetricsItem"]["x"] == 2
    metrics_ref = merged["paths"]["/metrics/items"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert metrics_ref == "#/components/schemas/MetricsItem"
    assert "/healthz" not in merged["paths"]
    assert merged["openapi"] == "3.1.0"
    assert [tag["name"] for tag in merged["tags"]] == ["assignment", "metrics"]
    assert "APIKeyHeader" in merged["components"]["securitySchemes"]

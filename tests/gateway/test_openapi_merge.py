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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_a_wrapper_identical_as_written_follows_the_schema_it_wraps() -> None:
    """Two services' ``Page[NeighbourRead]`` read the same but wrap different ``NeighbourRead``s:
    the second service's page must point at its own item, renamed, never at the first's."""

    def document(service: str, item: dict[str, Any]) -> dict[str, Any]:
        page = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("N")}}}
        return {
            "paths": {
                f"/{service}/n": {
                    "get": {
                        "responses": {
                            "200": {"content": {"application/json": {"schema": _ref("Page_N_")}}}
                        }
                    }
                }
            },
            "components": {"schemas": {"N": item, "Page_N_": page}},
        }

    merged = merge_documents(
        {
            "planning": document("planning", {"type": "object", "x": 1}),
            "proximity": document("proximity", {"type": "object", "x": 2}),
        },
        title="T",
        version="1",
        description="D",
    )
    schemas = merged["components"]["schemas"]
    proximity_page = merged["paths"]["/proximity/n"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"].rsplit("/", 1)[-1]
    item_ref = schemas[proximity_page]["properties"]["items"]["items"]["$ref"]
    assert schemas[item_ref.rsplit("/", 1)[-1]]["x"] == 2
    assert schemas["Page_N_"]["properties"]["items"]["items"] == _ref("N")
    assert schemas["N"]["x"] == 1

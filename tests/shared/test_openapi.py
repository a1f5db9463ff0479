"""shared/openapi.py: how schema names are prefixed and what a finished document declares."""

from typing import Any

import pytest

from shared.openapi import finish_document, schema_name


@pytest.mark.parametrize(
    ("service", "name", "expected"),
    [
        ("assignment", "RepRead", "AssignmentRepRead"),
        ("assignment", "Page_RepRead_", "AssignmentPageRepRead"),
        ("assignment", "AllGroup-Input", "AssignmentAllGroupInput"),
        ("assignment", "AssignmentRead", "AssignmentRead"),
        ("assignment", "Assignments", "AssignmentAssignments"),
        ("proximity", "NeighbourRead", "ProximityNeighbourRead"),
        ("metrics", "Problem", "Problem"),
    ],
)
def test_schema_name(service: str, name: str, expected: str) -> None:
    assert schema_name(service, name) == expected


def _document(schemas: dict[str, Any], path: str = "/planning/units/{unit_id}") -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/UnitRead"}
    problem = {"$ref": "#/components/schemas/Problem"}
    return {
        "paths": {
            path: {
                "get": {
                    "description": "Get one unit.\n\nMore words.",
                    "parameters": [{"name": "unit_id", "in": "path"}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": ref}}},
                        # FastAPI files a Problem under the route's media type.
                        "409": {"content": {"application/json": {"schema": problem}}},
                        "410": {"description": "Gone"},
                    },
                }
            }
        },
        "components": {"schemas": schemas},
    }


def test_finished_document_names_declares_and_types_errors() -> None:
    document = finish_document(
        _document({"UnitRead": {"title": "UnitRead", "type": "object"}}), service="planning"
    )
    operation = document["paths"]["/planning/units/{unit_id}"]["get"]
    assert operation["summary"] == "Get one unit."
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlanningUnitRead"
    }
    assert set(operation["responses"]) == {
        *("200", "404", "409", "410"),
        *("429", "500", "502", "503", "504"),
    }
    problem = {"$ref": "#/components/schemas/Problem"}
    for status in ("404", "409", "410", "500"):
        assert operation["responses"][status]["content"] == {
            "application/problem+json": {"schema": problem}
        }
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    schemas = document["components"]["schemas"]
    assert set(schemas) == {"PlanningUnitRead", "Problem"}
    assert schemas["PlanningUnitRead"]["title"] == "PlanningUnitRead"


def test_names_that_clash_once_prefixed_are_refused() -> None:
    with pytest.raises(ValueError, match="clash"):
        finish_document(
            _document({"UnitRead": {}, "Unit-Read": {}, "PlanningUnitRead": {}}),
            service="planning",
        )

"""Input PostgreSQL cannot take is a 422 problem naming the field, per row in bulk, and every
error message is one a person can act on (issue 6, defects 2 and 4). Through the real gateway."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.assignment.territory_factories import make_alignment, make_territory
from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"
NUL = "\u0000"
TOO_BIG_FOR_BIGINT = 2**63
TOO_BIG_FOR_INTEGER = 2**31


def assert_invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["field"] == field, problem
    assert "function-after" not in response.text and "Value error" not in response.text
    return problem


def assert_nul_named(response: httpx.Response, field: str) -> None:
    problem = assert_invalid(response, field)
    assert "NUL character" in problem["detail"], problem


# ---- NUL characters ---------------------------------------------------------------------------

# (method, path, body, the field named) for one text field of each kind of resource.
NUL_BODIES = [
    ("POST", "/assignment/reps", {"name": f"Pat{NUL}"}, "name"),
    ("POST", "/assignment/reps", {"name": "Pat", "skills": ["spanish", f"fr{NUL}"]}, "skills[1]"),
    ("POST", "/assignment/alignments", {"name": f"FY27{NUL}"}, "name"),
    ("PUT", "/assignment/accounts/acme-1", {"name": f"Acme{NUL}"}, "name"),
    (
        "PUT",
        "/assignment/accounts/acme-2",
        {"name": "Acme", "attributes": {"tier": f"gold{NUL}"}},
        "attributes.tier",
    ),
    ("POST", "/assignment/leads", {"industry": f"soft{NUL}ware"}, "industry"),
    ("POST", "/assignment/leads", {"attributes": {"segment": f"smb{NUL}"}}, "attributes.segment"),
    ("POST", "/proximity/people", {"kind": "contact", "name": f"Kim{NUL}"}, "name"),
    (
        "POST",
        "/metrics/opportunities",
        {"external_id": f"opp{NUL}", "name": "Deal"},
        "external_id",
    ),
    (
        "POST",
        "/planning/units",
        {
            "code": f"U{NUL}1",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        },
        "code",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_BODIES)
async def test_nul_in_a_text_field_is_named(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await gateway_client.request(method, path, json=body, headers=tenant.headers)
    assert_nul_named(response, field)


async def test_nul_in_territory_names_and_criteria(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    alignment_id = await make_alignment(db, tenant_id=tenant.tenant_id, status="draft")
    path = f"/assignment/alignments/{alignment_id}/territories"
    named = await gateway_client.post(path, json={"name": f"West{NUL}"}, headers=tenant.headers)
    assert_nul_named(named, "name")
    criteria = {"all": [{"field": "industry", "op": "in", "values": ["software", f"saas{NUL}"]}]}
    ruled = await gateway_client.post(
        path, json={"name": "West", "criteria": criteria}, headers=tenant.headers
    )
    assert_nul_named(ruled, "criteria.all[0].values[1]")


async def test_nul_in_a_path_or_query_text(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    # nginx itself refuses an encoded NUL in a path, with its own problem.
    by_id = await gateway_client.get("/assignment/accounts/acme%00", headers=tenant.headers)
    assert by_id.status_code == 400
    assert by_id.headers["content-type"] == PROBLEM_JSON
    by_domain = await gateway_client.get(
        "/assignment/accounts", params={"domain": f"acme{NUL}.com"}, headers=tenant.headers
    )
    assert_nul_named(by_domain, "domain")


async def test_accounts_bulk_reports_the_nul_row_and_writes_the_others(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {
        "accounts": [
            {"external_id": "good-1", "name": "Good"},
            {"external_id": "bad-2", "name": f"Bad{NUL}"},
            {"external_id": "good-3", "name": "Good too", "industry": "retail"},
        ]
    }
    response = await gateway_client.post(
        "/assignment/accounts:bulk", json=body, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["failed"]) == (2, 1)
    [error] = result["errors"]
    assert (error["row"], error["external_id"], error["field"]) == (2, "bad-2", "name")
    assert "NUL character" in error["message"]


async def test_accounts_import_reports_the_nul_row_and_writes_the_others(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    csv = f"external_id,name,industry\nc1,One,retail\nc2,Two,soft{NUL}ware\nc3,Three,\n"
    response = await gateway_client.post(
        "/assignment/accounts:import",
        content=csv.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["failed"]) == (2, 1)
    [error] = result["errors"]
    assert (error["row"], error["external_id"], error["field"]) == (2, "c2", "industry")
    assert "NUL character" in error["message"]


# ---- bulk leads -------------------------------------------------------------------------------


@pytest.fixture
async def active_alignment(db: asyncpg.Connection, tenant: TenantWithKey) -> uuid.UUID:
    alignment_id = await make_alignment(db, tenant_id=tenant.tenant_id)
    await make_territory(
        db, tenant_id=tenant.tenant_id, alignment_id=alignment_id, name="All", is_fallback=True
    )
    return alignment_id


async def bulk_errors(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: bytes, content_type: str
) -> tuple[dict[str, Any], list[tuple[int, str | None, str]]]:
    response = await client.post(
        "/assignment/leads:bulk",
        content=body,
        headers={**tenant.headers, "Content-Type": content_type},
        params={"wait": "true"},
    )
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    errors = await client.get(f"/assignment/jobs/{job['id']}/errors", headers=tenant.headers)
    assert errors.status_code == 200, errors.text
    return job, [(e["row_number"], e["field"], e["message"]) for e in errors.json()["items"]]


@pytest.mark.usefixtures("active_alignment")
async def test_bulk_ndjson_names_the_nul_field_per_row(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = (
        b'{"external_id": "n1", "industry": "software"}\n'
        b'{"external_id": "n2", "industry": "soft\\u0000ware"}\n'
        b'{"external_id": "n3", "attributes": {"segment": "smb\\u0000"}}\n'
        b'{"external_id": "n4"}\n'
    )
    job, errors = await bulk_errors(gateway_client, tenant, body, "application/x-ndjson")
    assert (job["assigned_rows"], job["failed_rows"]) == (2, 2)
    assert [(row, field) for row, field, _ in errors] == [
        (2, "industry"),
        (3, "attributes.segment"),
    ]
    assert all("NUL character" in message for _, _, message in errors)


@pytest.mark.usefixtures("active_alignment")
async def test_bulk_csv_with_a_nul_or_a_bare_carriage_return(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = b"external_id,industry,country\nc1,software,US\nc2,soft\x00ware,US\nc3,retail\r,US\n"
    job, errors = await bulk_errors(gateway_client, tenant, body, "text/csv")
    assert (job["assigned_rows"], job["failed_rows"]) == (1, 2)
    assert [(row, field) for row, field, _ in errors] == [(2, "industry"), (3, "industry")]
    assert "NUL character" in errors[0][2]
    assert "carriage return" in errors[1][2]


# ---- integers beyond their column ------------------------------------------------------------


async def test_offset_beyond_bigint_on_every_list(
    gateway_client: httpx.AsyncClient, api_key: str
) -> None:
    document = (await gateway_client.get("/openapi.json")).json()
    lists = [
        path
        for path, operations in document["paths"].items()
        if "{" not in path
        and any(p["name"] == "offset" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 6, lists
    for path in lists:
        for offset in (TOO_BIG_FOR_BIGINT, 10**20):
            response = await gateway_client.get(
                path, params={"offset": offset}, headers={"X-API-Key": api_key}
            )
            assert_invalid(response, "offset")
        last = await gateway_client.get(
            path, params={"offset": TOO_BIG_FOR_BIGINT - 1}, headers={"X-API-Key": api_key}
        )
        assert last.status_code == 200, (path, last.text)
        assert last.json()["items"] == []


async def test_rep_capacity_beyond_integer(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"name": "Pat", "capacity": TOO_BIG_FOR_INTEGER}
    created = await gateway_client.post("/assignment/reps", json=body, headers=tenant.headers)
    assert_invalid(created, "capacity")
    body["capacity"] = TOO_BIG_FOR_INTEGER - 1
    created = await gateway_client.post("/assignment/reps", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    patched = await gateway_client.patch(
        f"/assignment/reps/{created.json()['id']}",
        json={"capacity": TOO_BIG_FOR_INTEGER},
        headers=tenant.headers,
    )
    assert_invalid(patched, "capacity")


# ---- messages a person can act on --------------------------------------------------------------


async def test_criteria_errors_name_the_condition_without_pydantic_internals(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    alignment_id = await make_alignment(db, tenant_id=tenant.tenant_id, status="draft")
    criteria = {"any": [{"field": "country", "op": "eq", "value": "US"}, {"field": "industry"}]}
    response = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "West", "criteria": criteria},
        headers=tenant.headers,
    )
    problem = assert_invalid(response, "criteria.any[1].op")
    assert problem["errors"] == [{"field": "criteria.any[1].op", "message": "Field required"}]
    needs_values = {"field": "industry", "op": "in"}
    response = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "West", "criteria": needs_values},
        headers=tenant.headers,
    )
    problem = assert_invalid(response, "criteria")
    assert problem["detail"] == "criteria: op 'in' needs a non-empty 'values' list"
    assert len(problem["errors"]) == 1


async def test_empty_geometry_object(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await gateway_client.post(
        "/planning/units", json={"code": "U1", "geometry": {}}, headers=tenant.headers
    )
    problem = assert_invalid(response, "geometry")
    assert "NoneType" not in problem["detail"]
    assert "Polygon or MultiPolygon" in problem["detail"]


async def test_deep_nesting_gets_a_specific_message(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    depth = 5000
    body = '{"name": "Pat", "skills": ' + "[" * depth + "]" * depth + "}"
    response = await gateway_client.post(
        "/assignment/reps",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    problem = assert_invalid(response, "body")
    assert "nests too deeply" in problem["detail"]


async def test_405_names_the_allowed_methods(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await gateway_client.delete("/assignment/reps", headers=tenant.headers)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert "GET, POST" in response.json()["detail"]


async def test_trailing_slash_is_a_404_naming_the_path(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await gateway_client.get("/assignment/reps/", headers=tenant.headers)
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "use /assignment/reps" in response.json()["detail"]
    unknown = await gateway_client.get("/assignment/nothing/", headers=tenant.headers)
    assert unknown.status_code == 404
    assert "trailing slash" not in unknown.json()["detail"]


async def test_non_finite_numbers_are_named(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """Python's JSON reader takes NaN and Infinity, which jsonb cannot store."""
    headers = {**tenant.headers, "Content-Type": "application/json"}
    lead = await gateway_client.post(
        "/assignment/leads", content=b'{"attributes": {"score": NaN}}', headers=headers
    )
    assert_invalid(lead, "attributes.score")
    alignment_id = await make_alignment(db, tenant_id=tenant.tenant_id, status="draft")
    territory = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        content=b'{"name": "T", "criteria": {"field": "attributes.score", "op": "in", '
        b'"values": [1, Infinity]}}',
        headers=headers,
    )
    assert_invalid(territory, "criteria.values[1]")


async def test_lead_with_a_bad_country_or_postal_code(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """Found by the property-based run: both were 500s on the single-lead path."""
    alignment_id = await make_alignment(db, tenant_id=tenant.tenant_id)
    await make_territory(
        db, tenant_id=tenant.tenant_id, alignment_id=alignment_id, name="All", is_fallback=True
    )
    country = await gateway_client.post(
        "/assignment/leads", json={"country": "00", "postal_code": "10001"}, headers=tenant.headers
    )
    assert "ISO 3166-1 alpha-2" in assert_invalid(country, "country")["detail"]
    postal = await gateway_client.post(
        "/assignment/leads",
        json={"country": "DE", "postal_code": "\u00de\u3250"},
        headers=tenant.headers,
    )
    assert "postal code" in assert_invalid(postal, "postal_code")["detail"]

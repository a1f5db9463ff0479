"""Accounts: single upsert, bulk JSON and CSV import, through the gateway."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.assignment.accounts import router as accounts_router
from services.assignment.accounts import service as accounts_service
from services.assignment.accounts.bulk import CsvStream
from services.assignment.app import create_app
from shared.settings import Settings
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey, add_key

ACCOUNTS = "/assignment/accounts"


@pytest.fixture
async def in_process(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Through the real gateway: nginx in front of the running services."""
    return gateway_client


async def make_rep(
    client: httpx.AsyncClient, tenant: TenantWithKey, *, external_id: str | None = None
) -> str:
    body = {"name": f"Rep {external_id or uuid.uuid4().hex[:6]}", "external_id": external_id}
    response = await client.post("/assignment/reps", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    rep_id: str = response.json()["id"]
    return rep_id


async def put(
    client: httpx.AsyncClient, tenant: TenantWithKey, external_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(f"{ACCOUNTS}/{external_id}", json=body, headers=tenant.headers)


async def all_accounts(client: httpx.AsyncClient, tenant: TenantWithKey) -> list[dict[str, Any]]:
    response = await client.get(f"{ACCOUNTS}?limit=1000", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def import_csv(
    client: httpx.AsyncClient, tenant: TenantWithKey, text: str, *, atomic: bool = False
) -> httpx.Response:
    return await client.post(
        f"{ACCOUNTS}:import",
        params={"atomic": "true"} if atomic else None,
        content=text.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )


# ---- single upsert ----------------------------------------------------------------------------


async def test_put_creates_then_replaces_the_whole_account(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant)
    first = await put(
        client,
        tenant,
        "crm-1",
        {
            "name": "Acme",
            "industry": "software",
            "employee_count": 250,
            "annual_revenue": "1250000.50",
            "potential": 90000,
            "attributes": {"segment": "mid", "partner": True, "score": 0.75},
            "location": {"type": "Point", "coordinates": [-122.42, 37.77]},
            "owner_rep_id": owner_id,
        },
    )
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["external_id"] == "crm-1"
    assert created["annual_revenue"] == "1250000.50"
    assert created["attributes"] == {"segment": "mid", "partner": True, "score": 0.75}
    assert created["location"] == {"type": "Point", "coordinates": [-122.42, 37.77]}
    assert created["owner_rep_id"] == owner_id

    second = await put(client, tenant, "crm-1", {"name": "Acme Corp", "employee_count": 300})
    assert second.status_code == 200, second.text
    updated = second.json()
    assert updated["id"] == created["id"]
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]
    # PUT replaces: what the second body leaves out is now empty.
    assert (updated["name"], updated["employee_count"]) == ("Acme Corp", 300)
    assert updated["industry"] is None and updated["location"] is None
    assert updated["owner_rep_id"] is None and updated["attributes"] == {}

    fetched = await client.get(f"{ACCOUNTS}/crm-1", headers=tenant.headers)
    assert fetched.json() == updated


@pytest.mark.parametrize(
    ("body", "domain"),
    [
        ({"domain": "WWW.Acme.COM."}, "acme.com"),
        ({"domain": "https://www.acme.com/about?x=1"}, "acme.com"),
        ({"domain": "sales@Acme.com"}, "acme.com"),
        ({"website": "http://www.Shop.Example.co.uk:8080/home"}, "shop.example.co.uk"),
        ({"domain": "acme.com", "website": "https://other.org"}, "acme.com"),
    ],
)
async def test_domain_is_normalised(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, str], domain: str
) -> None:
    response = await put(client, tenant, "d-1", {"name": "Acme", **body})
    assert response.status_code == 201, response.text
    assert response.json()["domain"] == domain


async def test_list_filters_by_domain_owner_and_pages(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant)
    await put(client, tenant, "a", {"name": "A", "domain": "acme.com", "owner_rep_id": owner_id})
    await put(client, tenant, "b", {"name": "B", "domain": "beta.io"})
    await put(client, tenant, "c", {"name": "C", "domain": "acme.com"})

    by_domain = await client.get(
        ACCOUNTS, params={"domain": "https://www.ACME.com"}, headers=tenant.headers
    )
    assert [item["external_id"] for item in by_domain.json()["items"]] == ["a", "c"]
    by_owner = await client.get(ACCOUNTS, params={"owner_rep_id": owner_id}, headers=tenant.headers)
    assert [item["external_id"] for item in by_owner.json()["items"]] == ["a"]
    page = await client.get(ACCOUNTS, params={"limit": 2}, headers=tenant.headers)
    assert [item["external_id"] for item in page.json()["items"]] == ["a", "b"]
    assert page.json()["next_offset"] == 2
    bad = await client.get(ACCOUNTS, params={"domain": "not a domain"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "domain"


async def test_postal_code_centroid_fills_the_location(
    client: httpx.AsyncClient, tenant: TenantWithKey, postal_codes_loaded: int
) -> None:
    response = await put(
        client, tenant, "ny-1", {"name": "NY Co", "postal_code": "10001-1234", "country": "us"}
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert (account["postal_code"], account["country"]) == ("10001", "US")
    # 10001 (Manhattan, New York): the zipcodes package puts it at 40.7484 N, 73.9967 W.
    assert account["location"] == {"type": "Point", "coordinates": [-73.9967, 40.7484]}

    # A point that is sent wins over the centroid; an unknown code leaves no location.
    pointed = await put(
        client,
        tenant,
        "ny-2",
        {
            "name": "NY Co",
            "postal_code": "10001",
            "country": "US",
            "location": {"type": "Point", "coordinates": [-73.99, 40.75]},
        },
    )
    assert pointed.json()["location"]["coordinates"] == [-73.99, 40.75]
    unknown = await put(
        client, tenant, "ny-3", {"name": "X", "postal_code": "99999", "country": "US"}
    )
    assert unknown.status_code == 201 and unknown.json()["location"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "postal_code": "10001"}, "postal_code"),
        ({"name": "X", "postal_code": "ABCDE", "country": "US"}, "postal_code"),
        ({"name": "X", "country": "USA"}, "country"),
        ({"name": "X", "domain": "localhost"}, "domain"),
        ({"name": "X", "attributes": {"tags": ["a", "b"]}}, "attributes.tags"),
        ({"name": "X", "employee_count": -1}, "employee_count"),
        ({"name": "X", "annual_revenue": "1.234"}, "annual_revenue"),
        (
            {"name": "X", "location": {"type": "Point", "coordinates": [40.7, -200]}},
            "location.coordinates",
        ),
        (
            {"name": "X", "owner_rep_id": str(uuid.uuid4()), "owner_external_id": "r"},
            "owner_external_id",
        ),
        ({"name": "X", "external_id": "in-the-path"}, "external_id"),
        ({}, "name"),
    ],
)
async def test_invalid_account_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, Any], field: str
) -> None:
    response = await put(client, tenant, "bad", body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


async def test_owner_from_another_tenant_is_404(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    foreign_id = await make_rep(client, other_tenant, external_id="rep-x")
    by_id = await put(client, tenant, "o-1", {"name": "A", "owner_rep_id": foreign_id})
    assert by_id.status_code == 404 and by_id.json()["field"] == "owner_rep_id"
    by_external_id = await put(client, tenant, "o-1", {"name": "A", "owner_external_id": "rep-x"})
    assert by_external_id.status_code == 404
    assert by_external_id.json()["field"] == "owner_external_id"
    mine = await make_rep(client, tenant, external_id="rep-x")
    ok = await put(client, tenant, "o-1", {"name": "A", "owner_external_id": "rep-x"})
    assert ok.status_code == 201 and ok.json()["owner_rep_id"] == mine


async def test_another_tenant_cannot_read_or_overwrite(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    assert (await put(client, tenant, "shared-id", {"name": "Mine"})).status_code == 201
    foreign = await client.get(f"{ACCOUNTS}/shared-id", headers=other_tenant.headers)
    assert foreign.status_code == 404 and foreign.json()["field"] == "external_id"
    assert await all_accounts(client, other_tenant) == []
    # The same external_id in another tenant is another account.
    theirs = await put(client, other_tenant, "shared-id", {"name": "Theirs"})
    assert theirs.status_code == 201
    mine = await client.get(f"{ACCOUNTS}/shared-id", headers=tenant.headers)
    assert mine.json()["name"] == "Mine"


# ---- bulk JSON --------------------------------------------------------------------------------


def _bulk_body(owner_id: str, *, atomic: bool = False) -> dict[str, Any]:
    return {
        "atomic": atomic,
        "accounts": [
            {"external_id": "g1", "name": "Good 1", "owner_rep_id": owner_id},
            {"external_id": "g2", "name": "Good 2", "domain": "www.good2.com"},
            {
                "external_id": "g3",
                "name": "Good 3",
                "location": {"type": "Point", "coordinates": [2.35, 48.86]},
            },
            {
                "external_id": "bad-lat",
                "name": "Bad latitude",
                "location": {"type": "Point", "coordinates": [2.35, 95.0]},
            },
            {
                "external_id": "bad-owner",
                "name": "Unknown owner",
                "owner_rep_id": str(uuid.uuid4()),
            },
        ],
    }


async def test_bulk_writes_good_rows_and_names_the_bad_ones(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant)
    response = await client.post(
        f"{ACCOUNTS}:bulk", json=_bulk_body(owner_id), headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert {key: result[key] for key in ("received", "created", "updated", "failed")} == {
        "received": 5,
        "created": 3,
        "updated": 0,
        "failed": 2,
    }
    assert [(e["row"], e["external_id"], e["field"]) for e in result["errors"]] == [
        (4, "bad-lat", "location.coordinates"),
        (5, "bad-owner", "owner_rep_id"),
    ]
    assert "latitude" in result["errors"][0]["message"]
    accounts = {account["external_id"]: account for account in await all_accounts(client, tenant)}
    assert sorted(accounts) == ["g1", "g2", "g3"]
    assert accounts["g1"]["owner_rep_id"] == owner_id
    assert accounts["g2"]["domain"] == "good2.com"
    assert accounts["g3"]["location"]["coordinates"] == [2.35, 48.86]

    # The same upload again: the three good rows are now updates.
    again = (
        await client.post(f"{ACCOUNTS}:bulk", json=_bulk_body(owner_id), headers=tenant.headers)
    ).json()
    assert (again["created"], again["updated"], again["failed"]) == (0, 3, 2)


async def test_atomic_bulk_with_a_bad_row_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant)
    response = await client.post(
        f"{ACCOUNTS}:bulk", json=_bulk_body(owner_id, atomic=True), headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["received"], problem["failed"]) == (5, 2)
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (4, "location.coordinates"),
        (5, "owner_rep_id"),
    ]
    assert problem["field"] == "location.coordinates"
    assert await all_accounts(client, tenant) == []


async def test_bulk_duplicate_external_ids_keep_the_first(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {
        "accounts": [
            {"external_id": "dup", "name": "First"},
            {"external_id": "other", "name": "Other"},
            {"external_id": "dup", "name": "Second"},
            {"external_id": " dup ", "name": "Third"},  # the same id once stripped
        ]
    }
    result = (await client.post(f"{ACCOUNTS}:bulk", json=body, headers=tenant.headers)).json()
    assert (result["created"], result["failed"]) == (2, 2)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (3, "external_id"),
        (4, "external_id"),
    ]
    assert "row 1" in result["errors"][0]["message"]
    dup = await client.get(f"{ACCOUNTS}/dup", headers=tenant.headers)
    assert dup.json()["name"] == "First"


async def test_bulk_shape_type_and_size_problems(
    in_process: httpx.AsyncClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = in_process  # the limits are patched in this process
    url = f"{ACCOUNTS}:bulk"
    not_a_list = await client.post(url, json={"accounts": {}}, headers=tenant.headers)
    assert not_a_list.status_code == 422 and not_a_list.json()["field"] == "accounts"
    unknown = await client.post(url, json={"accounts": [], "atomc": True}, headers=tenant.headers)
    assert unknown.status_code == 422 and unknown.json()["field"] == "atomc"
    as_csv = await client.post(
        url, content=b"external_id,name\n", headers={**tenant.headers, "Content-Type": "text/csv"}
    )
    assert as_csv.status_code == 415
    too_many = await client.post(
        url,
        json={"accounts": [{"external_id": str(i), "name": "n"} for i in range(50_001)]},
        headers=tenant.headers,
    )
    assert too_many.status_code == 413 and too_many.json()["field"] == "accounts"
    monkeypatch.setattr(accounts_router, "MAX_BULK_BODY_BYTES", 1024)
    too_big = await client.post(
        url, json={"accounts": [{"external_id": "x", "name": "n" * 2000}]}, headers=tenant.headers
    )
    assert too_big.status_code == 413
    assert too_big.json()["type"] == "/problems/payload-too-large"
    assert await all_accounts(client, tenant) == []


async def test_writes_need_the_write_scope(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    read_only = {
        "X-API-Key": await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    }
    bulk = await client.post(f"{ACCOUNTS}:bulk", json={"accounts": []}, headers=read_only)
    assert bulk.status_code == 403
    single = await client.put(f"{ACCOUNTS}/x", json={"name": "X"}, headers=read_only)
    assert single.status_code == 403
    assert (await client.get(ACCOUNTS, headers=read_only)).status_code == 200


# ---- CSV import -------------------------------------------------------------------------------


def _generated_csv(start: int, stop: int, *, owner: str) -> str:
    lines = [
        "external_id,name,latitude,longitude,industry,employee_count,owner_external_id,attr.segment"
    ]
    for number in range(start, stop):
        lines.append(
            f"acc-{number:05d},Account {number},{number % 80}.5,-{number % 170}.25,"
            f"{'software' if number % 2 else 'retail'},{number},{owner},"
            f"{'smb' if number % 3 else 'ent'}"
        )
    return "\n".join(lines) + "\n"


async def test_csv_import_counts_created_then_updated(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant, external_id="owner-1")
    first = await import_csv(client, tenant, _generated_csv(0, 5000, owner="owner-1"))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": 5000,
        "created": 5000,
        "updated": 0,
        "failed": 0,
        "errors": [],
    }
    # Rows 2500..7499: the first 2,500 exist now, the other 2,500 are new.
    second = await import_csv(client, tenant, _generated_csv(2500, 7500, owner="owner-1"))
    assert second.json() == {
        "received": 5000,
        "created": 2500,
        "updated": 2500,
        "failed": 0,
        "errors": [],
    }
    account = (await client.get(f"{ACCOUNTS}/acc-04243", headers=tenant.headers)).json()
    # 4243 % 80 = 3, 4243 % 170 = 163, 4243 is odd, 4243 % 3 = 1.
    assert account["location"] == {"type": "Point", "coordinates": [-163.25, 3.5]}
    assert (account["industry"], account["employee_count"]) == ("software", 4243)
    assert account["owner_rep_id"] == owner_id
    assert account["attributes"] == {"segment": "smb"}
    listed = await client.get(ACCOUNTS, params={"limit": 1, "offset": 7499}, headers=tenant.headers)
    assert listed.json()["items"][0]["external_id"] == "acc-07499"
    assert listed.json()["next_offset"] is None


async def test_csv_row_errors_use_the_file_numbers_and_columns(
    client: httpx.AsyncClient, tenant: TenantWithKey, postal_codes_loaded: int
) -> None:
    text = (
        "External_ID,name,latitude,longitude,postal_code,country,employee_count,attr.tier\n"
        "c1,One,40.1,-74.2,,,10,gold\n"
        'c2,"Two, Inc.",,,10001,us,,\n'  # a quoted comma; the location from the ZIP code
        "c3,Three,91,-74,,,,\n"  # row 3: latitude out of range
        "c4,Four,40,,,,,\n"  # row 4: latitude without longitude
        "c5,Five,,,,,many,\n"  # row 5: not a number
        "\n"  # row 6: blank, skipped
        "c7,Seven,,,,\n"  # row 7: too few fields
        "c1,Again,,,,,,\n"  # row 8: c1 is on row 1
        f"c9,Nine,,,,,,{'x' * 1001}\n"  # row 9: attribute too long
    )
    result = (await import_csv(client, tenant, text)).json()
    assert (result["received"], result["created"], result["failed"]) == (8, 2, 6)
    assert [(e["row"], e["external_id"], e["field"]) for e in result["errors"]] == [
        (3, "c3", "latitude"),
        (4, "c4", "longitude"),
        (5, "c5", "employee_count"),
        (7, "c7", "row"),
        (8, "c1", "external_id"),
        (9, "c9", "attr.tier"),
    ]
    two = (await client.get(f"{ACCOUNTS}/c2", headers=tenant.headers)).json()
    assert two["name"] == "Two, Inc."
    assert two["location"] == {"type": "Point", "coordinates": [-73.9967, 40.7484]}
    assert two["attributes"] == {}
    one = (await client.get(f"{ACCOUNTS}/c1", headers=tenant.headers)).json()
    assert (one["name"], one["attributes"]) == ("One", {"tier": "gold"})


async def test_csv_keeps_the_columns_the_file_does_not_have(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    owner_id = await make_rep(client, tenant)
    await put(
        client,
        tenant,
        "keep-1",
        {"name": "Old", "industry": "software", "owner_rep_id": owner_id, "attributes": {"a": 1}},
    )
    result = (await import_csv(client, tenant, "external_id;name\nkeep-1;New\n")).json()
    assert (result["created"], result["updated"]) == (0, 1)
    account = (await client.get(f"{ACCOUNTS}/keep-1", headers=tenant.headers)).json()
    assert account["name"] == "New"  # read with the semicolon delimiter of the header
    assert (account["industry"], account["owner_rep_id"], account["attributes"]) == (
        "software",
        owner_id,
        {"a": 1},
    )


async def test_csv_cross_tenant_owners_are_row_errors(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    mine = await make_rep(client, tenant, external_id="mine")
    foreign_id = await make_rep(client, other_tenant, external_id="theirs")
    text = (
        "external_id,name,owner_rep_id,owner_external_id\n"
        f"x1,One,{mine},\n"
        f"x2,Two,{foreign_id},\n"
        "x3,Three,,theirs\n"
        "x4,Four,,mine\n"
    )
    result = (await import_csv(client, tenant, text)).json()
    assert (result["created"], result["failed"]) == (2, 2)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (2, "owner_rep_id"),
        (3, "owner_external_id"),
    ]
    owners = {a["external_id"]: a["owner_rep_id"] for a in await all_accounts(client, tenant)}
    assert owners == {"x1": mine, "x4": mine}
    assert await all_accounts(client, other_tenant) == []


async def test_atomic_csv_with_a_bad_row_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    text = "external_id,name,employee_count\na1,One,1\na2,Two,-5\na1,Dup,3\n"
    response = await import_csv(client, tenant, text, atomic=True)
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (2, "employee_count"),
        (3, "external_id"),
    ]
    assert await all_accounts(client, tenant) == []
    fixed = await import_csv(client, tenant, "external_id,name\na1,One\n", atomic=True)
    assert fixed.json()["created"] == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("external_id,name,colour\n", "colour"),
        ("external_id,domain\n", "name"),
        ("external_id,name,latitude\n", "longitude"),
        ("external_id,name,name\n", "name"),
        ("external_id,name,attr.2x\n", "attr.2x"),
        ("", "body"),
    ],
)
async def test_csv_header_problems(
    client: httpx.AsyncClient, tenant: TenantWithKey, text: str, field: str
) -> None:
    response = await import_csv(client, tenant, text)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_csv_encoding_and_type_problems(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    latin1 = await client.post(
        f"{ACCOUNTS}:import",
        content="external_id,name\nx,Café\n".encode("latin-1"),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert latin1.status_code == 422 and "UTF-8" in latin1.json()["detail"]
    as_json = await client.post(f"{ACCOUNTS}:import", json={}, headers=tenant.headers)
    assert as_json.status_code == 415
    assert as_json.headers["content-type"] == "application/problem+json"


async def test_csv_row_and_byte_limits_are_413(
    in_process: httpx.AsyncClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = in_process  # the limits are patched in this process
    monkeypatch.setattr(accounts_service, "MAX_IMPORT_ROWS", 3)
    rows = await import_csv(client, tenant, "external_id,name\na,A\nb,B\nc,C\nd,D\n")
    assert rows.status_code == 413 and "3 rows" in rows.json()["detail"]
    assert (await import_csv(client, tenant, "external_id,name\na,A\nb,B\nc,C\n")).json()[
        "created"
    ] == 3
    monkeypatch.setattr(accounts_router, "MAX_BULK_BODY_BYTES", 64)
    too_big = await import_csv(client, tenant, "external_id,name\n" + "x,y\n" * 40)
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"


def test_csv_stream_cuts_records_only_between_rows() -> None:
    text = (
        "\ufeffexternal_id,name,attr.note\n"
        'q1,"Multi\nline, quoted",x\n'
        'q2,"He said ""hi""",y\r\n'
        "q3,Plain,z\n"
    ).encode()
    stream = CsvStream()
    parsed: list[tuple[int, dict[str, Any]]] = []
    for index in range(len(text)):  # the worst case: one byte at a time
        parsed += stream.feed(text[index : index + 1])
    parsed += stream.feed(b"", final=True)
    numbers = [number for number, _ in parsed]
    rows = [row for _, row in parsed]
    assert numbers == [1, 2, 3]
    assert rows == [
        {"external_id": "q1", "name": "Multi\nline, quoted", "attributes": {"note": "x"}},
        {"external_id": "q2", "name": 'He said "hi"', "attributes": {"note": "y"}},
        {"external_id": "q3", "name": "Plain", "attributes": {"note": "z"}},
    ]


# ---- placement on write -----------------------------------------------------------------------


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def _active_alignment(client: httpx.AsyncClient, tenant: TenantWithKey) -> dict[str, str]:
    """Manhattan (around ZIP 10001), Brooklyn, a fallback; published. Territory ids by name."""
    headers = tenant.headers
    rep = await make_rep(client, tenant)
    alignment = (
        await client.post("/assignment/alignments", json={"name": "NY"}, headers=headers)
    ).json()
    ids: dict[str, str] = {}
    for name, geometry, fallback in (
        ("Manhattan", _box(-74.03, 40.70, -73.90, 40.88), False),
        ("Brooklyn", _box(-74.05, 40.57, -73.85, 40.70), False),
        ("Rest", None, True),
    ):
        response = await client.post(
            f"/assignment/alignments/{alignment['id']}/territories",
            json={"name": name, "geometry": geometry, "is_fallback": fallback},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
        added = await client.post(
            f"/assignment/territories/{ids[name]}/members", json={"rep_id": rep}, headers=headers
        )
        assert added.status_code == 201, added.text
    published = await client.post(
        f"/assignment/alignments/{alignment['id']}:publish", json={}, headers=headers
    )
    assert published.status_code == 200, published.text
    return ids


async def test_accounts_are_placed_on_every_write_under_the_active_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, postal_codes_loaded: int
) -> None:
    ids = await _active_alignment(client, tenant)
    by_zip = await put(client, tenant, "z", {"name": "Z", "country": "US", "postal_code": "10001"})
    assert by_zip.status_code == 201, by_zip.text
    assert by_zip.json()["territory_id"] == ids["Manhattan"]
    assert by_zip.json()["owner_territory_id"] is None
    # An update moves it: to Brooklyn by point, then nowhere known (the fallback).
    brooklyn = {"type": "Point", "coordinates": [-73.95, 40.65]}
    moved = await put(client, tenant, "z", {"name": "Z", "location": brooklyn})
    assert moved.json()["territory_id"] == ids["Brooklyn"]
    nowhere = await put(client, tenant, "z", {"name": "Z"})
    assert nowhere.json()["territory_id"] == ids["Rest"]
    assert (await client.get(f"{ACCOUNTS}/z", headers=tenant.headers)).json()[
        "territory_id"
    ] == ids["Rest"]

    bulk = await client.post(
        f"{ACCOUNTS}:bulk",
        json={"accounts": [
            {"external_id": "b1", "name": "B1", "country": "US", "postal_code": "10001"},
            {"external_id": "b2", "name": "B2", "location": brooklyn},
        ]},
        headers=tenant.headers,
    )  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    imported = await import_csv(
        client, tenant, "external_id,name,latitude,longitude\nc1,C1,40.65,-73.95\nb1,B1,,\n"
    )
    assert imported.status_code == 200, imported.text
    placed = {account["external_id"]: account["territory_id"] for account in await all_accounts(
        client, tenant
    )}  # fmt: skip
    # b1 re-imported without coordinates keeps its postal code (a CSV sets only its columns).
    assert placed == {"z": ids["Rest"], "b1": ids["Manhattan"], "b2": ids["Brooklyn"],
                      "c1": ids["Brooklyn"]}  # fmt: skip
    listed = await client.get(f"{ACCOUNTS}?territory_id={ids['Brooklyn']}", headers=tenant.headers)
    assert {account["external_id"] for account in listed.json()["items"]} == {"b2", "c1"}

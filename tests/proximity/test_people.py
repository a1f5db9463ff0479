"""People endpoints, in process against the real test database."""

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey, add_key
from tests.proximity.conftest import insert_account, insert_rep


async def test_create_and_read_contact_round_trips(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account_id = await insert_account(sessionmaker, tenant_id=tenant.tenant_id)
    body = {
        "kind": "contact",
        "external_id": "crm-contact-1",
        "account_id": str(account_id),
        "name": "Grace Ho",
        "email": "grace@acme.example",
        "title": "CFO",
    }
    created = await client.post("/proximity/people", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    fetched = await client.get(f"/proximity/people/{person_id}", headers=tenant.headers)
    assert fetched.status_code == 200
    person = fetched.json()
    assert {key: person[key] for key in body} == body
    assert person["rep_id"] is None


async def test_rep_person_points_at_its_rep(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    created = await client.post(
        "/proximity/people",
        json={"kind": "rep", "rep_id": str(rep_id), "name": "Ada Park"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "rep"
    assert created.json()["rep_id"] == str(rep_id)


async def test_rep_person_without_rep_id_is_422_on_rep_id(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/proximity/people", json={"kind": "rep", "name": "Ada"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "rep_id"


async def test_contact_with_rep_id_is_422_on_rep_id(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.post(
        "/proximity/people",
        json={"kind": "contact", "rep_id": str(rep_id), "name": "Grace"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "rep_id"


async def test_unknown_kind_is_422_problem_on_kind(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/proximity/people", json={"kind": "manager", "name": "X"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "kind"


async def test_unknown_person_is_404_problem(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.get(f"/proximity/people/{uuid.uuid4()}", headers=tenant.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "person_id"


async def test_unknown_rep_id_is_404_on_rep_id(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/proximity/people",
        json={"kind": "rep", "rep_id": str(uuid.uuid4()), "name": "Ada"},
        headers=tenant.headers,
    )
    assert response.status_code == 404
    assert response.json()["field"] == "rep_id"


async def test_rep_and_account_of_another_tenant_are_404_like_unknown_ones(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    their_rep_id = await insert_rep(sessionmaker, tenant_id=other_tenant.tenant_id)
    their_account_id = await insert_account(sessionmaker, tenant_id=other_tenant.tenant_id)
    rep_person = await client.post(
        "/proximity/people",
        json={"kind": "rep", "rep_id": str(their_rep_id), "name": "Ada"},
        headers=tenant.headers,
    )
    assert rep_person.status_code == 404
    assert rep_person.json()["field"] == "rep_id"
    contact = await client.post(
        "/proximity/people",
        json={"kind": "contact", "account_id": str(their_account_id), "name": "Grace"},
        headers=tenant.headers,
    )
    assert contact.status_code == 404
    assert contact.json()["field"] == "account_id"


async def test_another_tenant_cannot_read_or_list_a_person(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    created = await client.post(
        "/proximity/people", json={"kind": "contact", "name": "Grace"}, headers=tenant.headers
    )
    person_id = created.json()["id"]
    read = await client.get(f"/proximity/people/{person_id}", headers=other_tenant.headers)
    assert read.status_code == 404
    listed = await client.get("/proximity/people", headers=other_tenant.headers)
    assert listed.json()["items"] == []


async def test_duplicate_external_id_is_409_but_free_in_another_tenant(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    body = {"kind": "contact", "name": "Grace", "external_id": "crm-7"}
    first = await client.post("/proximity/people", json=body, headers=tenant.headers)
    assert first.status_code == 201
    again = await client.post("/proximity/people", json=body, headers=tenant.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "external_id"
    elsewhere = await client.post("/proximity/people", json=body, headers=other_tenant.headers)
    assert elsewhere.status_code == 201


async def test_list_filters_by_kind_and_account_and_paginates(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    acme = await insert_account(sessionmaker, tenant_id=tenant.tenant_id)
    globex = await insert_account(sessionmaker, tenant_id=tenant.tenant_id)
    bodies = [
        {"kind": "rep", "rep_id": str(rep_id), "name": "Rep"},
        {"kind": "contact", "account_id": str(acme), "name": "Acme 1"},
        {"kind": "contact", "account_id": str(acme), "name": "Acme 2"},
        {"kind": "contact", "account_id": str(globex), "name": "Globex 1"},
    ]
    for body in bodies:
        response = await client.post("/proximity/people", json=body, headers=tenant.headers)
        assert response.status_code == 201, response.text

    async def names(query: str) -> list[str]:
        page = (await client.get(f"/proximity/people?{query}", headers=tenant.headers)).json()
        return [person["name"] for person in page["items"]]

    assert await names("kind=rep") == ["Rep"]
    assert await names("kind=contact") == ["Acme 1", "Acme 2", "Globex 1"]
    assert await names(f"account_id={acme}") == ["Acme 1", "Acme 2"]
    assert await names(f"kind=rep&account_id={acme}") == []
    first = (await client.get("/proximity/people?limit=3", headers=tenant.headers)).json()
    assert len(first["items"]) == 3 and first["next_offset"] == 3
    last = (await client.get("/proximity/people?limit=3&offset=3", headers=tenant.headers)).json()
    assert [person["name"] for person in last["items"]] == ["Globex 1"]
    assert last["next_offset"] is None


async def test_read_only_key_cannot_create_and_no_key_is_401(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    read_token = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    body = {"kind": "contact", "name": "Grace"}
    forbidden = await client.post("/proximity/people", json=body, headers={"X-API-Key": read_token})
    assert forbidden.status_code == 403
    anonymous = await client.get("/proximity/people")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"

"""CRM adapters through the real gateway with recorded, realistic payloads built from each CRM's
public documentation: a HubSpot workflow webhook (signature v3), a Salesforce Outbound Message
(SOAP, acknowledged), and their CSV exports, each through the connector's field mapping."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.assignment.territory_factories import (
    add_member,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.conftest import Platform
from tests.factories import TenantWithKey

PAYLOADS = Path(__file__).with_name("crm_payloads")
CONNECTORS = "/assignment/crm-connectors"
SECRET = "hs-client-secret-7f3e2b9a"
ORG_ID = "00D5g000004Xk2aEAC"


@pytest.fixture
async def routed(
    db: asyncpg.Connection, tenant: TenantWithKey, postal_codes_loaded: int
) -> dict[str, uuid.UUID]:
    """An active alignment: New York (around ZIP 10001) and a fallback, each with its owner."""
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    reps = {"ny": await make_rep(db, tenant_id=t, name="NY rep")}
    reps["fallback"] = await make_rep(db, tenant_id=t, name="Fallback rep")
    ny = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="New York", wkt=square(-74.5, 40.5, 1)
    )
    fallback = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Fallback", is_fallback=True
    )
    await add_member(db, tenant_id=t, territory_id=ny, rep_id=reps["ny"])
    await add_member(db, tenant_id=t, territory_id=fallback, rep_id=reps["fallback"])
    return reps


async def connector(
    client: httpx.AsyncClient, tenant: TenantWithKey, **body: Any
) -> dict[str, Any]:
    response = await client.post(CONNECTORS, json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert "client_secret" not in created
    return created


def hubspot_headers(
    client: httpx.AsyncClient, path: str, body: bytes, *, secret: str = SECRET, age: float = 0
) -> dict[str, str]:
    """X-HubSpot-Signature-v3 as HubSpot computes it: HMAC-SHA256 (client secret) over method +
    URL + body + timestamp, base64."""
    timestamp = str(int((time.time() - age) * 1000))
    uri = f"{client.base_url}".rstrip("/") + path
    source = b"POST" + uri.encode() + body + timestamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": signature.decode(),
        "X-HubSpot-Request-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


async def count_leads(db: asyncpg.Connection, tenant: TenantWithKey) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM lead WHERE tenant_id = $1", tenant.tenant_id
    )
    return count


async def test_hubspot_workflow_webhook_assigns_a_signed_lead(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    routed: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    created = await connector(
        gateway_client, tenant, kind="hubspot", name="Marketing portal", client_secret=SECRET
    )
    assert created["has_client_secret"] is True
    path = created["endpoints"]["leads_webhook"]
    body = (PAYLOADS / "hubspot_contact_webhook.json").read_bytes()
    headers = tenant.headers | hubspot_headers(gateway_client, path, body)

    response = await gateway_client.post(path, content=body, headers=headers)
    assert response.status_code == 201, response.text
    assigned = response.json()
    assert assigned["rep"]["id"] == str(routed["ny"])  # ZIP 10001 lies in New York
    lead = await db.fetchrow(
        "SELECT external_id, email, country, attributes, employee_count, annual_revenue"
        " FROM lead WHERE tenant_id = $1",
        tenant.tenant_id,
    )
    assert lead["external_id"] == "3234574"
    assert lead["email"] == "pat.lee@acme-robotics.com"
    assert lead["country"] == "US"  # "United States" → ISO code
    assert lead["employee_count"] == 250
    attributes = json.loads(lead["attributes"])
    assert attributes["company"] == "Acme Robotics"
    assert attributes["lead_source"] == "ORGANIC_SEARCH"
    assert "firstname" not in attributes and "hs_email_domain" not in attributes

    # HubSpot retries the same delivery: the first answer again, no second lead.
    retried = await gateway_client.post(
        path, content=body, headers=tenant.headers | hubspot_headers(gateway_client, path, body)
    )
    assert retried.status_code == 201
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json()["lead_id"] == assigned["lead_id"]
    assert await count_leads(db, tenant) == 1


async def test_hubspot_bad_signatures_are_401(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, routed: dict[str, uuid.UUID]
) -> None:
    created = await connector(
        gateway_client, tenant, kind="hubspot", name="Portal", client_secret=SECRET
    )
    path = created["endpoints"]["leads_webhook"]
    body = (PAYLOADS / "hubspot_contact_webhook.json").read_bytes()
    cases = {
        "wrong secret": hubspot_headers(gateway_client, path, body, secret="not-the-secret"),
        "stale": hubspot_headers(gateway_client, path, body, age=600),
        "tampered": hubspot_headers(gateway_client, path, body.replace(b"10001", b"60601")),
        "unsigned": {"Content-Type": "application/json"},
    }
    for case, signature in cases.items():
        response = await gateway_client.post(path, content=body, headers=tenant.headers | signature)
        assert response.status_code == 401, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/bad-signature"), case
    # A signature is not an API key: without the key the gateway's auth refuses first.
    unsigned_key = await gateway_client.post(
        path, content=body, headers=hubspot_headers(gateway_client, path, body)
    )
    assert unsigned_key.status_code == 401


async def test_hubspot_unmapped_field_is_named_then_mapped(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    routed: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    created = await connector(
        gateway_client, tenant, kind="hubspot", name="Portal", client_secret=SECRET
    )
    path = created["endpoints"]["leads_webhook"]
    payload = json.loads((PAYLOADS / "hubspot_contact_webhook.json").read_text())
    payload["properties"]["preferred_product_line"] = {"value": "robot-arms"}
    body = json.dumps(payload).encode()
    refused = await gateway_client.post(
        path, content=body, headers=tenant.headers | hubspot_headers(gateway_client, path, body)
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/unmapped-fields")
    assert problem["unmapped"] == ["preferred_product_line"]
    assert "field_mapping" in problem["detail"]
    assert await count_leads(db, tenant) == 0

    patched = await gateway_client.patch(
        f"{CONNECTORS}/{created['id']}",
        json={"field_mapping": {"leads": {"preferred_product_line": "attributes.product_line"}}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["effective_mapping"]["leads"]["preferred_product_line"] == (
        "attributes.product_line"
    )
    accepted = await gateway_client.post(
        path, content=body, headers=tenant.headers | hubspot_headers(gateway_client, path, body)
    )
    assert accepted.status_code == 201, accepted.text
    attributes = await db.fetchval(
        "SELECT attributes FROM lead WHERE tenant_id = $1", tenant.tenant_id
    )
    assert json.loads(attributes)["product_line"] == "robot-arms"

    # A mapping to a field leads do not have is refused when configured, naming it.
    bad_mapping = await gateway_client.patch(
        f"{CONNECTORS}/{created['id']}",
        json={"field_mapping": {"leads": {"zip": "zip_code"}}},
        headers=tenant.headers,
    )
    assert bad_mapping.status_code == 422
    assert "zip_code" in bad_mapping.text


async def test_salesforce_outbound_message_is_acknowledged_once(
    gateway_client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    routed: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    created = await connector(
        gateway_client, tenant, kind="salesforce", name="Sales org", organization_id=ORG_ID
    )
    path = created["endpoints"]["outbound_messages"].split("?")[0]
    body = (PAYLOADS / "salesforce_lead_outbound_message.xml").read_bytes()
    # Salesforce can set no header: the key comes in the URL it was configured with.
    params = {"api_key": tenant.token}
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    response = await gateway_client.post(path, content=body, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Ack>true</Ack>" in response.text and "notificationsResponse" in response.text
    rows = await db.fetch(
        "SELECT l.external_id, l.country, a.rep_id FROM lead l JOIN assignment a"
        " ON a.lead_id = l.id WHERE l.tenant_id = $1 ORDER BY l.external_id",
        tenant.tenant_id,
    )
    assert [(r["external_id"], r["country"]) for r in rows] == [
        ("00Q5g00000AbCdEEAV", "US"),
        ("00Q5g00000AbCdFEAV", "US"),  # "USA" → US
    ]
    assert rows[0]["rep_id"] == routed["ny"]  # 10001
    assert rows[1]["rep_id"] == routed["fallback"]  # Chicago is outside every territory

    # Salesforce redelivers (it may, even after an Ack): acknowledged, nothing assigned twice.
    again = await gateway_client.post(path, content=body, params=params, headers=headers)
    assert again.status_code == 200 and "<Ack>true</Ack>" in again.text
    assert await count_leads(db, tenant) == 2
    # The key in the URL never reaches the gateway's access log.
    logged = platform.access_log.read_text()
    assert "/outbound-messages?api_key=[redacted]" in logged
    assert tenant.token not in logged


async def test_salesforce_refusals(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    routed: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    created = await connector(
        gateway_client, tenant, kind="salesforce", name="Sales org", organization_id=ORG_ID
    )
    path = created["endpoints"]["outbound_messages"].split("?")[0]
    body = (PAYLOADS / "salesforce_lead_outbound_message.xml").read_text()
    params = {"api_key": tenant.token}
    headers = {"Content-Type": "text/xml"}

    other_org = body.replace(ORG_ID, "00D000000000001AAA")
    response = await gateway_client.post(path, content=other_org, params=params, headers=headers)
    assert response.status_code == 401, response.text
    assert "00D000000000001AAA" in response.json()["detail"]

    # A custom field the mapping does not know, in the second notification: nothing assigned.
    custom = body.replace(
        "<sf:State>IL</sf:State>", "<sf:State>IL</sf:State><sf:Score__c>87</sf:Score__c>"
    )
    response = await gateway_client.post(path, content=custom, params=params, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["unmapped"] == ["Score__c"] and problem["record"] == 2
    assert await count_leads(db, tenant) == 0

    not_soap = await gateway_client.post(
        path, content="<html>hello</html>", params=params, headers=headers
    )
    assert not_soap.status_code == 422
    entity_bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    )
    bomb = await gateway_client.post(path, content=entity_bomb, params=params, headers=headers)
    assert bomb.status_code == 422
    # The HubSpot endpoint does not take a Salesforce connector.
    wrong_kind = await gateway_client.post(
        f"/assignment/crm/hubspot/{created['id']}/leads", content=b"{}", headers=tenant.headers
    )
    assert wrong_kind.status_code == 404


async def test_csv_exports_through_the_mapping(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    routed: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    hubspot = await connector(
        gateway_client, tenant, kind="hubspot", name="Portal", client_secret=SECRET
    )
    imported = await gateway_client.post(
        hubspot["endpoints"]["accounts_csv"],
        content=(PAYLOADS / "hubspot_companies_export.csv").read_bytes(),
        headers=tenant.headers | {"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    accounts = await db.fetch(
        "SELECT external_id, name, domain, country, attributes FROM account WHERE tenant_id = $1"
        " ORDER BY external_id",
        tenant.tenant_id,
    )
    assert [(a["external_id"], a["name"], a["country"]) for a in accounts] == [
        ("9120001", "Acme Robotics", "US"),
        ("9120002", "Northwind Traders, Inc.", "US"),
        ("9120003", "Maple Leaf Logistics", "CA"),
    ]
    assert json.loads(accounts[0]["attributes"])["city"] == "New York"

    salesforce = await connector(
        gateway_client, tenant, kind="salesforce", name="Org", organization_id=ORG_ID
    )
    leads = await gateway_client.post(
        salesforce["endpoints"]["leads_csv"],
        content=(PAYLOADS / "salesforce_leads_report.csv").read_bytes(),
        headers=tenant.headers | {"Content-Type": "text/csv"},
    )
    assert leads.status_code == 200, leads.text
    job = leads.json()
    assert job["status"] == "succeeded", job
    errors = await gateway_client.get(
        f"/assignment/jobs/{job['id']}/errors", headers=tenant.headers
    )
    rejected = errors.json()["items"]
    assert [(e["row_number"], e["field"]) for e in rejected] == [(3, "country")]  # "Atlantis"
    rows = await db.fetch(
        "SELECT external_id FROM lead WHERE tenant_id = $1 ORDER BY external_id", tenant.tenant_id
    )
    assert [r["external_id"] for r in rows] == ["00Q5g00000XyZ01EAA", "00Q5g00000XyZ02EAA"]

    # Another tenant cannot see or use these connectors.
    hidden = await gateway_client.get(f"{CONNECTORS}/{hubspot['id']}", headers=other_tenant.headers)
    assert hidden.status_code == 404
    unmapped_header = await gateway_client.post(
        hubspot["endpoints"]["accounts_csv"],
        content=b"Record ID,Company name,Favourite Colour\n1,A,blue\n",
        headers=tenant.headers | {"Content-Type": "text/csv"},
    )
    assert unmapped_header.status_code == 422
    assert unmapped_header.json()["unmapped"] == ["Favourite Colour"]


async def test_connector_configuration_is_validated(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    no_secret = await gateway_client.post(
        CONNECTORS, json={"kind": "hubspot", "name": "x"}, headers=tenant.headers
    )
    assert no_secret.status_code == 422
    assert "client_secret" in no_secret.text
    no_org = await gateway_client.post(
        CONNECTORS, json={"kind": "salesforce", "name": "x"}, headers=tenant.headers
    )
    assert no_org.status_code == 422
    bad_target = await gateway_client.post(
        CONNECTORS,
        json={
            "kind": "hubspot",
            "name": "x",
            "client_secret": SECRET,
            "field_mapping": {"opportunities": {"a": "b"}},
        },
        headers=tenant.headers,
    )
    assert bad_target.status_code == 422
    created = await connector(
        gateway_client, tenant, kind="hubspot", name="x", client_secret=SECRET
    )
    listed = await gateway_client.get(CONNECTORS, headers=tenant.headers)
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    assert "client_secret" not in listed.json()["items"][0] and SECRET not in listed.text
    deleted = await gateway_client.delete(f"{CONNECTORS}/{created['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    gone = await gateway_client.get(f"{CONNECTORS}/{created['id']}", headers=tenant.headers)
    assert gone.status_code == 404

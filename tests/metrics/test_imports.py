"""Bulk uploads through the gateway with the real job worker: per-row errors (bad dates,
negative amounts, unknown currency, unknown stage, duplicate external ids, unknown references),
all or nothing vs skip, idempotent re-upload, JSON lines, activities and quotas, and stage
history read back "as of" instants between changes."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.dataset import arrange_references

CSV = {"content-type": "text/csv"}
NDJSON = {"content-type": "application/x-ndjson"}


async def finished(
    client: httpx.AsyncClient, tenant: TenantWithKey, job: httpx.Response, *, seconds: float = 60
) -> dict[str, Any]:
    assert job.status_code == 202, job.text
    location = job.headers["location"]
    assert location == f"/metrics/imports/{job.json()['id']}"
    for _ in range(int(seconds / 0.1)):
        response = await client.get(location, headers=tenant.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"import {location} did not finish: {body}")


async def errors_of(
    client: httpx.AsyncClient, tenant: TenantWithKey, job: dict[str, Any]
) -> list[tuple[int, str, str]]:
    response = await client.get(job["links"]["errors"], headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [(item["row"], item["field"], item["reason"]) for item in response.json()["items"]]


async def upload(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    kind: str,
    body: str,
    *,
    media: dict[str, str] = CSV,
    on_error: str | None = None,
) -> dict[str, Any]:
    params = {"on_error": on_error} if on_error else {}
    response = await client.post(
        f"/metrics/{kind}:import",
        content=body.encode(),
        params=params,
        headers={**tenant.headers, **media},
    )
    return await finished(client, tenant, response)


OPPORTUNITIES = (
    "external_id,name,account_external_id,rep_id,territory_id,stage,status,amount,currency,"
    "opened_at,closed_at\n"
    # 1 good: 2,000 USD = 1,000 EUR, won (its stage says so)
    "o-1,Acme,acct1,{a},{t1},Closed Won,,2000,USD,2025-03-01,2025-03-20T10:00:00Z\n"
    # 2 bad date: 30 February
    "o-2,Beta,acct2,{a},{t1},Discovery,,500,EUR,2025-02-30,\n"
    # 3 negative amount
    "o-3,Gamma,,{a},{t1},Discovery,,-10,EUR,2025-03-01,\n"
    # 4 unknown currency (no rate to EUR)
    "o-4,Delta,,{a},{t1},Discovery,,100,JPY,2025-03-01,\n"
    # 5 unknown stage
    "o-5,Eps,,{a},{t1},Haggling,,100,EUR,2025-03-01,\n"
    # 6 and 7 the same external id
    "o-6,Zeta,,{a},{t1},Discovery,,100,EUR,2025-03-01,\n"
    "o-6,Zeta again,,{a},{t1},Discovery,,200,EUR,2025-03-01,\n"
    # 8 good, open, in the local time zone (Berlin)
    "o-8,Eta,acct3,{b},{t2},Proposal,,300.50,,2025-03-02 09:00,\n"
    # 9 unknown account, and won without closed_at
    "o-9,Theta,nope,{a},{t1},,won,100,EUR,2025-03-01,\n"
)


async def set_up(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Any:
    data = await arrange_references(sessionmaker, tenant.tenant_id)
    settings = {"time_zone": "Europe/Berlin", "fiscal_year_start_month": 2, "currency": "EUR"}
    response = await client.put("/metrics/settings", json=settings, headers=tenant.headers)
    assert response.status_code == 200, response.text
    response = await client.put(
        "/metrics/exchange-rates/USD", json={"rate": "0.5"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    stages = {
        "stages": [
            {"name": "Discovery"},
            {"name": "Proposal"},
            {"name": "Closed Won", "status": "won"},
            {"name": "Closed Lost", "status": "lost"},
        ]
    }
    response = await client.put("/metrics/stages", json=stages, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return data


async def test_per_row_errors_all_or_nothing_then_skip_then_idempotent_reupload(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    client = gateway_client
    data = await set_up(client, tenant, sessionmaker)
    body = OPPORTUNITIES.format(a=data.rep_a, b=data.rep_b, t1=data.t1, t2=data.t2)

    job = await upload(client, tenant, "opportunities", body)
    assert job["status"] == "failed", job
    assert (job["total_rows"], job["failed_rows"], job["inserted_rows"]) == (9, 7, 0)
    assert "nothing was written" in job["error"]
    errors = await errors_of(client, tenant, job)
    assert [(row, field) for row, field, _ in errors] == [
        (2, "opened_at"),
        (3, "amount"),
        (4, "currency"),
        (5, "stage"),
        (6, "external_id"),
        (7, "external_id"),
        (9, "account_external_id"),
        (9, "closed_at"),
    ]
    reasons = {(row, field): reason for row, field, reason in errors}
    assert reasons[(2, "opened_at")] == "not an ISO 8601 date or date-time: 2025-02-30"
    assert reasons[(3, "amount")].startswith("negative amount -10")
    assert reasons[(4, "currency")].startswith("unknown currency JPY: no exchange rate to EUR")
    assert reasons[(5, "stage")].startswith("unknown stage Haggling")
    assert reasons[(6, "external_id")] == (
        "duplicate external id o-6: on 2 rows of this upload (first on row 6); send each once"
    )
    assert reasons[(9, "closed_at")] == "required once the opportunity is won or lost"
    listed = await client.get("/metrics/opportunities", headers=tenant.headers)
    assert listed.json()["items"] == []  # all or nothing: nothing

    job = await upload(client, tenant, "opportunities", body, on_error="skip")
    assert job["status"] == "succeeded", job
    assert job["mode"] == "skip_bad_rows"
    counts = [job[key] for key in ("inserted_rows", "updated_rows", "unchanged_rows")]
    assert (counts, job["failed_rows"]) == ([2, 0, 0], 7)
    listed = await client.get("/metrics/opportunities", headers=tenant.headers)
    rows = {item["external_id"]: item for item in listed.json()["items"]}
    assert set(rows) == {"o-1", "o-8"}
    assert (rows["o-1"]["status"], rows["o-1"]["amount_reporting"]) == ("won", "1000.00")
    assert rows["o-1"]["account_id"] == str(data.acct1)
    assert rows["o-1"]["opened_at"] == "2025-02-28T23:00:00Z"  # local midnight in Berlin
    assert (rows["o-8"]["currency"], rows["o-8"]["amount"]) == ("EUR", "300.50")
    assert rows["o-8"]["opened_at"] == "2025-03-02T08:00:00Z"

    # The same file again: nothing changes, nothing is rewritten.
    again = await upload(client, tenant, "opportunities", body, on_error="skip")
    counts = [again[key] for key in ("inserted_rows", "updated_rows", "unchanged_rows")]
    assert (counts, again["failed_rows"]) == ([0, 0, 2], 7)
    listed = await client.get("/metrics/opportunities", headers=tenant.headers)
    assert {item["id"] for item in listed.json()["items"]} == {
        rows["o-1"]["id"],
        rows["o-8"]["id"],
    }
    assert {item["updated_at"] for item in listed.json()["items"]} == {
        rows["o-1"]["updated_at"],
        rows["o-8"]["updated_at"],
    }

    # The fixed file: all good now; o-1 and o-8 unchanged, the rest inserted.
    fixed = (
        body.replace("2025-02-30", "2025-02-28")
        .replace("-10,", "10,")
        .replace("JPY", "USD")
        .replace("Haggling", "Proposal")
        .replace("o-6,Zeta again", "o-7,Zeta again")
        .replace(",nope,", ",acct1,")
        .replace(",,won,100,EUR,2025-03-01,", ",,open,100,EUR,2025-03-01,")
    )
    job = await upload(client, tenant, "opportunities", fixed)
    assert job["status"] == "succeeded", (job, await errors_of(client, tenant, job))
    counts = [job[key] for key in ("inserted_rows", "updated_rows", "unchanged_rows")]
    assert (counts, job["failed_rows"]) == ([7, 0, 2], 0)


async def test_json_lines_activities_and_quotas(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    client = gateway_client
    data = await set_up(client, tenant, sessionmaker)
    lines = "\n".join(
        [
            f'{{"external_id": "a-1", "kind": "Call", "occurred_at": "2025-03-03T09:00:00Z",'
            f' "rep_id": "{data.rep_a}", "territory_id": "{data.t1}", "account_external_id":'
            ' "acct1", "duration_minutes": 15}',
            "",
            "this is not json",
            '{"external_id": "a-3", "kind": "meeting", "occurred_at": "2025-13-01"}',
            '["an", "array"]',
            f'{{"external_id": "a-5", "kind": "email", "occurred_at": "2025-03-04",'
            f' "territory_id": "{data.t1}"}}',
        ]
    )
    job = await upload(client, tenant, "activities", lines, media=NDJSON, on_error="skip")
    assert job["status"] == "succeeded", job
    assert (job["total_rows"], job["inserted_rows"], job["failed_rows"]) == (5, 2, 3)
    errors = await errors_of(client, tenant, job)
    assert [(row, field) for row, field, _ in errors] == [
        (3, "line"),
        (4, "occurred_at"),
        (5, "line"),
    ]
    assert errors[0][2] == "not a JSON object: this is not json"
    activities = await client.get("/metrics/activities", headers=tenant.headers)
    kinds = {item["external_id"]: item["kind"] for item in activities.json()["items"]}
    assert kinds == {"a-1": "call", "a-5": "email"}

    quotas = (
        "external_id,territory_id,rep_external_id,period_start,period_end,amount\n"
        f"q-1,{data.t1},,2025-02-01,2025-05-01,20000\n"
        f"q-2,{data.t2},,2025-02-01,2025-05-01,10000\n"
        f"q-3,{data.t2},,2025-05-01,2025-02-01,10\n"
        ",,,2025-02-01,2025-05-01,10\n"
    )
    job = await upload(client, tenant, "quotas", quotas)
    assert job["status"] == "failed"
    errors = await errors_of(client, tenant, job)
    assert [(row, field) for row, field, _ in errors] == [
        (3, "period_end"),
        (4, "external_id"),
        (4, "rep_id"),
    ]
    job = await upload(client, tenant, "quotas", quotas, on_error="skip")
    assert (job["inserted_rows"], job["failed_rows"]) == (2, 2)
    kpis = await client.get(
        "/metrics/kpis",
        params={"territory_id": str(data.t1), "period": "2026-Q1"},
        headers=tenant.headers,
    )
    assert kpis.status_code == 200, kpis.text
    assert kpis.json()["quota"]["value"] == 20000
    assert kpis.json()["activities"] == 2  # a-1 and a-5, both in FY2026-Q1


async def test_bad_uploads_are_refused_whole(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    client = gateway_client
    cases = [
        ("external_id,amount,color\nx,1,red\n", CSV, 422, "unknown column 'color'"),
        ("name\nx\n", CSV, 422, "lacks the required column(s) external_id, amount"),
        ("external_id,amount\nx,1\ny,2,3\n", CSV, 422, "line 3"),
        ("external_id,amount\n", CSV, 422, "holds no opportunities"),
        ("{}", {"content-type": "application/json"}, 415, "text/csv"),
    ]
    for body, media, status, detail in cases:
        response = await client.post(
            "/metrics/opportunities:import",
            content=body.encode(),
            headers={**tenant.headers, **media},
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert detail in response.json()["detail"], response.json()


async def test_pipeline_as_of_instants_between_stage_changes(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """h-1 (T1) is loaded open in Discovery at 1,000 EUR, opened 1 March 2025 (Berlin); then
    moved to Proposal at 1,500 (a single upsert), then to 2,000 (a bulk upload), then won,
    dated 20 March 2025. h-2 (T2) is loaded open in Proposal at 400, opened 10 March. Each write
    starts a version when it is written; the first starts when the opportunity opened; whether
    it was open at an instant follows its own dates."""
    client = gateway_client
    data = await set_up(client, tenant, sessionmaker)
    header = "external_id,territory_id,stage,amount,opened_at,closed_at\n"
    h1 = f"h-1,{data.t1},{{stage}},{{amount}},2025-03-01,{{closed}}\n"
    job = await upload(
        client,
        tenant,
        "opportunities",
        header
        + h1.format(stage="Discovery", amount=1000, closed="")
        + f"h-2,{data.t2},Proposal,400,2025-03-10,\n",
    )
    assert job["status"] == "succeeded", job

    async def pipeline(as_of: str, territory: Any = data.region) -> dict[str, Any]:
        response = await client.get(
            "/metrics/pipeline",
            params={"territory_id": str(territory), "as_of": as_of},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def stages(body: dict[str, Any]) -> list[tuple[str, int, float]]:
        return [(row["stage"], row["open_count"], row["open_amount"]) for row in body["stages"]]

    async def now() -> str:
        await asyncio.sleep(0.05)  # versions are apart by more than the clocks' resolution
        stamp = datetime.now(UTC).isoformat()
        await asyncio.sleep(0.05)
        return stamp

    after_load = await now()
    moved = await client.post(
        "/metrics/opportunities",
        json={"external_id": "h-1", "name": "h-1", "territory_id": str(data.t1),
              "stage": "Proposal", "amount": "1500", "opened_at": "2025-02-28T23:00:00Z"},
        headers=tenant.headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    after_proposal = await now()
    job = await upload(
        client,
        tenant,
        "opportunities",
        header + h1.format(stage="Proposal", amount=2000, closed=""),
    )
    assert (job["updated_rows"], job["unchanged_rows"]) == (1, 0)
    after_raise = await now()

    # Stage order is the catalogue's (Discovery, Proposal, …); the region rolls T1 and T2 up.
    assert stages(await pipeline(after_load)) == [("Discovery", 1, 1000), ("Proposal", 1, 400)]
    assert stages(await pipeline(after_proposal)) == [("Proposal", 2, 1900)]
    assert stages(await pipeline(after_raise)) == [("Proposal", 2, 2400)]
    assert stages(await pipeline(after_raise, data.t2)) == [("Proposal", 1, 400)]
    # The past as loaded: h-1 open from 1 March (Berlin), h-2 from 10 March.
    assert (await pipeline("2025-02-28T22:59:59Z"))["open_count"] == 0
    assert stages(await pipeline("2025-03-05T12:00:00")) == [("Discovery", 1, 1000)]
    assert (await pipeline("2025-03-05T12:00:00"))["as_of"] == "2025-03-05T11:00:00Z"

    job = await upload(
        client,
        tenant,
        "opportunities",
        header + h1.format(stage="Closed Won", amount=2000, closed="2025-03-20T12:00:00Z"),
    )
    assert job["updated_rows"] == 1
    # Won, dated 20 March: open before that date, gone from the pipeline after it.
    assert stages(await pipeline("2025-03-19T00:00:00Z")) == [
        ("Discovery", 1, 1000), ("Proposal", 1, 400),
    ]  # fmt: skip
    assert stages(await pipeline("2025-03-21T00:00:00Z")) == [("Proposal", 1, 400)]
    assert stages(await pipeline(after_raise)) == [("Proposal", 1, 400)]

    # The KPI set asked as of an instant takes its pipeline and coverage from the history:
    # T1's quota of 3,000 in FY2026-Q1, 0 won by 5 March, 1,000 open: coverage 1/3.
    quota = "external_id,territory_id,period_start,period_end,amount\n"
    await upload(client, tenant, "quotas", quota + f"q-1,{data.t1},2025-02-01,2025-05-01,3000\n")
    kpis = await client.get(
        "/metrics/kpis",
        params={"territory_id": str(data.t1), "period": "2026-Q1", "as_of": "2025-03-05T12:00"},
        headers=tenant.headers,
    )
    assert kpis.status_code == 200, kpis.text
    body = kpis.json()
    assert body["pipeline_as_of"] == "2025-03-05T11:00:00Z"
    assert (body["open_pipeline"]["value"], body["open_count"]) == (1000, 1)
    assert body["remaining_quota"]["value"] == 3000
    assert body["pipeline_coverage"]["value"] == pytest.approx(1 / 3)
    # As of 25 March h-1's win (2,000) counts against the quota: 1,000 left, nothing open.
    late = await client.get(
        "/metrics/kpis",
        params={"territory_id": str(data.t1), "period": "2026-Q1", "as_of": "2025-03-25"},
        headers=tenant.headers,
    )
    assert late.json()["remaining_quota"]["value"] == 1000
    assert late.json()["open_pipeline"]["value"] == 0
    assert late.json()["revenue"]["value"] == 2000

"""The map page in a real browser: Debian's headless Chromium driven by Playwright, against the
whole platform behind nginx. A small arranged alignment in Kansas with KPIs: the page takes the
key, draws territories from the vector tiles, shows a territory's KPIs on click, colours by a
metric joined from the metrics service, and previews where a lead would go. A screenshot is
saved under .run/artifacts/ (its path is printed)."""

import re
import shutil
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.conftest import Platform
from tests.factories import TenantWithKey

ARTIFACTS = Path(__file__).resolve().parents[2] / ".run" / "artifacts"
# WebGL in a headless browser without a GPU: ANGLE over SwiftShader (software). Chromium 156
# picks it by itself here; named anyway, since newer versions want the opt-in to keep it.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]
WAIT_MS = 30_000


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is missing: deploy/local/bootstrap.sh apt installs it"
    return path


@pytest.fixture
async def kansas(db: asyncpg.Connection, tenant: TenantWithKey) -> dict[str, uuid.UUID]:
    """Active alignment: West (Ada) and East (Bob), side by side; a fallback; West won 125,000
    in 2025 against a quota of 250,000."""
    tenant_id = tenant.tenant_id
    alignment_id = await make_alignment(db, tenant_id=tenant_id)
    ids: dict[str, uuid.UUID] = {"alignment": alignment_id}
    for name, west_edge, rep_name, home in (
        ("West", -98.5, "Ada", (-98.2, 38.5)),
        ("East", -97.5, "Bob", (-97.2, 38.5)),
    ):
        territory_id = await make_territory(
            db,
            tenant_id=tenant_id,
            alignment_id=alignment_id,
            name=name,
            wkt=square(west_edge, 38.0, 1.0),
        )
        rep_id = await make_rep(db, tenant_id=tenant_id, name=rep_name)
        await db.execute(
            "UPDATE rep SET home = ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326)"
            " WHERE id = $1",
            rep_id,
            *home,
        )
        await add_member(db, tenant_id=tenant_id, territory_id=territory_id, rep_id=rep_id)
        ids[name], ids[rep_name] = territory_id, rep_id
    fallback = await make_territory(
        db, tenant_id=tenant_id, alignment_id=alignment_id, name="Queue", is_fallback=True
    )
    await add_member(db, tenant_id=tenant_id, territory_id=fallback, rep_id=ids["Ada"])
    ids["acme"] = await make_account(
        db,
        tenant_id=tenant_id,
        external_id="acme",
        name="Acme",
        owner_rep_id=ids["Ada"],
        location=(-98.1, 38.4),
    )
    return ids


async def arrange_kpis(
    client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    won = await client.post(
        "/metrics/opportunities",
        json={
            "external_id": "opp-1",
            "name": "Acme renewal",
            "account_id": str(kansas["acme"]),
            "rep_id": str(kansas["Ada"]),
            "territory_id": str(kansas["West"]),
            "status": "won",
            "amount": "125000",
            "opened_at": "2025-03-01T00:00:00Z",
            "closed_at": "2025-06-15T00:00:00Z",
        },
        headers=tenant.headers,
    )
    assert won.status_code == 201, won.text
    quota = await client.post(
        "/metrics/quotas",
        json={
            "territory_id": str(kansas["West"]),
            "period_start": "2025-01-01",
            "period_end": "2026-01-01",
            "amount": "250000",
        },
        headers=tenant.headers,
    )
    assert quota.status_code == 201, quota.text


async def click_at(page: Page, longitude: float, latitude: float) -> None:
    """A real mouse click on the map where the point is drawn."""
    x, y = await page.evaluate(
        """([lng, lat]) => {
            const map = window.territoryMap.state.map;
            const point = map.project([lng, lat]);
            const box = map.getCanvas().getBoundingClientRect();
            return [box.left + point.x, box.top + point.y];
        }""",
        [longitude, latitude],
    )
    await page.mouse.click(x, y)


async def test_map_page_and_assets_are_served_without_a_cdn(
    gateway_client: httpx.AsyncClient,
) -> None:
    page = await gateway_client.get("/map")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # Every script and stylesheet comes from the gateway itself.
    assert not re.search(r"""(src|href)=["']https?:""", page.text)
    for asset in re.findall(r"""(?:src|href)=["'](/map/assets/[^"']+)["']""", page.text):
        response = await gateway_client.get(asset)
        assert response.status_code == 200, asset
    script = await gateway_client.get("/map/assets/vendor/maplibre-gl.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "maplibre" in script.text[:2000].lower()
    missing = await gateway_client.get("/map/assets/nothing.js")
    assert missing.status_code == 404


async def test_map_in_a_browser(
    platform: Platform,
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    kansas: dict[str, uuid.UUID],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await arrange_kpis(gateway_client, tenant, kansas)
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="en-US"
            )
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            # Script errors only: the browser also logs the refused calls it made on purpose
            # (the wrong key's 401, the scenario list where planning has none) as errors.
            page.on(
                "console",
                lambda message: (
                    errors.append(message.text)
                    if message.type == "error" and not message.text.startswith("Failed to load")
                    else None
                ),
            )
            await page.goto(f"{platform.url}/map")

            # A wrong key is refused in words; the right one opens the map.
            await page.fill("#key-input", "tk_not-a-key")
            await page.click("#key-form button")
            await expect(page.locator("#key-error")).to_contain_text("not valid", timeout=WAIT_MS)
            await page.fill("#key-input", tenant.token)
            await page.click("#key-form button")
            await expect(page.locator("#status")).to_contain_text("Ready", timeout=WAIT_MS)
            assert (
                await page.evaluate("sessionStorage.getItem('territory-map.api-key')")
                == tenant.token
            )

            # Territories render from the tiles (requested with the key in a header).
            await page.wait_for_function(
                "window.territoryMap.renderedTerritories() >= 2", timeout=WAIT_MS
            )
            names = await page.evaluate(
                """() => [...new Set(window.territoryMap.state.map
                    .queryRenderedFeatures({layers: ['territories-fill']})
                    .map((f) => f.properties.name))].sort()"""
            )
            assert names == ["East", "West"]

            # A click on West: its KPIs for 2025 from the metrics service.
            await page.fill("#period", "2025")
            await page.dispatch_event("#period", "change")
            await click_at(page, -98.0, 38.3)
            await expect(page.locator("td[data-kpi=revenue]")).to_have_text(
                "125,000", timeout=WAIT_MS
            )
            await expect(page.locator("td[data-kpi=attainment]")).to_have_text("50%")
            await expect(page.locator("#info h2")).to_have_text("West")
            await expect(page.locator("#info")).to_contain_text("Owners: Ada")

            # Coloured by revenue: the metric joined to the tile's features by territory id.
            await page.select_option("#colour-by", "revenue")
            await expect(page.locator("#status")).to_contain_text(
                "coloured by revenue", timeout=WAIT_MS
            )
            west_state = await page.evaluate(
                """(id) => window.territoryMap.state.map.getFeatureState(
                    {source: 'tiles', sourceLayer: 'territories', id})""",
                str(kansas["West"]),
            )
            assert west_state["metric"] == 125000
            assert west_state["selected"] is True

            # Where would a lead in East go? A preview: Bob, by geography, nothing written.
            await page.check("input[name=mode][value=lead]")
            await click_at(page, -97.0, 38.6)
            await expect(page.locator("[data-preview=territory]")).to_contain_text(
                "East", timeout=WAIT_MS
            )
            await expect(page.locator("[data-preview=rep]")).to_contain_text("Bob")
            await expect(page.locator("#info ol.explanation")).to_contain_text("geography")

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            screenshot = ARTIFACTS / "map-page.png"
            await page.screenshot(path=str(screenshot), full_page=True)
            with capsys.disabled():  # shown in the run's output, not captured
                sys.stdout.write(f"\nmap page screenshot: {screenshot}\n")
        finally:
            await browser.close()
    assert errors == []
    leads = await gateway_client.get("/assignment/assignments", headers=tenant.headers)
    assert leads.json()["items"] == []  # the preview assigned nothing

"""Alignment diff and the reassignment of accounts on publish, end to end through the gateway
with the public API only: what a sales-ops planner does when moving a border."""

from typing import Any

import httpx

from tests.factories import TenantWithKey


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
        self.client = client
        self.headers = tenant.headers

    async def call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == expected, response.text
        return response.json() if response.content else None


async def _world(api: Api) -> dict[str, str]:
    """Alignment A: West (lon -10..0) and East (0..10) over lat 0..10, and a fallback."""
    ids: dict[str, str] = {}
    for rep in ("west rep", "east rep", "fallback rep", "named owner"):
        ids[rep] = (await api.call("POST", "/assignment/reps", 201, json={"name": rep}))["id"]
    alignment = await api.call("POST", "/assignment/alignments", 201, json={"name": "FY27"})
    ids["A"] = alignment["id"]
    for name, geometry, owner, fallback in (
        ("West", box(-10, 0, 0, 10), "west rep", False),
        ("East", box(0, 0, 10, 10), "east rep", False),
        ("Elsewhere", None, "fallback rep", True),
    ):
        territory = await api.call(
            "POST",
            f"/assignment/alignments/{ids['A']}/territories",
            201,
            json={"name": name, "geometry": geometry, "is_fallback": fallback},
        )
        ids[name] = territory["id"]
        await api.call(
            "POST",
            f"/assignment/territories/{territory['id']}/members",
            201,
            json={"rep_id": ids[owner], "role": "owner"},
        )
    accounts: list[tuple[str, list[int], str | None]] = [
        ("acc-west", [-5, 5], None),
        ("acc-east", [5, 5], None),
        ("acc-far", [50, 50], None),
        ("acc-named", [-5, 5], ids["named owner"]),
    ]
    for external_id, point, account_owner in accounts:
        body: dict[str, Any] = {
            "name": external_id,
            "location": {"type": "Point", "coordinates": point},
        }
        if account_owner:
            body["owner_rep_id"] = account_owner
        await api.call("PUT", f"/assignment/accounts/{external_id}", 201, json=body)
    await api.call("POST", f"/assignment/alignments/{ids['A']}:publish", 200, json={})
    return ids


async def test_publish_places_accounts_and_diff_lists_what_a_border_move_changes(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    api = Api(gateway_client, tenant)
    ids = await _world(api)

    async def territory_of(external_id: str) -> str | None:
        account = await api.call("GET", f"/assignment/accounts/{external_id}", 200)
        territory_id: str | None = account["territory_id"]
        return territory_id

    assert await territory_of("acc-west") == ids["West"]
    assert await territory_of("acc-east") == ids["East"]
    assert await territory_of("acc-far") == ids["Elsewhere"]

    # Draft B: the West/East border moves from lon 0 to lon -6, so acc-west (lon -5) goes East.
    draft = await api.call("POST", f"/assignment/alignments/{ids['A']}:clone", 201, json={})
    territories = await api.call(
        "GET", f"/assignment/alignments/{draft['id']}/territories?include_geometry=false", 200
    )
    by_name = {territory["name"]: territory["id"] for territory in territories["items"]}
    await api.call(
        "PATCH", f"/assignment/territories/{by_name['West']}", 200,
        json={"geometry": box(-10, 0, -6, 10)},
    )  # fmt: skip
    await api.call(
        "PATCH", f"/assignment/territories/{by_name['East']}", 200,
        json={"geometry": box(-6, 0, 10, 10)},
    )  # fmt: skip

    diff = await api.call("GET", f"/assignment/alignments/{ids['A']}/diff/{draft['id']}", 200)
    assert (diff["accounts"], diff["changed"]) == (4, 1)
    assert (diff["territory_changes"], diff["owner_changes"]) == (1, 1)
    [change] = diff["items"]
    assert change["external_id"] == "acc-west"
    assert (change["before"]["territory"], change["after"]["territory"]) == ("West", "East")
    assert (change["before"]["owner"], change["after"]["owner"]) == ("west rep", "east rep")

    same = await api.call("GET", f"/assignment/alignments/{ids['A']}/diff/{ids['A']}", 200)
    assert same["changed"] == 0 and same["items"] == []

    await api.call("POST", f"/assignment/alignments/{draft['id']}:publish", 200, json={})
    assert await territory_of("acc-west") == by_name["East"]
    assert await territory_of("acc-east") == by_name["East"]
    assert await territory_of("acc-far") == by_name["Elsewhere"]


async def test_diff_of_unknown_or_foreign_alignment_is_404(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    mine = await Api(gateway_client, tenant).call(
        "POST", "/assignment/alignments", 201, json={"name": "mine"}
    )
    theirs = await Api(gateway_client, other_tenant).call(
        "POST", "/assignment/alignments", 201, json={"name": "theirs"}
    )
    response = await gateway_client.get(
        f"/assignment/alignments/{mine['id']}/diff/{theirs['id']}", headers=tenant.headers
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "b"

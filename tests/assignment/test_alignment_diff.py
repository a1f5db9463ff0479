"""Alignment diff and the reassignment of accounts on publish, end to end through the gateway
with the public API only: what a sales-ops planner does when moving a border."""

import random
from typing import Any

import httpx
import pytest

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
    """Alignment A: West (lon -10..0) and East (0..10) over lat 0..10, Key accounts (no
    polygon, no rules: reached only as the named owner's territory), and a fallback."""
    ids: dict[str, str] = {}
    for rep in ("west rep", "east rep", "fallback rep", "named owner"):
        ids[rep] = (await api.call("POST", "/assignment/reps", 201, json={"name": rep}))["id"]
    alignment = await api.call("POST", "/assignment/alignments", 201, json={"name": "FY27"})
    ids["A"] = alignment["id"]
    for name, geometry, owner, fallback in (
        ("West", box(-10, 0, 0, 10), "west rep", False),
        ("East", box(0, 0, 10, 10), "east rep", False),
        ("Elsewhere", None, "fallback rep", True),
        ("Key accounts", None, "named owner", False),
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
    # acc-named lies at lon -5 too: it moves like acc-west although its owner's territory stays.
    assert (diff["accounts"], diff["changed"]) == (4, 2)
    assert (diff["territory_changes"], diff["owner_territory_changes"]) == (2, 0)
    named, west = diff["items"]
    assert west["external_id"] == "acc-west"
    assert (west["before"]["territory"], west["after"]["territory"]) == ("West", "East")
    # No owner: nothing about owners to show (a territory's rep is not the account's owner).
    assert (west["owner_rep_id"], west["owner"], west["owner_territory_changed"]) == (
        None, None, False,
    )  # fmt: skip
    assert named["external_id"] == "acc-named"
    assert (named["before"]["territory"], named["after"]["territory"]) == ("West", "East")
    assert named["before"]["owner_territory"] == named["after"]["owner_territory"] == "Key accounts"
    assert named["owner"] == "named owner" and not named["owner_territory_changed"]

    same = await api.call("GET", f"/assignment/alignments/{ids['A']}/diff/{ids['A']}", 200)
    assert same["changed"] == 0 and same["items"] == []

    await api.call("POST", f"/assignment/alignments/{draft['id']}:publish", 200, json={})
    assert await territory_of("acc-west") == by_name["East"]
    assert await territory_of("acc-east") == by_name["East"]
    assert await territory_of("acc-far") == by_name["Elsewhere"]
    named_account = await api.call("GET", "/assignment/accounts/acc-named", 200)
    assert named_account["territory_id"] == by_name["East"]
    assert named_account["owner_territory_id"] == by_name["Key accounts"]


async def test_an_owned_account_shows_where_it_falls_and_its_owners_territory(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    api = Api(gateway_client, tenant)
    ids = await _world(api)
    account = await api.call("GET", "/assignment/accounts/acc-named", 200)
    assert account["territory_id"] == ids["West"]  # where it lies
    assert account["owner_territory_id"] == ids["Key accounts"]  # where its leads go
    # Its leads go to its owner, in the owner's territory.
    lead = await api.call(
        "POST", "/assignment/leads", 201, json={"account_external_id": "acc-named"}
    )
    assert (lead["matched_rule"], lead["territory"]["id"]) == ("named_account", ids["Key accounts"])
    unowned = await api.call("GET", "/assignment/accounts/acc-west", 200)
    assert (unowned["territory_id"], unowned["owner_territory_id"]) == (ids["West"], None)


# ---- property: the diff lists exactly what the publish changes --------------------------------

Snapshot = dict[str, tuple[str | None, str | None]]


async def _placements(api: Api) -> Snapshot:
    """external_id → (territory name, owner's territory name), as the accounts API shows."""
    names: dict[str, str] = {}
    alignments = await api.call("GET", "/assignment/alignments?limit=1000", 200)
    for alignment in alignments["items"]:
        page = await api.call(
            "GET",
            f"/assignment/alignments/{alignment['id']}/territories?include_geometry=false"
            "&limit=1000",
            200,
        )
        names.update({territory["id"]: territory["name"] for territory in page["items"]})
    accounts = await api.call("GET", "/assignment/accounts?limit=1000", 200)
    return {
        account["external_id"]: (
            names.get(account["territory_id"]),
            names.get(account["owner_territory_id"]),
        )
        for account in accounts["items"]
    }


def _random_box(rng: random.Random) -> dict[str, Any]:
    lon = sorted(rng.sample(range(-10, 11), 2))
    lat = sorted(rng.sample(range(0, 11), 2))
    return box(lon[0], lat[0], lon[1], lat[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_publish_changes_exactly_the_rows_of_the_diff_for_generated_realignments(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, seed: int
) -> None:
    """Property over seeded random realignments (borders, owners, rules, reps deactivated):
    the set of accounts a publish changes (territory or owner's territory, by name, as the
    accounts API shows them) equals the rows of the diff from the active alignment."""
    api = Api(gateway_client, tenant)
    rng = random.Random(seed)
    reps = [
        (await api.call("POST", "/assignment/reps", 201, json={"name": f"rep {i}"}))["id"]
        for i in range(6)
    ]
    fallback_rep = reps[0]  # stays active: publishing needs the fallback's owner
    active = await api.call("POST", "/assignment/alignments", 201, json={"name": "gen 0"})
    for index in range(5):
        territory = await api.call(
            "POST",
            f"/assignment/alignments/{active['id']}/territories",
            201,
            json={"name": f"T{index}", "geometry": _random_box(rng)},
        )
        await api.call(
            "POST",
            f"/assignment/territories/{territory['id']}/members",
            201,
            json={"rep_id": rng.choice(reps)},
        )
    fallback = await api.call(
        "POST",
        f"/assignment/alignments/{active['id']}/territories",
        201,
        json={"name": "Rest", "is_fallback": True},
    )
    await api.call(
        "POST", f"/assignment/territories/{fallback['id']}/members", 201,
        json={"rep_id": fallback_rep},
    )  # fmt: skip
    await api.call("POST", f"/assignment/alignments/{active['id']}:publish", 200, json={})
    for number in range(24):
        body: dict[str, Any] = {"name": f"account {number}", "industry": rng.choice("ab")}
        if rng.random() < 0.9:
            point = [rng.uniform(-11, 11), rng.uniform(-1, 11)]
            body["location"] = {"type": "Point", "coordinates": point}
        if rng.random() < 0.4:
            body["owner_rep_id"] = rng.choice(reps)
        await api.call("PUT", f"/assignment/accounts/acc-{number:02}", 201, json=body)

    for generation in range(1, 3):
        draft = await api.call(
            "POST", f"/assignment/alignments/{active['id']}:clone", 201,
            json={"name": f"gen {generation}"},
        )  # fmt: skip
        page = await api.call(
            "GET", f"/assignment/alignments/{draft['id']}/territories?include_geometry=false", 200
        )
        for territory in page["items"]:
            if territory["is_fallback"]:
                continue
            change: dict[str, Any] = {}
            if rng.random() < 0.6:
                change["geometry"] = _random_box(rng)
            if rng.random() < 0.3:
                change["criteria"] = {"field": "industry", "op": "eq", "value": rng.choice("ab")}
            elif rng.random() < 0.3:
                change["criteria"] = None
            if change:
                await api.call(
                    "PATCH", f"/assignment/territories/{territory['id']}", 200, json=change
                )
            owners = {member["rep_id"] for member in territory["members"]}
            newcomer = rng.choice(reps[1:])
            if rng.random() < 0.4 and newcomer not in owners:
                await api.call(
                    "POST", f"/assignment/territories/{territory['id']}/members", 201,
                    json={"rep_id": newcomer},
                )  # fmt: skip
            elif rng.random() < 0.3 and owners:
                await api.call(
                    "DELETE",
                    f"/assignment/territories/{territory['id']}/members/{sorted(owners)[0]}",
                    204,
                )
        # A rep changes status outside any publish: accounts they own are stale until then.
        await api.call(
            "PATCH", f"/assignment/reps/{rng.choice(reps[1:])}", 200,
            json={"active": rng.random() < 0.5},
        )  # fmt: skip

        rows: dict[str, tuple[tuple[str | None, str | None], tuple[str | None, str | None]]] = {}
        offset: int | None = 0
        while offset is not None:
            diff = await api.call(
                "GET",
                f"/assignment/alignments/{active['id']}/diff/{draft['id']}?limit=7&offset={offset}",
                200,
            )
            for item in diff["items"]:
                rows[item["external_id"]] = (
                    (item["before"]["territory"], item["before"]["owner_territory"]),
                    (item["after"]["territory"], item["after"]["owner_territory"]),
                )
            offset = diff["next_offset"]
        assert diff["changed"] == len(rows)

        before = await _placements(api)
        await api.call("POST", f"/assignment/alignments/{draft['id']}:publish", 200, json={})
        after = await _placements(api)
        changed = {
            external_id: (before[external_id], after[external_id])
            for external_id in after
            if before[external_id] != after[external_id]
        }
        assert changed == rows, f"generation {generation}"
        active = draft


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

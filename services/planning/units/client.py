"""The planning service's call to the assignment service for measures: every account's
location (and chosen numeric fields), paged by id through ``GET /assignment/accounts:locations``."""

from dataclasses import dataclass, field

from services.planning.scenarios.client import raise_for
from shared.http_client import ServiceClient

PAGE_SIZE = 20_000


@dataclass
class AccountLocations:
    longitudes: list[float] = field(default_factory=list)
    latitudes: list[float] = field(default_factory=list)
    # Row after row: each account's value of every field asked for (None where it has none).
    amounts: list[float | None] = field(default_factory=list)


async def account_locations(
    client: ServiceClient, *, api_key: str, fields: list[str]
) -> AccountLocations:
    located = AccountLocations()
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        if fields:
            params["fields"] = ",".join(fields)
        if after is not None:
            params["after"] = after
        response = await client.request(
            "GET",
            "/assignment/accounts:locations",
            api_key=api_key,
            params=params,
            timeout_seconds=60.0,
        )
        raise_for(response, "list the accounts' locations")
        page = response.json()
        located.longitudes.extend(page["longitudes"])
        located.latitudes.extend(page["latitudes"])
        for row in page["values"]:
            located.amounts.extend(row)
        after = page["next_after"]
        if after is None:
            return located

"""The postal-code table: normalisation, the US and CSV loaders, the CLI and the lookup endpoint."""

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.assignment.app import create_app
from services.assignment.postal_codes.loader import (
    PostalCodeFileError,
    load_csv,
    load_us,
    us_records,
)
from services.assignment.postal_codes.normalise import (
    InvalidCountry,
    InvalidPostalCode,
    normalise_postal_code,
)
from shared.settings import Settings
from tests.conftest import REPO_ROOT, AppClientFactory
from tests.factories import TenantWithKey


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("country", "code", "expected"),
    [
        ("US", "10001", "10001"),
        ("us", " 10001-1234 ", "10001"),  # ZIP+4 is cut to the ZIP
        ("US", "100011234", "10001"),
        ("US", "2134", "02134"),  # a spreadsheet dropped the leading zero
        ("US", "501", "00501"),
        ("GB", "sw1a 1aa", "SW1A1AA"),
        ("PL", "00-950", "00-950"),
        ("nl", "1234 ab", "1234AB"),
    ],
)
def test_normalise_postal_code(country: str, code: str, expected: str) -> None:
    assert normalise_postal_code(country, code) == expected


@pytest.mark.parametrize(
    ("country", "code", "error"),
    [
        ("US", "ABCDE", InvalidPostalCode),
        ("US", "123456", InvalidPostalCode),
        ("US", "10001-12", InvalidPostalCode),
        ("DE", "", InvalidPostalCode),
        ("DE", "10-", InvalidPostalCode),
        ("USA", "10001", InvalidCountry),
        ("1A", "10001", InvalidCountry),
    ],
)
def test_normalise_postal_code_rejects(country: str, code: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        normalise_postal_code(country, code)


def test_us_records_skip_zip_codes_without_coordinates() -> None:
    records = {record[0]: record for record in us_records()}
    # The package knows ~42,800 ZIP codes; ~870 (military APO/FPO mostly) have 0,0 for a position.
    assert 40_000 < len(records) < 43_000
    assert records["10001"] == ("10001", "New York", "NY", -73.9967, 40.7484)
    assert records["02134"][1:3] == ("Allston", "MA")
    assert "09000" not in records  # APO AE: lat/long "0"/"0" in the package


async def test_load_us_is_idempotent_and_restores_edited_rows(
    postal_codes_loaded: int, db: asyncpg.Connection
) -> None:
    assert postal_codes_loaded == len(us_records())
    await db.execute(
        "UPDATE postal_code SET place_name = 'Gotham', centroid = ST_SetSRID(ST_MakePoint(0, 0), "
        "4326) WHERE country = 'US' AND code = '10001'"
    )
    assert await load_us(db) == postal_codes_loaded
    count = await db.fetchval("SELECT count(*) FROM postal_code WHERE country = 'US'")
    assert count == postal_codes_loaded
    row = await db.fetchrow(
        "SELECT place_name, admin_area, ST_X(centroid) AS x, ST_Y(centroid) AS y "
        "FROM postal_code WHERE country = 'US' AND code = '10001'"
    )
    assert dict(row) == {"place_name": "New York", "admin_area": "NY", "x": -73.9967, "y": 40.7484}


GOOD_CSV = """code,latitude,longitude,place_name,admin_area
ab 12,5.5,-4.25,Alpha,North
CD-34,-10,20,,
"""


async def _codes(db: asyncpg.Connection, country: str) -> dict[str, tuple[object, ...]]:
    rows = await db.fetch(
        "SELECT code, place_name, admin_area, ST_X(centroid) AS x, ST_Y(centroid) AS y "
        "FROM postal_code WHERE country = $1",
        country,
    )
    return {row["code"]: tuple(row.values())[1:] for row in rows}


async def test_load_csv_normalises_codes_and_is_idempotent(db: asyncpg.Connection) -> None:
    assert await load_csv(db, io.StringIO(GOOD_CSV), country="xa") == 2
    expected = {"AB12": ("Alpha", "North", -4.25, 5.5), "CD-34": (None, None, 20.0, -10.0)}
    assert await _codes(db, "XA") == expected
    changed = GOOD_CSV.replace("Alpha", "Alpha City")
    assert await load_csv(db, io.StringIO(changed), country="XA") == 2
    assert (await _codes(db, "XA"))["AB12"] == ("Alpha City", "North", -4.25, 5.5)


async def test_load_csv_reports_every_bad_row_and_loads_nothing(db: asyncpg.Connection) -> None:
    text = (
        "code,latitude,longitude\n"
        "GOOD1,1,1\n"
        "BAD LAT,95,1\n"  # row 2: latitude out of range
        ",1,1\n"  # row 3: no code
        "good1,2,2\n"  # row 4: the same code as row 1 once normalised
        "X9,1\n"  # row 5: a field missing
        "BADLON,1,east\n"  # row 6: not a number
    )
    with pytest.raises(PostalCodeFileError) as raised:
        await load_csv(db, io.StringIO(text), country="XB")
    problems = [(problem.row, problem.field) for problem in raised.value.problems]
    assert problems == [(2, "latitude"), (3, "code"), (4, "code"), (5, "row"), (6, "longitude")]
    assert "row 1" in raised.value.problems[2].message
    assert await _codes(db, "XB") == {}

    assert await load_csv(db, io.StringIO(text), country="XB", skip_invalid=True) == 1
    assert await _codes(db, "XB") == {"GOOD1": (None, None, 1.0, 1.0)}


async def test_load_csv_needs_the_coordinate_columns(db: asyncpg.Connection) -> None:
    with pytest.raises(PostalCodeFileError, match="missing longitude"):
        await load_csv(db, io.StringIO("code,latitude\nA1,1\n"), country="XB")


def test_cli_loads_a_csv_and_prints_the_count(database_url: str, tmp_path: Path) -> None:
    good = tmp_path / "xc.csv"
    good.write_text("code,latitude,longitude,place_name\nx1,1.5,2.5,One\nx2,3,4,Two\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("code,latitude,longitude\nx1,100,2\n")
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "services.assignment.postal_codes", "load-csv"]

    done = subprocess.run(
        [*command, str(good), "--country", "xc"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"loaded 2 XC postal codes from {good}\n"

    failed = subprocess.run(
        [*command, str(bad), "--country", "XC"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert "row 1: latitude: must be a number in [-90, 90]" in failed.stderr


async def test_lookup_normalises_and_answers_geojson(
    client: httpx.AsyncClient, tenant: TenantWithKey, postal_codes_loaded: int
) -> None:
    response = await client.get("/assignment/postal-codes/us/10001-1234", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "country": "US",
        "code": "10001",
        "place_name": "New York",
        "admin_area": "NY",
        "centroid": {"type": "Point", "coordinates": [-73.9967, 40.7484]},
    }


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/assignment/postal-codes/US/99999", 404, "code"),
        ("/assignment/postal-codes/US/ABCDE", 422, "code"),
        ("/assignment/postal-codes/USA/10001", 422, "country"),
    ],
)
async def test_lookup_problems(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    postal_codes_loaded: int,
    path: str,
    status: int,
    field: str,
) -> None:
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


async def test_lookup_needs_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/assignment/postal-codes/US/10001")
    assert response.status_code == 401

"""Loads the postal-code centroids the project ships: every US ZIP code from the `zipcodes`
package, other countries from a CSV. Set-based and idempotent: COPY into a temp table, then one
``INSERT ... ON CONFLICT (country, code) DO UPDATE`` that only rewrites rows that changed."""

import csv
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import zipcodes

from services.assignment.postal_codes.normalise import normalise_country, normalise_postal_code

logger = logging.getLogger(__name__)

_STAGING_COLUMNS = ("code", "place_name", "admin_area", "longitude", "latitude")
_PLACE_NAME_MAX = 200
_ADMIN_AREA_MAX = 100
REQUIRED_CSV_COLUMNS = ("code", "latitude", "longitude")
OPTIONAL_CSV_COLUMNS = ("place_name", "admin_area")

_CREATE_STAGING = """
    CREATE TEMP TABLE postal_code_staging (
        code text NOT NULL,
        place_name text,
        admin_area text,
        longitude double precision NOT NULL,
        latitude double precision NOT NULL
    ) ON COMMIT DROP
"""
_UPSERT = """
    INSERT INTO postal_code AS current (country, code, place_name, admin_area, centroid)
    SELECT $1, code, place_name, admin_area, ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)
    FROM postal_code_staging
    ON CONFLICT (country, code) DO UPDATE
    SET place_name = EXCLUDED.place_name,
        admin_area = EXCLUDED.admin_area,
        centroid = EXCLUDED.centroid
    WHERE (current.place_name, current.admin_area)
              IS DISTINCT FROM (EXCLUDED.place_name, EXCLUDED.admin_area)
       OR NOT ST_Equals(current.centroid, EXCLUDED.centroid)
"""

Record = tuple[str, str | None, str | None, float, float]


@dataclass(frozen=True)
class RowProblem:
    """A rejected CSV row: its number (1-based, header excluded), the column and why."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


class PostalCodeFileError(ValueError):
    """The CSV cannot be loaded as it is; ``problems`` lists every bad row."""

    def __init__(self, message: str, problems: Sequence[RowProblem] = ()) -> None:
        self.summary = message
        self.problems = list(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(message + (f": {shown}{more}" if shown else ""))


async def _upsert(connection: Any, *, country: str, records: Sequence[Record]) -> int:
    """``connection``: asyncpg; inside a caller's transaction this one is a savepoint."""
    async with connection.transaction():
        await connection.execute(_CREATE_STAGING)
        await connection.copy_records_to_table(
            "postal_code_staging", records=records, columns=_STAGING_COLUMNS
        )
        await connection.execute("ANALYZE postal_code_staging")
        await connection.execute(_UPSERT, country)
        # Dropped now, not at the caller's commit, so a second load in one transaction works.
        await connection.execute("DROP TABLE postal_code_staging")
    return len(records)


def _has_coordinates(latitude: str, longitude: str) -> bool:
    # The package writes "0"/"0" for ZIP codes it has no position for (mostly military APO/FPO).
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        return False
    return (lat, lon) != (0.0, 0.0) and -90 <= lat <= 90 and -180 <= lon <= 180


def us_records() -> list[Record]:
    """Every ZIP code of the `zipcodes` package that has coordinates. APO/FPO codes placed
    abroad stay US codes: the country is the postal system's, not where the box is."""
    return [
        (
            row["zip_code"],
            row["city"][:_PLACE_NAME_MAX] or None,
            row["state"][:_ADMIN_AREA_MAX] or None,
            float(row["long"]),
            float(row["lat"]),
        )
        for row in zipcodes.list_all()
        if _has_coordinates(row["lat"], row["long"])
    ]


async def load_us(connection: Any) -> int:
    """Load (or refresh) every US ZIP code with coordinates; returns how many the table holds
    from this source."""
    return await _upsert(connection, country="US", records=us_records())


def _coordinate(raw: str, *, low: float, high: float) -> float:
    value = float(raw)
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"must be a number in [{low:g}, {high:g}]; got {raw!r}")
    return value


def read_csv(rows: Iterable[list[str]], *, country: str) -> tuple[list[Record], list[RowProblem]]:
    """Validate the parsed CSV (header first): the good records, and a problem per bad row."""
    iterator = iter(rows)
    header = [name.strip().lower() for name in next(iterator, [])]
    missing = [name for name in REQUIRED_CSV_COLUMNS if name not in header]
    if missing:
        raise PostalCodeFileError(
            f"the header must name the columns {', '.join(REQUIRED_CSV_COLUMNS)} (optional: "
            f"{', '.join(OPTIONAL_CSV_COLUMNS)}); missing {', '.join(missing)}"
        )
    position = {
        name: header.index(name)
        for name in (*REQUIRED_CSV_COLUMNS, *OPTIONAL_CSV_COLUMNS)
        if name in header
    }
    records: list[Record] = []
    problems: list[RowProblem] = []
    first_row_of: dict[str, int] = {}
    for row_number, row in enumerate(iterator, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                RowProblem(row_number, "row", f"has {len(row)} fields, the header {len(header)}")
            )
            continue
        field = "code"
        try:
            code = normalise_postal_code(country, row[position["code"]])
            field = "latitude"
            latitude = _coordinate(row[position["latitude"]], low=-90, high=90)
            field = "longitude"
            longitude = _coordinate(row[position["longitude"]], low=-180, high=180)
            field = "place_name"
            place_name = row[position["place_name"]].strip() if "place_name" in position else ""
            if len(place_name) > _PLACE_NAME_MAX:
                raise ValueError(f"is longer than {_PLACE_NAME_MAX} characters")
            field = "admin_area"
            admin_area = row[position["admin_area"]].strip() if "admin_area" in position else ""
            if len(admin_area) > _ADMIN_AREA_MAX:
                raise ValueError(f"is longer than {_ADMIN_AREA_MAX} characters")
        except ValueError as error:
            problems.append(RowProblem(row_number, field, str(error)))
            continue
        if code in first_row_of:
            problems.append(
                RowProblem(row_number, "code", f"{code} is already on row {first_row_of[code]}")
            )
            continue
        first_row_of[code] = row_number
        records.append((code, place_name or None, admin_area or None, longitude, latitude))
    return records, problems


async def load_csv(
    connection: Any,
    path_or_file: str | os.PathLike[str] | TextIO,
    *,
    country: str,
    skip_invalid: bool = False,
) -> int:
    """Load one country's codes from a CSV with the columns code, latitude, longitude and
    optionally place_name, admin_area. Any bad row rejects the whole file (nothing is written)
    unless ``skip_invalid``, which loads the good rows and logs each bad one as a warning.
    Returns how many codes were loaded."""
    country = normalise_country(country)
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, newline="", encoding="utf-8-sig") as file:
            records, problems = read_csv(csv.reader(file), country=country)
    else:
        records, problems = read_csv(csv.reader(path_or_file), country=country)
    if problems and not skip_invalid:
        raise PostalCodeFileError(
            f"{len(problems)} bad row(s), nothing loaded (fix them or skip them)", problems
        )
    for problem in problems:
        logger.warning("skipped %s", problem)
    return await _upsert(connection, country=country, records=records)

"""Bulk uploads before the database: the size guard, CSV records cut from a stream, and row
validation into staging records plus one error per bad field."""

import codecs
import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.assignment.accounts.errors import InvalidUpload, PayloadTooLarge
from services.assignment.accounts.schemas import (
    AccountBulkItem,
    AccountCsvRow,
    RowError,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

ATTRIBUTE_PREFIX = "attr."
CSV_COLUMNS = (
    "external_id",
    "name",
    "domain",
    "website",
    "latitude",
    "longitude",
    "postal_code",
    "country",
    "industry",
    "employee_count",
    "annual_revenue",
    "potential",
    "owner_rep_id",
    "owner_external_id",
)
REQUIRED_CSV_COLUMNS = ("external_id", "name")
# The account columns a CSV column writes (the others keep their values on existing accounts).
_WRITES = {
    "name": ("name",),
    "domain": ("domain",),
    "website": ("domain",),
    "latitude": ("location",),
    "longitude": ("location",),
    "postal_code": ("postal_code", "location"),
    "country": ("country",),
    "industry": ("industry",),
    "employee_count": ("employee_count",),
    "annual_revenue": ("annual_revenue",),
    "potential": ("potential",),
    "owner_rep_id": ("owner_rep_id",),
    "owner_external_id": ("owner_rep_id",),
}


async def body_chunks(request: Request, *, limit_bytes: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, cut off with a 413 problem past ``limit_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise PayloadTooLarge(limit_bytes)
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit_bytes:
            raise PayloadTooLarge(limit_bytes)
        yield chunk


async def read_body(request: Request, *, limit_bytes: int) -> bytes:
    return b"".join([chunk async for chunk in body_chunks(request, limit_bytes=limit_bytes)])


# ---- validation -------------------------------------------------------------------------------


def _field_of(location: Sequence[Any], context: dict[str, Any] | None, *, csv_names: bool) -> str:
    if context and isinstance(context.get("field"), str):
        return str(context["field"])
    parts = [part for part in location if part != "[key]"]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if csv_names and path.startswith("attributes."):
        path = ATTRIBUTE_PREFIX + path[len("attributes.") :]
    return path or "row"


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["loc"] and error["loc"][-1] == "[key]":
        return (
            f"invalid attribute key {error['input']!r}: letters, digits and underscores, "
            "not starting with a digit, up to 63 characters"
        )
    value = error.get("input")
    if error["type"] != "missing" and isinstance(value, str | int | float) and len(str(value)) < 80:
        message += f" (got {value!r})"
    return message


@dataclass
class Validated(Generic[ModelT]):
    numbers: list[int] = field(default_factory=list)
    rows: list[ModelT] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def validate_rows(
    adapter: TypeAdapter[list[ModelT]],
    raw_rows: Sequence[Any],
    numbers: Sequence[int],
    *,
    csv_names: bool = False,
) -> Validated[ModelT]:
    """Validate a batch in one pydantic call; a bad row costs a second call over the good ones."""
    try:
        return Validated(list(numbers), adapter.validate_python(raw_rows))
    except ValidationError as failure:
        problems = failure.errors()
    result: Validated[ModelT] = Validated()
    bad_indexes: set[int] = set()
    reported: set[tuple[int, str]] = set()
    for problem in problems:
        index = problem["loc"][0]
        assert isinstance(index, int)
        bad_indexes.add(index)
        field_name = _field_of(problem["loc"][1:], problem.get("ctx"), csv_names=csv_names)
        if (index, field_name) in reported:
            continue
        reported.add((index, field_name))
        raw = raw_rows[index]
        external_id = raw.get("external_id") if isinstance(raw, dict) else None
        result.errors.append(
            RowError(
                row=numbers[index],
                external_id=external_id.strip() if isinstance(external_id, str) else None,
                field=field_name,
                message=_message(problem),
            )
        )
    good = [index for index in range(len(raw_rows)) if index not in bad_indexes]
    result.numbers = [numbers[index] for index in good]
    result.rows = adapter.validate_python([raw_rows[index] for index in good])
    return result


JSON_ROWS: TypeAdapter[list[AccountBulkItem]] = TypeAdapter(list[AccountBulkItem])
CSV_ROWS: TypeAdapter[list[AccountCsvRow]] = TypeAdapter(list[AccountCsvRow])


def _attributes_json(attributes: dict[str, Any]) -> str:
    return json.dumps(attributes, separators=(",", ":"), ensure_ascii=False)


def json_records(validated: Validated[AccountBulkItem]) -> list[tuple[Any, ...]]:
    """Staging records (repository.STAGING_COLUMNS order) of validated JSON rows."""
    return [
        (
            number,
            row.external_id,
            row.name,
            row.domain,
            row.location.coordinates[0] if row.location else None,
            row.location.coordinates[1] if row.location else None,
            row.postal_code,
            row.country,
            row.industry,
            row.employee_count,
            row.annual_revenue,
            row.potential,
            _attributes_json(row.attributes),
            row.owner_rep_id,
            row.owner_external_id,
        )
        for number, row in zip(validated.numbers, validated.rows, strict=True)
    ]


def csv_records(validated: Validated[AccountCsvRow]) -> list[tuple[Any, ...]]:
    return [
        (
            number,
            row.external_id,
            row.name,
            row.domain,
            row.longitude,
            row.latitude,
            row.postal_code,
            row.country,
            row.industry,
            row.employee_count,
            row.annual_revenue,
            row.potential,
            _attributes_json(row.attributes),
            row.owner_rep_id,
            row.owner_external_id,
        )
        for number, row in zip(validated.numbers, validated.rows, strict=True)
    ]


def parse_json_upload(body: bytes) -> tuple[list[Any], bool]:
    """The ``accounts`` rows (unvalidated) and the ``atomic`` flag of a JSON bulk body."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidUpload(f"the body is not JSON: {error}", field="body") from error
    if not isinstance(document, dict):
        raise InvalidUpload('the body is an object: {"accounts": [...], "atomic": false}')
    unknown = sorted(set(document) - {"accounts", "atomic"})
    if unknown:
        raise InvalidUpload(
            f"unknown member {unknown[0]!r}: the body has accounts and atomic", field=unknown[0]
        )
    rows = document.get("accounts")
    if not isinstance(rows, list):
        raise InvalidUpload("accounts must be a list of account objects", field="accounts")
    atomic = document.get("atomic", False)
    if not isinstance(atomic, bool):
        raise InvalidUpload("atomic must be true or false", field="atomic")
    return rows, atomic


# ---- CSV --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    """What the header says: where each column is and which account columns the file writes."""

    delimiter: str
    width: int
    columns: tuple[tuple[int, str], ...]
    attribute_columns: tuple[tuple[int, str], ...]
    writes: frozenset[str]

    @classmethod
    def from_header(cls, header: Sequence[str], *, delimiter: str) -> "CsvLayout":
        columns: list[tuple[int, str]] = []
        attribute_columns: list[tuple[int, str]] = []
        seen: set[str] = set()
        for index, raw_name in enumerate(header):
            name = raw_name.strip()
            if name.lower().startswith(ATTRIBUTE_PREFIX):
                key = name[len(ATTRIBUTE_PREFIX) :]
                if not key.isidentifier() or not key.isascii() or len(key) > 63:
                    raise InvalidUpload(
                        f"column {name!r}: an attribute key has letters, digits and underscores, "
                        "not starting with a digit, up to 63 characters",
                        field=name,
                    )
                attribute_columns.append((index, key))
                name = ATTRIBUTE_PREFIX + key
            else:
                name = name.lower()
                if name not in CSV_COLUMNS:
                    raise InvalidUpload(
                        f"unknown column {raw_name!r} in the header: the columns are "
                        f"{', '.join(CSV_COLUMNS)} and attr.<key> for custom attributes",
                        field=raw_name or f"column {index + 1}",
                    )
                columns.append((index, name))
            if name in seen:
                raise InvalidUpload(f"column {name!r} appears twice in the header", field=name)
            seen.add(name)
        for required in REQUIRED_CSV_COLUMNS:
            if required not in seen:
                raise InvalidUpload(
                    f"the header has no {required} column; the first row names the columns "
                    f"({', '.join(REQUIRED_CSV_COLUMNS)} are required)",
                    field=required,
                )
        if ("latitude" in seen) != ("longitude" in seen):
            missing = "longitude" if "latitude" in seen else "latitude"
            raise InvalidUpload(
                f"the header has {'latitude' if missing == 'longitude' else 'longitude'} "
                f"without {missing}",
                field=missing,
            )
        writes = {column for _, name in columns for column in _WRITES.get(name, ())}
        if attribute_columns:
            writes.add("attributes")
        return cls(
            delimiter=delimiter,
            width=len(header),
            columns=tuple(columns),
            attribute_columns=tuple(attribute_columns),
            writes=frozenset(writes),
        )

    def external_id(self, cells: Sequence[str]) -> str | None:
        index = next(index for index, name in self.columns if name == "external_id")
        return (cells[index].strip() or None) if index < len(cells) else None

    def row_dict(self, cells: Sequence[str]) -> dict[str, Any]:
        """A row's non-empty cells by column name; attr.<key> cells gathered in attributes."""
        row: dict[str, Any] = {
            name: cell for index, name in self.columns if (cell := cells[index].strip())
        }
        if self.attribute_columns:
            row["attributes"] = {
                key: cells[index].strip()
                for index, key in self.attribute_columns
                if cells[index].strip()
            }
        return row


def _delimiter(header_line: str) -> str:
    """Comma, unless the header has none and uses semicolons or tabs (spreadsheet exports)."""
    if "," in header_line:
        return ","
    return max((";", "\t"), key=header_line.count) if any(d in header_line for d in ";\t") else ","


class CsvStream:
    """Turns body chunks into numbered rows. A record never straddles two batches: text is cut
    only at a newline preceded by an even number of quotes (not inside a quoted field)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._pending = ""
        self._bytes_seen = 0
        self.layout: CsvLayout | None = None
        self.row_number = 0  # rows after the header, blank ones included
        self.received = 0  # non-blank rows
        self.errors: list[RowError] = []

    def feed(self, chunk: bytes, *, final: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
        """Decode ``chunk`` now; the rows it completes are parsed as the caller iterates (it
        must exhaust the iterator before feeding again)."""
        try:
            text_chunk = self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            raise InvalidUpload(
                f"the file is not UTF-8 (byte {self._bytes_seen + error.start}); save it as "
                "CSV UTF-8",
                field="body",
            ) from error
        self._bytes_seen += len(chunk)
        buffer = self._pending + text_chunk
        if final:
            block, self._pending = buffer, ""
        else:
            cut = buffer.rfind("\n")
            quotes_before = buffer.count('"', 0, cut) if cut != -1 else 0
            while cut != -1 and quotes_before % 2:
                previous = buffer.rfind("\n", 0, cut)
                quotes_before -= buffer.count('"', previous + 1, cut)
                cut = previous
            block, self._pending = buffer[: cut + 1], buffer[cut + 1 :]
        return self._rows(block) if block else iter(())

    def _rows(self, block: str) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.layout is None:
            delimiter = _delimiter(block.split("\n", 1)[0])
        else:
            delimiter = self.layout.delimiter
        reader: Iterable[list[str]] = csv.reader(io.StringIO(block), delimiter=delimiter)
        try:
            for cells in reader:
                if self.layout is None:
                    self.layout = CsvLayout.from_header(cells, delimiter=delimiter)
                    continue
                self.row_number += 1
                if not any(cells):
                    continue
                self.received += 1
                if len(cells) != self.layout.width:
                    self.errors.append(
                        RowError(
                            row=self.row_number,
                            external_id=self.layout.external_id(cells),
                            field="row",
                            message=f"has {len(cells)} fields, the header {self.layout.width}",
                        )
                    )
                    continue
                yield self.row_number, self.layout.row_dict(cells)
        except csv.Error as error:
            raise InvalidUpload(
                f"row {self.row_number + 1} is not valid CSV: {error}", field="body"
            ) from error

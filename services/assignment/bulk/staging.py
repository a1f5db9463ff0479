"""An upload into the database: the body streamed by COPY into a working table of text (``raw``),
then checked and normalised in one set-based statement into the typed working table ``lead``
(both UNLOGGED tables of the job's workspace: see ``work.py``).

Bad rows are not raised: each gets its first problem (field and an actionable message) in
``lead.problem`` ([field, message]) and is later copied to ``assignment_job_error``.
The normalisation is the single-lead path's (``LeadIn`` validators, ``lead_domain``,
``normalise_postal_code``), written in SQL; ``tests/assignment/test_bulk.py`` checks they agree.
"""

import csv
import dataclasses
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import asyncpg

from services.assignment.bulk.errors import InvalidUpload, TooManyBytes
from services.assignment.bulk.ids import ordered_uuid_sql
from services.assignment.bulk.work import SCHEMA, Workspace
from services.assignment.leads.service import FREEMAIL_DOMAINS

Format = Literal["csv", "ndjson"]

TEXT_FIELDS = ("external_id", "email", "domain", "account_external_id", "postal_code")
CSV_FIELDS = (
    "external_id",
    "email",
    "domain",
    "account_external_id",
    "latitude",
    "longitude",
    "postal_code",
    "country",
    "industry",
    "employee_count",
    "annual_revenue",
)
NDJSON_FIELDS = (*CSV_FIELDS, "location", "attributes")
ATTRIBUTE_PREFIX = "attr."
MAX_ATTRIBUTES = 100
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
FREEMAIL = sorted(FREEMAIL_DOMAINS)

# COPY refuses a whole file for a NUL byte or a carriage return that ends no line, so the body
# reaches it with these stand-ins instead (Unicode noncharacters, reserved for such internal use)
# and the validation reports the row and field holding one.
NUL_STAND_IN = "\U0010ffff"
CR_STAND_IN = "\U0010fffe"
_NUL_BYTES = NUL_STAND_IN.encode()
_CR_BYTES = CR_STAND_IN.encode()
_BARE_CR = re.compile(rb"\r(?!\n)")
_NUL_MESSAGE = "holds a NUL character (\\u0000), which cannot be stored; remove it"
_CR_MESSAGE = (
    "holds a carriage return (\\r) that ends no line: end lines with \\n or \\r\\n and keep "
    "line breaks out of values"
)


@dataclass(frozen=True)
class CsvHeader:
    # For each file column in order: the lead field it fills, or ("attr", key).
    fields: tuple[str, ...]
    attribute_keys: tuple[str | None, ...]
    # Whether the body may hold a NUL byte or a bare CR: the validation looks for their
    # stand-ins (~0.6 s per million rows) unless staging saw the body had none.
    stand_ins: bool = True

    @property
    def staging_columns(self) -> list[str]:
        return [f"c{index}" for index in range(len(self.fields))]


def parse_csv_header(line: bytes) -> CsvHeader:
    """The header row: known lead fields and ``attr.<key>`` columns, each at most once."""
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise InvalidUpload("the CSV header is not UTF-8 text", field="header") from error
    names = next(csv.reader([text]), [])
    if not names or all(not name.strip() for name in names):
        raise InvalidUpload(
            "the CSV needs a header row naming its columns, e.g. external_id,email,country",
            field="header",
        )
    fields: list[str] = []
    keys: list[str | None] = []
    seen: set[str] = set()
    for name in names:
        clean = name.strip()
        if clean.lower().startswith(ATTRIBUTE_PREFIX):
            key = clean[len(ATTRIBUTE_PREFIX) :]
            if not _ATTRIBUTE_KEY.match(key):
                raise InvalidUpload(
                    f"invalid attribute column {clean!r}: attr.<key> with a key of letters, "
                    "digits and underscores, not starting with a digit, up to 63 characters",
                    field=clean,
                )
            field, attribute = ATTRIBUTE_PREFIX + key, key
        elif clean.lower() in CSV_FIELDS:
            field, attribute = clean.lower(), None
        else:
            raise InvalidUpload(
                f"unknown column {clean!r}: use {', '.join(CSV_FIELDS)}, or attr.<key> for a "
                "custom lead attribute",
                field=clean,
            )
        if field in seen:
            raise InvalidUpload(f"the column {clean!r} appears twice", field=clean)
        seen.add(field)
        fields.append(field)
        keys.append(attribute)
    if sum(key is not None for key in keys) > MAX_ATTRIBUTES:
        raise InvalidUpload(f"at most {MAX_ATTRIBUTES} attr.<key> columns", field="header")
    return CsvHeader(tuple(fields), tuple(keys))


class LimitedBody:
    """The request body as it arrives, counted, cut off with a 413 problem past the limit."""

    def __init__(self, chunks: AsyncIterator[bytes], *, limit_bytes: int) -> None:
        self._chunks = chunks
        self.limit_bytes = limit_bytes
        self.received = 0
        self._pending = b""
        self.stand_ins_seen = False

    async def _next(self) -> bytes | None:
        async for chunk in self._chunks:
            self.received += len(chunk)
            if self.received > self.limit_bytes:
                raise TooManyBytes(limit_bytes=self.limit_bytes)
            if chunk:
                return chunk
        return None

    async def first_line(self) -> bytes:
        """Read up to the first newline; what follows it stays for ``rest``."""
        buffer = b""
        while b"\n" not in buffer:
            chunk = await self._next()
            if chunk is None:
                break
            buffer += chunk
            if len(buffer) > 1024 * 1024:
                raise InvalidUpload("the CSV header row is longer than 1 MiB", field="header")
        line, newline, rest = buffer.partition(b"\n")
        self._pending = rest
        return line + newline

    async def rest(self) -> AsyncIterator[bytes]:
        """What follows the first line, NUL bytes and bare carriage returns replaced by their
        stand-ins. A chunk's final CR waits for the next chunk, which may start with its LF."""
        held = b""
        chunk: bytes | None = self._pending
        self._pending = b""
        while chunk is not None:
            data = held + chunk
            held = b""
            if data.endswith(b"\r"):
                data, held = data[:-1], b"\r"
            if data:
                yield self._with_stand_ins(data)
            chunk = await self._next()
        if held:
            self.stand_ins_seen = True
            yield _CR_BYTES

    def _with_stand_ins(self, data: bytes) -> bytes:
        if b"\x00" in data:
            data = data.replace(b"\x00", _NUL_BYTES)
            self.stand_ins_seen = True
        if b"\r" in data:
            replaced, count = _BARE_CR.subn(_CR_BYTES, data)
            if count:
                data, self.stand_ins_seen = replaced, True
        return data


class EvenRows:
    """The CSV body on its way to COPY, cut into records: a record whose field count is not the
    header's (COPY would reject the whole file for it) is replaced by an empty record of the
    right width and remembered in ``wrong`` as (row number, its field count; 0: blank), to
    become that row's error. A block with no quote and no wrong line passes unchanged (one
    regular-expression scan, in C)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.wrong: list[tuple[int, int]] = []
        self._rows = 0
        self._pending = b""
        self._record: list[bytes] = []
        self._quotes = 0
        # A line that does not hold exactly width - 1 commas.
        self._wrong_line = re.compile(rb"^(?![^,\n]*(?:,[^,\n]*){%d}$)" % (width - 1), re.M)

    async def feed(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            data = self._pending + chunk
            cut = data.rfind(b"\n") + 1
            self._pending = data[cut:]
            if cut:
                yield self._records(data[:cut])
        if self._pending:
            yield self._records(self._pending + b"\n")
        if self._record:  # an unterminated quote: COPY says where
            yield b"\n".join(self._record) + b"\n"

    def _records(self, block: bytes) -> bytes:
        """The complete records of ``block`` (whole lines), evened out."""
        if not self._record and b'"' not in block and not self._wrong_line.search(block[:-1]):
            self._rows += block.count(b"\n")
            return block
        out: list[bytes] = []
        for line in block[:-1].split(b"\n"):
            self._record.append(line)
            self._quotes += line.count(b'"')
            if self._quotes % 2:
                continue  # inside a quoted value: the record goes on on the next line
            record = b"\n".join(self._record)
            self._record, self._quotes = [], 0
            self._rows += 1
            fields = self._fields(record)
            if fields == self.width or (fields == 0 and self.width == 1):
                out.append(record)
            else:
                self.wrong.append((self._rows, fields))
                out.append(b"," * (self.width - 1))
        return b"".join(record + b"\n" for record in out)

    @staticmethod
    def _fields(record: bytes) -> int:
        if not record.strip(b"\r"):
            return 0
        if b'"' not in record:
            return record.count(b",") + 1
        text = record.decode("utf-8", "replace")
        return len(next(csv.reader(io.StringIO(text, newline="")), []))


def _copy_problem(error: asyncpg.PostgresError, *, fmt: Format) -> InvalidUpload:
    """COPY refuses a malformed file as a whole: say where and why."""
    context = str(getattr(error, "context", "") or "")
    line_match = re.search(r"line (\d+)", context)
    where = ""
    if line_match:
        # COPY counts the lines it was given: the CSV header was taken off before it.
        line = int(line_match.group(1))
        where = (
            f" at row {line} (line {line + 1} of the file)" if fmt == "csv" else f" at line {line}"
        )
    message = str(getattr(error, "message", error))
    advice = (
        "every row needs exactly the header's columns; quote values holding commas, quotes "
        "or newlines"
        if fmt == "csv"
        else "each line holds one JSON object and no control characters"
    )
    return InvalidUpload(f"the upload could not be read{where}: {message}; {advice}", field="body")


async def stage_csv(
    connection: asyncpg.Connection, body: LimitedBody, *, workspace: Workspace
) -> CsvHeader:
    """COPY a CSV upload into ``raw`` (row_number = 1 for the first row after the header), and
    the rows whose field count is not the header's into ``width`` (they are empty in ``raw``)."""
    header = parse_csv_header(await body.first_line())
    columns = header.staging_columns
    rows = EvenRows(len(columns))
    await connection.execute(
        f"CREATE UNLOGGED TABLE {workspace.table('raw')} "
        "(row_number bigint GENERATED ALWAYS AS IDENTITY, "
        + ", ".join(f"{column} text" for column in columns)
        + ")"
    )
    try:
        await connection.copy_to_table(
            workspace.bare("raw"),
            schema_name=SCHEMA,
            source=rows.feed(body.rest()),
            columns=columns,
            format="csv",
            header=False,
        )
    except (asyncpg.BadCopyFileFormatError, asyncpg.CharacterNotInRepertoireError) as error:
        raise _copy_problem(error, fmt="csv") from error
    await connection.execute(
        f"CREATE UNLOGGED TABLE {workspace.table('width')} "
        "(row_number bigint PRIMARY KEY, fields int NOT NULL)"
    )
    if rows.wrong:
        await connection.copy_records_to_table(
            workspace.bare("width"), schema_name=SCHEMA, records=rows.wrong
        )
    return dataclasses.replace(header, stand_ins=body.stand_ins_seen)


async def stage_ndjson(
    connection: asyncpg.Connection, body: LimitedBody, *, workspace: Workspace
) -> None:
    """COPY each line of a JSON-lines upload as one text value into ``raw``."""
    await connection.execute(
        f"CREATE UNLOGGED TABLE {workspace.table('raw')} "
        "(row_number bigint GENERATED ALWAYS AS IDENTITY, line text)"
    )
    try:
        # CSV mode with a quote and delimiter that valid JSON never holds: lines pass verbatim
        # (text mode would unescape the backslashes of JSON strings).
        await connection.copy_to_table(
            workspace.bare("raw"),
            schema_name=SCHEMA,
            source=body.rest(),
            columns=["line"],
            format="csv",
            delimiter="\x02",
            quote="\x01",
            header=False,
        )
    except (asyncpg.BadCopyFileFormatError, asyncpg.CharacterNotInRepertoireError) as error:
        raise _copy_problem(error, fmt="ndjson") from error


async def count_rows(connection: asyncpg.Connection, *, fmt: Format, workspace: Workspace) -> int:
    blank = " WHERE line IS NOT NULL AND line !~ '^\\s*$'" if fmt == "ndjson" else ""
    raw = workspace.table("raw")
    # The statistics are what lets the planner see a large table and validate it in parallel.
    await connection.execute(f"ANALYZE {raw}")
    count: int = await connection.fetchval(f"SELECT count(*) FROM {raw}{blank}")
    return count


# ---- the text of each field, per format ----------------------------------------------------


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _csv_fields_sql(header: CsvHeader, raw: str, width: str) -> str:
    """One row per CSV row: each field's text (an empty cell is absent), attributes as JSON;
    a row with more or fewer fields than the header has columns is that row's problem."""
    column_of = {field: f"r.c{index}" for index, field in enumerate(header.fields)}

    def text(field: str) -> str:
        column = column_of.get(field)
        return f"nullif({column}, '')" if column else "NULL::text"

    pairs = [
        f"{_sql_text(key)}, nullif(r.c{index}, '')"
        for index, key in enumerate(header.attribute_keys)
        if key is not None
    ]
    chunks = [pairs[start : start + 50] for start in range(0, len(pairs), 50)]
    attributes = (
        " || ".join(f"jsonb_strip_nulls(jsonb_build_object({', '.join(c)}))" for c in chunks)
        or "'{}'::jsonb"
    )
    selected = ", ".join(f"{text(field)} AS {field}" for field in CSV_FIELDS)
    column_count = len(header.fields)
    wrong_width = (
        "CASE WHEN w.fields = 0 THEN 'the row is empty: every row needs the header''s "
        f"{column_count} columns' ELSE format('the row has %s field%s but the header names "
        f"{column_count} columns: every row needs exactly the header''s columns (an empty cell "
        "is fine: a,,c); quote values holding commas', w.fields, "
        "CASE WHEN w.fields = 1 THEN '' ELSE 's' END) END"
    )
    columns = [f"r.c{index}" for index in range(column_count)]
    stand_in_checks = " ".join(
        f"WHEN strpos({column}, {_sql_text(stand_in)}) > 0 "
        f"THEN ARRAY[{_sql_text(field)}, {_sql_text(field + ' ' + message)}]"
        for column, field in zip(columns, header.fields, strict=True)
        for stand_in, message in ((NUL_STAND_IN, _NUL_MESSAGE), (CR_STAND_IN, _CR_MESSAGE))
    )
    # One test of the whole row first: the per-column search runs for the rare bad row only.
    whole_row = f"concat({', '.join(columns)})"
    pre = (
        f"CASE WHEN strpos({whole_row}, {_sql_text(NUL_STAND_IN)}) > 0 "
        f"OR strpos({whole_row}, {_sql_text(CR_STAND_IN)}) > 0 "
        f"THEN CASE {stand_in_checks} END END"
        if header.stand_ins
        else "NULL::text[]"
    )
    # A row of the wrong width is empty in ``raw``: its width is its only problem.
    return f"""
        SELECT r.row_number,
               CASE WHEN w.row_number IS NOT NULL THEN 'row' ELSE x.pre[1] END AS pre_field,
               CASE WHEN w.row_number IS NOT NULL THEN {wrong_width} ELSE x.pre[2] END
                   AS pre_message,
               {selected},
               NULL::text AS location_lon, NULL::text AS location_lat, false AS location_given,
               {attributes} AS attributes, 0 AS attribute_count
          FROM {raw} r LEFT JOIN {width} w ON w.row_number = r.row_number
         CROSS JOIN LATERAL (SELECT {pre} AS pre) x
    """


_NUMBER_FIELDS = ("latitude", "longitude", "employee_count", "annual_revenue")
_STRING_FIELDS = tuple(field for field in CSV_FIELDS if field not in _NUMBER_FIELDS)
_LOCATION_HELP = (
    'location must be a GeoJSON point {"type": "Point", "coordinates": [longitude, latitude]}'
)


# A JSON string may hold the escape \u0000, which jsonb refuses: the line then is no JSON to
# PostgreSQL. The field holding it is the one whose value differs between the line read with the
# escape dropped and read with it as \u0001 (only for such lines, which failed already).
_NUL_ESCAPE_FIELD = r"""
CASE WHEN j.j IS NULL AND strpos(r.line, '\u0000') > 0 THEN (
    SELECT CASE WHEN a.key = 'attributes' AND jsonb_typeof(a.value) = 'object'
                     AND jsonb_typeof(b.value) = 'object'
                THEN coalesce('attributes.' || (
                    SELECT x.key FROM jsonb_each(a.value) x
                     WHERE x.value IS DISTINCT FROM b.value -> x.key ORDER BY x.key LIMIT 1
                ), 'attributes')
                ELSE a.key END
      FROM jsonb_each(bulk_try_jsonb(replace(r.line, '\u0000', ''))) a
      JOIN jsonb_each(bulk_try_jsonb(replace(r.line, '\u0000', '\u0001'))) b ON b.key = a.key
     WHERE a.value IS DISTINCT FROM b.value
     ORDER BY a.key LIMIT 1
) END"""


def _ndjson_fields_sql(raw: str) -> str:
    allowed = "ARRAY[" + ", ".join(_sql_text(field) for field in NDJSON_FIELDS) + "]"
    checks = [
        f"WHEN strpos(p.line, {_sql_text(NUL_STAND_IN)}) > 0 "
        f"THEN ARRAY['row', {_sql_text('the line ' + _NUL_MESSAGE)}]",
        f"WHEN strpos(p.line, {_sql_text(CR_STAND_IN)}) > 0 "
        f"THEN ARRAY['row', {_sql_text('the line ' + _CR_MESSAGE)}]",
        f"WHEN p.nul_field IS NOT NULL THEN ARRAY[p.nul_field, p.nul_field || ' ' || "
        f"{_sql_text(_NUL_MESSAGE)}]",
        "WHEN p.j IS NULL THEN ARRAY['row', 'not valid JSON: each line holds one JSON object, "
        'e.g. {"email": "pat@acme.com", "country": "US"}\']',
        "WHEN jsonb_typeof(p.j) <> 'object' THEN ARRAY['row', 'each line must be a JSON object, "
        "not ' || jsonb_typeof(p.j)]",
        f"WHEN p.unknown_key IS NOT NULL THEN ARRAY[p.unknown_key, 'unknown field ' || "
        f"quote_literal(p.unknown_key) || ': use ' || array_to_string({allowed}, ', ')]",
    ]
    for field in _STRING_FIELDS:
        checks.append(
            f"WHEN jsonb_typeof(p.j -> '{field}') NOT IN ('string', 'null') "
            f"THEN ARRAY['{field}', '{field} must be a string, not ' || "
            f"jsonb_typeof(p.j -> '{field}')]"
        )
    for field in _NUMBER_FIELDS:
        checks.append(
            f"WHEN jsonb_typeof(p.j -> '{field}') NOT IN ('number', 'string', 'null') "
            f"THEN ARRAY['{field}', '{field} must be a number, not ' || "
            f"jsonb_typeof(p.j -> '{field}')]"
        )
    checks += [
        "WHEN jsonb_typeof(p.j -> 'location') NOT IN ('object', 'null') "
        "OR coalesce(p.j -> 'location' ->> 'type', 'Point') <> 'Point' "
        "OR (jsonb_typeof(p.j -> 'location') = 'object' AND NOT coalesce("
        "jsonb_typeof(p.j -> 'location' -> 'coordinates') = 'array' "
        "AND jsonb_array_length(p.j -> 'location' -> 'coordinates') = 2 "
        "AND jsonb_typeof(p.j -> 'location' -> 'coordinates' -> 0) = 'number' "
        "AND jsonb_typeof(p.j -> 'location' -> 'coordinates' -> 1) = 'number', false)) "
        f"THEN ARRAY['location', {_sql_text(_LOCATION_HELP)}]",
        "WHEN jsonb_typeof(p.j -> 'attributes') NOT IN ('object', 'null') "
        "THEN ARRAY['attributes', 'attributes must be an object of custom attributes, e.g. "
        '{"segment": "enterprise"}\']',
        "WHEN p.bad_attribute IS NOT NULL THEN ARRAY['attributes.' || p.bad_attribute, "
        "'attribute values are strings, numbers, booleans or null, not lists or objects']",
    ]
    selected = ", ".join(f"p.j ->> '{field}' AS {field}" for field in CSV_FIELDS)
    return f"""
        SELECT p.row_number, p.pre[1] AS pre_field, p.pre[2] AS pre_message, {selected},
               p.j -> 'location' -> 'coordinates' ->> 0 AS location_lon,
               p.j -> 'location' -> 'coordinates' ->> 1 AS location_lat,
               coalesce(jsonb_typeof(p.j -> 'location') = 'object', false) AS location_given,
               CASE WHEN jsonb_typeof(p.j -> 'attributes') = 'object'
                    THEN p.j -> 'attributes' ELSE '{{}}'::jsonb END AS attributes,
               CASE WHEN jsonb_typeof(p.j -> 'attributes') = 'object'
                    THEN (SELECT count(*) FROM jsonb_object_keys(p.j -> 'attributes'))
                    ELSE 0 END AS attribute_count
          FROM (
            SELECT p.*, CASE {" ".join(checks)} END AS pre
              FROM (
                SELECT r.row_number, r.line, j.j, {_NUL_ESCAPE_FIELD} AS nul_field,
                       CASE WHEN jsonb_typeof(j.j) = 'object' THEN
                           (SELECT k FROM jsonb_object_keys(j.j) k
                             WHERE k <> ALL ({allowed}) ORDER BY k LIMIT 1) END AS unknown_key,
                       CASE WHEN jsonb_typeof(j.j -> 'attributes') = 'object' THEN
                           (SELECT e.key FROM jsonb_each(j.j -> 'attributes') e
                             WHERE jsonb_typeof(e.value) IN ('object', 'array')
                             ORDER BY e.key LIMIT 1) END AS bad_attribute
                  FROM {raw} r
                 CROSS JOIN LATERAL (SELECT bulk_try_jsonb(r.line) AS j OFFSET 0) j
                 WHERE r.line IS NOT NULL AND r.line !~ '^\\s*$'
              ) p
          ) p
    """


# ---- the checks and normalisation shared by both formats ------------------------------------

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+"
_LABEL = r"[A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\u0080-\uffff-]*[A-Za-z0-9\u0080-\uffff])?"
_EMAIL = rf"^{_ATOM}(\.{_ATOM})*@({_LABEL}\.)+[A-Za-z\u0080-\uffff][A-Za-z0-9\u0080-\uffff-]*$"


def _domain(column: str) -> str:
    """``normalise_domain`` (accounts/domains.py) in SQL: the function of the bulk module's
    migration (STRICT: not even called for a row without the field)."""
    return f"assignment_bulk.domain_of({column})"


# Labels of letters, digits and inner dashes, at least two. The 63-character limit of a label is
# a separate test: a bounded repeat ({0,61}) makes PostgreSQL's regex engine ~15 times slower.
_DOMAIN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
_LONG_LABEL = r"[^.]{64}"


def _domain_ok(column: str) -> str:
    return (
        f"({column} ~ {_sql_text(_DOMAIN)} AND {column} !~ {_sql_text(_LONG_LABEL)}"
        f" AND length({column}) <= 253)"
    )


def _number(column: str) -> str:
    return (
        f"CASE WHEN length({column}) <= 64 AND {column} ~ {_sql_text(_NUMBER)} "
        f"THEN {column}::numeric END"
    )


def _got(column: str) -> str:
    return f"'; got ' || quote_literal(left({column}, 60))"


# The first problem of a row, in the order of the fields; NULL when the row is valid.
_FIRST_PROBLEM = f"""
CASE
  WHEN s.pre_field IS NOT NULL THEN ARRAY[s.pre_field, s.pre_message]
  WHEN length(s.external_id) > 255
    THEN ARRAY['external_id', 'external_id is longer than 255 characters']
  WHEN s.email IS NOT NULL AND NOT (n.email_trimmed ~ {_sql_text(_EMAIL)}
       AND length(n.email_trimmed) <= 254 AND length(split_part(n.email_trimmed, '@', 1)) <= 64)
    THEN ARRAY['email', 'email is not a valid email address (name@company.com)'
               || {_got("s.email")}]
  WHEN length(s.domain) > 255 THEN ARRAY['domain', 'domain is longer than 255 characters']
  WHEN s.domain <> '' AND NOT {_domain_ok("n.domain")}
    THEN ARRAY['domain', 'not a domain name such as acme.com (a URL or e-mail address also '
               || 'works; internationalised names in their xn-- form)' || {_got("s.domain")}]
  WHEN s.email IS NOT NULL AND NOT {_domain_ok("n.email_domain")}
    THEN ARRAY['email', 'the e-mail''s domain is not a domain name such as acme.com '
               || '(internationalised names in their xn-- form)' || {_got("s.email")}]
  WHEN length(s.account_external_id) > 255
    THEN ARRAY['account_external_id', 'account_external_id is longer than 255 characters']
  WHEN s.location_given AND (s.latitude IS NOT NULL OR s.longitude IS NOT NULL)
    THEN ARRAY['location', 'send either location or latitude/longitude, not both']
  WHEN s.location_given AND (n.location_lon IS NULL OR n.location_lat IS NULL
       OR n.location_lon NOT BETWEEN -180 AND 180 OR n.location_lat NOT BETWEEN -90 AND 90)
    THEN ARRAY['location', 'coordinates are [longitude, latitude] with longitude in '
               || '[-180, 180] and latitude in [-90, 90]; got ['
               || s.location_lon || ', ' || s.location_lat || '] (swapped?)']
  WHEN s.latitude IS NOT NULL AND (n.latitude IS NULL OR n.latitude NOT BETWEEN -90 AND 90)
    THEN ARRAY['latitude', 'latitude must be a number from -90 to 90' || {_got("s.latitude")}]
  WHEN s.longitude IS NOT NULL AND (n.longitude IS NULL OR n.longitude NOT BETWEEN -180 AND 180)
    THEN ARRAY['longitude', 'longitude must be a number from -180 to 180' || {_got("s.longitude")}]
  WHEN s.latitude IS NULL AND s.longitude IS NOT NULL
    THEN ARRAY['latitude', 'latitude is missing: send both latitude and longitude, or neither']
  WHEN s.longitude IS NULL AND s.latitude IS NOT NULL
    THEN ARRAY['longitude', 'longitude is missing: send both latitude and longitude, or neither']
  WHEN length(s.postal_code) > 20
    THEN ARRAY['postal_code', 'postal_code is longer than 20 characters']
  WHEN s.country IS NOT NULL AND n.country !~ '^[A-Z]{{2}}$'
    THEN ARRAY['country', 'country must be an ISO 3166-1 alpha-2 code such as US or DE'
               || {_got("s.country")}]
  WHEN s.postal_code <> '' AND s.country IS NULL
    THEN ARRAY['country', 'a postal_code needs its country (ISO 3166-1 alpha-2, e.g. US)']
  WHEN s.postal_code <> '' AND n.postal_code IS NULL AND n.country = 'US'
    THEN ARRAY['postal_code', 'a US ZIP code has 5 digits (ZIP+4 such as 10001-1234 is accepted)'
               || {_got("s.postal_code")}]
  WHEN s.postal_code <> '' AND n.postal_code IS NULL
    THEN ARRAY['postal_code', 'a postal code has up to 20 letters, digits and inner dashes '
               || '(spaces are ignored)' || {_got("s.postal_code")}]
  WHEN length(s.industry) > 100 THEN ARRAY['industry', 'industry is longer than 100 characters']
  WHEN s.employee_count IS NOT NULL AND (n.employee_count IS NULL
       OR n.employee_count <> trunc(n.employee_count)
       OR n.employee_count NOT BETWEEN 0 AND 10000000)
    THEN ARRAY['employee_count', 'employee_count must be a whole number from 0 to 10000000'
               || {_got("s.employee_count")}]
  WHEN s.annual_revenue IS NOT NULL AND (n.annual_revenue IS NULL
       OR n.annual_revenue NOT BETWEEN 0 AND 1e15)
    THEN ARRAY['annual_revenue', 'annual_revenue must be a number from 0 to 1e15'
               || {_got("s.annual_revenue")}]
  WHEN s.attribute_count > {MAX_ATTRIBUTES}
    THEN ARRAY['attributes', 'at most {MAX_ATTRIBUTES} custom attributes per lead']
END
"""

# Stage 1 of validation: every field's text (``s``) and its parse (``n_*``), one column each, so
# that stage 2 reads each parse once. Two stages because the expressions of one would have to be
# shared through a subquery kept apart by OFFSET 0, and such a subquery keeps a plan from running
# in parallel workers.
_NORMALISED = rf"""
SELECT s.*,
       regexp_replace(s.email, '^\s+|\s+$', '', 'g') AS n_email_trimmed,
       {_number("s.latitude")} AS n_latitude,
       {_number("s.longitude")} AS n_longitude,
       {_number("s.location_lon")} AS n_location_lon,
       {_number("s.location_lat")} AS n_location_lat,
       {_number("s.employee_count")} AS n_employee_count,
       {_number("s.annual_revenue")} AS n_annual_revenue,
       upper(btrim(s.country)) AS n_country,
       {_domain("s.domain")} AS n_domain,
       {_domain("s.email")} AS n_email_domain,
       upper(regexp_replace(s.postal_code, '\s', '', 'g')) AS n_postal_compact
"""

# Stage 2 reads stage 1 as ``s`` (the texts) and ``n`` (the parses), as _FIRST_PROBLEM expects.
_PARSED = r"""
SELECT s.n_email_trimmed AS email_trimmed, s.n_latitude AS latitude,
       s.n_longitude AS longitude, s.n_location_lon AS location_lon,
       s.n_location_lat AS location_lat, s.n_employee_count AS employee_count,
       s.n_annual_revenue AS annual_revenue, s.n_country AS country, s.n_domain AS domain,
       s.n_email_domain AS email_domain,
       CASE WHEN s.n_country = 'US' THEN
                CASE WHEN s.n_postal_compact ~ '^\d{3,4}$' THEN lpad(s.n_postal_compact, 5, '0')
                     WHEN s.n_postal_compact ~ '^\d{5}(-?\d{4})?$'
                         THEN left(s.n_postal_compact, 5) END
            WHEN s.n_postal_compact ~ '^[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?$'
                 AND length(s.n_postal_compact) <= 20 THEN s.n_postal_compact
       END AS postal_code
"""

_FREEMAIL_SQL = "ARRAY[" + ", ".join(_sql_text(domain) for domain in FREEMAIL) + "]::text[]"


def validation_sql(
    *, fmt: Format, header: CsvHeader | None, workspace: Workspace, ids_epoch_ms: int
) -> list[str]:
    """Two CREATE TABLE AS statements (which, unlike an INSERT, may run in parallel): every
    staged row parsed (``parsed``), then typed and normalised, or with its first problem
    (``lead``: ``problem`` is NULL or [field, message]); each row gets its lead id (ordered by
    row: see ``ids.py``). The freemail domains (the single path's list) never name a company.
    Columns of a row with a problem may hold anything: only rows without one are used."""
    raw = workspace.table("raw")
    fields = (
        _csv_fields_sql(header, raw, workspace.table("width"))
        if fmt == "csv" and header
        else _ndjson_fields_sql(raw)
    )
    parsed = workspace.table("parsed")
    lead_id = ordered_uuid_sql(epoch_ms=ids_epoch_ms, counter="s.row_number")
    return [
        f"CREATE UNLOGGED TABLE {parsed} AS {_NORMALISED} FROM ({fields}) s",
        f"""
    CREATE UNLOGGED TABLE {workspace.table("lead")} AS
    SELECT s.row_number, {lead_id} AS lead_id, {_FIRST_PROBLEM} AS problem,
           s.external_id,
           CASE WHEN s.email IS NOT NULL THEN substring(n.email_trimmed from '^(.*)@')
                || '@' || lower(substring(n.email_trimmed from '@([^@]*)$')) END AS email,
           CASE WHEN d.domain = ANY ({_FREEMAIL_SQL}) THEN NULL ELSE d.domain END AS domain,
           s.account_external_id,
           g.longitude, g.latitude,
           CASE WHEN g.longitude IS NOT NULL
                THEN ST_SetSRID(ST_MakePoint(g.longitude, g.latitude), 4326) END AS location,
           CASE WHEN s.postal_code <> '' THEN n.postal_code END AS postal_code,
           n.country, s.industry,
           CASE WHEN n.employee_count BETWEEN 0 AND 10000000
                THEN n.employee_count::int END AS employee_count,
           n.annual_revenue,
           s.attributes
      FROM {parsed} s
     CROSS JOIN LATERAL ({_PARSED}) n
     CROSS JOIN LATERAL (
        SELECT coalesce(CASE WHEN s.domain <> '' THEN n.domain END, n.email_domain) AS domain
     ) d
     CROSS JOIN LATERAL (
        SELECT CASE WHEN s.location_given THEN n.location_lon ELSE n.longitude END AS longitude,
               CASE WHEN s.location_given THEN n.location_lat ELSE n.latitude END AS latitude
     ) p
     CROSS JOIN LATERAL (
        SELECT CASE WHEN p.longitude BETWEEN -180 AND 180 AND p.latitude BETWEEN -90 AND 90
                    THEN p.longitude::float8 END AS longitude,
               CASE WHEN p.longitude BETWEEN -180 AND 180 AND p.latitude BETWEEN -90 AND 90
                    THEN p.latitude::float8 END AS latitude
     ) g
    """,
    ]


@dataclass(frozen=True)
class Validated:
    valid_rows: int
    failed_rows: int
    last_row: int  # the highest row number (a JSON-lines file's blank lines have numbers too)


async def validate(
    connection: asyncpg.Connection,
    *,
    fmt: Format,
    header: CsvHeader | None,
    workspace: Workspace,
    ids_epoch_ms: int,
) -> Validated:
    parse, type_and_check = validation_sql(
        fmt=fmt, header=header, workspace=workspace, ids_epoch_ms=ids_epoch_ms
    )
    parsed, lead = workspace.table("parsed"), workspace.table("lead")
    await connection.execute(parse)
    await connection.execute(f"ANALYZE {parsed}")
    await connection.execute(type_and_check)
    await connection.execute(f"DROP TABLE {parsed}; ANALYZE {lead}")
    counts = await connection.fetchrow(
        f"SELECT count(*) FILTER (WHERE problem IS NULL) AS valid, "
        f"count(*) FILTER (WHERE problem IS NOT NULL) AS failed, "
        f"coalesce(max(row_number), 0) AS last FROM {lead}"
    )
    assert counts is not None
    return Validated(
        valid_rows=counts["valid"], failed_rows=counts["failed"], last_row=counts["last"]
    )

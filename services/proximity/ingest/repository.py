"""SQL of bulk uploads: the staged text (COPY), the set-based checks that give every bad row its
first problem, the write (deletes, updates, inserts: one transaction), and the import rows.

An upload's working tables are UNLOGGED tables ``proximity_ingest.i<import id hex>_<name>``:
``raw`` (the file as text, COPYed by the API), ``width`` (CSV rows whose field count was not the
header's) and ``checked`` (one typed row per staged row with its ``problem``: [field, reason]).
They outlive the API's request for the worker, which drops them when the import ends.

Reads of the assignment service's ``rep`` and ``account`` only check that an id (or an
account's external id) exists in the tenant, like people/reference_queries.py.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.ingest.fields import FIELDS, Format, Mode, Target, Upload
from shared.models import ProximityImport, ProximityImportError

SCHEMA = "proximity_ingest"

# COPY refuses a whole file for a NUL byte or a carriage return that ends no line: the API
# swaps them for these stand-ins while staging (services/assignment/bulk/staging.LimitedBody),
# and the row holding one is refused with this reason.
NUL_STAND_IN = "\U0010ffff"
CR_STAND_IN = "\U0010fffe"
_STAND_IN_REASON = (
    "the row holds a NUL character or a carriage return that ends no line: remove it, and end "
    "lines with \\n or \\r\\n"
)
_UUID = "'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'"
# A number float8 takes without an error (no NaN/Infinity, no exponent past 99, ≤ 40 chars).
_NUMBER = "'^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$'"
_TRUE = "ARRAY['true', 't', '1', 'yes', 'y']"
_BOOLEAN = "ARRAY['true', 't', '1', 'yes', 'y', 'false', 'f', '0', 'no', 'n']"
_DATE_HELP = "use ISO 8601, e.g. 2026-03-01 or 2026-03-01T09:30:00Z (no offset: UTC)"
_KINDS_HELP = (
    "colleague, former_colleague, social_network, email_thread, meeting, call, shared_school, "
    "referral"
)


def table(import_id: uuid.UUID, name: str) -> str:
    return f"{SCHEMA}.i{import_id.hex}_{name}"


def bare(import_id: uuid.UUID, name: str) -> str:
    """Without the schema (asyncpg's COPY quotes the name itself)."""
    return f"i{import_id.hex}_{name}"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---- staging (the API) ----------------------------------------------------------------------


async def stage_csv(
    connection: asyncpg.Connection,
    *,
    import_id: uuid.UUID,
    columns: tuple[str, ...],
    source: AsyncIterator[bytes],
) -> None:
    staged = ", ".join(f"c{index} text" for index in range(len(columns)))
    await connection.execute(
        f"CREATE UNLOGGED TABLE {table(import_id, 'raw')} "
        f"(row_number bigint GENERATED ALWAYS AS IDENTITY, {staged})"
    )
    await connection.copy_to_table(
        bare(import_id, "raw"),
        schema_name=SCHEMA,
        source=source,
        columns=[f"c{index}" for index in range(len(columns))],
        format="csv",
        header=False,
    )


async def stage_wrong_widths(
    connection: asyncpg.Connection, *, import_id: uuid.UUID, wrong: list[tuple[int, int]]
) -> None:
    """The CSV rows whose field count was not the header's (staged empty): (row, fields)."""
    await connection.execute(
        f"CREATE UNLOGGED TABLE {table(import_id, 'width')} "
        "(row_number bigint PRIMARY KEY, fields int NOT NULL)"
    )
    if wrong:
        await connection.copy_records_to_table(
            bare(import_id, "width"), schema_name=SCHEMA, records=wrong
        )


async def stage_ndjson(
    connection: asyncpg.Connection, *, import_id: uuid.UUID, source: AsyncIterator[bytes]
) -> None:
    await connection.execute(
        f"CREATE UNLOGGED TABLE {table(import_id, 'raw')} "
        "(row_number bigint GENERATED ALWAYS AS IDENTITY, line text)"
    )
    # CSV mode with a quote and delimiter valid JSON never holds: lines pass verbatim (text
    # mode would unescape the backslashes of JSON strings).
    await connection.copy_to_table(
        bare(import_id, "raw"),
        schema_name=SCHEMA,
        source=source,
        columns=["line"],
        format="csv",
        delimiter="\x02",
        quote="\x01",
        header=False,
    )


async def count_staged(connection: asyncpg.Connection, *, import_id: uuid.UUID, fmt: Format) -> int:
    blank = " WHERE line IS NOT NULL AND line !~ '^\\s*$'" if fmt == "ndjson" else ""
    count: int = await connection.fetchval(f"SELECT count(*) FROM {table(import_id, 'raw')}{blank}")
    return count


async def drop_tables(connection: asyncpg.Connection, *, import_id: uuid.UUID) -> None:
    names = ", ".join(table(import_id, name) for name in ("raw", "width", "checked"))
    await connection.execute(f"DROP TABLE IF EXISTS {names}")


# ---- the import row (the request's session and the worker's connection) ---------------------


async def add_import(
    session: AsyncSession,
    *,
    import_id: uuid.UUID,
    tenant_id: uuid.UUID,
    target: Target,
    fmt: Format,
    mode: Mode,
    skip_bad_rows: bool,
    total_rows: int,
) -> ProximityImport:
    row = ProximityImport(
        id=import_id,
        tenant_id=tenant_id,
        target=target,
        format=fmt,
        mode=mode,
        skip_bad_rows=skip_bad_rows,
        total_rows=total_rows,
        stage="queued",
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_import(
    session: AsyncSession, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> ProximityImport | None:
    return await session.scalar(
        select(ProximityImport).where(
            ProximityImport.tenant_id == tenant_id, ProximityImport.id == import_id
        )
    )


async def list_errors(
    session: AsyncSession, *, tenant_id: uuid.UUID, import_id: uuid.UUID, limit: int, offset: int
) -> list[ProximityImportError]:
    return list(
        await session.scalars(
            select(ProximityImportError)
            .where(
                ProximityImportError.tenant_id == tenant_id,
                ProximityImportError.import_id == import_id,
            )
            .order_by(ProximityImportError.row_number)
            .limit(limit)
            .offset(offset)
        )
    )


async def start_import(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> asyncpg.Record | None:
    """Mark a pending (or interrupted running) import running; None when it is not (yet)
    visible or already ended."""
    row: asyncpg.Record | None = await connection.fetchrow(
        "UPDATE proximity_import SET status = 'running', stage = 'checking',"
        " started_at = coalesce(started_at, now())"
        " WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'running')"
        " RETURNING target, format, mode, skip_bad_rows, total_rows",
        tenant_id,
        import_id,
    )
    return row


async def import_status(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> str | None:
    status: str | None = await connection.fetchval(
        "SELECT status FROM proximity_import WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        import_id,
    )
    return status


async def set_stage(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID, **values: Any
) -> None:
    """Update the import's progress columns (``stage``, counts, ``status``, ``error``)."""
    names = list(values)
    assignments = ", ".join(f"{name} = ${index + 3}" for index, name in enumerate(names))
    ended = ", finished_at = now()" if values.get("status") in ("succeeded", "failed") else ""
    await connection.execute(
        f"UPDATE proximity_import SET {assignments}{ended} WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        import_id,
        *values.values(),
    )


# ---- the checks (the worker) ----------------------------------------------------------------


def _csv_fields(upload: Upload, import_id: uuid.UUID) -> str:
    """Each field's text (trimmed; an empty cell is absent) and the row's own problem."""
    column_of = {field: f"r.c{index}" for index, field in enumerate(upload.columns)}
    selected = ", ".join(
        f"nullif(btrim({column_of[field]}), '') AS {field}"
        if field in column_of
        else f"NULL::text AS {field}"
        for field in FIELDS[upload.target]
    )
    whole = f"concat({', '.join(column_of.values())})"
    width = len(upload.columns)
    return f"""
        SELECT r.row_number,
               CASE WHEN w.row_number IS NOT NULL THEN ARRAY['row', CASE WHEN w.fields = 0
                        THEN 'the row is empty: every row needs the header''s {width} columns'
                        ELSE format('the row has %s fields but the header names {width} '
                                    'columns: quote values holding commas', w.fields) END]
                    WHEN strpos({whole}, {_quoted(NUL_STAND_IN)}) > 0
                      OR strpos({whole}, {_quoted(CR_STAND_IN)}) > 0
                    THEN ARRAY['row', {_quoted(_STAND_IN_REASON)}] END AS pre,
               {selected}
          FROM {table(import_id, "raw")} r
          LEFT JOIN {table(import_id, "width")} w ON w.row_number = r.row_number
    """


def _ndjson_fields(upload: Upload, import_id: uuid.UUID) -> str:
    fields = FIELDS[upload.target]
    allowed = "ARRAY[" + ", ".join(_quoted(field) for field in fields) + "]"
    selected = ", ".join(f"nullif(btrim(p.j ->> '{field}'), '') AS {field}" for field in fields)
    example = (
        '{"external_id": "p-1", "kind": "contact", "name": "Ada"}'
        if upload.target == "people"
        else '{"person_a_external_id": "p-1", "person_b_external_id": "p-2", '
        '"kind": "colleague", "strength": 0.8}'
    )
    return f"""
        SELECT p.row_number,
               CASE WHEN strpos(p.line, {_quoted(NUL_STAND_IN)}) > 0
                      OR strpos(p.line, {_quoted(CR_STAND_IN)}) > 0
                    THEN ARRAY['row', {_quoted(_STAND_IN_REASON)}]
                    WHEN p.j IS NULL THEN ARRAY['row', 'not valid JSON: each line holds one JSON '
                                                       'object, e.g. ' || {_quoted(example)}]
                    WHEN jsonb_typeof(p.j) <> 'object'
                    THEN ARRAY['row', 'each line must be a JSON object, not ' || jsonb_typeof(p.j)]
                    WHEN p.unknown IS NOT NULL
                    THEN ARRAY[p.unknown, format('unknown field %s: use %s',
                                                 quote_literal(p.unknown),
                                                 array_to_string({allowed}, ', '))]
                    WHEN p.nested IS NOT NULL
                    THEN ARRAY[p.nested, p.nested || ' must be a string or a number, not a list '
                                                     'or an object'] END AS pre,
               {selected}
          FROM (SELECT x.row_number, x.line, x.j,
                       CASE WHEN jsonb_typeof(x.j) = 'object' THEN
                           (SELECT k FROM jsonb_object_keys(x.j) k WHERE k <> ALL({allowed})
                             ORDER BY k LIMIT 1) END AS unknown,
                       CASE WHEN jsonb_typeof(x.j) = 'object' THEN
                           (SELECT e.key FROM jsonb_each(x.j) e
                             WHERE jsonb_typeof(e.value) IN ('object', 'array')
                             ORDER BY e.key LIMIT 1) END AS nested
                  FROM (SELECT r.row_number, r.line, {SCHEMA}.try_jsonb(r.line) AS j
                          FROM {table(import_id, "raw")} r
                         WHERE r.line IS NOT NULL AND r.line !~ '^\\s*$') x) p
    """


def _ops(alias: str) -> str:
    """The op/deleted problems, shared by both targets."""
    return f"""
        WHEN {alias}.op IS NOT NULL AND lower({alias}.op) NOT IN ('upsert', 'delete')
        THEN ARRAY['op', format('op must be upsert or delete, not %s', quote_literal({alias}.op))]
        WHEN {alias}.deleted IS NOT NULL AND lower({alias}.deleted) <> ALL({_BOOLEAN})
        THEN ARRAY['deleted', format('deleted must be true or false, not %s',
                                     quote_literal({alias}.deleted))]
    """


def _deleting(alias: str) -> str:
    return (
        f"($2 = 'delete' OR coalesce(lower({alias}.op) = 'delete', false)"
        f" OR coalesce(lower({alias}.deleted) = ANY({_TRUE}), false))"
    )


def _connections_checked(fields_sql: str, checked: str) -> str:
    return f"""
    CREATE UNLOGGED TABLE {checked} AS
    WITH f AS ({fields_sql}),
    n AS MATERIALIZED (
        SELECT f.row_number, f.pre, f.op, f.deleted, {_deleting("f")} AS deleting,
               f.person_a_external_id AS a, f.person_b_external_id AS b,
               regexp_replace(lower(f.kind), '[\\s-]+', '_', 'g') AS kind,
               f.strength, f.first_interaction_at AS first_at, f.last_interaction_at AS last_at,
               f.interaction_count AS count_text
          FROM f
    ),
    r AS (
        SELECT n.*, pa.id AS a_id, pb.id AS b_id,
               min(n.row_number) OVER (PARTITION BY least(n.a, n.b), greatest(n.a, n.b), n.kind)
                   AS first_row
          FROM n
          LEFT JOIN person pa ON pa.tenant_id = $1 AND pa.external_id = n.a
          LEFT JOIN person pb ON pb.tenant_id = $1 AND pb.external_id = n.b
    ),
    p AS MATERIALIZED (
        SELECT r.*, CASE
            WHEN r.pre IS NOT NULL THEN r.pre
            {_ops("r")}
            WHEN r.a IS NULL THEN ARRAY['person_a_external_id', 'person_a_external_id is '
                'required: the external id of one person of the tie']
            WHEN r.b IS NULL THEN ARRAY['person_b_external_id', 'person_b_external_id is '
                'required: the external id of the other person of the tie']
            WHEN r.kind IS NULL THEN ARRAY['kind', 'kind is required, e.g. {_KINDS_HELP}']
            WHEN r.kind !~ '^[a-z][a-z0-9_]{{0,49}}$'
            THEN ARRAY['kind', format('kind %s is not a kind name: letters, digits and '
                'underscores, at most 50 characters, e.g. {_KINDS_HELP}', quote_literal(r.kind))]
            WHEN r.a = r.b THEN ARRAY['person_b_external_id', format('a person cannot be '
                'connected to themselves (both ends are %s)', quote_literal(r.a))]
            WHEN r.first_row < r.row_number THEN ARRAY['person_b_external_id', format(
                'the %s tie between %s and %s is already at row %s: each pair and kind once '
                'per upload', r.kind, quote_literal(r.a), quote_literal(r.b), r.first_row)]
            WHEN r.a_id IS NULL AND NOT r.deleting THEN ARRAY['person_a_external_id', format(
                'no person with external id %s in this tenant: upload people first',
                quote_literal(r.a))]
            WHEN r.b_id IS NULL AND NOT r.deleting THEN ARRAY['person_b_external_id', format(
                'no person with external id %s in this tenant: upload people first',
                quote_literal(r.b))]
            WHEN r.deleting THEN NULL
            WHEN r.strength IS NULL THEN ARRAY['strength', 'strength is required: a number '
                'above 0 and at most 1']
            WHEN length(r.strength) > 40 OR r.strength !~ {_NUMBER}
            THEN ARRAY['strength', format('strength must be a number above 0 and at most 1, '
                'not %s', quote_literal(left(r.strength, 40)))]
            WHEN NOT (r.strength::float8 > 0 AND r.strength::float8 <= 1)
            THEN ARRAY['strength', format('strength %s is out of range: above 0 and at most 1',
                r.strength)]
            WHEN r.first_at IS NOT NULL AND NOT {SCHEMA}.is_timestamp(r.first_at)
            THEN ARRAY['first_interaction_at', format('%s is not a date: {_DATE_HELP}',
                quote_literal(left(r.first_at, 60)))]
            WHEN r.last_at IS NOT NULL AND NOT {SCHEMA}.is_timestamp(r.last_at)
            THEN ARRAY['last_interaction_at', format('%s is not a date: {_DATE_HELP}',
                quote_literal(left(r.last_at, 60)))]
            WHEN r.first_at::timestamptz > r.last_at::timestamptz
            THEN ARRAY['first_interaction_at', 'first_interaction_at is after '
                'last_interaction_at']
            WHEN r.count_text IS NOT NULL AND r.count_text !~ '^[+]?[0-9]{{1,9}}$'
            THEN ARRAY['interaction_count', format('interaction_count must be a whole number, 0 '
                'or more, not %s', quote_literal(left(r.count_text, 40)))]
        END AS problem
          FROM r
    )
    SELECT p.row_number, p.problem, p.deleting, p.kind,
           least(p.a_id, p.b_id) AS low_id, greatest(p.a_id, p.b_id) AS high_id,
           CASE WHEN p.problem IS NULL AND NOT p.deleting THEN p.strength::float8 END AS strength,
           CASE WHEN p.problem IS NULL AND NOT p.deleting THEN p.first_at::timestamptz END
               AS first_at,
           CASE WHEN p.problem IS NULL AND NOT p.deleting THEN p.last_at::timestamptz END
               AS last_at,
           CASE WHEN p.problem IS NULL AND NOT p.deleting THEN p.count_text::int END
               AS interaction_count
      FROM p
    """


def _people_checked(fields_sql: str, checked: str) -> str:
    return f"""
    CREATE UNLOGGED TABLE {checked} AS
    WITH f AS ({fields_sql}),
    n AS MATERIALIZED (
        SELECT f.*, {_deleting("f")} AS deleting, lower(coalesce(f.kind, 'contact')) AS kind_text,
               CASE WHEN f.rep_id ~ {_UUID} THEN f.rep_id::uuid END AS rep_uuid,
               CASE WHEN f.account_id ~ {_UUID} THEN f.account_id::uuid END AS account_uuid
          FROM f
    ),
    r AS (
        SELECT n.*, rep.id AS rep_found, account.id AS account_found, by_ext.id AS account_of_ext,
               holder.external_id AS holder_external_id, holder.id AS holder_id,
               min(n.row_number) OVER (PARTITION BY n.external_id) AS first_row,
               min(n.row_number) OVER (PARTITION BY n.rep_uuid) AS first_rep_row
          FROM n
          LEFT JOIN rep ON rep.tenant_id = $1 AND rep.id = n.rep_uuid
          LEFT JOIN account ON account.tenant_id = $1 AND account.id = n.account_uuid
          LEFT JOIN account by_ext ON by_ext.tenant_id = $1
                                  AND by_ext.external_id = n.account_external_id
          LEFT JOIN person holder ON holder.tenant_id = $1 AND holder.rep_id = n.rep_uuid
                                 AND holder.external_id IS DISTINCT FROM n.external_id
    ),
    p AS MATERIALIZED (
        SELECT r.*, CASE
            WHEN r.pre IS NOT NULL THEN r.pre
            {_ops("r")}
            WHEN r.external_id IS NULL THEN ARRAY['external_id', 'external_id is required: '
                'your id for this person, the key uploads update and delete by']
            WHEN length(r.external_id) > 255 THEN ARRAY['external_id', 'external_id is longer '
                'than 255 characters']
            WHEN r.first_row < r.row_number THEN ARRAY['external_id', format('external_id %s is '
                'already at row %s: each person once per upload', quote_literal(r.external_id),
                r.first_row)]
            WHEN r.deleting THEN NULL
            WHEN r.kind_text NOT IN ('rep', 'contact') THEN ARRAY['kind', format('kind must be '
                'rep (one of your reps) or contact (anyone else), not %s', quote_literal(r.kind))]
            WHEN r.name IS NULL THEN ARRAY['name', 'name is required']
            WHEN length(r.name) > 200 THEN ARRAY['name', 'name is longer than 200 characters']
            WHEN r.email IS NOT NULL AND (length(r.email) > 320 OR r.email !~ '^[^@\\s]+@[^@\\s]+$')
            THEN ARRAY['email', format('%s is not an email address', quote_literal(left(r.email,
                80)))]
            WHEN length(r.title) > 200 THEN ARRAY['title', 'title is longer than 200 characters']
            WHEN r.kind_text = 'rep' AND r.rep_id IS NULL THEN ARRAY['rep_id', 'a person of kind '
                'rep needs the rep_id of their rep']
            WHEN r.kind_text = 'contact' AND r.rep_id IS NOT NULL THEN ARRAY['rep_id', 'only a '
                'person of kind rep has a rep_id; leave it empty for a contact']
            WHEN r.rep_id IS NOT NULL AND r.rep_uuid IS NULL THEN ARRAY['rep_id', format('%s is '
                'not a UUID', quote_literal(left(r.rep_id, 60)))]
            WHEN r.rep_uuid IS NOT NULL AND r.rep_found IS NULL THEN ARRAY['rep_id', format(
                'no rep with id %s in this tenant', r.rep_uuid)]
            WHEN r.rep_uuid IS NOT NULL AND r.first_rep_row < r.row_number
            THEN ARRAY['rep_id', format('rep %s is already at row %s: one person per rep',
                r.rep_uuid, r.first_rep_row)]
            WHEN r.holder_id IS NOT NULL THEN ARRAY['rep_id', format('rep %s already has a person '
                '(%s): one person per rep', r.rep_uuid,
                coalesce('external id ' || quote_literal(r.holder_external_id), 'id ' ||
                r.holder_id))]
            WHEN r.account_id IS NOT NULL AND r.account_uuid IS NULL THEN ARRAY['account_id',
                format('%s is not a UUID', quote_literal(left(r.account_id, 60)))]
            WHEN r.account_uuid IS NOT NULL AND r.account_found IS NULL THEN ARRAY['account_id',
                format('no account with id %s in this tenant', r.account_uuid)]
            WHEN r.account_external_id IS NOT NULL AND r.account_of_ext IS NULL
            THEN ARRAY['account_external_id', format('no account with external id %s in this '
                'tenant', quote_literal(left(r.account_external_id, 80)))]
            WHEN r.account_uuid IS NOT NULL AND r.account_of_ext IS NOT NULL
             AND r.account_uuid <> r.account_of_ext THEN ARRAY['account_external_id',
                'account_id and account_external_id name different accounts: send one']
        END AS problem
          FROM r
    )
    SELECT p.row_number, p.problem, p.deleting, p.external_id,
           CASE WHEN p.problem IS NULL AND NOT p.deleting THEN p.kind_text END AS kind,
           p.name, p.email, p.title, p.rep_uuid AS rep_id,
           coalesce(p.account_uuid, p.account_of_ext) AS account_id
      FROM p
    """


async def check(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    import_id: uuid.UUID,
    upload: Upload,
    mode: Mode,
) -> tuple[int, int]:
    """Build ``checked`` from the staged rows; (rows, rows with a problem)."""
    if upload.fmt == "csv":
        fields_sql = _csv_fields(upload, import_id)
    else:
        fields_sql = _ndjson_fields(upload, import_id)
    checked = table(import_id, "checked")
    build = _people_checked if upload.target == "people" else _connections_checked
    await connection.execute(f"DROP TABLE IF EXISTS {checked}")
    # The statistics are what lets the planner hash-join the staged rows with person.
    await connection.execute(f"ANALYZE {table(import_id, 'raw')}")
    await connection.execute(build(fields_sql, checked), tenant_id, mode)
    # Without statistics the planner takes the write's joins for huge ones (a nested loop over
    # a million stored ties for an upload that deletes nothing).
    await connection.execute(f"ANALYZE {checked}")
    row = await connection.fetchrow(
        f"SELECT count(*) AS total, count(*) FILTER (WHERE problem IS NOT NULL) AS bad"
        f" FROM {checked}"
    )
    return int(row["total"]), int(row["bad"])


async def record_errors(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> None:
    """Every bad row's first problem, replacing an earlier attempt's."""
    await connection.execute("DELETE FROM proximity_import_error WHERE import_id = $1", import_id)
    await connection.execute(
        "INSERT INTO proximity_import_error (import_id, row_number, tenant_id, field, reason)"
        f" SELECT $2, row_number, $1, problem[1], problem[2] FROM {table(import_id, 'checked')}"
        " WHERE problem IS NOT NULL",
        tenant_id,
        import_id,
    )


async def _hash_joins_only(connection: asyncpg.Connection) -> None:
    """For the rest of the transaction: no nested loops. Right after a bulk load the planner's
    statistics (refreshed only by autovacuum: the services' role may not ANALYZE tables it does
    not own) say the tenant has a handful of ties, and it then loops over the staged rows once
    per stored tie (50,000 × 50,000 comparisons: minutes). A hash join reads each side once."""
    await connection.execute("SET LOCAL enable_nestloop = off")


def _count(status: str) -> int:
    """Rows a statement touched, from asyncpg's command tag ('DELETE 12', 'INSERT 0 5')."""
    return int(status.rsplit(" ", 1)[-1])


async def write_people(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> tuple[int, int, int]:
    """Apply the good rows (call inside one transaction); (inserted, updated, deleted)."""
    checked = table(import_id, "checked")
    await _hash_joins_only(connection)
    deleted = await connection.execute(
        f"DELETE FROM person p USING {checked} k WHERE k.problem IS NULL AND k.deleting"
        " AND p.tenant_id = $1 AND p.external_id = k.external_id",
        tenant_id,
    )
    # An empty email, title or account keeps the stored one; the rest is the file's.
    updated = await connection.execute(
        f"""
        UPDATE person p
           SET kind = k.kind, name = k.name, email = coalesce(k.email, p.email),
               title = coalesce(k.title, p.title), rep_id = k.rep_id,
               account_id = coalesce(k.account_id, p.account_id), updated_at = now()
          FROM {checked} k
         WHERE k.problem IS NULL AND NOT k.deleting
           AND p.tenant_id = $1 AND p.external_id = k.external_id
           AND (p.kind, p.name, p.email, p.title, p.rep_id, p.account_id)
               IS DISTINCT FROM (k.kind, k.name, coalesce(k.email, p.email),
                                 coalesce(k.title, p.title), k.rep_id,
                                 coalesce(k.account_id, p.account_id))
        """,
        tenant_id,
    )
    inserted = await connection.execute(
        f"""
        INSERT INTO person (tenant_id, external_id, kind, name, email, title, rep_id, account_id)
        SELECT $1, k.external_id, k.kind, k.name, k.email, k.title, k.rep_id,
               k.account_id
          FROM {checked} k
         WHERE k.problem IS NULL AND NOT k.deleting
           AND NOT EXISTS (SELECT FROM person p
                            WHERE p.tenant_id = $1 AND p.external_id = k.external_id)
        ON CONFLICT (tenant_id, external_id) DO NOTHING
        """,
        tenant_id,
    )
    return _count(inserted), _count(updated), _count(deleted)


async def write_connections(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> tuple[int, int, int]:
    """Apply the good rows (call inside one transaction); (inserted, updated, deleted)."""
    checked = table(import_id, "checked")
    await _hash_joins_only(connection)
    deleted = await connection.execute(
        f"DELETE FROM connection c USING {checked} k WHERE k.problem IS NULL AND k.deleting"
        " AND c.tenant_id = $1 AND c.person_a_id = k.low_id AND c.person_b_id = k.high_id"
        " AND c.kind = k.kind",
        tenant_id,
    )
    # An absent date or count keeps the stored one; strength is always the file's.
    updated = await connection.execute(
        f"""
        UPDATE connection c
           SET strength = k.strength,
               first_interaction_at = coalesce(k.first_at, c.first_interaction_at),
               last_interaction_at = coalesce(k.last_at, c.last_interaction_at),
               interaction_count = coalesce(k.interaction_count, c.interaction_count),
               updated_at = now()
          FROM {checked} k
         WHERE k.problem IS NULL AND NOT k.deleting
           AND c.tenant_id = $1 AND c.person_a_id = k.low_id AND c.person_b_id = k.high_id
           AND c.kind = k.kind
           AND (c.strength, c.first_interaction_at, c.last_interaction_at, c.interaction_count)
               IS DISTINCT FROM (k.strength, coalesce(k.first_at, c.first_interaction_at),
                                 coalesce(k.last_at, c.last_interaction_at),
                                 coalesce(k.interaction_count, c.interaction_count))
        """,
        tenant_id,
    )
    inserted = await connection.execute(
        f"""
        INSERT INTO connection (tenant_id, person_a_id, person_b_id, kind, strength,
                                first_interaction_at, last_interaction_at, interaction_count)
        SELECT $1, k.low_id, k.high_id, k.kind, k.strength, k.first_at, k.last_at,
               coalesce(k.interaction_count, 0)
          FROM {checked} k
         WHERE k.problem IS NULL AND NOT k.deleting
           AND NOT EXISTS (SELECT FROM connection c
                            WHERE c.tenant_id = $1 AND c.person_a_id = k.low_id
                              AND c.person_b_id = k.high_id AND c.kind = k.kind)
         ORDER BY k.low_id, k.high_id
        -- The anti-join leaves out the stored ties in one pass (an ON CONFLICT check per row
        -- costs ~20× more); ON CONFLICT still covers a tie written meanwhile.
        ON CONFLICT (person_a_id, person_b_id, kind) DO NOTHING
        """,
        tenant_id,
    )
    return _count(inserted), _count(updated), _count(deleted)


async def notify_imported(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> None:
    """Tell the proximity services (on commit) to build the tenant's graph now."""
    await connection.execute("SELECT pg_notify('proximity_graph_imported', $1)", str(tenant_id))

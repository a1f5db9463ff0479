"""SQL for accounts; every statement is filtered by tenant. Bulk writes go through a temp
staging table: COPY in, reject bad rows set-based, one INSERT ... ON CONFLICT DO UPDATE."""

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Boolean, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.postal_codes.repository import centroid_of
from shared.models import Account

STAGING_TABLE = "account_staging"
# The staging record layout, in COPY order.
STAGING_COLUMNS = (
    "row_number",
    "external_id",
    "name",
    "domain",
    "longitude",
    "latitude",
    "postal_code",
    "country",
    "industry",
    "employee_count",
    "annual_revenue",
    "potential",
    "attributes",
    "owner_rep_id",
    "owner_external_id",
)
# Account columns a bulk upsert may write; an upload writes a subset (a CSV only its columns).
WRITABLE_COLUMNS = (
    "name",
    "domain",
    "location",
    "postal_code",
    "country",
    "industry",
    "employee_count",
    "annual_revenue",
    "potential",
    "attributes",
    "owner_rep_id",
)

_CREATE_STAGING = text(
    f"""
    CREATE TEMP TABLE {STAGING_TABLE} (
        row_number bigint NOT NULL,
        external_id text NOT NULL,
        name text NOT NULL,
        domain text,
        longitude double precision,
        latitude double precision,
        postal_code text,
        country text,
        industry text,
        employee_count integer,
        annual_revenue numeric,
        potential numeric,
        attributes jsonb NOT NULL,
        owner_rep_id uuid,
        owner_external_id text
    ) ON COMMIT DROP
    """
)

# Deletes the staged rows that cannot be written and returns why: a repeated external_id (the
# first occurrence is kept), an owner that is not a rep of this tenant.
_REJECT_STAGED = text(
    f"""
    WITH checked AS (
        SELECT staged.row_number,
               staged.external_id,
               staged.owner_rep_id,
               staged.owner_external_id,
               first_value(staged.row_number) OVER same_id AS first_row_number,
               by_id.id IS NOT NULL AS owner_id_known,
               by_external_id.id IS NOT NULL AS owner_external_id_known
        FROM {STAGING_TABLE} AS staged
        LEFT JOIN rep AS by_id
               ON by_id.tenant_id = :tenant_id AND by_id.id = staged.owner_rep_id
        LEFT JOIN rep AS by_external_id
               ON by_external_id.tenant_id = :tenant_id
              AND by_external_id.external_id = staged.owner_external_id
        WINDOW same_id AS (PARTITION BY staged.external_id ORDER BY staged.row_number)
    ), rejected AS (
        SELECT row_number, external_id,
               CASE WHEN first_row_number <> row_number THEN 'external_id'
                    WHEN owner_rep_id IS NOT NULL AND NOT owner_id_known THEN 'owner_rep_id'
                    ELSE 'owner_external_id' END AS field,
               CASE WHEN first_row_number <> row_number
                        THEN format('external_id %L is already on row %s of this upload; '
                                    'only the first is written', external_id, first_row_number)
                    WHEN owner_rep_id IS NOT NULL AND NOT owner_id_known
                        THEN format('no rep with id %s in this tenant', owner_rep_id)
                    ELSE format('no rep with external_id %L in this tenant', owner_external_id)
               END AS message
        FROM checked
        WHERE first_row_number <> row_number
           OR (owner_rep_id IS NOT NULL AND NOT owner_id_known)
           OR (owner_external_id IS NOT NULL AND NOT owner_external_id_known)
    )
    DELETE FROM {STAGING_TABLE} AS staged
    USING rejected
    WHERE staged.row_number = rejected.row_number
    RETURNING rejected.row_number, rejected.external_id, rejected.field, rejected.message
    """
)

# What each written account column is computed from, per staged row.
_COLUMN_SOURCES = {
    "name": "staged.name",
    "domain": "staged.domain",
    "location": (
        "COALESCE(ST_SetSRID(ST_MakePoint(staged.longitude, staged.latitude), 4326), "
        "postal.centroid)"
    ),
    "postal_code": "staged.postal_code",
    "country": "staged.country",
    "industry": "staged.industry",
    "employee_count": "staged.employee_count",
    "annual_revenue": "staged.annual_revenue",
    "potential": "staged.potential",
    "attributes": "staged.attributes",
    "owner_rep_id": "COALESCE(staged.owner_rep_id, owner.id)",
}


def _upsert_staged_sql(columns: Collection[str]) -> str:
    written = [column for column in WRITABLE_COLUMNS if column in columns]
    updates = ",\n            ".join(f"{column} = EXCLUDED.{column}" for column in written)
    return f"""
    WITH upserted AS (
        INSERT INTO account AS current (id, tenant_id, external_id, {", ".join(written)})
        SELECT gen_random_uuid(), :tenant_id, staged.external_id,
               {", ".join(_COLUMN_SOURCES[column] for column in written)}
        FROM {STAGING_TABLE} AS staged
        LEFT JOIN postal_code AS postal
               ON postal.country = staged.country AND postal.code = staged.postal_code
        LEFT JOIN rep AS owner
               ON owner.tenant_id = :tenant_id AND owner.external_id = staged.owner_external_id
        -- One order for every upload, so that concurrent imports lock rows in the same order.
        ORDER BY staged.external_id
        ON CONFLICT (tenant_id, external_id) DO UPDATE
        SET {updates},
            updated_at = now()
        -- xmax is 0 only on a row version this statement inserted.
        RETURNING (current.xmax = 0) AS created
    )
    SELECT count(*) FILTER (WHERE created) AS created,
           count(*) FILTER (WHERE NOT created) AS updated
    FROM upserted
    """


def staged_account_ids_sql(tenant_id: uuid.UUID) -> str:
    """A SELECT of the ids of the accounts an upload wrote (its staged rows, bad ones removed),
    for placing them (a uuid.UUID renders as a safe literal)."""
    return (
        f"SELECT written.id FROM account written JOIN {STAGING_TABLE} staged "
        "ON staged.external_id = written.external_id "
        f"WHERE written.tenant_id = '{uuid.UUID(str(tenant_id))}'::uuid"
    )


def account_id_sql(account_id: uuid.UUID) -> str:
    return f"SELECT '{uuid.UUID(str(account_id))}'::uuid"


async def create_staging(session: AsyncSession) -> None:
    """Through the session, so that its transaction has begun: the table lives until commit."""
    await session.execute(_CREATE_STAGING)


async def copy_to_staging(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    if not records:
        return
    raw = await (await session.connection()).get_raw_connection()
    driver_connection = raw.driver_connection
    assert driver_connection is not None  # a checked-out connection always has one
    await driver_connection.copy_records_to_table(
        STAGING_TABLE, records=records, columns=STAGING_COLUMNS
    )


async def reject_staged(
    session: AsyncSession, *, tenant_id: uuid.UUID
) -> list[tuple[int, str, str, str]]:
    """Remove the staged rows that cannot be written: (row, external_id, field, message)."""
    await session.execute(text(f"ANALYZE {STAGING_TABLE}"))
    result = await session.execute(_REJECT_STAGED, {"tenant_id": tenant_id})
    return [(row[0], row[1], row[2], row[3]) for row in result]


async def upsert_staged(
    session: AsyncSession, *, tenant_id: uuid.UUID, columns: Collection[str]
) -> tuple[int, int]:
    """Write every staged row; ``columns`` are the account columns the upload sets (the others
    keep their values on existing accounts, their defaults on new ones). Returns (created,
    updated)."""
    row = (await session.execute(text(_upsert_staged_sql(columns)), {"tenant_id": tenant_id})).one()
    return int(row.created), int(row.updated)


async def upsert(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    external_id: str,
    values: dict[str, Any],
    longitude: float | None,
    latitude: float | None,
) -> tuple[Account, bool]:
    """Insert, or replace the tenant's account with this external_id; True when inserted.

    Without a point the location is the postal code's centroid, looked up in the same statement.
    """
    if longitude is not None and latitude is not None:
        location: Any = func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326)
    elif values.get("postal_code") is not None and values.get("country") is not None:
        location = centroid_of(values["country"], values["postal_code"])
    else:
        location = None
    insert_row = insert(Account).values(
        id=uuid.uuid4(), tenant_id=tenant_id, external_id=external_id, location=location, **values
    )
    statement = insert_row.on_conflict_do_update(
        index_elements=[Account.tenant_id, Account.external_id],
        set_={
            **{column: insert_row.excluded[column] for column in (*values, "location")},
            "updated_at": func.now(),
        },
    ).returning(Account, literal_column("xmax = 0", Boolean).label("inserted"))
    account, inserted = (
        await session.execute(statement, execution_options={"populate_existing": True})
    ).one()
    return account, inserted


async def get(session: AsyncSession, *, tenant_id: uuid.UUID, external_id: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.tenant_id == tenant_id, Account.external_id == external_id)
    )


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    owner_rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    domain: str | None,
    limit: int,
    offset: int,
) -> list[Account]:
    statement = select(Account).where(Account.tenant_id == tenant_id)
    if owner_rep_id is not None:
        statement = statement.where(Account.owner_rep_id == owner_rep_id)
    if territory_id is not None:
        statement = statement.where(Account.territory_id == territory_id)
    if domain is not None:
        statement = statement.where(Account.domain == domain)
    # (tenant_id, external_id) is unique and indexed: a stable order the index can serve.
    statement = statement.order_by(Account.external_id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


# The numeric fields a caller may ask of ``locations_page``: columns, or custom attributes
# holding numbers (``attributes.<key>``; text or missing gives null).
LOCATION_COLUMNS = ("annual_revenue", "potential", "employee_count")


async def locations_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    fields: list[str],
    after: uuid.UUID | None,
    limit: int,
) -> list[Any]:
    """Accounts with a location (or a known postal code), by id after ``after``: (id, lon,
    lat, values[])."""
    columns = [
        f"account.{field}::float8"
        if field in LOCATION_COLUMNS
        else f"CASE WHEN jsonb_typeof(account.attributes -> :key{i}) = 'number'"
        f" THEN (account.attributes ->> :key{i})::float8 END"
        for i, field in enumerate(fields)
    ]
    keys = {
        f"key{i}": field.removeprefix("attributes.")
        for i, field in enumerate(fields)
        if field not in LOCATION_COLUMNS
    }
    values = f"ARRAY[{', '.join(columns)}]::float8[]" if columns else "'{}'::float8[]"
    # Where the account is: its point, else its postal code's centroid (as placement does).
    rows = await session.execute(
        text(
            "SELECT account.id, ST_X(place.point), ST_Y(place.point),"
            f" {values} FROM account"
            " LEFT JOIN postal_code ON account.location IS NULL"
            " AND postal_code.country = account.country AND postal_code.code = account.postal_code"
            " CROSS JOIN LATERAL (SELECT coalesce(account.location, postal_code.centroid) AS point)"
            " AS place"
            " WHERE account.tenant_id = :tenant_id AND place.point IS NOT NULL"
            " AND (CAST(:after AS uuid) IS NULL OR account.id > CAST(:after AS uuid))"
            " ORDER BY account.id LIMIT :limit"
        ),
        {"tenant_id": tenant_id, "after": after, "limit": limit, **keys},
    )
    return list(rows.tuples())

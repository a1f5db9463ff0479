"""Account rules: owners from the tenant, locations from points or postal codes, and bulk
uploads that write every valid row and report every bad one (or, atomic, none of them)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.accounts import bulk, repository
from services.assignment.accounts.errors import (
    AccountNotFound,
    BulkRejected,
    InvalidUpload,
    OwnerNotFound,
    TooManyRows,
)
from services.assignment.accounts.schemas import (
    MAX_BULK_ROWS,
    MAX_IMPORT_ROWS,
    AccountLocations,
    AccountRead,
    AccountUpsert,
    BulkResult,
    RowError,
)
from services.assignment.alignments.placement import place_written_accounts
from services.assignment.reps import repository as reps_repository
from shared.geo import point_from_db
from shared.models import Account

# Rows validated and copied at a time while a CSV streams in: bounds the memory of an import.
CSV_BATCH_ROWS = 10_000


def to_read(account: Account) -> AccountRead:
    return AccountRead(
        id=account.id,
        external_id=account.external_id,
        name=account.name,
        domain=account.domain,
        location=point_from_db(account.location),
        postal_code=account.postal_code,
        country=account.country,
        industry=account.industry,
        employee_count=account.employee_count,
        annual_revenue=account.annual_revenue,
        potential=account.potential,
        attributes=account.attributes,
        owner_rep_id=account.owner_rep_id,
        territory_id=account.territory_id,
        owner_territory_id=account.owner_territory_id,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


async def _owner_rep_id(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: AccountUpsert
) -> uuid.UUID | None:
    if data.owner_rep_id is not None:
        rep = await reps_repository.get(session, tenant_id=tenant_id, rep_id=data.owner_rep_id)
        if rep is None:
            raise OwnerNotFound(
                f"no rep with id {data.owner_rep_id} in this tenant", field="owner_rep_id"
            )
        return rep.id
    if data.owner_external_id is not None:
        rep = await reps_repository.get_by_external_id(
            session, tenant_id=tenant_id, external_id=data.owner_external_id
        )
        if rep is None:
            raise OwnerNotFound(
                f"no rep with external_id {data.owner_external_id!r} in this tenant",
                field="owner_external_id",
            )
        return rep.id
    return None


async def upsert_account(
    session: AsyncSession, *, tenant_id: uuid.UUID, external_id: str, data: AccountUpsert
) -> tuple[AccountRead, bool]:
    """The account as stored, and whether it was created (False: an existing one replaced)."""
    values = data.model_dump(exclude={"location", "website", "owner_external_id"})
    values["owner_rep_id"] = await _owner_rep_id(session, tenant_id=tenant_id, data=data)
    longitude, latitude = data.location.coordinates if data.location else (None, None)
    account, created = await repository.upsert(
        session,
        tenant_id=tenant_id,
        external_id=external_id,
        values=values,
        longitude=longitude,
        latitude=latitude,
    )
    await place_written_accounts(
        session, tenant_id=tenant_id, within=repository.account_id_sql(account.id)
    )
    await session.refresh(account)
    return to_read(account), created


async def get_account(
    session: AsyncSession, *, tenant_id: uuid.UUID, external_id: str
) -> AccountRead:
    account = await repository.get(session, tenant_id=tenant_id, external_id=external_id)
    if account is None:
        raise AccountNotFound(external_id)
    return to_read(account)


async def list_accounts(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    owner_rep_id: uuid.UUID | None,
    territory_id: uuid.UUID | None,
    domain: str | None,
    limit: int,
    offset: int,
) -> list[AccountRead]:
    accounts = await repository.list_page(
        session,
        tenant_id=tenant_id,
        owner_rep_id=owner_rep_id,
        territory_id=territory_id,
        domain=domain,
        limit=limit,
        offset=offset,
    )
    return [to_read(account) for account in accounts]


async def _write_staged(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    received: int,
    errors: list[RowError],
    columns: Collection[str],
    atomic: bool,
) -> BulkResult:
    """Reject the staged rows the database knows are bad, then write the rest in one statement
    (or, atomic with any bad row, raise: the request's transaction rolls everything back)."""
    rejected = await repository.reject_staged(session, tenant_id=tenant_id)
    errors = sorted(
        errors
        + [
            RowError(row=row, external_id=external_id, field=field, message=message)
            for row, external_id, field, message in rejected
        ],
        key=lambda error: error.row,
    )
    failed = len({error.row for error in errors})
    if errors and atomic:
        raise BulkRejected(
            received=received,
            failed=failed,
            errors=[error.model_dump() for error in errors],
        )
    created, updated = 0, 0
    if failed < received:
        created, updated = await repository.upsert_staged(
            session, tenant_id=tenant_id, columns=columns
        )
        await place_written_accounts(
            session, tenant_id=tenant_id, within=repository.staged_account_ids_sql(tenant_id)
        )
    return BulkResult(
        received=received, created=created, updated=updated, failed=failed, errors=errors
    )


# Validation runs in a worker thread: a batch takes a noticeable fraction of a second of CPU, and
# the event loop meanwhile keeps answering single-lead assignments.
def _validate_json(rows: list[Any]) -> tuple[list[RowError], list[tuple[Any, ...]]]:
    validated = bulk.validate_rows(bulk.JSON_ROWS, rows, range(1, len(rows) + 1))
    return validated.errors, bulk.json_records(validated)


def _validate_csv(
    rows: list[dict[str, Any]], numbers: list[int]
) -> tuple[list[RowError], list[tuple[Any, ...]]]:
    validated = bulk.validate_rows(bulk.CSV_ROWS, rows, numbers, csv_names=True)
    return validated.errors, bulk.csv_records(validated)


async def upsert_accounts(
    session: AsyncSession, *, tenant_id: uuid.UUID, rows: list[Any], atomic: bool
) -> BulkResult:
    """Upsert JSON rows (each a whole account, like PUT)."""
    if len(rows) > MAX_BULK_ROWS:
        raise TooManyRows(
            MAX_BULK_ROWS,
            field="accounts",
            hint=", or send a CSV of up to 1,000,000 rows to POST /assignment/accounts:import",
        )
    errors, records = await asyncio.to_thread(_validate_json, rows)
    await repository.create_staging(session)
    await repository.copy_to_staging(session, records)
    return await _write_staged(
        session,
        tenant_id=tenant_id,
        received=len(rows),
        errors=errors,
        columns=repository.WRITABLE_COLUMNS,
        atomic=atomic,
    )


async def import_csv(
    session: AsyncSession, *, tenant_id: uuid.UUID, chunks: AsyncIterator[bytes], atomic: bool
) -> BulkResult:
    """Upsert a CSV as it streams in: batches are validated and copied to staging on arrival.
    Existing accounts get only the columns the file has."""
    stream = bulk.CsvStream()
    errors: list[RowError] = []
    numbers: list[int] = []
    rows: list[dict[str, Any]] = []

    async def stage() -> None:
        batch_errors, records = await asyncio.to_thread(_validate_csv, rows.copy(), numbers.copy())
        errors.extend(batch_errors)
        numbers.clear()
        rows.clear()
        await repository.copy_to_staging(session, records)

    await repository.create_staging(session)
    final = False
    iterator = aiter(chunks)
    while not final:
        chunk = await anext(iterator, None)
        final = chunk is None
        for number, row in stream.feed(chunk or b"", final=final):
            numbers.append(number)
            rows.append(row)
            if len(rows) >= CSV_BATCH_ROWS:
                if stream.received > MAX_IMPORT_ROWS:
                    raise TooManyRows(MAX_IMPORT_ROWS, field="body")
                await stage()
    if stream.received > MAX_IMPORT_ROWS:
        raise TooManyRows(MAX_IMPORT_ROWS, field="body")
    if stream.layout is None:
        raise InvalidUpload("the file is empty: its first row names the columns")
    if rows:
        await stage()
    return await _write_staged(
        session,
        tenant_id=tenant_id,
        received=stream.received,
        errors=stream.errors + errors,
        columns=stream.layout.writes,
        atomic=atomic,
    )


async def account_locations(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    fields: list[str],
    after: uuid.UUID | None,
    limit: int,
) -> AccountLocations:
    rows = await repository.locations_page(
        session, tenant_id=tenant_id, fields=fields, after=after, limit=limit + 1
    )
    page = rows[:limit]
    return AccountLocations(
        fields=fields,
        ids=[row[0] for row in page],
        longitudes=[row[1] for row in page],
        latitudes=[row[2] for row in page],
        values=[row[3] for row in page],
        next_after=page[-1][0] if len(rows) > limit else None,
    )

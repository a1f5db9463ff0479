"""Bulk uploads of people and connections: staged by the API (the body streamed by COPY), then
checked and written set-based on the job worker.

All or nothing by default: one bad row and nothing is written (every bad row is listed with
its row, field and reason). With ``skip_bad_rows`` the good rows are written and the bad ones
listed. The write is one transaction either way, so a half-written upload is never visible; it
bumps the tenant's graph version (triggers), so rankings refresh (scoring/cache.py).
"""

import asyncio
import csv
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable

import asyncpg
from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.bulk.errors import TooManyBytes
from services.assignment.bulk.staging import EvenRows, LimitedBody
from services.proximity.ingest import repository
from services.proximity.ingest.errors import (
    ImportNotFound,
    InvalidUpload,
    NotUploadMediaType,
    TooManyRows,
)
from services.proximity.ingest.fields import FIELDS, KEY_FIELDS, Format, Mode, Target, Upload
from services.proximity.ingest.schemas import ImportErrorRead, ImportRead
from shared.jobs.connection import open_job_connection
from shared.models import ProximityImport
from shared.settings import Settings

logger = logging.getLogger(__name__)

TASK_NAME = "proximity_ingest:run_import"
MAX_ROWS = 1_000_000
MAX_BYTES = 512 * 1024 * 1024
# The import row is committed with the request, which may end after the worker picked it up.
VISIBLE_WAIT_SECONDS = 30.0
# Errors shown on the import itself; the rest are paged at /proximity/imports/{id}/errors.
ERRORS_SHOWN = 20


def media_format(content_type: str | None) -> Format:
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        return "ndjson"
    raise NotUploadMediaType(content_type)


def parse_header(line: bytes, *, target: Target) -> tuple[str, ...]:
    """The CSV header's columns, each a known field at most once, the key fields present."""
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise InvalidUpload("the CSV header is not UTF-8 text", field="header") from error
    names = [name.strip().lower() for name in next(csv.reader([text]), [])]
    allowed = FIELDS[target]
    for name in names:
        if name not in allowed:
            raise InvalidUpload(
                f"unknown column {name!r} in the header: use {', '.join(allowed)}", field=name
            )
        if names.count(name) > 1:
            raise InvalidUpload(f"the column {name!r} appears twice", field=name)
    for key in KEY_FIELDS[target]:
        if key not in names:
            raise InvalidUpload(
                f"the header needs the column {key!r} (the rows' key: "
                f"{', '.join(KEY_FIELDS[target])})",
                field="header",
            )
    return tuple(names)


def to_read(row: ProximityImport) -> ImportRead:
    return ImportRead.model_validate(row, from_attributes=True)


async def upload(
    session: AsyncSession,
    queue: App,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    target: Target,
    content_type: str | None,
    body: AsyncIterator[bytes],
    mode: Mode,
    skip_bad_rows: bool,
) -> ImportRead:
    """Stage the whole body (so nothing is lost if the client goes away), record the import on
    the request's session (audited) and queue it for the worker."""
    fmt = media_format(content_type)
    import_id = uuid.uuid4()
    limited = LimitedBody(body, limit_bytes=MAX_BYTES)
    # A connection of its own: the staged tables are committed before the job can see them.
    connection = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="proximity-ingest-upload"
    )
    try:
        if fmt == "csv":
            columns = parse_header(await limited.first_line(), target=target)
            rows = EvenRows(len(columns))
            await _copy(
                repository.stage_csv(
                    connection,
                    import_id=import_id,
                    columns=columns,
                    source=rows.feed(limited.rest()),
                ),
                fmt=fmt,
            )
            await repository.stage_wrong_widths(connection, import_id=import_id, wrong=rows.wrong)
        else:
            columns = ()
            await _copy(
                repository.stage_ndjson(connection, import_id=import_id, source=limited.rest()),
                fmt=fmt,
            )
        total_rows = await repository.count_staged(connection, import_id=import_id, fmt=fmt)
        if total_rows == 0:
            raise InvalidUpload("the upload holds no rows", field="body")
        if total_rows > MAX_ROWS:
            raise TooManyRows(limit=MAX_ROWS)
    except BaseException:
        await repository.drop_tables(connection, import_id=import_id)
        raise
    finally:
        await connection.close()
    row = await repository.add_import(
        session,
        import_id=import_id,
        tenant_id=tenant_id,
        target=target,
        fmt=fmt,
        mode=mode,
        skip_bad_rows=skip_bad_rows,
        total_rows=total_rows,
    )
    await queue.configure_task(TASK_NAME).defer_async(
        import_id=str(import_id), tenant_id=str(tenant_id), columns=list(columns)
    )
    return to_read(row)


async def _copy(staging: Awaitable[None], *, fmt: Format) -> None:
    """Run a COPY; a file COPY refuses as a whole is a 422 saying where and why."""
    try:
        await staging
    except TooManyBytes:
        raise
    except (asyncpg.BadCopyFileFormatError, asyncpg.CharacterNotInRepertoireError) as error:
        context = str(getattr(error, "context", "") or "")
        advice = (
            "every row needs exactly the header's columns; quote values holding commas, quotes "
            "or newlines"
            if fmt == "csv"
            else "each line holds one JSON object"
        )
        raise InvalidUpload(
            f"the upload could not be read ({context or error}): {advice}", field="body"
        ) from error


async def get_import(
    session: AsyncSession, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> ImportRead:
    row = await repository.get_import(session, tenant_id=tenant_id, import_id=import_id)
    if row is None:
        raise ImportNotFound(import_id)
    read = to_read(row)
    if row.error_count:
        errors = await repository.list_errors(
            session, tenant_id=tenant_id, import_id=import_id, limit=ERRORS_SHOWN, offset=0
        )
        read.errors = [ImportErrorRead.model_validate(e, from_attributes=True) for e in errors]
    return read


async def list_errors(
    session: AsyncSession, *, tenant_id: uuid.UUID, import_id: uuid.UUID, limit: int, offset: int
) -> list[ImportErrorRead]:
    if await repository.get_import(session, tenant_id=tenant_id, import_id=import_id) is None:
        raise ImportNotFound(import_id)
    errors = await repository.list_errors(
        session, tenant_id=tenant_id, import_id=import_id, limit=limit, offset=offset
    )
    return [ImportErrorRead.model_validate(error, from_attributes=True) for error in errors]


async def run_import(
    *, settings: Settings, tenant_id: uuid.UUID, import_id: uuid.UUID, columns: list[str]
) -> None:
    """The worker's part: check every staged row, record the bad ones, write the good ones (or
    none), in one transaction."""
    connection = await open_job_connection(
        settings,
        tenant_id=tenant_id,
        application_name="proximity-ingest",
        # A date without an offset is UTC, whatever the server's default.
        server_settings={"TimeZone": "UTC"},
    )
    try:
        started = await _wait_visible(connection, tenant_id=tenant_id, import_id=import_id)
        if started is None:
            return
        upload = Upload(target=started["target"], fmt=started["format"], columns=tuple(columns))
        ids = {"tenant_id": tenant_id, "import_id": import_id}
        try:
            total, bad = await repository.check(
                connection, **ids, upload=upload, mode=started["mode"]
            )
            await repository.record_errors(connection, **ids)
            await repository.set_stage(
                connection, **ids, stage="checked", valid_rows=total - bad, error_count=bad
            )
            if bad and not started["skip_bad_rows"]:
                await repository.set_stage(
                    connection,
                    **ids,
                    status="failed",
                    stage="refused",
                    error=(
                        f"{bad:,} of {total:,} rows have problems (each listed with its row, field"
                        " and reason); nothing was written. Fix them and upload again, or upload"
                        " with skip_bad_rows=true to write the good rows."
                    ),
                )
                return
            await repository.set_stage(connection, **ids, stage="writing")
            write = (
                repository.write_people
                if upload.target == "people"
                else repository.write_connections
            )
            async with connection.transaction():
                inserted, updated, deleted = await write(connection, **ids)
                await repository.notify_imported(connection, tenant_id=tenant_id)
                await repository.set_stage(
                    connection,
                    **ids,
                    status="succeeded",
                    stage="done",
                    inserted=inserted,
                    updated=updated,
                    deleted=deleted,
                )
        except (asyncpg.PostgresError, OSError) as error:
            logger.exception("proximity import %s failed", import_id)
            await repository.set_stage(
                connection,
                **ids,
                status="failed",
                stage="failed",
                error=f"the import failed and wrote nothing: {error}; upload the file again",
            )
        finally:
            await repository.drop_tables(connection, import_id=import_id)
    finally:
        await connection.close()


async def _wait_visible(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, import_id: uuid.UUID
) -> asyncpg.Record | None:
    waited = 0.0
    while (
        started := await repository.start_import(
            connection, tenant_id=tenant_id, import_id=import_id
        )
    ) is None:
        status = await repository.import_status(
            connection, tenant_id=tenant_id, import_id=import_id
        )
        # Ended already (a repeated job), or never committed: nothing to do. (Pending means
        # it was committed just after the first look: look again.)
        if status in ("succeeded", "failed") or (status is None and waited >= VISIBLE_WAIT_SECONDS):
            logger.warning("proximity import %s never became runnable", import_id)
            await repository.drop_tables(connection, import_id=import_id)
            return None
        if status is None:
            await asyncio.sleep(0.2)
            waited += 0.2
    return started

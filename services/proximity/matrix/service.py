"""The accounts × reps matrix as a job: queued by the API, computed on the worker from the
tenant's cached graph (scoring/graph.py ``TenantGraph.matrix``), kept as a gzip CSV."""

import asyncio
import csv
import gzip
import io
import logging
import uuid

import numpy as np
from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.matrix import repository
from services.proximity.matrix.errors import JobNotFound, ResultNotReady
from services.proximity.matrix.schemas import MatrixCreate, ProximityJobRead
from services.proximity.scoring import cache
from shared.jobs.connection import open_job_connection
from shared.models import ProximityJob
from shared.settings import Settings

logger = logging.getLogger(__name__)
TASK_NAME = "proximity:score_matrix"
KIND = "matrix"
CSV_HEADER = ("account_id", "rep_id", "score")
# The job row is committed with the request, which may end after the worker picked the job up.
VISIBLE_WAIT_SECONDS = 30.0


def to_read(job: ProximityJob) -> ProximityJobRead:
    return ProximityJobRead.model_validate(job, from_attributes=True)


async def start_matrix(
    session: AsyncSession, queue: App, *, tenant_id: uuid.UUID, data: MatrixCreate
) -> ProximityJobRead:
    job = await repository.add(session, tenant_id=tenant_id, kind=KIND, max_hops=data.max_hops)
    await queue.configure_task(TASK_NAME).defer_async(job_id=str(job.id), tenant_id=str(tenant_id))
    return to_read(job)


async def get_job(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> ProximityJob:
    job = await repository.get(session, tenant_id=tenant_id, job_id=job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


async def result_csv(session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID) -> bytes:
    job = await get_job(session, tenant_id=tenant_id, job_id=job_id)
    if job.status != "succeeded" or job.result_csv_gzip is None:
        raise ResultNotReady(job_id, job.status)
    return gzip.decompress(job.result_csv_gzip)


def matrix_csv(
    scores: np.ndarray, account_ids: list[uuid.UUID], rep_ids: list[uuid.UUID]
) -> tuple[bytes, int]:
    """Rows (account_id, rep_id, score) for every pair with a path, best rep first per account."""
    rounded = np.round(scores, 6)
    rows, columns = np.nonzero(rounded > 0)
    order = np.lexsort((columns, -rounded[rows, columns], rows))
    rows, columns = rows[order], columns[order]
    accounts = [str(account_id) for account_id in account_ids]
    reps = [str(rep_id) for rep_id in rep_ids]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(
        zip(
            (accounts[row] for row in rows.tolist()),
            (reps[column] for column in columns.tolist()),
            rounded[rows, columns].tolist(),
            strict=True,
        )
    )
    return gzip.compress(buffer.getvalue().encode(), compresslevel=5), len(rows)


async def run_matrix(*, settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
    connection = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="proximity-matrix"
    )
    try:
        max_hops = None
        waited = 0.0
        while (
            max_hops := await repository.start(connection, tenant_id=tenant_id, job_id=job_id)
        ) is None:
            if waited >= VISIBLE_WAIT_SECONDS:
                logger.warning("proximity job %s never became visible", job_id)
                return
            await asyncio.sleep(0.2)
            waited += 0.2
        try:
            async with connection.transaction():
                graph = await cache.tenant_graph(connection, tenant_id=tenant_id)
            scores = await asyncio.to_thread(graph.matrix, max_hops=max_hops)
            payload, rows = await asyncio.to_thread(
                matrix_csv, scores, graph.account_ids, graph.rep_ids
            )
        except Exception as error:
            logger.exception("proximity matrix job %s failed", job_id)
            await repository.fail(
                connection, tenant_id=tenant_id, job_id=job_id, error=f"the matrix failed: {error}"
            )
            return
        await repository.finish(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            total_accounts=len(graph.account_ids),
            result_rows=rows,
            result_csv_gzip=payload,
        )
    finally:
        await connection.close()

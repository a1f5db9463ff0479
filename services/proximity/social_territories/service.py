"""Social territories: the request checks what it can and queues a job; the worker loads the
reps, accounts and territories from the assignment service (HTTP), the scores from the cached
graph (one matrix pass), solves (solver.py), compares with the current assignment and a greedy
baseline, optionally saves a draft alignment, and keeps the result (JSON, gzip)."""

import asyncio
import gzip
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import numpy as np
from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.scoring import cache
from services.proximity.social_territories import client as assignment
from services.proximity.social_territories import repository, solver
from services.proximity.social_territories.distance import within
from services.proximity.social_territories.errors import (
    Infeasible,
    JobAlreadyEnded,
    ResultNotReady,
    SocialJobNotFound,
)
from services.proximity.social_territories.schemas import (
    AccountAssignment,
    BalanceSpec,
    Comparison,
    DraftSaved,
    RepLoad,
    SocialTerritoriesCreate,
    SocialTerritoriesJobRead,
    SocialTerritoriesResult,
)
from shared.http_client import ServiceClient
from shared.jobs.connection import open_job_connection
from shared.models import SocialTerritoryJob
from shared.settings import Settings

logger = logging.getLogger(__name__)
TASK_NAME = "proximity:social_territories:solve"
# The job row is committed with the request, which may end after the worker picked the job up.
VISIBLE_WAIT_SECONDS = 30.0
# The criteria language takes up to 10,000 values per condition.
DOMAINS_PER_CONDITION = 10_000


class JobCancelled(Exception):
    """A cancel was asked: the job stops at the stage it reached, writing nothing more."""


# Records the stage and progress (and the accounts once known); raises JobCancelled.
Advance = Callable[[str, float, int | None], Awaitable[None]]


def to_read(job: SocialTerritoryJob) -> SocialTerritoriesJobRead:
    return SocialTerritoriesJobRead.model_validate(job, from_attributes=True)


def count_bounds(
    balance: BalanceSpec, *, accounts: int, reps: int, capacity: int | None
) -> tuple[float, float]:
    """Per rep [min, max] accounts: explicit, or ± tolerance of the mean rounded outward to
    whole accounts (so a fractional mean never makes the bounds cross); capacity caps max."""
    low, high = 0.0, math.inf
    if balance.by == "accounts":
        if balance.min is not None or balance.max is not None:
            low = balance.min if balance.min is not None else 0.0
            high = balance.max if balance.max is not None else math.inf
        elif balance.tolerance is not None and reps:
            mean = accounts / reps
            low = math.floor(mean * (1 - balance.tolerance) + 1e-9)
            high = math.ceil(mean * (1 + balance.tolerance) - 1e-9)
    if capacity is not None:
        high = min(high, float(capacity))
    return max(low, 0.0), high


def check_counts(data: SocialTerritoriesCreate, *, accounts: int, reps: int) -> None:
    """What can be told without the assignment service: enough reps and room for the accounts."""
    if accounts == 0:
        return
    if reps == 0:
        raise Infeasible(
            "there are no reps to assign to: add reps to the proximity graph or send rep_ids",
            field="rep_ids",
        )
    low, high = count_bounds(
        data.balance, accounts=accounts, reps=reps, capacity=data.max_accounts_per_rep
    )
    if high * reps < accounts:
        field = (
            "max_accounts_per_rep"
            if data.max_accounts_per_rep is not None and data.max_accounts_per_rep * reps < accounts
            else "balance"
        )
        raise Infeasible(
            f"{reps} reps × at most {high:g} accounts each = {high * reps:g} places for "
            f"{accounts} accounts: raise max_accounts_per_rep, add reps or widen the balance",
            field=field,
        )
    if low * reps > accounts:
        raise Infeasible(
            f"{reps} reps × at least {low:g} accounts each = {low * reps:g} needs more than the "
            f"{accounts} accounts: lower balance.min or widen the tolerance",
            field="balance",
        )
    if low > high:
        raise Infeasible(
            f"the balance minimum {low:g} is above the maximum {high:g} per rep",
            field="max_accounts_per_rep",
        )


async def start(
    session: AsyncSession,
    queue: App,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    data: SocialTerritoriesCreate,
) -> SocialTerritoriesJobRead:
    accounts = (
        len(set(data.account_ids))
        if data.account_ids is not None
        else await repository.graph_accounts(session, tenant_id=tenant_id)
    )
    reps = (
        len(set(data.rep_ids))
        if data.rep_ids is not None
        else await repository.graph_reps(session, tenant_id=tenant_id)
    )
    check_counts(data, accounts=accounts, reps=reps)
    job = await repository.add(
        session, tenant_id=tenant_id, parameters=data.model_dump(mode="json")
    )
    # The caller's key travels with the job: the worker calls the assignment service as the
    # caller, like every service-to-service call (shared/http_client.py forwards keys).
    await queue.configure_task(TASK_NAME).defer_async(
        job_id=str(job.id), tenant_id=str(tenant_id), api_key=api_key
    )
    return to_read(job)


async def get_job(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> SocialTerritoryJob:
    job = await repository.get(session, tenant_id=tenant_id, job_id=job_id)
    if job is None:
        raise SocialJobNotFound(job_id)
    return job


async def result_json(session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID) -> bytes:
    job = await get_job(session, tenant_id=tenant_id, job_id=job_id)
    if job.status != "succeeded" or job.result_json_gzip is None:
        raise ResultNotReady(job_id, job.status)
    return gzip.decompress(job.result_json_gzip)


async def cancel(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> SocialTerritoriesJobRead:
    job = await get_job(session, tenant_id=tenant_id, job_id=job_id)
    if job.status not in ("pending", "running"):
        raise JobAlreadyEnded(job_id, job.status)
    cancelled = await repository.request_cancel(session, tenant_id=tenant_id, job_id=job_id)
    assert cancelled is not None
    return to_read(cancelled)


def _deviation(loads: np.ndarray) -> float:
    mean = float(loads.mean()) if len(loads) else 0.0
    return float(np.abs(loads - mean).max() / mean) if mean > 0 else 0.0


def _comparison(
    scores: np.ndarray,
    rep_of: np.ndarray,
    measure: np.ndarray,
    *,
    reference: np.ndarray | None,
) -> Comparison:
    placed = rep_of >= 0
    reps = scores.shape[1]
    total = float(scores[np.flatnonzero(placed), rep_of[placed]].sum())
    loads = np.bincount(rep_of[placed], weights=measure[placed], minlength=reps)
    comparison = Comparison(
        total_proximity=round(total, 6),
        unassigned=int((~placed).sum()),
        balance_deviation=round(_deviation(loads), 6),
    )
    if reference is not None:
        ref_placed = reference >= 0
        reference_total = float(scores[np.flatnonzero(ref_placed), reference[ref_placed]].sum())
        comparison.accounts_moved = int(((rep_of != reference) & placed).sum())
        comparison.proximity_gained = round(total - reference_total, 6)
    return comparison


async def run(*, settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID, api_key: str) -> None:
    connection = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="proximity-social-territories"
    )
    client = ServiceClient(
        service="assignment",
        base_url=settings.service_url("assignment"),
        timeout_seconds=settings.http_timeout_seconds,
        retries=settings.http_retries,
    )
    try:
        waited = 0.0
        while (
            started := await repository.start(connection, tenant_id=tenant_id, job_id=job_id)
        ) is None:
            if waited >= VISIBLE_WAIT_SECONDS:
                logger.warning("social territories job %s never became visible", job_id)
                return
            await asyncio.sleep(0.2)
            waited += 0.2
        status_before, parameters = started
        if status_before not in ("pending", "running"):
            return  # cancelled while queued, or a retry of a job that already ended

        async def advance(stage: str, progress: float, accounts: int | None) -> None:
            if not await repository.advance(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                stage=stage,
                progress=progress,
                accounts=accounts,
            ):
                raise JobCancelled

        try:
            data = SocialTerritoriesCreate.model_validate(parameters)
            result, summary = await _compute(
                connection,
                client,
                tenant_id=tenant_id,
                job_id=job_id,
                api_key=api_key,
                data=data,
                advance=advance,
            )
        except JobCancelled:
            await repository.end(
                connection, tenant_id=tenant_id, job_id=job_id, status="cancelled", error=None
            )
            return
        except (solver.InfeasibleProblem, Infeasible) as error:
            await repository.end(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                status="failed",
                error=f"infeasible: {error}",
            )
            return
        except Exception as error:
            logger.exception("social territories job %s failed", job_id)
            await repository.end(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                status="failed",
                error=f"social territories failed: {error}",
            )
            return
        payload = await asyncio.to_thread(
            lambda: gzip.compress(result.model_dump_json().encode(), compresslevel=5)
        )
        await repository.finish(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            summary=summary,
            result_json_gzip=payload,
        )
    finally:
        await client.aclose()
        await connection.close()


async def _compute(
    connection: asyncpg.Connection,
    client: ServiceClient,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    api_key: str,
    data: SocialTerritoriesCreate,
    advance: Advance,
) -> tuple[SocialTerritoriesResult, dict[str, Any]]:
    remote_reps = await assignment.list_reps(client, api_key=api_key)
    remote_accounts = await assignment.list_accounts(client, api_key=api_key)
    territories = await assignment.active_territories(client, api_key=api_key)
    async with connection.transaction():
        graph = await cache.tenant_graph(connection, tenant_id=tenant_id)

    reps_by_id = {rep.id: rep for rep in remote_reps}
    if data.rep_ids is not None:
        unknown = [r for r in dict.fromkeys(data.rep_ids) if r not in reps_by_id]
        if unknown:
            raise Infeasible(f"unknown rep ids: {', '.join(map(str, unknown[:10]))}")
        rep_ids = [r for r in dict.fromkeys(data.rep_ids) if reps_by_id[r].active]
    else:
        rep_ids = [r for r in graph.rep_ids if r in reps_by_id and reps_by_id[r].active]
    accounts_by_id = {account.id: account for account in remote_accounts}
    if data.account_ids is not None:
        wanted = list(dict.fromkeys(data.account_ids))
        unknown = [a for a in wanted if a not in accounts_by_id]
        if unknown:
            raise Infeasible(f"unknown account ids: {', '.join(map(str, unknown[:10]))}")
    else:
        wanted = [a for a in graph.account_ids if a in accounts_by_id]
    accounts = [accounts_by_id[a] for a in wanted]
    check_counts(data, accounts=len(accounts), reps=len(rep_ids))
    await advance("scoring", 0.1, len(accounts))

    full = await asyncio.to_thread(graph.matrix, max_hops=data.max_hops)
    graph_row = {account_id: i for i, account_id in enumerate(graph.account_ids)}
    rows = np.array([graph_row.get(a.id, -1) for a in accounts], dtype=np.int64)
    columns = np.array([graph.rep_position.get(r, -1) for r in rep_ids], dtype=np.int64)
    scores = np.zeros((len(accounts), len(rep_ids)))
    has_row, has_column = rows >= 0, columns >= 0
    if has_row.any() and has_column.any():
        scores[np.ix_(np.flatnonzero(has_row), np.flatnonzero(has_column))] = full[
            np.ix_(rows[has_row], columns[has_column])
        ]
    scores = np.round(scores, 6)
    del full
    await advance("solving", 0.4, None)

    rep_column = {rep_id: i for i, rep_id in enumerate(rep_ids)}
    owner_of_territory = {
        t.id: next((m.rep_id for m in t.members if m.role == "owner"), None) for t in territories
    }

    def current_rep(account: assignment.RemoteAccount) -> int:
        if account.owner_rep_id in rep_column:
            return rep_column[account.owner_rep_id]
        owner = owner_of_territory.get(account.territory_id) if account.territory_id else None
        return rep_column.get(owner, -1) if owner is not None else -1

    current = np.array([current_rep(a) for a in accounts], dtype=np.int64)
    potential = np.array([float(a.potential or 0) for a in accounts])
    allowed = None
    if data.max_distance_km is not None:
        geometries: dict[uuid.UUID, list[dict[str, Any]]] = {r: [] for r in rep_ids}
        for territory in territories:
            if territory.geometry is None:
                continue
            for member in territory.members:
                if member.role == "owner" and member.rep_id in geometries:
                    geometries[member.rep_id].append(territory.geometry)
        points = [
            a.location["coordinates"] if a.location else (math.nan, math.nan) for a in accounts
        ]
        coordinates = np.array(points, dtype=np.float64).reshape(-1, 2)
        allowed = await asyncio.to_thread(
            within,
            longitudes=coordinates[:, 0],
            latitudes=coordinates[:, 1],
            rep_geometries=[geometries[r] for r in rep_ids],
            max_km=data.max_distance_km,
        )
    low, high = count_bounds(
        data.balance, accounts=len(accounts), reps=len(rep_ids), capacity=data.max_accounts_per_rep
    )
    capacity = np.full(
        len(rep_ids),
        data.max_accounts_per_rep if data.max_accounts_per_rep is not None else len(accounts),
        dtype=np.int64,
    )
    if data.balance.by == "accounts":
        lower = np.full(len(rep_ids), low)
        upper = np.full(len(rep_ids), min(high, float(len(accounts))))
    else:
        mean = float(potential.sum()) / max(len(rep_ids), 1)
        tolerance = data.balance.tolerance if data.balance.tolerance is not None else math.inf
        p_low = (
            data.balance.min
            if data.balance.min is not None
            else (0.0 if math.isinf(tolerance) else mean * (1 - tolerance))
        )
        p_high = (
            data.balance.max
            if data.balance.max is not None
            else (float(potential.sum()) if math.isinf(tolerance) else mean * (1 + tolerance))
        )
        lower = np.full(len(rep_ids), max(p_low, 0.0))
        upper = np.full(len(rep_ids), p_high)
    problem = solver.Problem(
        scores=scores,
        current=current,
        capacity=capacity,
        lower=lower,
        upper=upper,
        balance_by=data.balance.by,
        potential=potential,
        allowed=allowed,
        top_k=data.top_k,
    )
    solution = await asyncio.to_thread(solver.solve, problem)
    await advance("comparing", 0.8, None)
    greedy = await asyncio.to_thread(solver.greedy, problem)

    measure = np.ones(len(accounts)) if data.balance.by == "accounts" else potential
    rep_of = solution.rep_of
    optimised = _comparison(scores, rep_of, measure, reference=current)
    draft = None
    if data.draft is not None:
        await advance("drafting", 0.9, None)
        draft = await _save_draft(
            client,
            api_key=api_key,
            name=data.draft.name,
            accounts=accounts,
            rep_ids=rep_ids,
            reps_by_id=reps_by_id,
            rep_of=rep_of,
        )
    placed = rep_of >= 0
    current_placed = current >= 0
    index = np.arange(len(accounts))
    score_of = np.where(placed, scores[index, np.maximum(rep_of, 0)], 0.0)
    current_score = np.where(current_placed, scores[index, np.maximum(current, 0)], 0.0)
    loads = np.bincount(rep_of[placed], minlength=len(rep_ids))
    potential_loads = np.bincount(rep_of[placed], weights=potential[placed], minlength=len(rep_ids))
    proximity_loads = np.bincount(rep_of[placed], weights=score_of[placed], minlength=len(rep_ids))
    current_loads = np.bincount(current[current_placed], minlength=len(rep_ids))
    current_potential = np.bincount(
        current[current_placed], weights=potential[current_placed], minlength=len(rep_ids)
    )
    greedy_loads = np.bincount(greedy[greedy >= 0], minlength=len(rep_ids))
    result = SocialTerritoriesResult(
        job_id=job_id,
        method=solution.method,
        status=solution.status,
        proven_optimal=solution.proven_optimal,
        total_proximity=round(solution.total, 6),
        lp_bound=None if solution.bound is None else round(solution.bound, 6),
        gap=None if solution.gap is None else round(solution.gap, 8),
        candidate_bound=solution.candidate_bound,
        candidate_arcs=solution.arcs,
        fallback_accounts=solution.fallback_accounts,
        balance_by=data.balance.by,
        max_hops=data.max_hops,
        seconds={name: round(value, 3) for name, value in solution.seconds.items()},
        current=_comparison(scores, current, measure, reference=None),
        greedy=_comparison(scores, greedy, measure, reference=current),
        optimised=optimised,
        reps=[
            RepLoad(
                rep_id=rep_id,
                name=reps_by_id[rep_id].name,
                accounts=int(loads[i]),
                potential=round(float(potential_loads[i]), 2),
                proximity=round(float(proximity_loads[i]), 6),
                current_accounts=int(current_loads[i]),
                current_potential=round(float(current_potential[i]), 2),
                greedy_accounts=int(greedy_loads[i]),
                minimum=float(lower[i]),
                maximum=float(upper[i])
                if data.balance.by == "potential"
                else float(min(upper[i], capacity[i])),
            )
            for i, rep_id in enumerate(rep_ids)
        ],
        assignments=[
            AccountAssignment(
                account_id=account.id,
                external_id=account.external_id,
                rep_id=rep_ids[rep_of[i]] if rep_of[i] >= 0 else None,
                score=float(score_of[i]),
                current_rep_id=rep_ids[current[i]] if current[i] >= 0 else None,
                current_score=float(current_score[i]),
                moved=bool(rep_of[i] >= 0 and rep_of[i] != current[i]),
            )
            for i, account in enumerate(accounts)
        ],
        draft=draft,
    )
    summary = result.model_dump(mode="json", exclude={"assignments", "reps"})
    return result, summary


async def _save_draft(
    client: ServiceClient,
    *,
    api_key: str,
    name: str,
    accounts: list[assignment.RemoteAccount],
    rep_ids: list[uuid.UUID],
    reps_by_id: dict[uuid.UUID, assignment.RemoteRep],
    rep_of: np.ndarray,
) -> DraftSaved:
    """One territory per rep, first by priority (0), whose rule names its accounts by domain
    (the matcher places accounts, and routes leads, by domain; it has no rule on external ids),
    in a clone of the active alignment (so geography and the fallback stay as they are)."""
    domains: dict[int, list[str]] = {}
    reps_of_domain: dict[str, set[int]] = {}
    without_domain: list[uuid.UUID] = []
    for i, account in enumerate(accounts):
        if rep_of[i] < 0:
            continue
        if not account.domain:
            without_domain.append(account.id)
            continue
        domains.setdefault(int(rep_of[i]), []).append(account.domain)
        reps_of_domain.setdefault(account.domain, set()).add(int(rep_of[i]))
    features = []
    for column, values in sorted(domains.items()):
        unique = sorted(set(values))
        conditions = [
            {"field": "domain", "op": "in", "values": unique[start : start + DOMAINS_PER_CONDITION]}
            for start in range(0, len(unique), DOMAINS_PER_CONDITION)
        ]
        rep = reps_by_id[rep_ids[column]]
        features.append(
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "name": f"Social: {rep.name} ({str(rep.id)[:8]})",
                    "criteria": conditions[0] if len(conditions) == 1 else {"any": conditions},
                    "priority": 0,
                    "members": [{"rep_id": str(rep.id), "role": "owner"}],
                },
            }
        )
    active = await assignment.active_alignment_id(client, api_key=api_key)
    if active is None:
        features.append(
            {
                "type": "Feature",
                "geometry": None,
                # Owned by every rep of the result (round robin), so the draft can be published.
                "properties": {
                    "name": "Social territories: fallback",
                    "is_fallback": True,
                    "members": [{"rep_id": str(rep_id), "role": "owner"} for rep_id in rep_ids],
                },
            }
        )
    alignment_id = await assignment.create_draft(
        client, api_key=api_key, name=name, clone_of=active, features=features
    )
    return DraftSaved(
        alignment_id=alignment_id,
        territories=len(features),
        accounts_without_domain=without_domain,
        shared_domains=sum(1 for reps in reps_of_domain.values() if len(reps) > 1),
    )

"""Account potential from firmographics and history (scikit-learn), with its held-out error."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods
from services.metrics.potential import model, repository
from services.metrics.potential.errors import PotentialNotFitted
from services.metrics.potential.schemas import (
    AccountEstimate,
    AccountPotential,
    PotentialModelRead,
    PotentialRunRead,
)
from services.metrics.settings import service as settings_service
from shared.models import PotentialModelRun

MODEL_NAME = (
    "ridge regression (scikit-learn, alpha 1.0) of log1p(won revenue) on log1p(employee_count), "
    "log1p(annual_revenue) and one-hot industry; medians impute missing numbers"
)


@dataclass
class _Fitted:
    frame: pd.DataFrame
    fitted: model.PotentialFit | None
    start: date
    end: date
    currency: str


async def _fit(
    session: AsyncSession, *, tenant_id: uuid.UUID, as_of: date | None, months: int
) -> _Fitted:
    calendar = await settings_service.calendar(session, tenant_id=tenant_id)
    zone = calendar.time_zone
    end = periods.check_day(as_of, "as_of") if as_of else datetime.now(UTC).astimezone(zone).date()
    start = periods.add_months(date(end.year, end.month, 1), -months).replace(day=min(end.day, 28))
    rows = await repository.accounts_with_revenue(
        session,
        tenant_id=tenant_id,
        start_at=periods.local_midnight(start, zone),
        end_at=periods.local_midnight(end, zone),
    )
    frame = pd.DataFrame([dict(row) for row in rows])
    fitted = await run_in_threadpool(model.fit, frame) if len(frame) else None
    return _Fitted(frame, fitted, start, end, calendar.currency)


def _too_few() -> str:
    return (
        f"fewer than {model.MIN_TRAINING_ACCOUNTS} accounts won anything in the window: too few "
        "to learn from"
    )


async def account_potential(
    session: AsyncSession, *, tenant_id: uuid.UUID, as_of: date | None, months: int, limit: int
) -> PotentialModelRead:
    result = await _fit(session, tenant_id=tenant_id, as_of=as_of, months=months)
    frame, fitted = result.frame, result.fitted
    common = {
        "model": MODEL_NAME,
        "features": model.FEATURES,
        "window_start": result.start,
        "window_end": result.end,
        "currency": result.currency,
    }
    if fitted is None:
        return PotentialModelRead(
            **common,
            trained_on=0,
            held_out=0,
            held_out_mape=None,
            held_out_r2=None,
            reason=_too_few(),
            accounts=[],
        )
    frame["estimated"] = fitted.estimates
    frame["untapped"] = (frame["estimated"] - frame["revenue"].astype(float)).clip(lower=0)
    top = frame.sort_values(["untapped", "account_id"], ascending=[False, True]).head(limit)
    return PotentialModelRead(
        **common,
        trained_on=fitted.trained_on,
        held_out=fitted.held_out,
        held_out_mape=fitted.held_out_mape,
        held_out_r2=fitted.held_out_r2,
        accounts=[
            AccountPotential(
                account_id=record["account_id"],
                name=record["name"],
                territory_id=record["territory_id"],
                stated_potential=float(record["potential"])
                if record["potential"] is not None and not pd.isna(record["potential"])
                else None,
                estimated_potential=float(record["estimated"]),
                revenue=float(record["revenue"]),
                untapped=float(record["untapped"]),
            )
            for record in top.to_dict("records")
        ],
    )


async def store_run(
    session: AsyncSession, *, tenant_id: uuid.UUID, as_of: date | None, months: int
) -> PotentialRunRead:
    """Fit the model and keep its estimate of every account as a run (the planning service's
    measures and the quota suggestions read the latest)."""
    result = await _fit(session, tenant_id=tenant_id, as_of=as_of, months=months)
    if result.fitted is None:
        raise PotentialNotFitted(_too_few())
    fitted = result.fitted
    run = await repository.add_run(
        session,
        tenant_id=tenant_id,
        values={
            "model": MODEL_NAME,
            "window_start": result.start,
            "window_end": result.end,
            "trained_on": fitted.trained_on,
            "held_out": fitted.held_out,
            "held_out_mape": fitted.held_out_mape,
            "held_out_r2": fitted.held_out_r2,
            "currency": result.currency,
        },
        account_ids=list(result.frame["account_id"]),
        estimates=[float(value) for value in fitted.estimates],
    )
    return _run_read(run, accounts=len(result.frame))


def _run_read(run: PotentialModelRun, *, accounts: int) -> PotentialRunRead:
    return PotentialRunRead(
        id=run.id,
        model=run.model,
        window_start=run.window_start,
        window_end=run.window_end,
        currency=run.currency,
        trained_on=run.trained_on,
        held_out=run.held_out,
        held_out_mape=run.held_out_mape,
        held_out_r2=run.held_out_r2,
        accounts=accounts,
        created_at=run.created_at,
    )


NO_RUN = "no potential model run is stored yet: POST /metrics/account-potential/runs first"


async def latest_estimates(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int, offset: int
) -> tuple[PotentialRunRead | None, list[AccountEstimate]]:
    """The latest run and a page of its estimates (by account id); (None, []) before any run."""
    latest = await repository.latest_run(session, tenant_id=tenant_id)
    if latest is None:
        return None, []
    run, accounts = latest
    rows = await repository.estimates(
        session, tenant_id=tenant_id, run_id=run.id, limit=limit, offset=offset
    )
    return _run_read(run, accounts=accounts), [
        AccountEstimate(account_id=row.account_id, estimate=row.estimate) for row in rows
    ]

"""Account potential from firmographics and history (scikit-learn), with its held-out error."""

import uuid
from datetime import UTC, date, datetime

import pandas as pd
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import periods
from services.metrics.potential import model, repository
from services.metrics.potential.schemas import AccountPotential, PotentialModelRead
from services.metrics.settings import service as settings_service

MODEL_NAME = (
    "ridge regression (scikit-learn, alpha 1.0) of log1p(won revenue) on log1p(employee_count), "
    "log1p(annual_revenue) and one-hot industry; medians impute missing numbers"
)


async def account_potential(
    session: AsyncSession, *, tenant_id: uuid.UUID, as_of: date | None, months: int, limit: int
) -> PotentialModelRead:
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
    common = {
        "model": MODEL_NAME,
        "features": model.FEATURES,
        "window_start": start,
        "window_end": end,
        "currency": calendar.currency,
    }
    if fitted is None:
        return PotentialModelRead(
            **common,
            trained_on=0,
            held_out=0,
            held_out_mape=None,
            held_out_r2=None,
            reason=f"fewer than {model.MIN_TRAINING_ACCOUNTS} accounts won anything in the "
            "window: too few to learn from",
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

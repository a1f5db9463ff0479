"""Seasonal revenue forecasts: statsmodels' Holt-Winters exponential smoothing, back-tested.

The model: additive trend and additive seasonality (``ExponentialSmoothing``, parameters by
maximum likelihood) when the history holds at least two full seasons; simple exponential
smoothing otherwise. Its error is the MAPE of one-step-ahead forecasts of each of the last 4
periods, each fitted on the history before it; beside it the naive seasonal baseline (the same
period a season earlier), over the same 4 periods. Periods with 0 revenue are left out of a
MAPE (a percentage of 0 is undefined); when all 4 are 0 the MAPE is null.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

BACKTEST_PERIODS = 4


@dataclass(frozen=True)
class Forecast:
    model: str
    values: list[float]
    backtest_mape: float | None
    baseline_mape: float | None
    backtest_periods: int


def _fit(history: np.ndarray, season: int) -> tuple[str, object]:
    with warnings.catch_warnings():
        # Short, flat or zero-heavy histories make the optimiser warn; the fit is still usable.
        warnings.simplefilter("ignore")
        if len(history) >= 2 * season:
            model = ExponentialSmoothing(
                history,
                trend="add",
                seasonal="add",
                seasonal_periods=season,
                initialization_method="estimated",
            )
            return "holt_winters_additive", model.fit()
        model = ExponentialSmoothing(history, initialization_method="estimated")
        return "simple_exponential_smoothing", model.fit()


def _predict(history: np.ndarray, season: int, steps: int) -> tuple[str, np.ndarray]:
    if len(history) < 2:
        # Too short for any fit: carry the last value (or 0) forward.
        last = float(history[-1]) if len(history) else 0.0
        return "last_value", np.full(steps, last)
    name, fitted = _fit(history, season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(fitted.forecast(steps), dtype=np.float64)  # type: ignore[attr-defined]
    return name, np.clip(np.nan_to_num(values), 0, None)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    mask = actual != 0
    if not mask.any():
        return None
    return float(np.mean(np.abs(actual[mask] - predicted[mask]) / np.abs(actual[mask])))


def forecast(history: list[float], *, season: int, horizon: int) -> Forecast:
    series = np.asarray(history, dtype=float)
    model, values = _predict(series, season, horizon)
    folds = min(BACKTEST_PERIODS, max(len(series) - season, 0))
    if folds == 0:
        return Forecast(model, values.tolist(), None, None, 0)
    actual = series[-folds:]
    predicted = np.array(
        [_predict(series[: len(series) - folds + index], season, 1)[1][0] for index in range(folds)]
    )
    baseline = series[len(series) - folds - season : len(series) - season]
    return Forecast(
        model, values.tolist(), _mape(actual, predicted), _mape(actual, baseline), folds
    )

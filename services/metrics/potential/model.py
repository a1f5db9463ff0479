"""Account potential: a scikit-learn regression of won revenue on firmographics.

The model: ``log1p(won revenue over the window) ~ log1p(employee_count) +
log1p(annual_revenue) + industry`` (one-hot), ridge regression (alpha 1.0), trained on the
accounts that won anything in the window (the ones whose revenue shows what they can buy);
missing numbers are imputed with the median. Its error is measured on 25% of those accounts
held out (seeded split): mean absolute percentage error and R² of revenue (not of its log).
The fitted model then estimates every account's potential, won something or not.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_percentage_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

NUMERIC = ["employee_count", "annual_revenue"]
CATEGORICAL = ["industry"]
FEATURES = [*NUMERIC, *CATEGORICAL]
MIN_TRAINING_ACCOUNTS = 8
HOLD_OUT_SHARE = 0.25
SEED = 0


@dataclass(frozen=True)
class PotentialFit:
    estimates: np.ndarray
    trained_on: int
    held_out: int
    held_out_mape: float
    held_out_r2: float


def _pipeline() -> Pipeline:
    numeric = make_pipeline(
        SimpleImputer(strategy="median"),
        FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
    )
    categorical = OneHotEncoder(handle_unknown="ignore")
    features = ColumnTransformer(
        [("numeric", numeric, NUMERIC), ("industry", categorical, CATEGORICAL)]
    )
    return Pipeline([("features", features), ("ridge", Ridge(alpha=1.0))])


def fit(frame: pd.DataFrame) -> PotentialFit | None:
    """Estimates for every row of ``frame`` (columns FEATURES + revenue); None if too few won."""
    frame = frame.assign(industry=frame["industry"].fillna("unknown"))
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    won = frame[frame["revenue"] > 0]
    if len(won) < MIN_TRAINING_ACCOUNTS:
        return None
    train, test = train_test_split(won, test_size=HOLD_OUT_SHARE, random_state=SEED)
    model = _pipeline().fit(train[FEATURES], np.log1p(train["revenue"].to_numpy(float)))
    predicted = np.expm1(model.predict(test[FEATURES]))
    actual = test["revenue"].to_numpy(float)
    final = _pipeline().fit(won[FEATURES], np.log1p(won["revenue"].to_numpy(float)))
    return PotentialFit(
        estimates=np.clip(np.expm1(final.predict(frame[FEATURES])), 0, None),
        trained_on=len(train),
        held_out=len(test),
        held_out_mape=float(mean_absolute_percentage_error(actual, predicted)),
        held_out_r2=float(r2_score(actual, predicted)),
    )

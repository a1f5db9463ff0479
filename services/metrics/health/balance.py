"""Balance statistics over per-territory totals (vectorised; one value per territory)."""

import numpy as np

from services.metrics.health.schemas import Balance


def balance(values: list[float]) -> Balance:
    """Mean, coefficient of variation (population), Gini and max/min of one measure."""
    if not values:
        return Balance(
            mean=None,
            coefficient_of_variation=None,
            gini=None,
            max_min_ratio=None,
            reason="the alignment has no territory",
        )
    array = np.asarray(values, dtype=float)
    total, mean = float(array.sum()), float(array.mean())
    if total == 0:
        return Balance(
            mean=mean,
            coefficient_of_variation=None,
            gini=None,
            max_min_ratio=None,
            reason="every territory has 0: nothing to balance",
        )
    ordered = np.sort(array)
    ranks = np.arange(1, len(ordered) + 1)
    gini = float(((2 * ranks - len(ordered) - 1) * ordered).sum() / (len(ordered) * total))
    smallest = float(ordered[0])
    return Balance(
        mean=mean,
        coefficient_of_variation=float(array.std()) / mean,
        gini=gini,
        max_min_ratio=float(ordered[-1]) / smallest if smallest > 0 else None,
        reason=None if smallest > 0 else "a territory has 0, so max/min is unbounded",
    )

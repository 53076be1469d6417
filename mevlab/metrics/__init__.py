"""Distribution metrics: Gini and Herfindahl-Hirschman index."""
from __future__ import annotations

import numpy as np


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = concentrated).

    Uses the sorted-rank form ``G = sum_i (2i - n - 1) x_(i) / (n * sum x)``
    (i = 1..n); NaN for an empty input or a zero total.
    """
    x = np.sort(np.asarray(values, float))
    if x.size == 0:
        return float("nan")
    if np.any(x < 0):
        raise ValueError("gini needs non-negative values")
    total = x.sum()
    if total <= 0:
        return float("nan")
    i = np.arange(1, x.size + 1)
    return float(np.sum((2 * i - x.size - 1) * x) / (x.size * total))


def hhi(values) -> float:
    """Herfindahl-Hirschman index of shares of non-negative values, in [1/n, 1]; NaN if the total is 0."""
    x = np.asarray(values, float)
    if x.size and np.any(x < 0):
        raise ValueError("hhi needs non-negative values")
    total = x.sum()
    if x.size == 0 or total <= 0:
        return float("nan")
    s = x / total
    return float(np.sum(s * s))

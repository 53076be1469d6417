import numpy as np
import pytest

from mevlab.metrics import gini, hhi


def test_gini_known_values():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)      # (n-1)/n for one holder
    # mean absolute difference / (2 * mean), by brute force over all pairs
    x = np.random.default_rng(0).lognormal(size=300)
    mad = np.abs(x[:, None] - x[None, :]).mean()
    assert gini(x) == pytest.approx(mad / (2 * x.mean()), rel=1e-12)
    assert np.isnan(gini([])) and np.isnan(gini([0, 0]))


def test_hhi_known_values():
    assert hhi([1, 1, 1, 1]) == pytest.approx(0.25)
    assert hhi([5, 0, 0]) == pytest.approx(1.0)
    assert hhi([3, 1]) == pytest.approx(0.75**2 + 0.25**2)
    with pytest.raises(ValueError):
        hhi([-1, 2])

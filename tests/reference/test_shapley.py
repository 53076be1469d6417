"""Shapley values against published closed forms and brute force over all orderings."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevlab.metrics.shapley import shapley


def brute_force(players, v):
    """Average marginal contribution over all n! orderings (definition, not the subset formula)."""
    phi = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        s = frozenset()
        for p in order:
            phi[p] += v(s | {p}) - v(s)
            s = s | {p}
    return np.array([phi[p] / len(orders) for p in players])


def airport(costs):
    return lambda s: max((costs[p] for p in s), default=0.0)


def airport_closed_form(costs):
    """Littlechild & Owen (1973): phi_(i) = sum_{k<=i} (c_(k) - c_(k-1)) / (n - k + 1)."""
    n = len(costs)
    order = np.argsort(costs, kind="stable")
    c = np.concatenate([[0.0], np.asarray(costs, float)[order]])
    steps = np.diff(c) / (n - np.arange(n))           # k = 1..n -> divide by n - k + 1
    phi = np.empty(n)
    phi[order] = np.cumsum(steps)
    return phi


def test_glove_game():
    v = lambda s: float("L" in s and bool(s & {"R1", "R2"}))
    df = shapley(["L", "R1", "R2"], v)
    np.testing.assert_allclose(df["shapley"], [2 / 3, 1 / 6, 1 / 6], rtol=0, atol=1e-15)
    assert df.attrs == {"total": 1.0, "method": "exact", "evaluations": 8}
    np.testing.assert_allclose(df["share"], df["shapley"])
    assert (df["stderr"] == 0).all()
    assert list(df.index) == ["L", "R1", "R2"]


def test_airport_game_exact():
    costs = np.random.default_rng(7).uniform(1, 100, 6)
    df = shapley(range(6), airport(costs))
    np.testing.assert_allclose(df["shapley"], airport_closed_form(costs), rtol=1e-12)
    assert df.attrs["total"] == pytest.approx(costs.max())


@pytest.mark.parametrize("n,coalition", [(1, {0}), (5, {1, 3}), (7, {0, 2, 4, 6}), (7, set(range(7)))])
def test_unanimity_game(n, coalition):
    t = frozenset(coalition)
    df = shapley(range(n), lambda s: float(t <= s))
    expected = [1 / len(t) if i in t else 0.0 for i in range(n)]
    np.testing.assert_allclose(df["shapley"], expected, rtol=0, atol=1e-15)


def test_weighted_majority_game():
    # [51; 49, 48, 3]: any two players win, so Shapley-Shubik power is 1/3 each
    w = {"a": 49, "b": 48, "c": 3}
    df = shapley(list(w), lambda s: float(sum(w[p] for p in s) >= 51))
    np.testing.assert_allclose(df["shapley"], [1 / 3] * 3, rtol=1e-15)


def test_additive_game():
    w = np.random.default_rng(3).normal(size=7)
    df = shapley(range(7), lambda s: float(sum(w[i] for i in s)))
    np.testing.assert_allclose(df["shapley"], w, rtol=0, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_exact_matches_all_orderings(seed):
    rng = np.random.default_rng(seed)
    table = dict(zip(itertools.product((0, 1), repeat=5), rng.normal(size=32)))
    v = lambda s: table[tuple(int(i in s) for i in range(5))]
    df = shapley(range(5), v)
    np.testing.assert_allclose(df["shapley"], brute_force(range(5), v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_efficiency_and_symmetry(seed):
    # v depends only on how many players of each type are in S; "a" and "b" share a type
    types = {"a": 0, "b": 0, "c": 1, "d": 2, "e": 2, "f": 3}
    rng = np.random.default_rng(seed)
    table = {counts: rng.normal() for counts in itertools.product(range(3), range(2), range(3), range(2))}

    def v(s):
        counts = [0, 0, 0, 0]
        for p in s:
            counts[types[p]] += 1
        return table[tuple(counts)]

    df = shapley(list(types), v)
    total = v(frozenset(types)) - v(frozenset())
    assert df.attrs["total"] == pytest.approx(total, rel=1e-15, abs=1e-15)
    assert df["shapley"].sum() == pytest.approx(total, rel=1e-12, abs=1e-12)
    assert df.loc["a", "shapley"] == pytest.approx(df.loc["b", "shapley"], rel=1e-12, abs=1e-12)
    assert df.loc["d", "shapley"] == pytest.approx(df.loc["e", "shapley"], rel=1e-12, abs=1e-12)


@given(st.integers(1, 5).flatmap(
    lambda n: st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2 ** n, max_size=2 ** n)))
def test_efficiency_property(table):
    n = len(table).bit_length() - 1
    v = lambda s: table[sum(1 << i for i in s)]
    df = shapley(range(n), v)
    total = table[-1] - table[0]
    assert df.attrs["method"] == "exact"
    assert df["shapley"].sum() == pytest.approx(total, rel=1e-9, abs=1e-6)


def test_sampled_airport_game():
    costs = np.random.default_rng(11).uniform(1, 100, 10)
    calls = []

    def v(s):
        calls.append(s)
        return airport(costs)(s)

    df = shapley(range(10), v, exact_max=8, samples=2000, seed=1)
    assert df.attrs["method"] == "sampled"
    total = costs.max()
    assert df.attrs["total"] == pytest.approx(total, rel=1e-15)
    assert df["shapley"].sum() == pytest.approx(total, rel=1e-9)
    assert (df["stderr"] > 0).all()
    z = (df["shapley"] - airport_closed_form(costs)) / df["stderr"]
    assert (z.abs() < 4).all(), z
    # memoised: one call per distinct coalition
    assert len(calls) == len(set(calls)) == df.attrs["evaluations"]
    assert df.attrs["evaluations"] <= 2 ** 10
    # reproducible given the seed
    again = shapley(range(10), airport(costs), exact_max=8, samples=2000, seed=1)
    np.testing.assert_array_equal(again["shapley"], df["shapley"])


def test_sampled_efficiency_per_sample():
    # a handful of orderings is still exactly efficient (telescoping)
    rng = np.random.default_rng(5)
    table = rng.normal(size=2 ** 9)
    df = shapley(range(9), lambda s: table[sum(1 << i for i in s)], exact_max=4, samples=4)
    assert df["shapley"].sum() == pytest.approx(table[-1] - table[0], rel=1e-12, abs=1e-12)


def test_exact_memoised_and_progress():
    calls, ticks = [], []

    def v(s):
        calls.append(s)
        return float(len(s) ** 2)

    df = shapley("abcde", v, progress=lambda done, total: ticks.append((done, total)))
    assert len(calls) == len(set(calls)) == 32 == df.attrs["evaluations"]
    assert ticks == [(k, 32) for k in range(1, 33)]
    np.testing.assert_allclose(df["shapley"], [5.0] * 5)


def test_zero_total_share_is_nan():
    df = shapley(["x", "y"], lambda s: 1.0 if len(s) == 1 else 0.0)
    assert df.attrs["total"] == 0.0
    assert df["share"].isna().all()
    np.testing.assert_allclose(df["shapley"], [0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("kwargs,match", [
    (dict(players=[]), r"players must contain at least 1"),
    (dict(players=["a", "b", "a"]), r"players must be distinct.*'a'"),
    (dict(exact_max=0), r"exact_max must be an integer in \[1, 20\]"),
    (dict(exact_max=21), r"exact_max must be an integer in \[1, 20\]"),
    (dict(samples=1), r"samples must be an integer >= 2"),
])
def test_argument_errors(kwargs, match):
    args = dict(players=["a", "b"], value=lambda s: 0.0) | kwargs
    with pytest.raises(ValueError, match=match):
        shapley(**args)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_value_names_coalition(bad):
    v = lambda s: bad if s == {"a", "b"} else 1.0
    with pytest.raises(ValueError, match=r"value\(\{'a', 'b'\}\) returned .*finite"):
        shapley(["b", "a", "c"], v)

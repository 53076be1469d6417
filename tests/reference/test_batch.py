"""Batch clearing against independent computations: a bisection solver, the Cournot closed
form, and a brute-force search for the best sandwich."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mevlab.amm.nb import amm_intake_nb, clear_batch_nb
from mevlab.searcher.nb import batch_arb_nb

X, Y = 1000.0, 3e6


def _limits(side, amount, min_out):
    with np.errstate(divide="ignore"):
        return np.where(side == 0, np.where(min_out > 0, min_out / amount, 0.0),
                        np.where(min_out > 0, amount / np.where(min_out > 0, min_out, 1), np.inf))


def _pool_takes(p, x, y, fee, fm):
    """Independent restatement of the pool's net intake at average price p."""
    if fm:
        return (y / p - x) / 2
    g = 1 - fee
    if p < g * y / x:          # dx solves p = g*y/(x + g*dx)
        return (g * y / p - x) / g
    if p > y / (g * x):        # it sells dx_out for dy with p = (y + g*dy)/(g*x)
        dy = (p * g * x - y) / g
        return -dy / p
    return 0.0


def _bisect_price(x, y, fee, fm, side, amount, lim):
    """All-or-nothing excess supply by bisection on log price; returns the bracket where
    it changes sign (the clearing price lies in it, possibly at a limit)."""
    def z(p, incl):
        sel = ((side == 0) & ((lim < p) | (incl & (lim == p)))) | \
              ((side == 1) & ((lim > p) | (incl & (lim == p))))
        xs = amount[sel & (side == 0)].sum()
        yb = amount[sel & (side == 1)].sum()
        return xs - yb / p - _pool_takes(p, x, y, fee, fm)
    lo, hi = 1e-3 * y / x, 1e3 * y / x
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if z(mid, False) > 0:
            hi = mid
        else:
            lo = mid
    return lo, hi


batches = st.integers(0, 2**31).map(np.random.default_rng).map(lambda rng: _batch(rng))


def _batch(rng):
    n = int(rng.integers(1, 30))
    side = rng.integers(0, 2, n).astype(np.int64)
    amount = np.where(side == 0, rng.lognormal(0, 1.5, n), rng.lognormal(8, 1.5, n))
    quote = np.where(side == 0, amount * 3000, amount / 3000)
    min_out = quote * (1 - rng.choice([-0.02, 0.0, 0.001, 0.01, 0.05], n))
    min_out[rng.uniform(size=n) < 0.15] = 0.0
    if n > 4:       # exact ties in limit and size
        side[1], amount[1], min_out[1] = side[0], amount[0], min_out[0]
    fee = float(rng.choice([0.0, 0.0005, 0.003]))
    fm = bool(rng.uniform() < 0.4)
    y = Y * rng.uniform(0.95, 1.05)
    return side, amount, min_out, fee, fm, y


@given(batches)
def test_clearing_is_stable_fair_order_free_and_conserves(batch):
    side, amount, min_out, fee, fm, y = batch
    n = len(side)
    fill = np.zeros(n)
    p = clear_batch_nb(X, y, fee, fm, side, amount, min_out, fill)
    lim = _limits(side, amount, min_out)
    tol = 1e-12
    assert p > 0 and ((fill >= 0) & (fill <= 1)).all()
    # no filled order's limit is violated, no excluded order would accept p
    filled = fill > 0
    assert (lim[filled & (side == 0)] <= p * (1 + tol)).all()
    assert (lim[filled & (side == 1)] >= p * (1 - tol)).all()
    unfilled = fill < 1
    assert not (unfilled & (side == 0) & (lim < p * (1 - tol))).any()
    assert not (unfilled & (side == 1) & (lim > p * (1 + tol))).any()
    # every fill at the one price p; what the orders net is exactly what the pool takes
    xs = (fill * amount)[side == 0].sum()
    yb = (fill * amount)[side == 1].sum()
    assert xs - yb / p == pytest.approx(amm_intake_nb(p, X, y, fee, fm),
                                        abs=1e-9 * max(xs, yb / p, 1e-9))
    # k does not decrease: the pool receives dx and pays p*dx
    dx = xs - yb / p
    assert (X + dx) * (y - p * dx) >= X * y * (1 - 1e-12)
    # the same orders listed in another order give the same result
    perm = np.random.default_rng(n).permutation(n)
    fill2 = np.zeros(n)
    assert clear_batch_nb(X, y, fee, fm, side[perm], amount[perm], min_out[perm], fill2) == p
    assert np.array_equal(fill2, fill[perm])
    # an independent bisection on the all-or-nothing excess supply brackets the same price
    lo, hi = _bisect_price(X, y, fee, fm, side, amount, lim)
    assert lo * (1 - 1e-9) <= p <= hi * (1 + 1e-9)


@pytest.mark.parametrize("fm", [False, True])
@pytest.mark.parametrize("n_arb", [1, 2, 3, 10])
def test_cournot_arbitrage_matches_the_closed_form(fm, n_arb):
    # no fee, no other orders: buying x for y, the batch price is (y + k Q)/x (k = 1 constant
    # product, 2 FM-AMM) and the symmetric first-order condition reduces to
    # u^2 - P x (1 - 1/N) u - P x y / N = 0 with u = y + k Q (derived in the docstring test)
    P = 3060.0
    k = 2 if fm else 1
    side = np.zeros(n_arb, np.int64)
    amount = np.zeros(n_arb)
    min_out = np.zeros(n_arb)
    fill = np.zeros(n_arb)
    d, q = batch_arb_nb(X, Y, 0.0, fm, side, amount, min_out, 0, n_arb, P, fill)
    b = P * X * (1 - 1 / n_arb)
    u = (b + math.sqrt(b * b + 4 * P * X * Y / n_arb)) / 2
    assert d == 1 and q == pytest.approx((u - Y) / k, rel=1e-6)
    # the monopolist on a constant product is the continuous optimum sqrt(P x y) - y
    if n_arb == 1 and not fm:
        assert q == pytest.approx(math.sqrt(P * X * Y) - Y, rel=1e-6)


def test_no_arbitrage_inside_the_fee_band():
    fill = np.zeros(3)
    d, q = batch_arb_nb(X, Y, 0.003, False, np.zeros(3, np.int64), np.zeros(3), np.zeros(3), 0,
                        3, 3005.0, fill)
    assert d == -1 and q == 0.0


def _pnl(side, amount, min_out, fee, fm, y, P, front, back):
    """Attacker's result at external price P for a buy of ``front`` y and a sell of ``back``
    x added to the batch, in y; and the clearing price."""
    s = np.concatenate([side, [1, 0]]).astype(np.int64)
    a = np.concatenate([amount, [front, back]])
    m = np.concatenate([min_out, [0.0, 0.0]])
    keep = a > 0
    fill = np.zeros(keep.sum())
    p = clear_batch_nb(X, y, fee, fm, s[keep], a[keep], m[keep], fill)
    f = np.zeros(len(a))
    f[keep] = fill
    x_got = f[-2] * front / p - f[-1] * back
    y_got = f[-1] * back * p - f[-2] * front
    return x_got * P + y_got, p


@pytest.mark.parametrize("seed", range(40))
def test_the_best_sandwich_in_a_batch_earns_nothing(seed):
    rng = np.random.default_rng(seed)
    side, amount, min_out, fee, fm, y = _batch(rng)
    fill = np.zeros(len(side))
    p0 = clear_batch_nb(X, y, fee, fm, side, amount, min_out, fill)
    fronts = np.concatenate([[0.0], np.geomspace(1e-3, 1e7, 41)])        # y in
    backs = np.concatenate([[0.0], np.geomspace(1e-6, 1e4, 41)])         # x in
    # with the external price at the batch's own price there is nothing to arbitrage: no
    # pair of opposite orders earns anything
    best = max(_pnl(side, amount, min_out, fee, fm, y, p0, f, b)[0] for f in fronts
               for b in backs)
    assert best <= 1e-9 * max(amount.sum(), 1.0)
    # at any other external price a pair earns exactly what its net order alone earns (both
    # legs get the one price, so the pair clears like the net): a sandwich adds nothing to
    # the arbitrage
    P = p0 * rng.uniform(0.97, 1.03)
    for f, b in zip(rng.choice(fronts, 60), rng.choice(backs, 60)):
        pnl, p = _pnl(side, amount, min_out, fee, fm, y, P, f, b)
        net_x = f / p - b
        if net_x > 0:
            alone, p1 = _pnl(side, amount, min_out, fee, fm, y, P, net_x * p, 0.0)
        else:
            alone, p1 = _pnl(side, amount, min_out, fee, fm, y, P, 0.0, -net_x)
        assert p1 == pytest.approx(p, rel=1e-9)
        assert pnl == pytest.approx(alone, rel=1e-7, abs=1e-9 * (f + b * p + 1))

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
    from mevlab.amm.nb import amount_out_nb
    n = int(rng.integers(1, 30))
    fee = float(rng.choice([0.0, 0.0005, 0.003]))
    fm = bool(rng.uniform() < 0.4)
    y = Y * rng.uniform(0.95, 1.05)
    side = rng.integers(0, 2, n).astype(np.int64)
    if rng.uniform() < 0.15:
        side[:] = side[0]                             # one-sided batches
    size = np.exp(rng.uniform(-3, 3)) if rng.uniform() < 0.2 else 1.0   # some near the pool size
    amount = np.where(side == 0, rng.lognormal(0, 1.5, n), rng.lognormal(8, 1.5, n)) * size
    quote = np.where(side == 0, amount * 3000, amount / 3000)
    min_out = quote * (1 - rng.choice([-0.02, 0.0, 0.001, 0.01, 0.05], n))
    # limits exactly on the pool's own quote or its marginal price: the root then sits
    # on a limit
    on_quote = rng.uniform(size=n) < 0.2
    own = np.array([amount_out_nb(a, X, y, fee) if d == 0 else amount_out_nb(a, y, X, fee)
                    for a, d in zip(amount, side)])
    min_out = np.where(on_quote, own, min_out)
    at_mid = rng.uniform(size=n) < 0.1
    min_out = np.where(at_mid, np.where(side == 0, amount * y / X, amount * X / y), min_out)
    min_out[rng.uniform(size=n) < 0.15] = 0.0
    if n > 4:       # exact ties in limit and size
        side[1], amount[1], min_out[1] = side[0], amount[0], min_out[0]
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
    # what each order receives is positive and at most what the pool could pay
    assert (fill * amount)[side == 1].sum() / p < X + (fill * amount)[side == 0].sum()
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
    # the same orders listed in any other order give the same result
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(n)
        fill2 = np.zeros(n)
        assert clear_batch_nb(X, y, fee, fm, side[perm], amount[perm], min_out[perm],
                              fill2) == p
        assert np.array_equal(fill2, fill[perm])
    # an independent bisection on the all-or-nothing excess supply brackets the same price
    lo, hi = _bisect_price(X, y, fee, fm, side, amount, lim)
    assert lo * (1 - 1e-9) <= p <= hi * (1 + 1e-9)


def _sorted(side, amount, min_out):
    from mevlab.amm.nb import batch_sort_nb
    n = len(side)
    lim, s_idx, b_idx = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    n_s, n_b = batch_sort_nb(side, amount, min_out, lim, s_idx, b_idx)
    return lim, s_idx[:n_s], b_idx[:n_b]


def _arb(x, y, fee, fm, side, amount, min_out, n_arb, P):
    lim, s_idx, b_idx = _sorted(side, amount, min_out)
    return batch_arb_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, P,
                        np.zeros(len(side)))


@pytest.mark.parametrize("fm", [False, True])
@pytest.mark.parametrize("n_arb", [1, 2, 3, 10])
def test_cournot_arbitrage_matches_the_closed_form(fm, n_arb):
    # no fee, no other orders: buying x for y, the batch price is (y + k Q)/x (k = 1 constant
    # product, 2 FM-AMM) and the symmetric first-order condition Px/(y+kQ) - 1 -
    # (Q/N) k P x/(y+kQ)^2 = 0 reduces, with u = y + k Q, to
    # u^2 - P x (1 - 1/N) u - P x y / N = 0
    P = 3060.0
    k = 2 if fm else 1
    e = np.zeros(0)
    d, q = _arb(X, Y, 0.0, fm, np.zeros(0, np.int64), e, e, n_arb, P)
    b = P * X * (1 - 1 / n_arb)
    u = (b + math.sqrt(b * b + 4 * P * X * Y / n_arb)) / 2
    assert d == 1 and q == pytest.approx((u - Y) / k, rel=1e-6)
    # the monopolist on a constant product is the continuous optimum sqrt(P x y) - y
    if n_arb == 1 and not fm:
        assert q == pytest.approx(math.sqrt(P * X * Y) - Y, rel=1e-6)


def test_no_arbitrage_inside_the_fee_band():
    e = np.zeros(0)
    assert _arb(X, Y, 0.003, False, np.zeros(0, np.int64), e, e, 3, 3005.0) == (-1, 0.0)


def _profit(side, amount, min_out, fee, fm, y, P, d, own, others):
    s = np.concatenate([side, [d]]).astype(np.int64)
    a = np.concatenate([amount, [own + others]])
    m = np.concatenate([min_out, [0.0]])
    p = clear_batch_nb(X, y, fee, fm, s, a, m, np.zeros(len(s)))
    return own * ((P / p - 1) if d == 1 else (p - P))


def test_cournot_with_users_and_fees_a_single_arbitrageur_is_optimal():
    # with users' limits the price is a step function of the arbitrage; a brute-force grid of
    # sizes never beats the monopolist's choice
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(150):
        side, amount, min_out, fee, fm, y = _batch(rng)
        P = y / X * np.exp(rng.normal(0, 0.01))
        d, q = _arb(X, y, fee, fm, side, amount, min_out, 1, P)
        if d < 0:
            continue
        checked += 1
        got = _profit(side, amount, min_out, fee, fm, y, P, d, q, 0.0)
        grid = q * np.concatenate([np.linspace(0, 3, 301)[1:], np.geomspace(1e-4, 1e2, 200)])
        best = max(_profit(side, amount, min_out, fee, fm, y, P, d, g, 0.0) for g in grid)
        assert got >= 0 and got >= best * (1 - 1e-6) - 1e-9, (got, best)
    assert checked > 50


def test_cournot_with_users_and_fees_several_arbitrageurs_rarely_gain_by_deviating():
    # a pure symmetric equilibrium need not exist when the price is a step function; the
    # profile taken leaves one arbitrageur little to gain by deviating, and never a loss
    rng = np.random.default_rng(12)
    gains = []
    for _ in range(150):
        side, amount, min_out, fee, fm, y = _batch(rng)
        P = y / X * np.exp(rng.normal(0, 0.01))
        n_arb = int(rng.integers(2, 6))
        d, q = _arb(X, y, fee, fm, side, amount, min_out, n_arb, P)
        if d < 0:
            continue
        others, mine = q * (n_arb - 1) / n_arb, q / n_arb
        base = _profit(side, amount, min_out, fee, fm, y, P, d, mine, others)
        assert base >= 0
        best = max(_profit(side, amount, min_out, fee, fm, y, P, d, g, others)
                   for g in mine * np.linspace(0, 3, 151))
        gains.append((best - base) / max(base, 1e-9))
    gains = np.array(gains)
    assert len(gains) > 50 and np.mean(gains <= 0.01) >= 0.9, np.sort(gains)[-10:]


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

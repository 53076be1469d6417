"""Cross-rollup inventory-free arbitrage reference (mevlab.searcher.cross_rollup): against a
brute-force zooming grid search, the closed forms of its three regimes (profit kept in y, in x,
or both pools traded to p), the fee no-trade band, and the non-atomic expectation against
Monte Carlo."""
import numpy as np
import pytest
from scipy.optimize import brentq

from mevlab.searcher.cross_rollup import (inventory_free_arbitrage, nonatomic_expected_profit,
                                          nonatomic_monte_carlo)


def swap_out(amount, r_in, r_out, fee):
    g = 1.0 - fee
    return g * amount * r_out / (r_in + g * amount)


def zoom_max(f, lo, hi, n=41, iters=14):
    """Maximise concave f over [lo, hi] (arrays: many problems at once) by grid zooming: for a
    concave function the neighbours of the best grid point bracket the maximiser."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    s = np.linspace(0.0, 1.0, n)
    best = np.full(np.broadcast(lo, hi).shape, -np.inf)
    for _ in range(iters):
        pts = lo[..., None] + s * (hi - lo)[..., None]
        vals = f(pts)
        i = np.argmax(vals, axis=-1)
        best = np.maximum(best, np.take_along_axis(vals, i[..., None], -1)[..., 0])
        take = lambda k: np.take_along_axis(pts, np.clip(i + k, 0, n - 1)[..., None], -1)[..., 0]
        lo, hi = take(-1), take(1)
    return best


def brute_force(pool_a, pool_b, fee_a, fee_b, p):
    """Nested grid search over (u, v) on both orientations (y into one pool, x into the other).

    For each u on the outer grid the inner grid covers the feasible v in [Y^-1(u), X(u)]
    (both constraint boundaries on the grid); the value is concave in v for fixed u and
    concave in u after maximising over v, so both zooms bracket their maximiser. The feasible
    u end where X(u) = Y^-1(u) is located by a scan plus brentq."""
    best = 0.0
    pools = {"a": (pool_a, fee_a), "b": (pool_b, fee_b)}
    for c, d in (("a", "b"), ("b", "a")):
        (xc, yc), fc = pools[c]
        (xd, yd), fd = pools[d]
        gd = 1.0 - fd

        def X(u):
            return swap_out(u, yc, xc, fc)

        def Y(v):
            return swap_out(v, xd, yd, fd)

        def y_inv(u):
            return u * xd / (gd * (yd - u))

        def slack(u):
            return X(u) - y_inv(u)

        us = np.sort(np.concatenate([yd * (1 - np.logspace(-14, 0, 4000))[:-1],
                                     yd * np.logspace(-14, -1, 2000)]))
        pos = np.nonzero(slack(us) > 0)[0]
        if len(pos) == 0:
            continue
        k = pos[-1]
        u_max = brentq(slack, us[k], us[k + 1], xtol=1e-15 * yd, rtol=1e-15)

        def value(u):                                   # max over feasible v, any u shape
            lo, hi = y_inv(u), X(u)
            inner = zoom_max(lambda v: p * (X(u)[..., None] - v) + Y(v) - u[..., None],
                             lo, np.maximum(hi, lo))
            return np.where(hi >= lo, inner, -np.inf)

        best = max(best, float(zoom_max(value, 0.0, u_max)))
    return best


def mobius(xc, yc, gc, xd, yd, gd):
    """y -> x on c -> y on d composes to f(u) = A u / (B + C u); x -> y on d -> x on c to
    h(v) = A v / (B + C' v). Returns A, B, C, C'."""
    return gc * gd * xc * yd, xd * yc, gc * (xd + gd * xc), gd * (yc + gc * yd)


def oriented(pool_a, pool_b, fa, fb):
    """(x_c, y_c, g_c, x_d, y_d, g_d) with c the cheaper pool."""
    (xa, ya), (xb, yb) = pool_a, pool_b
    if ya / xa < yb / xb:
        return xa, ya, 1 - fa, xb, yb, 1 - fb
    return xb, yb, 1 - fb, xa, ya, 1 - fa


def regime_bounds(pool_a, pool_b, fa, fb):
    """(p1, p2): the profit is kept in y only for p <= p1 (p1 = 1/X'(u*) after the all-y trade),
    in x only for p >= p2 (p2 = Y'(v*) after the all-x trade), in both in between (KKT)."""
    xc, yc, gc, xd, yd, gd = oriented(pool_a, pool_b, fa, fb)
    A, B, C, C2 = mobius(xc, yc, gc, xd, yd, gd)
    u, v = (np.sqrt(A * B) - B) / C, (np.sqrt(A * B) - B) / C2
    return (yc + gc * u) ** 2 / (gc * xc * yc), gd * xd * yd / (xd + gd * v) ** 2


def random_case(rng, regime=None):
    x = 10 ** rng.uniform(1, 4)
    pa = 3000 * np.exp(rng.normal(0, 0.05))
    fees = rng.choice([0.0, 0.0005, 0.003, 0.01], 2)
    band = -np.log((1 - fees[0]) * (1 - fees[1]))          # no-trade band of |log(pb/pa)|
    pb = pa * np.exp(rng.choice([-1, 1]) * (band + rng.uniform(0.002, 0.2)))
    xb = x * 10 ** rng.uniform(-1, 1)
    pool_a, pool_b, fa, fb = (x, x * pa), (xb, xb * pb), float(fees[0]), float(fees[1])
    lo, hi = min(pa, pb), max(pa, pb)
    p1, p2 = regime_bounds(pool_a, pool_b, fa, fb)
    regime = regime or rng.choice(["low", "high", "mid", "both"])
    p = {"low": lo * rng.uniform(0.7, 1.0), "high": hi * rng.uniform(1.0, 1.3),
         "mid": lo * (hi / lo) ** rng.uniform(0, 1),
         "both": p1 * (p2 / p1) ** rng.uniform(0.05, 0.95)}[regime]
    return pool_a, pool_b, fa, fb, float(p)


def check_consistent(res, pool_a, pool_b, fee_a, fee_b, p):
    """Legs reproduce the pool formula, nets are >= 0 and the values add up."""
    pools = {"a": (pool_a, fee_a), "b": (pool_b, fee_b)}
    net_x = net_y = 0.0
    for name, leg in res["legs"].items():
        (x, y), fee = pools[name]
        if leg["direction"] == 1:
            assert leg["received"] == pytest.approx(swap_out(leg["tendered"], y, x, fee), rel=1e-12)
            net_x, net_y = net_x + leg["received"], net_y - leg["tendered"]
        elif leg["direction"] == 0:
            assert leg["received"] == pytest.approx(swap_out(leg["tendered"], x, y, fee), rel=1e-12)
            net_x, net_y = net_x - leg["tendered"], net_y + leg["received"]
    scale = max(leg["tendered"] for leg in res["legs"].values()) + 1.0
    assert res["net_x"] == pytest.approx(net_x, abs=1e-12 * scale)
    assert res["net_y"] == pytest.approx(net_y, abs=1e-12 * scale * p)
    assert res["net_x"] >= -1e-12 * scale and res["net_y"] >= -1e-12 * scale * p
    assert res["profit"] == pytest.approx(p * res["net_x"] + res["net_y"], rel=1e-9, abs=1e-9)
    assert res["profit"] == pytest.approx(res["legs"]["a"]["value"] + res["legs"]["b"]["value"],
                                          rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_grid(seed):
    rng = np.random.default_rng(seed)
    for regime in ("low", "mid", "high", "both"):
        args = random_case(rng, regime)
        res = inventory_free_arbitrage(*args)
        check_consistent(res, *args)
        ref = brute_force(*args)
        assert ref > 0
        assert res["profit"] == pytest.approx(ref, rel=1e-6), (regime, args)
        assert res["profit"] >= ref * (1 - 1e-9)          # never beaten by the grid
        if regime == "both":
            assert res["net_x"] > 0 and res["net_y"] > 0


@pytest.mark.parametrize("seed", range(6))
def test_profit_in_y_matches_mobius_closed_form(seed):
    rng = np.random.default_rng(100 + seed)
    pool_a, pool_b, fa, fb, _ = random_case(rng)
    pa, pb = pool_a[1] / pool_a[0], pool_b[1] / pool_b[0]
    # p below p1 (which exceeds the cheap price / g): keeping x is unattractive
    p = regime_bounds(pool_a, pool_b, fa, fb)[0] * rng.uniform(0.3, 0.999)
    xc, yc, gc, xd, yd, gd = oriented(pool_a, pool_b, fa, fb)
    A, B, C, _ = mobius(xc, yc, gc, xd, yd, gd)
    u = (np.sqrt(A * B) - B) / C
    profit = A * u / (B + C * u) - u
    res = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
    assert res["net_x"] == pytest.approx(0.0, abs=1e-12 * xc)
    assert res["profit"] == pytest.approx(profit, rel=1e-9)
    assert res["net_y"] == pytest.approx(profit, rel=1e-9)
    cheap = "a" if pa < pb else "b"
    assert res["legs"][cheap]["direction"] == 1
    assert res["legs"][cheap]["tendered"] == pytest.approx(u, rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_profit_in_x_matches_mobius_closed_form(seed):
    rng = np.random.default_rng(200 + seed)
    pool_a, pool_b, fa, fb, _ = random_case(rng)
    # p above p2 (which is below the dear price * g): keeping y is unattractive
    p = regime_bounds(pool_a, pool_b, fa, fb)[1] * rng.uniform(1.001, 2.0)
    xc, yc, gc, xd, yd, gd = oriented(pool_a, pool_b, fa, fb)
    A, B, _, C2 = mobius(xc, yc, gc, xd, yd, gd)
    v = (np.sqrt(A * B) - B) / C2
    gain_x = A * v / (B + C2 * v) - v
    res = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
    assert res["net_y"] == pytest.approx(0.0, abs=1e-9 * yc)
    assert res["net_x"] == pytest.approx(gain_x, rel=1e-7)
    assert res["profit"] == pytest.approx(p * gain_x, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_price_decides_which_token_keeps_the_profit(seed):
    """Only y below p1, only x above p2, both in between; p1 >= cheap price / g_c and
    p2 <= dear price * g_d."""
    pool_a, pool_b, fa, fb, _ = random_case(np.random.default_rng(400 + seed))
    p1, p2 = regime_bounds(pool_a, pool_b, fa, fb)
    xc, yc, gc, xd, yd, gd = oriented(pool_a, pool_b, fa, fb)
    assert yc / xc / gc <= p1 < p2 <= gd * yd / xd
    for p in (0.98 * p1, 0.9999 * p1):
        assert inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)["net_x"] == 0.0
    for p in (1.0001 * p2, 1.02 * p2):
        res = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
        assert res["net_y"] == pytest.approx(0.0, abs=1e-10 * yc)
    for p in np.geomspace(p1, p2, 9)[1:-1]:
        res = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
        assert res["net_x"] > 0 and res["net_y"] > 0
    # max over feasible nets of p*net_x + net_y: convex, flat below p1, increasing above
    ps = np.sort(np.concatenate([np.geomspace(0.9 * p1, 1.1 * p2, 30), np.geomspace(p1, p2, 12)]))
    profits = np.array([inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)["profit"]
                        for p in ps])
    assert np.all(np.diff(profits) >= -1e-12 * profits[1:])
    slopes = np.diff(profits) / np.diff(ps)
    assert np.all(np.diff(slopes) >= -1e-6 * np.abs(slopes).max())


def test_both_pools_traded_to_p_when_unconstrained():
    """Mid-band p with slack in both tokens: each pool is traded until its marginal (fee-
    adjusted) price equals p, X'(u) = 1/p and Y'(v) = p, and both nets are positive."""
    pool_a, pool_b, fee, p = (1000.0, 2.9e6), (1000.0, 3.1e6), 0.0005, 3000.0
    g = 1 - fee
    u = (np.sqrt(p * g * pool_a[0] * pool_a[1]) - pool_a[1]) / g
    v = (np.sqrt(g * pool_b[0] * pool_b[1] / p) - pool_b[0]) / g
    gx, gy = swap_out(u, pool_a[1], pool_a[0], fee) - v, swap_out(v, pool_b[0], pool_b[1], fee) - u
    assert gx > 0 and gy > 0
    res = inventory_free_arbitrage(pool_a, pool_b, fee, fee, p)
    assert res["profit"] == pytest.approx(p * gx + gy, rel=1e-9)
    # amounts come from a bounded Brent search: ~sqrt(eps) relative to the traded amounts
    assert res["net_x"] == pytest.approx(gx, abs=1e-7 * v)
    assert res["net_y"] == pytest.approx(gy, abs=1e-7 * u)
    assert res["legs"]["a"]["tendered"] == pytest.approx(u, rel=1e-7)
    assert res["legs"]["b"]["tendered"] == pytest.approx(v, rel=1e-7)


@pytest.mark.parametrize("fees", [(0.0, 0.0), (0.003, 0.003), (0.0005, 0.01)])
def test_no_trade_inside_fee_band_and_trade_outside(fees):
    fa, fb = fees
    band = -np.log((1 - fa) * (1 - fb))
    pool_a = (500.0, 500.0 * 3000.0)
    for s in (-0.999 * band, -0.5 * band, 0.0, 0.5 * band, 0.999 * band):
        pool_b = (800.0, 800.0 * 3000.0 * np.exp(s))
        for p in (2000.0, 3000.0, 4000.0):
            res = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
            assert res["profit"] == 0.0 and res["net_x"] == 0.0 and res["net_y"] == 0.0
            assert res["legs"]["a"]["direction"] == res["legs"]["b"]["direction"] == -1
    for s in (-band - 1e-3, band + 1e-3):
        pool_b = (800.0, 800.0 * 3000.0 * np.exp(s))
        assert inventory_free_arbitrage(pool_a, pool_b, fa, fb, 3000.0)["profit"] > 0


@pytest.mark.parametrize("seed", range(4))
def test_symmetric_in_swapping_rollups(seed):
    args = random_case(np.random.default_rng(300 + seed))
    pool_a, pool_b, fa, fb, p = args
    r1 = inventory_free_arbitrage(pool_a, pool_b, fa, fb, p)
    r2 = inventory_free_arbitrage(pool_b, pool_a, fb, fa, p)
    assert r2["profit"] == pytest.approx(r1["profit"], rel=1e-12)
    assert r2["net_x"] == pytest.approx(r1["net_x"], rel=1e-9, abs=1e-12)
    assert r2["net_y"] == pytest.approx(r1["net_y"], rel=1e-9, abs=1e-9)
    for k in ("direction", "tendered", "received", "value"):
        assert r2["legs"]["a"][k] == pytest.approx(r1["legs"]["b"][k], rel=1e-12)
        assert r2["legs"]["b"][k] == pytest.approx(r1["legs"]["a"][k], rel=1e-12)


POOLS = ((1000.0, 2.9e6), (1500.0, 1500.0 * 3150.0), 0.003, 0.0005)


@pytest.mark.parametrize("first", ["a", "b"])
@pytest.mark.parametrize("p", [2800.0, 3030.0, 3300.0])
def test_nonatomic_formula_endpoints_and_linearity(first, p):
    q = np.linspace(0, 1, 11)
    out = nonatomic_expected_profit(*POOLS, p, q, first=first)
    atomic = inventory_free_arbitrage(*POOLS, p)
    assert out["atomic"] == atomic["profit"] > 0
    assert out["first_leg_value"] == atomic["legs"][first]["value"]
    assert out["nonatomic"].shape == q.shape
    assert out["nonatomic"][0] == pytest.approx(out["atomic"], rel=1e-15)
    assert out["nonatomic"][-1] == pytest.approx(out["first_leg_value"], rel=1e-15)
    np.testing.assert_allclose(np.diff(out["nonatomic"], 2), 0.0,
                               atol=1e-9 * abs(out["atomic"] - out["first_leg_value"]))
    assert out["stderr_per_run"][0] == out["stderr_per_run"][-1] == 0.0
    scalar = nonatomic_expected_profit(*POOLS, p, 0.3, first=first)
    assert isinstance(scalar["nonatomic"], float)
    assert scalar["nonatomic"] == pytest.approx(
        0.7 * scalar["atomic"] + 0.3 * scalar["first_leg_value"], rel=1e-12)


@pytest.mark.parametrize("first", ["a", "b"])
@pytest.mark.parametrize("q", [0.05, 0.3, 0.8])
def test_nonatomic_monte_carlo_agrees(first, q):
    n, p = 200_000, 3050.0
    exp = nonatomic_expected_profit(*POOLS, p, q, first=first)
    mc = nonatomic_monte_carlo(*POOLS, p, q, n, seed=7, first=first)
    assert abs(mc["mean"] - exp["nonatomic"]) <= 4 * exp["stderr_per_run"] / np.sqrt(n)
    assert mc["stderr"] == pytest.approx(exp["stderr_per_run"] / np.sqrt(n), rel=0.05)


def test_nonatomic_degenerate_probabilities_are_exact():
    p = 3050.0
    exp = nonatomic_expected_profit(*POOLS, p, [0.0, 1.0])
    assert nonatomic_monte_carlo(*POOLS, p, 0.0, 100, 1)["mean"] == pytest.approx(exp["atomic"])
    assert nonatomic_monte_carlo(*POOLS, p, 1.0, 100, 1)["mean"] == pytest.approx(
        exp["first_leg_value"])


GOOD = dict(pool_a=(1000.0, 2.9e6), pool_b=(1000.0, 3.1e6), fee_a=0.003, fee_b=0.003, p=3000.0)


@pytest.mark.parametrize("name, bad, match", [
    ("pool_a", (0.0, 2.9e6), r"pool_a.*> 0"),
    ("pool_a", (1000.0, -1.0), r"pool_a.*> 0"),
    ("pool_b", (-5.0, 3.1e6), r"pool_b.*> 0"),
    ("pool_b", (1000.0, np.nan), r"pool_b.*> 0"),
    ("fee_a", 1.0, r"fee_a.*\[0, 1\)"),
    ("fee_a", -0.01, r"fee_a.*\[0, 1\)"),
    ("fee_b", 1.5, r"fee_b.*\[0, 1\)"),
    ("p", 0.0, r"p must be .*> 0"),
    ("p", -3000.0, r"p must be .*> 0"),
])
def test_invalid_arguments_raise(name, bad, match):
    kw = dict(GOOD, **{name: bad})
    with pytest.raises(ValueError, match=match):
        inventory_free_arbitrage(**kw)
    with pytest.raises(ValueError, match=match):
        nonatomic_expected_profit(**kw, leg_failure=0.5)
    with pytest.raises(ValueError, match=match):
        nonatomic_monte_carlo(**kw, leg_failure=0.5, n=10, seed=0)


@pytest.mark.parametrize("q", [-0.1, 1.1, [0.2, 1.01], np.nan])
def test_invalid_leg_failure_raises(q):
    with pytest.raises(ValueError, match=r"leg_failure.*\[0, 1\]"):
        nonatomic_expected_profit(**GOOD, leg_failure=q)
    if np.ndim(q) == 0:
        with pytest.raises(ValueError, match=r"leg_failure.*\[0, 1\]"):
            nonatomic_monte_carlo(**GOOD, leg_failure=q, n=10, seed=0)

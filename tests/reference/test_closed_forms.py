"""Closed-form arbitrage and sandwich sizing against independent brute-force optimisers."""
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from mevlab.amm import get_amount_out, optimal_arbitrage
from mevlab.enums import Direction
from mevlab.searcher import max_frontrun, optimal_sandwich


def out_plain(a, rin, rout, fee):
    # written independently of the kernels: Uniswap v2 with a real-valued amount
    return (1 - fee) * a * rout / (rin + (1 - fee) * a)


def brute_arbitrage(x, y, p, fee):
    """Best profit over both directions by bounded scalar search, numeraire."""
    best = 0.0
    # tender y: profit p*out_x - dy ; tender x: out_y - p*dx
    for f, hi in ((lambda d: p * out_plain(d, y, x, fee) - d, 4 * y),
                  (lambda d: out_plain(d, x, y, fee) - p * d, 4 * x)):
        # coarse log grid, then a bounded refinement around the best grid point
        grid = np.concatenate([[0.0], np.geomspace(hi * 1e-12, hi, 4001)])
        vals = np.array([f(d) for d in grid])
        i = int(np.argmax(vals))
        lo_b, hi_b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        if hi_b > lo_b:
            r = minimize_scalar(lambda d: -f(d), bounds=(lo_b, hi_b), method="bounded",
                                options={"xatol": hi_b * 1e-15, "maxiter": 500})
            best = max(best, -r.fun, vals[i])
    return best


def random_cases(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        scale = 10 ** rng.uniform(0, 9)
        x = scale * 10 ** rng.uniform(-1, 1)
        pool_price = 10 ** rng.uniform(-2, 4)
        y = x * pool_price
        fee = rng.choice([0.0, 0.0005, 0.003, 0.01])
        p = pool_price * math.exp(rng.choice([-1, 1]) * rng.uniform(0.02, 0.5))
        yield x, y, p, fee


@pytest.mark.parametrize("case", list(random_cases(300, 1)))
def test_optimal_arbitrage_matches_brute_force(case):
    x, y, p, fee = case
    arb = optimal_arbitrage(x, y, p, fee)
    ref = brute_arbitrage(x, y, p, fee)
    assert arb.profit == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("case", list(random_cases(100, 2)))
def test_pool_ends_at_fee_band_edge(case):
    # Angeris et al. measure the pool's marginal price on the invariant curve the trade
    # moves along, fee excluded: it ends exactly at g*p (buying x) or p/g (selling x).
    # Uniswap v2 keeps the fee in the pool, so the reserve ratio ends slightly inside the
    # band, by the fee's share of the input; both are checked.
    x, y, p, fee = case
    g = 1 - fee
    arb = optimal_arbitrage(x, y, p, fee)
    if arb.direction == Direction.SELL_Y:     # bought x with y
        dy, x1 = arb.amount_in, x - arb.amount_out
        assert (y + g * dy) / x1 == pytest.approx(g * p, rel=1e-9)
        assert g * x * y / (y + g * dy) ** 2 == pytest.approx(1 / p, rel=1e-9)   # FOC
        assert (y + dy) / x1 == pytest.approx(g * p * (y + dy) / (y + g * dy), rel=1e-9)
        assert g * p * (1 - 1e-12) <= (y + dy) / x1 <= p / g * (1 + 1e-12)
    elif arb.direction == Direction.SELL_X:   # sold x for y
        dx, y1 = arb.amount_in, y - arb.amount_out
        assert y1 / (x + g * dx) == pytest.approx(p / g, rel=1e-9)
        assert y1 / (x + dx) == pytest.approx(p / g * (x + g * dx) / (x + dx), rel=1e-9)
        assert g * p * (1 - 1e-12) <= y1 / (x + dx) <= p / g * (1 + 1e-12)
    # nothing is left to arbitrage afterwards
    if arb.direction != Direction.NONE:
        d = arb.direction
        x2 = x + arb.amount_in if d == Direction.SELL_X else x - arb.amount_out
        y2 = y + arb.amount_in if d == Direction.SELL_Y else y - arb.amount_out
        again = optimal_arbitrage(x2, y2, p, fee)
        assert again.profit <= 1e-9 * max(arb.profit, 1e-300)


def test_no_trade_inside_the_fee_band():
    arb = optimal_arbitrage(1000.0, 3_000_000.0, 3000.0 * 1.002, 0.003)
    assert arb.direction == Direction.NONE and arb.profit == 0.0 and arb.amount_in == 0.0


def test_optimal_arbitrage_profit_identity():
    arb = optimal_arbitrage(1000.0, 3e6, 3300.0, 0.003)
    assert arb.direction == Direction.SELL_Y
    assert arb.amount_out == pytest.approx(get_amount_out(arb.amount_in, 3e6, 1000.0, 0.003))
    assert arb.profit == pytest.approx(3300.0 * arb.amount_out - arb.amount_in)


@pytest.mark.parametrize("bad", [(-1, 1, 1, 0.003), (1, 1, 0, 0.003), (1, 1, 1, 1.0),
                                 (1, float("nan"), 1, 0.0)])
def test_optimal_arbitrage_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        optimal_arbitrage(*bad)


def victim_out_after(a, rin, rout, v, fee):
    o1 = out_plain(a, rin, rout, fee)
    return out_plain(v, rin + a, rout - o1, fee)


def sandwich_cases(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        rin = 10 ** rng.uniform(3, 27)
        rout = rin * 10 ** rng.uniform(-3, 3)
        v = rin * 10 ** rng.uniform(-5, -1.5)
        fee = rng.choice([0.0, 0.0005, 0.003])
        tol = rng.choice([0.005, 0.01, 0.03, 0.1])
        yield rin, rout, v, out_plain(v, rin, rout, fee) * (1 - tol), fee


@pytest.mark.parametrize("case", list(sandwich_cases(200, 3)))
def test_max_frontrun_leaves_victim_exactly_at_min_out(case):
    rin, rout, v, m, fee = case
    a = max_frontrun(rin, rout, v, m, fee)
    assert a > 0
    assert victim_out_after(a, rin, rout, v, fee) == pytest.approx(m, rel=1e-9)
    # 1 % more front-run and the victim's limit fails: it would revert
    assert victim_out_after(1.01 * a, rin, rout, v, fee) < m


def sandwich_profit(a, rin, rout, v, fee):
    o1 = out_plain(a, rin, rout, fee)
    r_in1, r_out1 = rin + a, rout - o1
    ov = out_plain(v, r_in1, r_out1, fee)
    return out_plain(o1, r_out1 - ov, r_in1 + v, fee) - a


@pytest.mark.parametrize("case", [c[:4] + (0.0,) for c in sandwich_cases(60, 4)])
def test_without_fees_sandwich_profit_increases_up_to_the_max_frontrun(case):
    # Zhou et al. 2021: the attacker's profit is increasing in the front-run up to a*
    rin, rout, v, _, fee = case
    m = out_plain(v, rin, rout, fee) * 0.97
    a_star = max_frontrun(rin, rout, v, m, fee)
    vals = np.array([sandwich_profit(a, rin, rout, v, fee) for a in np.linspace(0, a_star, 201)])
    assert np.all(np.diff(vals) >= -1e-9 * abs(vals).max())


@pytest.mark.parametrize("case", list(sandwich_cases(150, 5)))
def test_optimal_sandwich_matches_brute_force(case):
    # with fees the profit can peak inside [0, a*]: the searcher must optimise, not take a*
    rin, rout, v, m, fee = case
    a_star = max_frontrun(rin, rout, v, m, fee)
    sw = optimal_sandwich(rin, rout, v, m, fee)
    grid = np.linspace(0, a_star, 4001)
    brute = max(0.0, max(sandwich_profit(a, rin, rout, v, fee) for a in grid))
    assert 0 <= sw.frontrun <= a_star
    assert sw.profit >= brute - 1e-9 * max(abs(brute), v * 1e-12)
    assert sw.profit == pytest.approx(max(sandwich_profit(sw.frontrun, rin, rout, v, fee), 0.0),
                                      rel=1e-9, abs=1e-300)
    assert victim_out_after(sw.frontrun, rin, rout, v, fee) >= m * (1 - 1e-12)


def test_max_frontrun_zero_when_limit_unreachable():
    assert max_frontrun(1e6, 1e6, 1e3, 1e3, 0.003) == 0.0

"""Inventory-free cross-rollup arbitrage between two constant-product pools: an independent
numeric reference (numpy + scipy only) for testing the engine's router, plus the expected
profit when the two legs are not executed atomically.

Model. Pool ``a`` on rollup A and pool ``b`` on rollup B hold reserves ``(x, y)`` of the same
pair (x = ETH, y = USDC, the numeraire). A Uniswap-v2 swap tendering ``d`` of one token pays
``g*d*R_out / (R_in + g*d)`` of the other, ``g = 1 - fee``; the fee stays in the pool. An
arbitrageur without inventory tenders ``Delta`` and receives ``Lambda`` on each pool; the net
trade ``Psi = sum(Lambda - Delta)`` must be ``>= 0`` in both tokens, and the objective is its
value ``p*Psi_x + Psi_y`` at the external price ``p`` (y per x; used only to mark to market).

The only non-trivial pattern is: tender ``u`` of y to the cheaper pool ``c`` for
``X(u) = g_c u x_c / (y_c + g_c u)`` of x, and tender ``v`` of x to the dearer pool ``d`` for
``Y(v) = g_d v y_d / (x_d + g_d v)`` of y (two legs in the same direction cannot be
inventory-free, and the reverse cycle loses). The feasible set
``{X(u) >= v, Y(v) >= u}`` is convex and the objective ``p(X(u) - v) + Y(v) - u`` concave.
For fixed ``u`` the best ``v`` solves ``Y'(v) = p`` in closed form, clipped to the feasible
interval ``[Y^{-1}(u), X(u)]``; the concave value function of ``u`` is then maximised over
``[0, u_max]`` by a fine grid followed by bounded Brent (``scipy.optimize.minimize_scalar``).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["inventory_free_arbitrage", "nonatomic_expected_profit", "nonatomic_monte_carlo"]

_GRID = 4001


def _check_pool(name, pool):
    arr = np.asarray(pool, dtype=float)
    if arr.shape != (2,):
        raise ValueError(f"{name} must be a pair of reserves (x, y), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} reserves must be finite and > 0 (in (0, inf)), got {tuple(arr)}")
    return float(arr[0]), float(arr[1])


def _check_fee(name, fee):
    fee = float(fee)
    if not (0.0 <= fee < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {fee}")
    return fee


def _check_price(p):
    p = float(p)
    if not (np.isfinite(p) and p > 0):
        raise ValueError(f"p must be finite and > 0 (in (0, inf)), got {p}")
    return p


def _check_leg_failure(q):
    arr = np.asarray(q, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"leg_failure must be in [0, 1], got {q}")
    return arr


def _check_first(first):
    if first not in ("a", "b"):
        raise ValueError(f"first must be 'a' or 'b', got {first!r}")
    return first


def _no_trade():
    leg = {"direction": -1, "tendered": 0.0, "received": 0.0, "value": 0.0}
    return {"profit": 0.0, "legs": {"a": dict(leg), "b": dict(leg)}, "net_x": 0.0, "net_y": 0.0}


def inventory_free_arbitrage(pool_a, pool_b, fee_a, fee_b, p):
    """Optimal inventory-free arbitrage between two constant-product pools, valued at ``p``.

    Parameters
    ----------
    pool_a, pool_b : sequence of 2 floats
        Reserves ``(x, y)`` of the pools on rollups A and B, in units of x (ETH) and y (USDC).
    fee_a, fee_b : float
        Swap fees, fractions in ``[0, 1)``; ``g = 1 - fee`` multiplies the tendered amount.
    p : float
        External price, y per x (> 0), used only to mark the net trade to market.

    Returns
    -------
    dict
        ``profit`` : value ``p*net_x + net_y`` of the optimal net trade, in y (numeraire).
        ``legs`` : ``{'a': leg, 'b': leg}``, each leg a dict with ``direction`` (0: x tendered,
        1: y tendered, -1: no trade), ``tendered`` and ``received`` (token units), and
        ``value`` = value at ``p`` of received minus tendered for that leg alone, in y.
        ``net_x``, ``net_y`` : net trade ``Psi`` (>= 0) in x and in y.
        A zero trade is returned when ``P_dear / P_cheap <= 1 / (g_a g_b)`` (prices within the
        combined fee bands), whatever ``p``.
    """
    xa, ya = _check_pool("pool_a", pool_a)
    xb, yb = _check_pool("pool_b", pool_b)
    fa, fb = _check_fee("fee_a", fee_a), _check_fee("fee_b", fee_b)
    p = _check_price(p)
    ga, gb = 1.0 - fa, 1.0 - fb

    # cheap pool c gets y (buys x), dear pool d gets x (sells x)
    if ya / xa <= yb / xb:
        cheap, dear = "a", "b"
        xc, yc, gc, xd, yd, gd = xa, ya, ga, xb, yb, gb
    else:
        cheap, dear = "b", "a"
        xc, yc, gc, xd, yd, gd = xb, yb, gb, xa, ya, ga

    # Composite y -> x (on c) -> y (on d) is f(u) = A u / (B + C u); feasible u is [0, (A-B)/C].
    big_a = gc * gd * xc * yd
    big_b = xd * yc
    big_c = gc * (xd + gd * xc)
    if big_a <= big_b:
        return _no_trade()
    u_max = (big_a - big_b) / big_c

    def x_out(u):                       # x received from c for u of y
        return gc * u * xc / (yc + gc * u)

    def y_out(v):                       # y received from d for v of x
        return gd * v * yd / (xd + gd * v)

    # unconstrained maximiser of Y(v) - p v: Y'(v) = g xd yd / (xd + g v)^2 = p
    v_free = max(0.0, (np.sqrt(gd * xd * yd / p) - xd) / gd)

    def best_v(u):
        u = np.asarray(u, dtype=float)
        hi = x_out(u)
        lo = u * xd / (gd * (yd - u))   # Y^{-1}(u); u <= u_max < yd
        return np.minimum(np.maximum(v_free, lo), hi)

    def value(u):
        v = best_v(u)
        return p * (x_out(u) - v) + y_out(v) - u

    grid = np.linspace(0.0, u_max, _GRID)
    vals = value(grid)
    i = int(np.argmax(vals))
    lo_u, hi_u = grid[max(i - 1, 0)], grid[min(i + 1, _GRID - 1)]
    res = minimize_scalar(lambda t: -float(value(t)), bounds=(lo_u, hi_u), method="bounded",
                          options={"xatol": 1e-15 * u_max, "maxiter": 500})
    u = float(res.x) if -res.fun >= vals[i] else float(grid[i])
    if value(u) <= 0.0:
        return _no_trade()
    v = float(best_v(u))
    xr, yr = float(x_out(u)), float(y_out(v))
    net_x, net_y = xr - v, yr - u
    legs = {cheap: {"direction": 1, "tendered": u, "received": xr, "value": p * xr - u},
            dear: {"direction": 0, "tendered": v, "received": yr, "value": yr - p * v}}
    return {"profit": p * net_x + net_y, "legs": legs, "net_x": net_x, "net_y": net_y}


def nonatomic_expected_profit(pool_a, pool_b, fee_a, fee_b, p, leg_failure, first="a"):
    """Expected profit of the optimal atomic arbitrage executed as two non-atomic legs.

    The leg on rollup ``first`` always executes; the other leg fails independently with
    probability ``leg_failure``, leaving the first leg's inventory marked to market at ``p``.

    Parameters
    ----------
    pool_a, pool_b, fee_a, fee_b, p
        As in :func:`inventory_free_arbitrage`.
    leg_failure : float or array_like
        Failure probability of the second leg, in ``[0, 1]``; vectorised.
    first : {'a', 'b'}
        Rollup whose leg executes first.

    Returns
    -------
    dict
        ``atomic`` : optimal profit under a shared sequencer (whole bundle executes), in y.
        ``first_leg_value`` : value at ``p`` of the first leg alone, in y.
        ``nonatomic`` : ``(1 - q) * atomic + q * first_leg_value``, in y (array if ``q`` is).
        ``stderr_per_run`` : standard deviation of a single run's profit,
        ``|atomic - first_leg_value| * sqrt(q (1 - q))``, in y.
    """
    q = _check_leg_failure(leg_failure)
    first = _check_first(first)
    opt = inventory_free_arbitrage(pool_a, pool_b, fee_a, fee_b, p)
    atomic, flv = opt["profit"], opt["legs"][first]["value"]
    mean = (1.0 - q) * atomic + q * flv
    sd = np.abs(atomic - flv) * np.sqrt(q * (1.0 - q))
    if q.ndim == 0:
        mean, sd = float(mean), float(sd)
    return {"atomic": atomic, "nonatomic": mean, "first_leg_value": flv, "stderr_per_run": sd}


def nonatomic_monte_carlo(pool_a, pool_b, fee_a, fee_b, p, leg_failure, n, seed, first="a"):
    """Monte Carlo of the non-atomic execution model of :func:`nonatomic_expected_profit`.

    Each run executes the first leg, draws the second leg's failure from
    ``numpy.random.default_rng(seed)``, and marks the resulting inventory (token amounts of
    the executed legs) to market at ``p``.

    Parameters
    ----------
    pool_a, pool_b, fee_a, fee_b, p
        As in :func:`inventory_free_arbitrage`.
    leg_failure : float
        Failure probability of the second leg, in ``[0, 1]``.
    n : int
        Number of runs (>= 1).
    seed : int
        Seed for ``numpy.random.default_rng``.
    first : {'a', 'b'}
        Rollup whose leg executes first.

    Returns
    -------
    dict
        ``mean`` : sample mean profit per run, in y. ``stderr`` : its standard error
        (sample standard deviation / sqrt(n); 0 if n == 1), in y. ``n`` : number of runs.
    """
    q = float(_check_leg_failure(leg_failure))
    first = _check_first(first)
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n}")
    n = int(n)
    opt = inventory_free_arbitrage(pool_a, pool_b, fee_a, fee_b, p)
    second = "b" if first == "a" else "a"

    def inventory(leg):                 # (dx, dy) of a leg on its own
        if leg["direction"] == 1:
            return leg["received"], -leg["tendered"]
        if leg["direction"] == 0:
            return -leg["tendered"], leg["received"]
        return 0.0, 0.0

    x1, y1 = inventory(opt["legs"][first])
    x2, y2 = inventory(opt["legs"][second])
    ok = np.random.default_rng(seed).random(n) >= q    # second leg executes
    dx = x1 + ok * x2
    dy = y1 + ok * y2
    profit = float(p) * dx + dy
    mean = float(profit.mean())
    stderr = float(profit.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return {"mean": mean, "stderr": stderr, "n": n}

"""Synthetic multi-rollup user order flow (model.md §2) and the external price path."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import SECONDS_PER_YEAR

#: Columns of an order-flow table, generated or replayed. A replayed table may
#: add ``min_out``; without it the limit is the quote at the pre-slot state
#: times ``1 - tolerance``, computed when the transaction executes.
FLOW_COLUMNS = ("submit_time", "t_seq", "t_pub", "rollup", "pool", "direction", "amount_in",
                "tolerance", "priority_fee", "informed")


def price_path(scn, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """External prices of every asset at sorted ``times`` (s), GBM from ``t = 0``.

    Returns
    -------
    ndarray, shape (len(times), n_assets)
        Numeraire per unit of each asset.
    """
    dt = np.diff(times, prepend=0.0) / SECONDS_PER_YEAR
    sig = np.array([a.sigma for a in scn.assets])
    mu = np.array([a.drift for a in scn.assets])
    s0 = np.array([a.price for a in scn.assets])
    z = rng.standard_normal((len(times), len(scn.assets)))
    steps = (mu - 0.5 * sig**2) * dt[:, None] + sig * np.sqrt(dt)[:, None] * z
    return s0 * np.exp(np.cumsum(steps, axis=0))


def generate(scn, rng: np.random.Generator) -> pd.DataFrame:
    """Draw user transactions for every rollup over ``[0, scn.duration)``.

    Arrivals are Poisson per rollup at ``users.rate * activity``; the pool is drawn by ``PoolSpec.weight``;
    sizes are lognormal in numeraire (``amount_in`` is in numeraire here; see
    :func:`to_token_units` for the conversion once prices are drawn); ``direction`` is a
    fair coin (informed traders' direction is set at execution, toward the
    external price).

    Returns
    -------
    DataFrame with :data:`FLOW_COLUMNS`, sorted by ``submit_time``.
    """
    u = scn.users
    pool_rollup = np.array([_rollup_index(scn, p.rollup) for p in scn.pools])
    frames = []
    for r in range(len(scn.rollups)):
        pools_r = np.flatnonzero(pool_rollup == r)
        # cross-rollup intents take their share of the rate (:func:`generate_intents`)
        rate = u.rate * (1.0 - u.cross_share) * scn.rollups[r].activity
        n = rng.poisson(rate * scn.duration) if len(pools_r) else 0
        t = np.sort(rng.uniform(0.0, scn.duration, n))
        w = np.array([scn.pools[i].weight for i in pools_r], float)
        pool = pools_r[rng.choice(len(pools_r), n, p=w / w.sum())] if n else np.zeros(0, int)
        frames.append(pd.DataFrame({"submit_time": t, "rollup": np.full(n, r), "pool": pool}))
    df = pd.concat(frames, ignore_index=True)
    n = len(df)
    size, direction, tol, fee = _trade_terms(u, n, rng)
    informed = rng.uniform(size=n) < u.informed_share
    df["t_seq"], df["t_pub"] = draw_latencies(scn, df["submit_time"].to_numpy(), rng)
    df["direction"] = direction
    df["amount_in"] = size
    df["tolerance"] = tol
    df["priority_fee"] = fee
    df["informed"] = informed
    df = df.sort_values("submit_time", kind="stable", ignore_index=True)
    return df[list(FLOW_COLUMNS)]


def _trade_terms(u, n: int, rng: np.random.Generator):
    """Size (numeraire, lognormal), side (a fair coin), slippage tolerance (the mixture) and
    priority fee (numeraire, exponential) of ``n`` user actions, drawn in that order."""
    size = u.size_median * np.exp(u.size_sigma * rng.standard_normal(n))
    side = (rng.uniform(size=n) < 0.5).astype(np.int8)
    tol_w = np.asarray(u.tolerance_weights, float)
    tol = np.asarray(u.tolerances, float)[rng.choice(len(tol_w), n, p=tol_w / tol_w.sum())]
    fee = rng.exponential(u.priority_fee, n) if u.priority_fee > 0 else np.zeros(n)
    return size, side, tol, fee


def generate_intents(scn, rng: np.random.Generator) -> pd.DataFrame:
    """Draw cross-rollup user intents (model.md §2): two legs on two rollups.

    Intents start on each rollup as a Poisson process at
    ``users.rate * users.cross_share * activity``. Each picks a route (a pool
    and a pool of the same pair on another rollup, by pool weight) and a side:
    leg 0 sells one token of the pair on the first rollup, leg 1 buys it back
    on the second with the proceeds, e.g. move ETH from A to B through USDC.
    Under ``shared`` the intent is one bundle (both legs share their arrival
    times); under ``isolated`` each leg travels on its own, with its own
    latencies. Leg sizes are in numeraire here (:func:`to_token_units`); each
    leg's limit is its quote at the pool state its user saw when submitting,
    times ``1 - tolerance``, set by the engine at the opening of the slot
    (of the leg's clock) in which the intent was submitted.

    Returns
    -------
    DataFrame with :data:`FLOW_COLUMNS`, ``intent`` (id) and ``leg`` (0, 1).
    """
    u = scn.users
    cols = list(FLOW_COLUMNS) + ["intent", "leg"]
    routes = scn.cross_routes() if u.cross_share > 0 else []
    if not routes:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    routes = np.array(routes)
    rnames = [r.name for r in scn.rollups]
    pool_rollup = np.array([rnames.index(p.rollup) for p in scn.pools])
    weight = np.array([p.weight for p in scn.pools])
    src_rollup = pool_rollup[routes[:, 0]]
    w_route = weight[routes[:, 0]] * weight[routes[:, 1]]
    times, picks = [], []
    for r in range(len(scn.rollups)):
        mine = np.flatnonzero(src_rollup == r)
        if not len(mine):
            continue
        n = rng.poisson(u.rate * u.cross_share * scn.rollups[r].activity * scn.duration)
        times.append(np.sort(rng.uniform(0.0, scn.duration, n)))
        picks.append(mine[rng.choice(len(mine), n, p=w_route[mine] / w_route[mine].sum())])
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t, route = t[order], routes[np.concatenate(picks)[order]]
    n = len(t)
    size, side, tol, fee = _trade_terms(u, n, rng)
    lat = [draw_latencies(scn, t, rng) for _ in range(2)]
    # two transactions split the priority fee; a bundle is one message with one fee, carried
    # by its first leg (the bundle is ordered by it, the second leg follows the first)
    fees = (fee / 2.0, fee / 2.0)
    if scn.topology == "shared":
        lat[1] = lat[0]
        fees = (fee, np.zeros(n))
    g0 = 1.0 - np.array([p.fee for p in scn.pools])[route[:, 0]]
    two = lambda a, b: np.concatenate([a, b])
    return pd.DataFrame({
        "submit_time": two(t, t), "t_seq": two(lat[0][0], lat[1][0]),
        "t_pub": two(lat[0][1], lat[1][1]),
        "rollup": pool_rollup[route.T.ravel()], "pool": route.T.ravel(),
        "direction": two(side, 1 - side),
        # the second leg spends what the first is quoted to return
        "amount_in": two(size, size * g0), "tolerance": two(tol, tol),
        "priority_fee": two(*fees), "informed": np.zeros(2 * n, bool),
        "intent": two(np.arange(n), np.arange(n)),
        "leg": np.repeat(np.array([0, 1], np.int8), n)})[cols]


def to_token_units(scn, df: pd.DataFrame, price_times: np.ndarray, prices: np.ndarray):
    """Convert numeraire sizes to units of the tendered token, in place.

    Uses the last external price known at submission (the last slot close at
    or before ``submit_time``; the initial price before the first close).
    ``prices`` is (n_times, n_tokens) with the numeraire in column 0.
    """
    toks = np.array(scn.pool_tokens())[df["pool"].to_numpy()]          # (n, 2)
    rows = np.arange(len(df))
    tok_in = toks[rows, df["direction"].to_numpy().astype(int)]
    known = np.searchsorted(price_times, df["submit_time"].to_numpy(), side="right") - 1
    p0 = scn.initial_prices()
    p_in = np.where(known >= 0, prices[np.maximum(known, 0), tok_in], p0[tok_in])
    df["amount_in"] = df["amount_in"].to_numpy() / p_in
    return df


def draw_latencies(scn, submit_time: np.ndarray, rng: np.random.Generator):
    """Arrival times (s) at the sequencer and at searchers (public mempool)."""
    lat = scn.latency
    n = len(submit_time)
    t_seq = submit_time + lat.user_to_sequencer * np.exp(lat.sigma * rng.standard_normal(n))
    t_pub = submit_time + lat.user_to_mempool * np.exp(lat.sigma * rng.standard_normal(n))
    return t_seq, t_pub


def _rollup_index(scn, name):
    return [r.name for r in scn.rollups].index(name)



"""Sizing speculative front-runs for sealed-content policies (model.md §3, §4).

Under commit-reveal a searcher commits before it can read anyone's
transaction, and under a threshold mempool that leaks pool and direction it
knows where a victim trades but not how much or with what limit. Either way
the size of the front-run must be chosen ex ante. The searcher chooses it the
way an empirical trader would: on a history of slots drawn from the same
order-flow model (a separate random stream, so the run's own flow is never
seen in advance), it evaluates the exact payoff of each candidate size with
the engine's own settlement arithmetic and keeps the best one, or none if no
size pays in expectation.

- ``mode="commit"``: a front commitment at the searcher's arrival in the slot
  and a back commitment at its end; after the order is fixed the pair is
  revealed only if that beats forfeiting both bonds, so a slot pays
  ``max(gross - 2 gas, -2 bond)``.
- ``mode="leak"``: a front-run right before one victim whose pool and
  submitted direction leaked, and the back-run right after; both execute, so
  a victim pays ``gross - 2 gas`` whatever it turns out to be (an informed
  victim may even trade the other way).
"""
from __future__ import annotations

import dataclasses

import numpy as np

#: Candidate front-run sizes, as fractions of the pool's reserve of the tendered token.
SIZE_GRID = np.geomspace(1e-6, 3e-2, 49)
#: Sampled history the searcher learns from, in slots of the pool's rollup.
HISTORY_SLOTS = 600


def speculative_sizes(scn, world, mode: str, bond: float, rng: np.random.Generator):
    """Best ex-ante front-run size and its expected value, per pool and direction.

    Parameters
    ----------
    scn : Scenario
    world : mevlab.engine.World
    mode : {"commit", "leak"}
    bond : float
        Bond per commitment, numeraire (``"commit"`` only).
    rng : numpy.random.Generator
        Stream for the sampled history.

    Returns
    -------
    frac : ndarray (n_pools, 2)
        Front-run size as a fraction of the tendered reserve at the time of
        the trade; 0 where no size has a positive expected payoff.
    value : ndarray (n_pools, 2)
        Expected payoff, numeraire: per slot (``"commit"``) or per victim
        (``"leak"``).
    """
    from ..engine import Flow
    from ..engine.nb import spec_values_nb
    from ..flow.synthetic import generate

    n_pools = len(scn.pools)
    frac = np.zeros((n_pools, 2))
    value = np.zeros((n_pools, 2))
    blind = world.searchers.enabled[:, 4]
    if not blind.any():
        return frac, value
    block = np.array([scn.rollups[r].block_time for r in world.pools.rollup])
    hist = generate(dataclasses.replace(scn, duration=HISTORY_SLOTS * float(block.max())), rng)
    # sizes in token units at the initial prices
    p0 = scn.initial_prices()
    tok = np.asarray(world.pools.tok)
    pool = hist["pool"].to_numpy()
    d_h = hist["direction"].to_numpy().astype(np.int64)
    amount = hist["amount_in"].to_numpy() / p0[tok[pool, d_h]]
    n = len(hist)
    fl = Flow(hist["submit_time"].to_numpy(float), hist["t_seq"].to_numpy(float),
              hist["t_pub"].to_numpy(float), pool.astype(np.int64), d_h, amount,
              hist["tolerance"].to_numpy(float), np.full(n, np.nan),
              hist["priority_fee"].to_numpy(float), hist["informed"].to_numpy(bool),
              np.zeros(n))
    # when the fastest blind searcher's commitment arrives, on average (s into the slot)
    t_front = float(np.min(world.searchers.latency[blind] + world.searchers.jitter[blind]))
    slot_of = np.floor(fl.t_seq / block[pool]).astype(np.int64)
    offset = fl.t_seq - slot_of * block[pool]
    for pl in range(n_pools):
        x, y = world.reserves0[pl]
        px, py = p0[tok[pl, 0]], p0[tok[pl, 1]]
        fee, gas = float(world.pools.fee[pl]), float(world.pools.gas[pl])
        mine = np.flatnonzero(pool == pl)
        mine = mine[np.lexsort((fl.t_seq[mine], slot_of[mine]))]
        if mode == "commit":
            n_hist = int(np.floor(HISTORY_SLOTS * block.max() / block[pl]))
            counts = np.bincount(slot_of[mine], minlength=n_hist)[:n_hist]
            ptr = np.zeros(n_hist + 1, np.int64)
            np.cumsum(counts, out=ptr[1:])
            mine = mine[slot_of[mine] < n_hist]
            # users arrive in time order within a slot: those before the front lead
            n_before = np.bincount(slot_of[mine][offset[mine] < t_front],
                                   minlength=n_hist)[:n_hist].astype(np.int64)
            floor = np.array([-2.0 * bond / py, 2.0 * gas / py])
            groups = {0: (mine, ptr, n_before), 1: (mine, ptr, n_before)}
        else:
            # each victim alone, grouped by the side it submitted (what leaks; an
            # informed victim may trade the other way)
            side = fl.direction[mine]
            floor = np.array([-np.inf, 2.0 * gas / py])
            groups = {}
            for d in (0, 1):
                v = mine[side == d]
                groups[d] = (v, np.arange(len(v) + 1, dtype=np.int64),
                             np.zeros(len(v), np.int64))
        for d in (0, 1):
            js, ptr, n_before = groups[d]
            if len(ptr) < 2:
                continue
            r_in = (x, y)[d]
            vals = spec_values_nb(fl, js, ptr, n_before, x, y, px / py, fee,
                                  SIZE_GRID * r_in, d, floor) * py
            i = int(np.argmax(vals))
            if vals[i] > 0.0:
                frac[pl, d] = SIZE_GRID[i]
                value[pl, d] = vals[i]
    return frac, value

"""The slot loop: order each slot, settle it sequentially, let searchers act.

Per slot, in this order:

1. **Top-of-slot CEX-DEX arbitrage** on every pool of the slot's clock, at the
   slot's external price (one winner per pool).
2. **Ordering** of the slot's user transactions by the policy kernel.
3. **Sequential settlement**. Before each user swap, if the mempool is public,
   searchers may sandwich it with the largest front-run that keeps it at
   ``min_out`` (or the profit-maximising smaller one); after it, they may back-run it (arbitrage to the external
   price). Searcher legs are placed adjacent to the victim.

Competition for each opportunity follows the policy: a latency race (first
arrival wins, no payment; a front-run must reach the sequencer before the
victim does) or an open ascending bid (highest valuation wins and pays the
second-highest). A searcher only takes a trade whose gross profit exceeds gas,
its bid and its private cost.
"""
import math

import numpy as np
from numba import njit

from ..amm.nb import amount_out_nb, swap_nb
from ..policies.nb import order_slot_nb
from ..searcher.nb import best_frontrun_nb, max_frontrun_nb, optimal_arb_nb, sandwich_nb

USER = 0
SEARCHER = 1
ST_ARB = 1
ST_BACKRUN = 2
ST_FRONT = 3
ST_BACK = 4
EXECUTED = 0
REVERTED = 1
# column of ``searchers.enabled`` per strategy
COL_ARB = 0
COL_BACKRUN = 1
COL_SANDWICH = 2
#: front-runs are shrunk by this relative margin so that float rounding never
#: pushes the victim below its limit
FRONTRUN_MARGIN = 1e-9
#: a victim with no limit (``min_out <= 0``) could be front-run without bound;
#: the searcher's front-run is capped at this multiple of the pool's input reserve
UNBOUNDED_FRONTRUN = 10.0

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def uniform_nb(key, a, b):
    """Counter-based uniform in (0, 1) from (key, a, b) via SplitMix64.

    ``key`` is drawn from the run's Generator, so results stay a function of
    the seed while the kernel needs no RNG state.
    """
    z = np.uint64(key) ^ (np.uint64(a) * _M1) ^ (np.uint64(b) * _M3)
    z = z + _M1
    z = (z ^ (z >> np.uint64(30))) * _M2
    z = (z ^ (z >> np.uint64(27))) * _M3
    z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def contest_nb(searchers, col, gross, gas_total, race, deadline, key, opp):
    """Pick the searcher that takes an opportunity.

    Parameters
    ----------
    searchers : Searchers
    col : int
        Strategy column of ``searchers.enabled``.
    gross : float
        Gross profit of the opportunity, numeraire.
    gas_total : float
        Gas the searcher pays for all its legs, numeraire.
    race : bool
        Latency race (True) or bid auction (False).
    deadline : float
        Latest admissible arrival delay after the searcher sees the
        opportunity (s), in both modes: a trade must reach the sequencer
        before the slot closes (and, for a front-run in a race, before its
        victim). A searcher's delay is its latency plus an exponential jitter.
    key, opp : int
        Seed and opportunity id for the per-searcher jitter draws.

    Returns
    -------
    winner : int
        Searcher index, -1 if nobody takes it.
    bid : float
        Payment to the sequencer, numeraire.
    n : int
        Number of searchers that competed.
    """
    ns = searchers.latency.shape[0]
    best = -1
    best_t = math.inf
    best_u = math.inf
    top = -math.inf
    second = 0.0
    n = 0
    for i in range(ns):
        if not searchers.enabled[i, col]:
            continue
        v = gross - gas_total - searchers.cost[i]
        if v <= 0.0:
            continue
        u = uniform_nb(key, opp, i)
        t = searchers.latency[i] - searchers.jitter[i] * math.log(u)
        if t >= deadline:
            continue
        n += 1
        if race:
            # first arrival wins; exact ties (no jitter) go to the smaller draw
            if t < best_t or (t == best_t and u < best_u):
                best_t = t
                best_u = u
                best = i
        else:
            if v > top or (v == top and u < best_u):
                if best >= 0:
                    second = max(second, top)
                top = v
                best_u = u
                best = i
            else:
                second = max(second, v)
    bid = 0.0 if race else second
    return best, bid, n


@njit(cache=True)
def _value(amount, is_x, px, py):
    """Numeraire value of ``amount`` of the pool's x (``is_x``) or y token."""
    return amount * px if is_x else amount * py


@njit(cache=True)
def write_fill_nb(fills, k, s, rollup, pool, pos, kind, strat, status, direction, sender,
                  bundle, a_in, a_out, px, py, fee, gas, fee_paid, t_close):
    """Fill the common fields of row ``k``; user-only fields are set by the caller."""
    r = fills[k]
    r.id = k
    r.tx = -1
    r.slot = s
    r.rollup = rollup
    r.pool = pool
    r.position = pos
    r.sender_kind = kind
    r.strategy = strat
    r.status = status
    r.direction = direction
    r.sender = sender
    r.bundle = bundle
    r.amount_in = a_in
    r.amount_out = a_out
    r.min_out = np.nan
    r.standalone_out = np.nan
    r.mev_out = np.nan
    r.ext_price = px / py
    r.out_price = px if direction == 1 else py
    if status == EXECUTED:
        r.value_in = _value(a_in, direction == 0, px, py)
        r.value_out = _value(a_out, direction == 1, px, py)
        r.lp_fee_value = fee * r.value_in
    else:
        r.value_in = 0.0
        r.value_out = 0.0
        r.lp_fee_value = 0.0
    r.gas = gas
    r.fee_paid = fee_paid
    r.submit_time = np.nan
    r.inclusion_time = t_close


@njit(cache=True)
def write_extraction_nb(ext, e, s, rollup, pool, searcher, strat, n_comp, victim, bundle,
                        gross, gas, bid):
    r = ext[e]
    r.id = e
    r.bundle = bundle
    r.slot = s
    r.rollup = rollup
    r.pool = pool
    r.searcher = searcher
    r.strategy = strat
    r.n_competitors = n_comp
    r.victim = victim
    r.gross = gross
    r.gas = gas
    r.bid = bid
    r.net = gross - gas - bid


@njit(cache=True)
def _on_clock(pools, pl, c):
    """Whether pool ``pl`` is sequenced by clock ``c``."""
    for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
        if pools.clock_idx[q] == pl:
            return True
    return False


@njit(cache=True)
def run_nb(flow, slots, pools, searchers, policy_id, params, key, reserves, fills, ext, state,
           s_lo, s_hi, plan, plan_gross, pending):
    """Simulate slots ``s_lo..s_hi-1`` in order; returns ``(n_fills, n_extractions)``.

    ``reserves`` (n_pools, 2) is updated in place; ``state`` (int64[3]: rows
    of fills and extractions written so far, next bundle id) carries the run
    across calls. If ``plan_gross`` is finite, the top-of-slot arbitrage of
    slot ``s_lo`` is the router's bundle ``plan`` (n_pools, 2: amounts
    tendered per pool and side), worth ``plan_gross`` numeraire at external
    prices, instead of the per-pool closed form. Legs of the plan on pools of
    another clock (``isolated``: another rollup) do not execute in this slot:
    they go to ``pending`` (n_pools, 7: active, direction, amount, min_out,
    owner, bundle, bid) and execute, or revert if they would receive less
    than ``min_out`` (the output planned), at the top of that pool's next
    slot, independently of the rest of the bundle. Returns ``(-1, -1)`` if a
    buffer is too small (the caller retries with the worst-case size) and
    ``(-2, -2)`` if ``policy_id`` is not a known ordering kernel.
    """
    public = params[0] != 0.0
    race = params[1] != 0.0
    n_tx = flow.t_seq.shape[0]
    n_pools = reserves.shape[0]
    n_slots = slots.ptr.shape[0] - 1
    cap_f = fills.shape[0]
    cap_e = ext.shape[0]
    max_n = 0
    for s in range(s_lo, s_hi):
        max_n = max(max_n, slots.ptr[s + 1] - slots.ptr[s])
    perm = np.empty(max(max_n, 1), np.int64)
    pre = reserves.copy()
    k = state[0]
    e = state[1]
    bundle = state[2]
    for s in range(s_lo, s_hi):
        c = slots.clock[s]
        t_close = slots.t_close[s]
        window = t_close - slots.t_open[s]   # searchers see the slot's price at its open
        pos = 0
        for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
            pl = pools.clock_idx[q]
            pre[pl, 0] = reserves[pl, 0]
            pre[pl, 1] = reserves[pl, 1]
        # 0. legs of earlier bundles sent to this rollup: each lands on its own
        for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
            pl = pools.clock_idx[q]
            if pending[pl, 0] == 0.0:
                continue
            pending[pl, 0] = 0.0
            if k >= cap_f or e >= cap_e:
                return -1, -1
            d = int(pending[pl, 1])
            a = pending[pl, 2]
            w = int(pending[pl, 4])
            b_id = int(pending[pl, 5])
            leg_bid = pending[pl, 6]
            px = slots.price[s, pools.tok[pl, 0]]
            py = slots.price[s, pools.tok[pl, 1]]
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            out = amount_out_nb(a, reserves[pl, d], reserves[pl, 1 - d], fee)
            if out >= pending[pl, 3]:
                swap_nb(reserves, pl, d, a, fee)
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, EXECUTED,
                              d, w, b_id, a, out, px, py, fee, gas, leg_bid, t_close)
                gross = _value(out, d == 1, px, py) - _value(a, d == 0, px, py)
            else:
                # the pool moved against the leg since it was planned: it reverts, gas is paid
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, REVERTED,
                              d, w, b_id, a, 0.0, px, py, fee, gas, leg_bid, t_close)
                gross = 0.0
            write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_ARB, 0, -1, b_id, gross,
                                gas, leg_bid)
            k += 1
            e += 1
            pos += 1
        # 1. top-of-slot CEX-DEX arbitrage: the router's bundle, or the closed form per pool
        if s == s_lo and math.isfinite(plan_gross):
            gas_total = 0.0
            n_legs = 0
            n_local = 0
            for pl in range(n_pools):
                if plan[pl, 0] > 0.0 or plan[pl, 1] > 0.0:
                    gas_total += pools.gas[pl]
                    n_legs += 1
                    if _on_clock(pools, pl, c):
                        n_local += 1
            w = -1
            if n_legs > 0:
                w, bid, nc = contest_nb(searchers, COL_ARB, plan_gross, gas_total, race,
                                        window, key, 3 * n_tx + s * n_pools)
            if w >= 0:
                if k + n_local > cap_f or e + n_local > cap_e:
                    return -1, -1
                first = True
                for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                    pl = pools.clock_idx[q]
                    d = 0 if plan[pl, 0] > 0.0 else 1
                    a = plan[pl, d]
                    if not a > 0.0:
                        continue
                    px = slots.price[s, pools.tok[pl, 0]]
                    py = slots.price[s, pools.tok[pl, 1]]
                    fee = pools.fee[pl]
                    gas = pools.gas[pl]
                    leg_bid = bid if first else 0.0
                    out = swap_nb(reserves, pl, d, a, fee)
                    write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB,
                                  EXECUTED, d, w, bundle, a, out, px, py, fee, gas, leg_bid,
                                  t_close)
                    write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_ARB,
                                        nc if first else 0, -1, bundle,
                                        _value(out, d == 1, px, py) - _value(a, d == 0, px, py),
                                        gas, leg_bid)
                    first = False
                    k += 1
                    e += 1
                    pos += 1
                # the other rollups' legs are sent there, each to land on its own
                for pl in range(n_pools):
                    d = 0 if plan[pl, 0] > 0.0 else 1
                    a = plan[pl, d]
                    if not a > 0.0 or _on_clock(pools, pl, c):
                        continue
                    pending[pl, 0] = 1.0
                    pending[pl, 1] = d
                    pending[pl, 2] = a
                    pending[pl, 3] = amount_out_nb(a, reserves[pl, d], reserves[pl, 1 - d],
                                                   pools.fee[pl])
                    pending[pl, 4] = w
                    pending[pl, 5] = bundle
                    pending[pl, 6] = bid if first else 0.0
                    first = False
                bundle += 1
        else:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                fee = pools.fee[pl]
                gas = pools.gas[pl]
                d, a, o, prof = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], px / py, fee)
                if d < 0:
                    continue
                opp = 3 * n_tx + s * n_pools + pl
                w, bid, nc = contest_nb(searchers, COL_ARB, prof * py, gas, race, window, key,
                                        opp)
                if w < 0:
                    continue
                if k >= cap_f or e >= cap_e:
                    return -1, -1
                out = swap_nb(reserves, pl, d, a, fee)
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, EXECUTED,
                              d, w, -1, a, out, px, py, fee, gas, bid, t_close)
                write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_ARB, nc, -1, -1,
                                    _value(out, d == 1, px, py) - _value(a, d == 0, px, py),
                                    gas, bid)
                k += 1
                e += 1
                pos += 1
        # 2. ordering
        lo = slots.ptr[s]
        hi = slots.ptr[s + 1]
        n = order_slot_nb(policy_id, params, flow.t_seq[lo:hi], flow.priority_fee[lo:hi],
                          flow.tie_u[lo:hi], perm)
        if n < 0:
            return -2, -2
        # 3. sequential settlement with searcher insertion
        for m in range(n):
            j = lo + perm[m]
            pl = flow.pool[j]
            px = slots.price[s, pools.tok[pl, 0]]
            py = slots.price[s, pools.tok[pl, 1]]
            p = px / py
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            d = flow.direction[j]
            a = flow.amount_in[j]
            flipped = False
            if flow.informed[j]:
                want = 1 if reserves[pl, 1] < p * reserves[pl, 0] else 0
                if want != d:
                    a = a * p if d == 0 else a / p
                    d = want
                    flipped = True
            i_in = d
            i_out = 1 - d
            q0 = amount_out_nb(a, pre[pl, i_in], pre[pl, i_out], fee)
            mo = flow.min_out[j]
            # a given limit is in the original output token: void once the side flips
            if math.isnan(mo) or flipped:
                mo = q0 * (1.0 - flow.tolerance[j])
            if k + 4 > cap_f or e + 2 > cap_e:
                return -1, -1
            mev_out = np.nan
            # sandwich
            if public:
                rin = reserves[pl, i_in]
                rout = reserves[pl, i_out]
                amax = max_frontrun_nb(rin, rout, a, mo, fee) * (1.0 - FRONTRUN_MARGIN)
                if not math.isfinite(amax):
                    amax = UNBOUNDED_FRONTRUN * rin
                af, _ = best_frontrun_nb(rin, rout, a, mo, fee, amax)
                if af > 0.0:
                    o1, ov, b = sandwich_nb(rin, rout, a, af, fee)
                    gross = _value(b - af, d == 0, px, py)
                    deadline = t_close - flow.t_pub[j]
                    if race:   # a front-run must also beat its victim
                        deadline = min(deadline, flow.t_seq[j] - flow.t_pub[j])
                    w, bid, nc = contest_nb(searchers, COL_SANDWICH, gross, 2.0 * gas, race,
                                            deadline, key, 3 * j)
                    if w >= 0 and ov >= mo:
                        mev_out = amount_out_nb(a, rin, rout, fee)
                        o1 = swap_nb(reserves, pl, d, af, fee)
                        write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER,
                                      ST_FRONT, EXECUTED, d, w, bundle, af, o1, px, py, fee,
                                      gas, bid, t_close)
                        k += 1
                        pos += 1
                        ov = swap_nb(reserves, pl, d, a, fee)
                        _write_user(fills, k, s, pools.rollup[pl], pl, pos, EXECUTED, d, j, a,
                                    ov, px, py, fee, gas, flow, mo, q0, mev_out, t_close)
                        k += 1
                        pos += 1
                        b = swap_nb(reserves, pl, 1 - d, o1, fee)
                        write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER,
                                      ST_BACK, EXECUTED, 1 - d, w, bundle, o1, b, px, py, fee,
                                      gas, 0.0, t_close)
                        k += 1
                        pos += 1
                        write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_FRONT, nc, j,
                                            bundle, gross, 2.0 * gas, bid)
                        e += 1
                        bundle += 1
                        executed = True
                    else:
                        executed = False
                        mev_out = np.nan
                else:
                    executed = False
            else:
                executed = False
            if not executed:
                out = amount_out_nb(a, reserves[pl, i_in], reserves[pl, i_out], fee)
                if out >= mo:
                    swap_nb(reserves, pl, d, a, fee)
                    st = EXECUTED
                    mev_out = out
                else:
                    out = 0.0
                    st = REVERTED
                _write_user(fills, k, s, pools.rollup[pl], pl, pos, st, d, j, a, out, px, py,
                            fee, gas, flow, mo, q0, mev_out, t_close)
                k += 1
                pos += 1
                if st != EXECUTED:
                    continue
            # back-run: arbitrage the displacement the user trade left
            if public:
                db, ab, ob, pb = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], p, fee)
                if db >= 0:
                    w, bid, nc = contest_nb(searchers, COL_BACKRUN, pb * py, gas, race, t_close - flow.t_pub[j],
                                            key, 3 * j + 1)
                    if w >= 0:
                        ob = swap_nb(reserves, pl, db, ab, fee)
                        write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER,
                                      ST_BACKRUN, EXECUTED, db, w, -1, ab, ob, px, py, fee, gas,
                                      bid, t_close)
                        write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_BACKRUN, nc,
                                            j, -1,
                                            _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py),
                                            gas, bid)
                        k += 1
                        e += 1
                        pos += 1
    state[0] = k
    state[1] = e
    state[2] = bundle
    return k, e


@njit(cache=True)
def _write_user(fills, k, s, rollup, pl, pos, st, d, j, a, out, px, py, fee, gas, flow, mo, q0,
                mev_out, t_close):
    write_fill_nb(fills, k, s, rollup, pl, pos, USER, 0, st, d, j, -1, a, out, px, py, fee, gas,
                  flow.priority_fee[j], t_close)
    r = fills[k]
    r.tx = j
    r.min_out = mo
    r.standalone_out = q0
    r.mev_out = mev_out
    r.submit_time = flow.submit_time[j]

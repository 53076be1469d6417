"""Pure-Python reference twins of the Numba kernels.

Each function here restates one kernel in plain Python (loops, ``math``,
Python floats and ints) with the same arithmetic in the same order, so that the
parity tests can hold the kernels to round-off and the benchmarks have a slow
baseline to compare against. Nothing in the package calls these at run time.

Twins: :func:`amount_out` (``amm.nb.amount_out_nb``); :func:`optimal_arb`,
:func:`max_frontrun`, :func:`sandwich`, :func:`best_frontrun` (``searcher.nb``);
:func:`order_fcfs`, :func:`order_priority` (``policies.nb``); :func:`uniform`,
:func:`contest`, :func:`spec_gross`, :func:`run`, :func:`settle_batch` (``engine.nb``);
:func:`clear_batch` (``amm.nb``), :func:`batch_arb` (``searcher.nb``).
"""
from __future__ import annotations

import math

import numpy as np

from .dtypes import extraction_dt, fill_dt
from .policies.nb import N_PARAMS  # layout of the parameter vector (an int, no kernel)
from .searcher.nb import PLATEAU_SEARCH_MAX

USER = 0
SEARCHER = 1
ST_ARB = 1
ST_BACKRUN = 2
ST_FRONT = 3
ST_BACK = 4
EXECUTED = 0
REVERTED = 1
DROPPED = 2
COL_ARB = 0
COL_BACKRUN = 1
COL_SANDWICH = 2
COL_NEXT_BACKRUN = 3
COL_BLIND = 4
SPEC_COMMIT = 1
SPEC_LEAK = 2
FRONTRUN_MARGIN = 1e-9
UNBOUNDED_FRONTRUN = 10.0
FCFS = 0
PRIORITY = 1

MASK64 = (1 << 64) - 1
M1 = 0x9E3779B97F4A7C15
M2 = 0xBF58476D1CE4E5B9
M3 = 0x94D049BB133111EB


# --------------------------------------------------------------------------- AMM and searchers

def amount_out(a, rin, rout, fee):
    """Constant-product swap output ``g*a*rout / (rin + g*a)``, ``g = 1 - fee``.

    Parameters
    ----------
    a : float
        Tendered amount, units of the input token; ``<= 0`` gives 0.
    rin, rout : float
        Reserves of the input and output token.
    fee : float
        Fee on the input, fraction.
    """
    if a <= 0.0:
        return 0.0
    ga = (1.0 - fee) * a
    return ga * rout / (rin + ga)


def optimal_arb(x, y, p, fee):
    """Most profitable single-pool trade against external price ``p``.

    Parameters
    ----------
    x, y : float
        Reserves of the risky asset and of the numeraire.
    p : float
        External price, numeraire per unit of x.
    fee : float
        Pool fee, fraction.

    Returns
    -------
    direction : int
        -1 none, 0 tender x, 1 tender y.
    amount_in, amount_out, profit : float
        Tendered and received token units; profit in numeraire.
    """
    g = 1.0 - fee
    if y < g * p * x:
        # x is cheap in the pool: buy it with y
        r = g * p * x / y
        dy = y * (r - 1.0) / (math.sqrt(r) + 1.0) / g
        out = amount_out(dy, y, x, fee)
        profit = p * out - dy
        if profit > 0.0:
            return 1, dy, out, profit
    elif g * y > p * x:
        # x is dear in the pool: sell it for y
        r = g * y / (p * x)
        dx = x * (r - 1.0) / (math.sqrt(r) + 1.0) / g
        out = amount_out(dx, x, y, fee)
        profit = out - p * dx
        if profit > 0.0:
            return 0, dx, out, profit
    return -1, 0.0, 0.0, 0.0


def max_frontrun(rin, rout, v, m, fee):
    """Largest front-run after which victim ``v`` still receives exactly ``m``.

    Returns
    -------
    float
        ``inf`` if ``m <= 0`` (no limit), 0 if the victim cannot get ``m`` even
        without a front-run, else the positive root of the quadratic in
        ``searcher.nb.max_frontrun_nb``.
    """
    if m <= 0.0:
        return math.inf
    g = 1.0 - fee
    c = g * v * rout * rin / m - rin * (rin + g * v)
    if c <= 0.0:
        return 0.0
    b = rin * (1.0 + g) + g * g * v
    # the root written as 2c / (b + sqrt(...)) avoids cancellation when c is small
    return 2.0 * c / (b + math.sqrt(b * b + 4.0 * g * c))


def sandwich(rin, rout, v, a, fee):
    """Front-run ``a``, victim ``v``, then sell back everything the front-run bought.

    Returns
    -------
    front_out, victim_out, back_out : float
        ``back_out - a`` is the searcher's profit in the victim's input token.
    """
    front_out = amount_out(a, rin, rout, fee)
    rin = rin + a
    rout = rout - front_out
    victim_out = amount_out(v, rin, rout, fee)
    rin = rin + v
    rout = rout - victim_out
    back_out = amount_out(front_out, rout, rin, fee)
    return front_out, victim_out, back_out


def best_frontrun(rin, rout, v, m, fee, a_max):
    """Profit-maximising front-run in ``[0, a_max]`` (twin of ``best_frontrun_nb``).

    The profit ``back_out - a`` is scanned on a 32-point grid plus the endpoint
    ``a_max``, then refined by 60 golden-section steps around the best grid
    point; the refined point replaces the grid's best only if it does better.

    Returns
    -------
    a, profit : float
        Both in the victim's input token; ``(0.0, 0.0)`` if nothing pays or
        ``a_max`` is not a positive finite number.
    """
    if not (a_max > 0.0) or not math.isfinite(a_max):
        return 0.0, 0.0

    def profit(a):
        front_out, victim_out, back_out = sandwich(rin, rout, v, a, fee)
        return back_out - a

    n = 32
    best_a = a_max
    best_p = profit(a_max)
    best_i = n
    for i in range(1, n):
        a = a_max * i / n
        pr = profit(a)
        if pr > best_p:
            best_a = a
            best_p = pr
            best_i = i
    lo = a_max * (best_i - 1) / n
    hi = a_max * min(best_i + 1, n) / n
    invphi = 0.6180339887498949
    c = hi - invphi * (hi - lo)
    d = lo + invphi * (hi - lo)
    fc = profit(c)
    fd = profit(d)
    for _ in range(60):
        if fc > fd:
            hi = d
            d = c
            fd = fc
            c = hi - invphi * (hi - lo)
            fc = profit(c)
        else:
            lo = c
            c = d
            fc = fd
            d = lo + invphi * (hi - lo)
            fd = profit(d)
    a = 0.5 * (lo + hi)
    pr = profit(a)
    if pr > best_p:
        best_a = a
        best_p = pr
    if best_p <= 0.0:
        return 0.0, 0.0
    return best_a, best_p


# --------------------------------------------------------------------------- ordering

def order_fcfs(t_seq, tie_u):
    """Slot indices by arrival ``t_seq``, ties by ``tie_u`` (then by index).

    Returns
    -------
    list of int
        The permutation; every transaction is included.
    """
    n = len(t_seq)
    return sorted(range(n), key=lambda i: (t_seq[i], tie_u[i]))


def order_priority(t_seq, fee, tie_u):
    """Slot indices by priority fee descending, then ``t_seq``, then ``tie_u``."""
    n = len(t_seq)
    return sorted(range(n), key=lambda i: (-fee[i], t_seq[i], tie_u[i]))


def order_slot(policy_id, t_seq, fee, tie_u):
    """Dispatch on ``policy_id`` like ``policies.nb.order_slot_nb``.

    Raises
    ------
    ValueError
        Unknown ``policy_id``.
    """
    if policy_id == FCFS:
        return order_fcfs(t_seq, tie_u)
    if policy_id == PRIORITY:
        return order_priority(t_seq, fee, tie_u)
    raise ValueError(f"no reference ordering for policy_id {policy_id}")


# --------------------------------------------------------------------------- engine

def uniform(key, a, b):
    """SplitMix64 uniform in (0, 1) of ``(key, a, b)``; bit-identical to ``uniform_nb``."""
    z = (key & MASK64) ^ ((a * M1) & MASK64) ^ ((b * M3) & MASK64)
    z = (z + M1) & MASK64
    z = ((z ^ (z >> 30)) * M2) & MASK64
    z = ((z ^ (z >> 27)) * M3) & MASK64
    z = z ^ (z >> 31)
    # top 53 bits, centred in their cell, so the result is never 0 or 1
    return (float(z >> 11) + 0.5) * (1.0 / 9007199254740992.0)


def contest(searchers, col, gross, gas_total, race, deadline, key, opp, fav=-1, only_fav=False):
    """Pick the searcher that takes an opportunity (twin of ``contest_nb``).

    Parameters
    ----------
    searchers : Searchers
        ``latency``, ``jitter``, ``cost`` per searcher and ``enabled[i][col]``.
    col : int
        Strategy column.
    gross, gas_total : float
        Gross profit and total gas, numeraire.
    race : bool
        Latency race (first arrival wins, pays nothing) or
        ascending bid (highest valuation wins, pays the second highest).
    deadline : float
        Latest admissible arrival delay (s), in both modes.
    key, opp : int
        Jitter draw key and opportunity id.
    fav : int
        Searcher the leader colludes with (-1: none): placed whatever its arrival; the
        winner in a race whenever it wants it, in an auction whenever it values it at
        least as much as the best rival (paying that rival's valuation).
    only_fav : bool
        Only ``fav`` saw the opportunity.

    Returns
    -------
    winner : int
        Searcher index or -1.
    bid : float
    n : int
        Number of competitors.
    """
    best = -1
    best_t = math.inf
    best_u = math.inf
    top = -math.inf
    second = 0.0
    rival = 0.0
    fav_in = False
    fav_v = 0.0
    n = 0
    for i in range(len(searchers.latency)):
        if only_fav and i != fav:
            continue
        if not searchers.enabled[i][col]:
            continue
        value = gross - gas_total - searchers.cost[i]
        if value <= 0.0:
            continue
        u = uniform(key, opp, i)
        t = searchers.latency[i] - searchers.jitter[i] * math.log(u)
        if t >= deadline and i != fav:
            continue
        n += 1
        if i == fav:
            fav_in = True
            fav_v = value
        else:
            rival = max(rival, value)
        if race:
            # first arrival wins; exact ties (no jitter) go to the smaller draw
            if t < best_t or (t == best_t and u < best_u):
                best_t = t
                best_u = u
                best = i
        else:
            if value > top or (value == top and u < best_u):
                if best >= 0:
                    second = max(second, top)
                top = value
                best_u = u
                best = i
            else:
                second = max(second, value)
    # in a race the leader's ordering is enough; in an auction its searcher still has to
    # outbid the best rival, and pays that rival's valuation
    if fav_in and (race or fav_v >= rival):
        return fav, 0.0 if race else rival, n
    bid = 0.0 if race else second
    return best, bid, n


def _value(amount, is_x, px, py):
    return amount * px if is_x else amount * py


def _swap(reserves, pool, direction, a, fee):
    i = direction
    o = 1 - direction
    out = amount_out(a, reserves[pool][i], reserves[pool][o], fee)
    reserves[pool][i] += a
    reserves[pool][o] -= out
    return out


def _fill(s, rollup, pool, pos, kind, strategy, status, direction, sender, bundle,
          a_in, a_out, px, py, fee, gas, fee_paid, t_close):
    if status == EXECUTED:
        value_in = _value(a_in, direction == 0, px, py)
        value_out = _value(a_out, direction == 1, px, py)
        lp_fee_value = fee * value_in
        lp_value = value_in - lp_fee_value - value_out
    else:
        value_in = value_out = lp_fee_value = lp_value = 0.0
    return {"tx": -1, "slot": s, "rollup": rollup, "pool": pool, "position": pos,
            "sender_kind": kind, "strategy": strategy, "status": status,
            "direction": direction, "sender": sender, "bundle": bundle,
            "amount_in": a_in, "amount_out": a_out, "min_out": math.nan,
            "standalone_out": math.nan, "mev_out": math.nan, "ext_price": px / py,
            "out_price": px if direction == 1 else py,
            "value_in": value_in, "value_out": value_out, "lp_fee_value": lp_fee_value,
            "lp_value": lp_value,
            "gas": gas, "fee_paid": fee_paid, "submit_time": math.nan,
            "inclusion_time": t_close}


def _user_fill(flow, j, s, rollup, pool, pos, status, direction, a, out, px, py, fee, gas,
               min_out, standalone_out, mev_out, t_close):
    row = _fill(s, rollup, pool, pos, USER, 0, status, direction, j, -1, a, out, px, py, fee, gas,
                flow.priority_fee[j], t_close)
    row.update(tx=j, min_out=min_out, standalone_out=standalone_out, mev_out=mev_out,
               submit_time=flow.submit_time[j])
    return row


def _extraction(s, rollup, pool, searcher, strategy, n_comp, victim, bundle, gross, gas, bid):
    return {"slot": s, "rollup": rollup, "pool": pool, "searcher": searcher,
            "strategy": strategy, "n_competitors": n_comp, "victim": victim, "bundle": bundle,
            "gross": gross, "gas": gas, "bid": bid, "net": gross - gas - bid}


def _to_records(rows, dtype):
    # row ids are positions in the output, as in the kernels' buffers
    return np.array([tuple(k if name == "id" else row[name] for name in dtype.names)
                     for k, row in enumerate(rows)], dtype=dtype)


def _as_lists(arrays):
    # plain Python scalars throughout, so no numpy arithmetic sneaks into the twin
    return type(arrays)(*(np.asarray(a).tolist() for a in arrays))


def _user_terms(flow, j, x, y, pre_x, pre_y, p, fee):
    """Twin of ``terms_nb``: side, amount, limit and pre-slot quote of user ``j``."""
    d = flow.direction[j]
    a = flow.amount_in[j]
    flipped = False
    if flow.informed[j]:
        # informed users trade toward the external price, same value tendered
        want = 1 if y < p * x else 0
        if want != d:
            a = a * p if d == 0 else a / p
            d = want
            flipped = True
    q0 = amount_out(a, pre_x, pre_y, fee) if d == 0 else amount_out(a, pre_y, pre_x, fee)
    limit = flow.min_out[j]
    if math.isnan(limit) or flipped:
        limit = q0 * (1.0 - flow.tolerance[j])
    return d, a, limit, q0


def spec_gross(flow, js, n_before, x, y, pre_x, pre_y, p, fee, a0, a1):
    """Twin of ``spec_gross_nb``: value (units of y) of speculative legs around users ``js``."""
    st = [x, y]

    def swap(d, a):
        out = amount_out(a, st[d], st[1 - d], fee)
        st[d] += a
        st[1 - d] -= out
        return out

    def users(part):
        for j in part:
            d, a, limit, _ = _user_terms(flow, j, st[0], st[1], pre_x, pre_y, p, fee)
            if amount_out(a, st[d], st[1 - d], fee) >= limit:
                swap(d, a)

    users(js[:n_before])
    o0 = swap(0, a0) if a0 > 0.0 else 0.0
    o1 = swap(1, a1) if a1 > 0.0 else 0.0
    users(js[n_before:])
    b0 = swap(1, o0) if a0 > 0.0 else 0.0
    b1 = swap(0, o1) if a1 > 0.0 else 0.0
    return (b0 - a0) * p + (b1 - a1)


def run(world, policy_id, params):
    """Simulate every slot of ``world`` in order (twin of ``engine.nb.run_nb``, no router).

    Parameters
    ----------
    world : mevlab.engine.World
        From :func:`mevlab.engine.prepare` (and a policy's ``setup``).
    policy_id : int
        Ordering kernel id.
    params : sequence of float
        The policy's vector: public, race, next-slot back-runs, speculative
        mode, bond, then (speculative modes) sizes and values per pool and side.

    Returns
    -------
    fills : ndarray of :data:`~mevlab.dtypes.fill_dt`
    extractions : ndarray of :data:`~mevlab.dtypes.extraction_dt`
    reserves : ndarray (n_pools, 2)
        Final pool state.
    """
    flow = _as_lists(world.flow)
    slots = _as_lists(world.slots)
    pools = _as_lists(world.pools)
    searchers = _as_lists(world.searchers)
    params = [float(v) for v in params]
    key = int(world.key)
    public = params[0] != 0.0
    race = params[1] != 0.0
    next_backrun = params[2] != 0.0
    spec = int(params[3])
    bond = params[4]
    batch = params[5] != 0.0
    fm = params[6] != 0.0
    n_tx = len(flow.t_seq)
    reserves = np.asarray(world.reserves0, float).tolist()
    n_pools = len(reserves)
    n_slots = len(slots.ptr) - 1
    frac = lambda pl, d: params[N_PARAMS + 2 * pl + d]
    worth = lambda pl, d: params[N_PARAMS + 2 * n_pools + 2 * pl + d]
    # the quote a user's limit is set from: pool state before the slot's own trades
    pre = [list(r) for r in reserves]
    backrun_due = {}     # pool -> (victim, x price, y price) of the last revealed trade
    fills = []
    extractions = []
    bundle = 0

    for s in range(n_slots):
        # limits quoted at the pool state the user saw when submitting
        for j in slots.quote_tx[slots.quote_ptr[s]:slots.quote_ptr[s + 1]]:
            if math.isnan(flow.min_out[j]):
                pl, d = flow.pool[j], flow.direction[j]
                flow.min_out[j] = amount_out(flow.amount_in[j], reserves[pl][d],
                                             reserves[pl][1 - d], pools.fee[pl]) \
                    * (1.0 - flow.tolerance[j])
        if not slots.live[s]:
            continue
        clock = slots.clock[s]
        t_close = slots.t_close[s]
        window = t_close - slots.t_open[s]   # searchers see the slot's price at its open
        clock_pools = [pools.clock_idx[q]
                       for q in range(pools.clock_ptr[clock], pools.clock_ptr[clock + 1])]
        pos = 0
        for pl in clock_pools:
            pre[pl] = list(reserves[pl])
        # a colluding leader leaks to its searcher and orders for it (not under sealed policies)
        fav = -1 if (next_backrun or batch) else slots.favoured[s]
        forced = slots.forced[s]      # forced transactions only: no sequencer, no searchers
        if forced:
            fav = -1
        only = not public
        sight = (public or fav >= 0) and not forced

        if batch:       # one uniform price per pool: no order, no top-of-slot race
            # a bundle fills whole or is left out, and the slot is cleared again
            left_out = set()
            saved = (len(fills), len(extractions), pos, [list(reserves[pl]) for pl in clock_pools])
            while True:
                filled = {}
                for pl in clock_pools:
                    pos = settle_batch(flow, slots, pools, searchers, s, pl, key, reserves, pre,
                                       fm, fills, extractions, pos, forced, left_out, filled)
                partial = {j for j in range(slots.ptr[s], slots.ptr[s + 1])
                           if flow.twin[j] >= 0 and j not in left_out
                           and min(filled[j], filled[flow.twin[j]]) < 1.0}
                if not partial:
                    break
                left_out |= partial
                del fills[saved[0]:], extractions[saved[1]:]
                pos = saved[2]
                for pl, r in zip(clock_pools, saved[3]):
                    reserves[pl] = list(r)
            continue

        # 0. back-runs of the previous slot's revealed trades, at that slot's price
        if next_backrun and not forced:
            for pl in clock_pools:
                if pl not in backrun_due:
                    continue
                j, pxo, pyo = backrun_due.pop(pl)
                fee = pools.fee[pl]
                gas = pools.gas[pl]
                db, ab, _, pb = optimal_arb(reserves[pl][0], reserves[pl][1], pxo / pyo, fee)
                if db < 0:
                    continue
                w, bid, nc = contest(searchers, COL_NEXT_BACKRUN, pb * pyo, gas, race, window,
                                     key, 3 * j + 2)
                if w < 0:
                    continue
                px = slots.price[s][pools.tok[pl][0]]
                py = slots.price[s][pools.tok[pl][1]]
                ob = _swap(reserves, pl, db, ab, fee)
                fills.append(_fill(s, pools.rollup[pl], pl, pos, SEARCHER, ST_BACKRUN, EXECUTED,
                                   db, w, -1, ab, ob, px, py, fee, gas, bid, t_close))
                extractions.append(_extraction(
                    s, pools.rollup[pl], pl, w, ST_BACKRUN, nc, j, -1,
                    _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py), gas, bid))
                pos += 1

        # 1. top-of-slot CEX-DEX arbitrage, one winner per pool
        for pl in ([] if forced else clock_pools):
            px = slots.price[s][pools.tok[pl][0]]
            py = slots.price[s][pools.tok[pl][1]]
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            rollup = pools.rollup[pl]
            d, a, _, profit = optimal_arb(reserves[pl][0], reserves[pl][1], px / py, fee)
            if d < 0:
                continue
            opp = 3 * n_tx + s * n_pools + pl
            w, bid, nc = contest(searchers, COL_ARB, profit * py, gas, race, window, key, opp,
                                 fav)
            if w < 0:
                continue
            out = _swap(reserves, pl, d, a, fee)
            fills.append(_fill(s, rollup, pl, pos, SEARCHER, ST_ARB, EXECUTED, d, w, -1,
                               a, out, px, py, fee, gas, bid, t_close))
            extractions.append(_extraction(s, rollup, pl, w, ST_ARB, nc, -1, -1,
                                           _value(out, d == 1, px, py) - _value(a, d == 0, px, py),
                                           gas, bid))
            pos += 1

        # 2. ordering
        lo = slots.ptr[s]
        hi = slots.ptr[s + 1]
        order = order_slot(policy_id, flow.t_seq[lo:hi], flow.priority_fee[lo:hi],
                           flow.tie_u[lo:hi])
        # a bundle's second leg settles right behind its first
        placed = []
        for m in order:
            if m in placed:
                continue
            placed.append(m)
            t = flow.twin[lo + m]
            if t >= 0 and t - lo not in placed:
                placed.append(t - lo)
        order = placed

        # 2b. speculative commitments (commit-reveal) and which pairs to reveal
        specs = {}
        if spec == SPEC_COMMIT:
            for pl in clock_pools:
                committed = [d for d in (0, 1) if frac(pl, d) > 0.0]
                if not committed or forced:
                    continue
                opp = 3 * n_tx + (n_slots + s) * n_pools + pl
                w, _, nc = contest(searchers, COL_BLIND, sum(worth(pl, d) for d in committed),
                                   0.0, True, window, key, opp)
                if w < 0:
                    continue
                t_front = slots.t_open[s] + searchers.latency[w] \
                    - searchers.jitter[w] * math.log(uniform(key, opp, w))
                amounts = [frac(pl, d) * reserves[pl][d] if d in committed else 0.0
                           for d in (0, 1)]
                js = [lo + m for m in order if flow.pool[lo + m] == pl]
                n_before = sum(1 for j in js if flow.t_seq[j] < t_front)
                px = slots.price[s][pools.tok[pl][0]]
                py = slots.price[s][pools.tok[pl][1]]
                best, reveal = -2.0 * len(committed) * bond, []
                for combo in ([0], [1], [0, 1]):
                    if not set(combo) <= set(committed):
                        continue
                    g = spec_gross(flow, js, n_before, reserves[pl][0], reserves[pl][1],
                                   pre[pl][0], pre[pl][1], px / py, pools.fee[pl],
                                   amounts[0] if 0 in combo else 0.0,
                                   amounts[1] if 1 in combo else 0.0) * py
                    v = g - 2.0 * len(combo) * pools.gas[pl] \
                        - 2.0 * (len(committed) - len(combo)) * bond
                    if v > best:
                        best, reveal = v, combo
                specs[pl] = {"w": w, "nc": nc, "t": t_front, "a": amounts,
                             "committed": committed, "reveal": reveal, "out": [0.0, 0.0],
                             "done": False, "bundle": -1, "shadow": None}

        def fronts(pl, px, py, pos):
            nonlocal bundle
            sp = specs[pl]
            sp["shadow"] = list(reserves[pl])
            for d in sp["reveal"]:
                sp["out"][d] = _swap(reserves, pl, d, sp["a"][d], pools.fee[pl])
                fills.append(_fill(s, pools.rollup[pl], pl, pos, SEARCHER, ST_FRONT, EXECUTED, d,
                                   sp["w"], bundle, sp["a"][d], sp["out"][d], px, py,
                                   pools.fee[pl], pools.gas[pl], 0.0, t_close))
                fills[-1]["submit_time"] = sp["t"]     # when the commitment arrived
                pos += 1
            sp["bundle"] = bundle
            sp["done"] = True
            bundle += 1
            return pos

        def sandwich_legs(pl, df, d, j, a, af, limit, standalone, mev_out, w, bid, nc, pos):
            """Front ``af`` on side ``df``, victim ``j`` on side ``d`` (reverting below
            ``limit``), back of all the front got."""
            nonlocal bundle
            px = slots.price[s][pools.tok[pl][0]]
            py = slots.price[s][pools.tok[pl][1]]
            fee, gas, rollup = pools.fee[pl], pools.gas[pl], pools.rollup[pl]
            o1 = _swap(reserves, pl, df, af, fee)
            fills.append(_fill(s, rollup, pl, pos, SEARCHER, ST_FRONT, EXECUTED, df, w, bundle,
                               af, o1, px, py, fee, gas, bid, t_close))
            ov = amount_out(a, reserves[pl][d], reserves[pl][1 - d], fee)
            status = EXECUTED if ov >= limit else REVERTED
            if status == EXECUTED:
                _swap(reserves, pl, d, a, fee)
            else:
                ov = 0.0
            fills.append(_user_fill(flow, j, s, rollup, pl, pos + 1, status, d, a, ov, px, py,
                                    fee, gas, limit, standalone, mev_out, t_close))
            b = _swap(reserves, pl, 1 - df, o1, fee)
            fills.append(_fill(s, rollup, pl, pos + 2, SEARCHER, ST_BACK, EXECUTED, 1 - df, w,
                               bundle, o1, b, px, py, fee, gas, 0.0, t_close))
            extractions.append(_extraction(s, rollup, pl, w, ST_FRONT, nc, j, bundle,
                                           _value(b - af, df == 0, px, py), 2.0 * gas, bid))
            bundle += 1
            return pos + 3, status

        # 3. sequential settlement, searcher legs adjacent to their victim
        reverted_whole = set()
        for i_m, m in enumerate(order):
            j = lo + m
            if j in reverted_whole:
                continue
            pl = flow.pool[j]
            px = slots.price[s][pools.tok[pl][0]]
            py = slots.price[s][pools.tok[pl][1]]
            p = px / py
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            rollup = pools.rollup[pl]
            t = flow.twin[j]
            if t >= 0 and i_m + 1 < len(order) and order[i_m + 1] == t - lo:
                # first leg of a bundle: both legs go through or neither
                for jj in (j, t):
                    sb = specs.get(flow.pool[jj])
                    if sb and sb["reveal"] and not sb["done"] and flow.t_seq[jj] >= sb["t"]:
                        pb = flow.pool[jj]
                        pos = fronts(pb, slots.price[s][pools.tok[pb][0]],
                                     slots.price[s][pools.tok[pb][1]], pos)
                legs = []
                for jj in (j, t):
                    pb = flow.pool[jj]
                    pxb = slots.price[s][pools.tok[pb][0]]
                    pyb = slots.price[s][pools.tok[pb][1]]
                    terms = _user_terms(flow, jj, reserves[pb][0], reserves[pb][1], pre[pb][0],
                                        pre[pb][1], pxb / pyb, pools.fee[pb])
                    db, ab, limit_b, _ = terms
                    ok = amount_out(ab, reserves[pb][db], reserves[pb][1 - db],
                                    pools.fee[pb]) >= limit_b
                    legs.append((jj, pb, pxb, pyb, terms, ok))
                if not all(leg[5] for leg in legs):
                    for jj, pb, pxb, pyb, (db, ab, limit_b, q0b), _ in legs:
                        fills.append(_user_fill(flow, jj, s, pools.rollup[pb], pb, pos, REVERTED,
                                                db, ab, 0.0, pxb, pyb, pools.fee[pb],
                                                pools.gas[pb], limit_b, q0b, math.nan, t_close))
                        pos += 1
                    reverted_whole.add(t)
                    continue
            sp = specs.get(pl)
            if sp and sp["reveal"] and not sp["done"] and flow.t_seq[j] >= sp["t"]:
                pos = fronts(pl, px, py, pos)
            d, a, limit, standalone = _user_terms(flow, j, reserves[pl][0], reserves[pl][1],
                                                  pre[pl][0], pre[pl][1], p, fee)
            i_in = d
            i_out = 1 - d
            mev_out = math.nan
            executed = False

            if sight:
                rin = reserves[pl][i_in]
                rout = reserves[pl][i_out]
                # shrunk so that rounding never pushes the victim below its limit
                a_max = max_frontrun(rin, rout, a, limit, fee) * (1.0 - FRONTRUN_MARGIN)
                if not math.isfinite(a_max):
                    a_max = UNBOUNDED_FRONTRUN * rin
                af, _ = best_frontrun(rin, rout, a, limit, fee, a_max)
                if af > 0.0:
                    o1, ov, b = sandwich(rin, rout, a, af, fee)
                    gross = _value(b - af, d == 0, px, py)
                    deadline = t_close - flow.t_pub[j]
                    if race:   # a front-run must also beat its victim
                        deadline = min(deadline, flow.t_seq[j] - flow.t_pub[j])
                    w, bid, nc = contest(searchers, COL_SANDWICH, gross, 2.0 * gas, race,
                                         deadline, key, 3 * j, fav, only)
                    if w >= 0 and ov >= limit:
                        mev_out = amount_out(a, rin, rout, fee)
                        pos, _ = sandwich_legs(pl, d, d, j, a, af, limit, standalone, mev_out, w,
                                               bid, nc, pos)
                        executed = True

            # blind sandwich around a victim whose pool and side leaked
            if spec == SPEC_LEAK and not executed and not forced and flow.twin[j] < 0:
                dl = flow.direction[j]     # the side submitted, which is what leaks
                af = frac(pl, dl) * reserves[pl][dl]
                if af > 0.0:
                    deadline = t_close - flow.t_pub[j]
                    if race:
                        deadline = min(deadline, flow.t_seq[j] - flow.t_pub[j])
                    w, bid, nc = contest(searchers, COL_BLIND, worth(pl, dl), 0.0, race,
                                         deadline, key, 3 * n_tx + 2 * n_slots * n_pools + j)
                    if w >= 0:
                        mev_out = amount_out(a, reserves[pl][i_in], reserves[pl][i_out], fee)
                        pos, status = sandwich_legs(pl, dl, d, j, a, af, limit, standalone,
                                                    mev_out, w, bid, nc, pos)
                        executed = True
                        if status != EXECUTED:
                            continue

            if not executed:
                out = amount_out(a, reserves[pl][i_in], reserves[pl][i_out], fee)
                counterfactual = out
                if sp and sp["done"] and sp["reveal"]:
                    # what the user would have received without the speculative fronts
                    sh = sp["shadow"]
                    counterfactual = amount_out(a, sh[i_in], sh[i_out], fee)
                    if counterfactual >= limit:
                        sh[i_in] += a
                        sh[i_out] -= counterfactual
                    else:
                        counterfactual = 0.0
                if out >= limit:
                    _swap(reserves, pl, d, a, fee)
                    status = EXECUTED
                    mev_out = counterfactual
                else:
                    out = 0.0
                    status = REVERTED
                fills.append(_user_fill(flow, j, s, rollup, pl, pos, status, d, a, out, px, py,
                                        fee, gas, limit, standalone, mev_out, t_close))
                pos += 1
                if status != EXECUTED:
                    continue

            if next_backrun:
                backrun_due[pl] = (j, px, py)

            # back-run: arbitrage away the displacement the user trade left
            if sight:
                db, ab, _, pb = optimal_arb(reserves[pl][0], reserves[pl][1], p, fee)
                if db >= 0:
                    w, bid, nc = contest(searchers, COL_BACKRUN, pb * py, gas, race,
                                         t_close - flow.t_pub[j], key, 3 * j + 1, fav, only)
                    if w >= 0:
                        ob = _swap(reserves, pl, db, ab, fee)
                        fills.append(_fill(s, rollup, pl, pos, SEARCHER, ST_BACKRUN, EXECUTED,
                                           db, w, -1, ab, ob, px, py, fee, gas, bid, t_close))
                        extractions.append(_extraction(
                            s, rollup, pl, w, ST_BACKRUN, nc, j, -1,
                            _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py), gas,
                            bid))
                        pos += 1

        # 4. speculative pairs: fronts nobody followed, back-runs, dropped commitments
        for pl in clock_pools:
            sp = specs.get(pl)
            if sp is None:
                continue
            px = slots.price[s][pools.tok[pl][0]]
            py = slots.price[s][pools.tok[pl][1]]
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            if sp["reveal"] and not sp["done"]:
                pos = fronts(pl, px, py, pos)
            gross = 0.0
            for d in sp["reveal"]:
                b = _swap(reserves, pl, 1 - d, sp["out"][d], fee)
                fills.append(_fill(s, pools.rollup[pl], pl, pos, SEARCHER, ST_BACK, EXECUTED,
                                   1 - d, sp["w"], sp["bundle"], sp["out"][d], b, px, py, fee,
                                   gas, 0.0, t_close))
                fills[-1]["submit_time"] = sp["t"]
                gross += _value(b - sp["a"][d], d == 0, px, py)
                pos += 1
            forfeited = 0.0
            for d in sp["committed"]:
                if d in sp["reveal"]:
                    continue
                for strategy, side, amount in ((ST_FRONT, d, sp["a"][d]), (ST_BACK, 1 - d, 0.0)):
                    fills.append(_fill(s, pools.rollup[pl], pl, -1, SEARCHER, strategy, DROPPED,
                                       side, sp["w"], -1, amount, 0.0, px, py, fee, 0.0, bond,
                                       t_close))
                    fills[-1]["submit_time"] = sp["t"]
                    forfeited += bond
            extractions.append(_extraction(s, pools.rollup[pl], pl, sp["w"], ST_FRONT, sp["nc"],
                                           -1, sp["bundle"] if sp["reveal"] else -1, gross,
                                           2.0 * len(sp["reveal"]) * gas, forfeited))

    return (_to_records(fills, fill_dt), _to_records(extractions, extraction_dt),
            np.array(reserves, float).reshape(-1, 2))


# --------------------------------------------------------------------------- batch clearing

def amm_intake(p, x, y, fee, fm):
    """Twin of ``amm_intake_nb``: net x the pool takes in at average price ``p``."""
    if fm:
        return 0.5 * (y / p - x)
    g = 1.0 - fee
    if p < g * y / x:
        return y / p - x / g
    if p > y / (g * x):
        return y / (g * p) - x
    return 0.0


def _solve(xs, yb, x, y, fee, fm):
    if fm:
        return (2.0 * yb + y) / (2.0 * xs + x)
    g = 1.0 - fee
    if xs - yb / (g * y / x) >= 0.0:
        return g * (y + yb) / (g * xs + x)
    if xs - yb / (y / (g * x)) <= 0.0:
        return (yb + y / g) / (xs + x)
    return yb / xs


def _root_in(xs, yb, x, y, fee, fm, left, right):
    if xs == 0.0 and yb == 0.0:
        lo, hi = (y / x, y / x) if fm else ((1.0 - fee) * y / x, y / ((1.0 - fee) * x))
        return min(max(y / x, max(lo, left)), min(hi, right))
    return min(max(_solve(xs, yb, x, y, fee, fm), left), right)


def batch_sort(side, amount, min_out):
    """Twin of ``batch_sort_nb``: ``(lim, sellers, buyers)`` in (limit, amount) order."""
    n = len(side)
    lim = [(min_out[i] / amount[i] if min_out[i] > 0 else 0.0) if side[i] == 0
           else (amount[i] / min_out[i] if min_out[i] > 0 else math.inf) for i in range(n)]
    # (limit, amount) order: equal keys are interchangeable, so sums do not depend on input order
    sellers = sorted((i for i in range(n) if side[i] == 0), key=lambda i: (lim[i], amount[i]))
    buyers = sorted((i for i in range(n) if side[i] == 1), key=lambda i: (lim[i], amount[i]))
    return lim, sellers, buyers


def batch_sweep(x, y, fee, fm, amount, lim, sellers, buyers, xs_extra, yb_extra, fill):
    """Twin of ``batch_sweep_nb``: the clearing price; the orders' fills written to ``fill``."""
    for i in sellers + buyers:
        fill[i] = 0.0
    if not sellers and not buyers and xs_extra == 0.0 and yb_extra == 0.0:
        return math.nan
    excess = lambda p, xs_, yb_: xs_ - yb_ / p - amm_intake(p, x, y, fee, fm)
    xs, i_s = xs_extra, 0
    while i_s < len(sellers) and lim[sellers[i_s]] <= 0.0:
        xs += amount[sellers[i_s]]
        i_s += 1
    yb = yb_extra
    for i in buyers:
        yb += amount[i]
    i_b, left = 0, 0.0
    theta_s = theta_b = 1.0
    while True:
        nxt = math.inf
        if i_s < len(sellers):
            nxt = lim[sellers[i_s]]
        if i_b < len(buyers) and lim[buyers[i_b]] < nxt:
            nxt = lim[buyers[i_b]]
        if nxt == math.inf or excess(nxt, xs, yb) > 0.0:
            p = _root_in(xs, yb, x, y, fee, fm, left, nxt)
            j, m = i_s, i_b
            break
        s_b, j = 0.0, i_s
        while j < len(sellers) and lim[sellers[j]] == nxt:
            s_b += amount[sellers[j]]
            j += 1
        b_b, m = 0.0, i_b
        while m < len(buyers) and lim[buyers[m]] == nxt:
            b_b += amount[buyers[m]]
            m += 1
        if excess(nxt, xs + s_b, yb - b_b) >= 0.0:
            p = nxt
            need = max(-excess(nxt, xs, yb), 0.0)
            theta_s = 0.0
            if s_b > 0.0:
                theta_s = min(1.0, need / s_b)
                need = max(need - theta_s * s_b, 0.0)
            theta_b = 1.0
            if b_b > 0.0:
                theta_b = min(1.0, max(0.0, 1.0 - need * nxt / b_b))
            break
        xs += s_b
        yb -= b_b
        i_s, i_b, left = j, m, nxt
    for q, i in enumerate(sellers):
        fill[i] = 1.0 if q < i_s else (theta_s if q < j else 0.0)
    for q, i in enumerate(buyers):
        fill[i] = 0.0 if q < i_b else (theta_b if q < m else 1.0)
    return p


def clear_batch(x, y, fee, fm, side, amount, min_out):
    """Twin of ``clear_batch_nb``: ``(price, fills)`` of one pool's batch of limit orders."""
    lim, sellers, buyers = batch_sort(side, amount, min_out)
    fill = [0.0] * len(side)
    if not side:
        return math.nan, fill
    return batch_sweep(x, y, fee, fm, amount, lim, sellers, buyers, 0.0, 0.0, fill), fill


def _gain(d, p, P):
    return P / p - 1.0 if d == 1 else p - P


def batch_arb(x, y, fee, fm, amount, lim, sellers, buyers, n_arb, P):
    """Twin of ``searcher.nb.batch_arb_nb``: Cournot side and total of ``n_arb`` arbitrageurs."""
    scratch = [0.0] * len(amount)

    def price(d, q):
        return batch_sweep(x, y, fee, fm, amount, lim, sellers, buyers, q if d == 0 else 0.0,
                           q if d == 1 else 0.0, scratch)

    def foc(d, q, eps):
        h = max(1e-7 * q, eps)
        p, pp, pm = price(d, q), price(d, q + h), price(d, max(q - h, 0.0))
        dp = (pp - pm) / (q + h - max(q - h, 0.0))
        if d == 1:
            return P / p - 1.0 - (q / n_arb) * P * dp / (p * p)
        return p - P + (q / n_arb) * dp

    def best_response(d, others, hi):
        n_grid, best_own, best, k_best = 121, 0.0, 0.0, -1
        for k in range(n_grid):
            own = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * k / (n_grid - 1))
            v = own * _gain(d, price(d, others + own), P)
            if v > best:
                best, best_own, k_best = v, own, k
        if k_best < 0:
            return 0.0, 0.0
        lo = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * max(k_best - 1, 0) / (n_grid - 1))
        up = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * min(k_best + 1, n_grid - 1) / (n_grid - 1))
        r = 0.5 * (math.sqrt(5.0) - 1.0)
        for _ in range(40):
            a, b = up - r * (up - lo), lo + r * (up - lo)
            va = a * _gain(d, price(d, others + a), P)
            vb = b * _gain(d, price(d, others + b), P)
            if va > best:
                best, best_own = va, a
            if vb > best:
                best, best_own = vb, b
            if va >= vb:
                up = b
            else:
                lo = a
        if len(sellers) + len(buyers) <= PLATEAU_SEARCH_MAX:
            edges = [] if fm else [(1.0 - fee) * y / x, y / ((1.0 - fee) * x)]
            for L in [lim[i] for i in sellers + buyers] + edges:
                if not (0.0 < L < math.inf) or _gain(d, L, P) <= 0.0:
                    continue
                lo, up = 0.0, 2.0 * hi
                for _ in range(60):
                    mid = 0.5 * (lo + up)
                    pm = price(d, others + mid)
                    if (pm >= L) if d == 0 else (pm <= L):
                        lo = mid
                    else:
                        up = mid
                if lo > 0.0:
                    v = lo * _gain(d, price(d, others + lo), P)
                    if v > best:
                        best, best_own = v, lo
        return best_own, best

    def deviation(d, q, hi):
        others, mine = q * (n_arb - 1) / n_arb, q / n_arb
        base = mine * _gain(d, price(d, others + mine), P)
        return max(best_response(d, others, hi)[1] - base, 0.0)

    if n_arb <= 0:
        return -1, 0.0
    p0 = price(0, 0.0)
    if not p0 > 0.0:
        p0 = y / x
    d = 1 if P > p0 else 0
    scale = y if d == 1 else x
    eps = 1e-9 * scale
    if _gain(d, price(d, eps), P) <= 0.0:
        return -1, 0.0
    hi = 1e-6 * scale
    for _ in range(200):
        if _gain(d, price(d, hi), P) <= 0.0:
            break
        hi *= 2.0
    smooth = not sellers and not buyers
    n_grid, best_q, best_dev = 41, 0.0, math.inf
    prev, prev_f = 0.0, 1.0
    for k in range(n_grid):
        q_k = hi * 10.0 ** (-6.0 + 6.0 * k / (n_grid - 1))
        f = foc(d, q_k, eps)
        if prev_f > 0.0 and f <= 0.0:
            lo, up = prev, q_k
            for _ in range(60):
                mid = 0.5 * (lo + up)
                if foc(d, mid, eps) > 0.0:
                    lo = mid
                else:
                    up = mid
                if up - lo <= 1e-12 * up:
                    break
            if lo > 0.0:
                if smooth:
                    best_q, best_dev = lo, 0.0
                    break
                dev = deviation(d, lo, hi)
                if dev < best_dev:
                    best_dev, best_q = dev, lo
        prev, prev_f = q_k, f
    if not smooth and best_dev > 0.0:
        q = best_q if best_q > 0.0 else hi / n_arb
        for _ in range(1 if n_arb == 1 else 6):
            own, _ = best_response(d, q * (n_arb - 1) / n_arb, hi)
            q_new = own if n_arb == 1 else 0.5 * (q + own * n_arb)
            done = abs(q_new - q) <= 1e-9 * max(q, eps)
            q = q_new
            if done:
                break
        if q > 0.0 and deviation(d, q, hi) < best_dev:
            best_q = q
    return (d, best_q) if best_q > 0.0 else (-1, 0.0)


def settle_batch(flow, slots, pools, searchers, s, pl, key, reserves, pre, fm, fills,
                 extractions, pos, no_searchers=False, left_out=(), filled=None):
    """Twin of ``engine.nb._settle_batch_nb``: one pool's batch in slot ``s``; returns ``pos``.

    Users in ``left_out`` are dropped before clearing; the filled fraction of
    every other user goes to the dict ``filled``."""
    filled = {} if filled is None else filled
    lo, hi = slots.ptr[s], slots.ptr[s + 1]
    t_close = slots.t_close[s]
    window = t_close - slots.t_open[s]
    px = slots.price[s][pools.tok[pl][0]]
    py = slots.price[s][pools.tok[pl][1]]
    P = px / py
    fee, gas, rollup = pools.fee[pl], pools.gas[pl], pools.rollup[pl]
    x, y = reserves[pl]
    users, terms = ([], [], []), []
    for j in range(lo, hi):
        if flow.pool[j] != pl:
            continue
        d, a, limit, q0 = _user_terms(flow, j, x, y, pre[pl][0], pre[pl][1], P, fee)
        if j in left_out:
            row = _user_fill(flow, j, s, rollup, pl, pos, DROPPED, d, 0.0, 0.0, px, py, fee, 0.0,
                             0.0, 0.0, 0.0, t_close)
            row["fee_paid"] = 0.0
            row["amount_in"] = a
            row["lp_fee_value"] = 0.0
            row["lp_value"] = 0.0
            fills.append(row)
            filled[j] = 0.0
            pos += 1
            continue
        users[0].append(d)
        users[1].append(a)
        users[2].append(limit)
        terms.append((j, q0))
    opp = 3 * len(flow.t_seq) + s * len(reserves) + pl
    arbs = [i for i in range(0 if no_searchers else len(searchers.latency))
            if searchers.enabled[i][COL_ARB]
            and searchers.latency[i] - searchers.jitter[i] * math.log(uniform(key, opp, i))
            < window]
    lim, sellers, buyers = batch_sort(*users)
    fill = [0.0] * len(users[0])

    def price(d, q):
        return batch_sweep(x, y, fee, fm, users[1], lim, sellers, buyers, q if d == 0 else 0.0,
                           q if d == 1 else 0.0, fill)

    d_arb, q_arb = -1, 0.0
    while arbs:
        d_arb, q_arb = batch_arb(x, y, fee, fm, users[1], lim, sellers, buyers, len(arbs), P)
        if d_arb < 0:
            break
        p = price(d_arb, q_arb)
        gain = q_arb / len(arbs) * (P / p - 1.0 if d_arb == 1 else p - P) * py
        worst = 0
        for m in range(1, len(arbs)):
            if searchers.cost[arbs[m]] > searchers.cost[arbs[worst]]:
                worst = m
        if gain - gas - searchers.cost[arbs[worst]] > 0.0:
            break
        arbs.pop(worst)
        d_arb = -1
    if d_arb < 0:
        arbs, q_arb = [], 0.0
    n_u = len(users[0])
    if n_u + len(arbs) == 0:
        return pos
    p = price(d_arb, q_arb)
    fill = fill + [1.0] * len(arbs)     # the arbitrage orders carry no limit
    sides = users[0] + [d_arb] * len(arbs)
    amounts = users[1] + [q_arb / len(arbs)] * len(arbs) if arbs else users[1]
    dx = dy = 0.0
    side_in = [0.0, 0.0]
    rows = []
    for m in range(n_u + len(arbs)):
        a_in = fill[m] * amounts[m]
        out = a_in * p if sides[m] == 0 else a_in / p
        if sides[m] == 0:
            dx += a_in
            dy -= out
        else:
            dy += a_in
            dx -= out
        side_in[sides[m]] += a_in
        if m < n_u:
            j, q0 = terms[m]
            filled[j] = fill[m]
            if fill[m] != 1.0:     # the stand-alone output of the part filled
                q0 = amount_out(a_in, pre[pl][sides[m]], pre[pl][1 - sides[m]], fee)
            status = EXECUTED if fill[m] > 0.0 else DROPPED
            row = _user_fill(flow, j, s, rollup, pl, pos, status, sides[m], a_in, out, px, py,
                             fee, gas if status == EXECUTED else 0.0, users[2][m] * fill[m],
                             q0, out, t_close)
            if status != EXECUTED:
                row["fee_paid"] = 0.0
                row["amount_in"] = amounts[m]
        else:
            w = arbs[m - n_u]
            row = _fill(s, rollup, pl, pos, SEARCHER, ST_ARB, EXECUTED, sides[m], w, -1, a_in,
                        out, px, py, fee, gas, 0.0, t_close)
            extractions.append(_extraction(s, rollup, pl, w, ST_ARB, len(arbs), -1, -1,
                                           _value(out, sides[m] == 1, px, py)
                                           - _value(a_in, sides[m] == 0, px, py), gas, 0.0))
        row["lp_fee_value"] = 0.0
        row["lp_value"] = 0.0
        rows.append(row)
        pos += 1
    d_net = 0 if dx > 0.0 else 1
    net_in = dx if d_net == 0 else dy
    if net_in > 0.0 and side_in[d_net] > 0.0:
        fee_value = 0.0 if fm else fee * net_in * (px if d_net == 0 else py)
        pool_value = dx * px + dy * py - fee_value
        for row in rows:
            if row["direction"] == d_net and row["status"] == EXECUTED:
                share = row["amount_in"] / side_in[d_net]
                row["lp_fee_value"] = fee_value * share
                row["lp_value"] = pool_value * share
    fills.extend(rows)
    reserves[pl][0] += dx
    reserves[pl][1] += dy
    return pos

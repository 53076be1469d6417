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

from ..amm.nb import amount_out_nb, batch_sort_nb, batch_sweep_nb, swap_nb
from ..policies.nb import (N_PARAMS, P_BATCH, P_BOND, P_FM, P_NEXT_BACKRUN, P_PUBLIC, P_RACE,
                           P_SPEC,
                          SPEC_COMMIT, SPEC_LEAK, order_slot_nb)
from ..searcher.nb import (batch_arb_nb, best_frontrun_nb, max_frontrun_nb, optimal_arb_nb,
                           sandwich_bound_nb, sandwich_nb)

USER = 0
SEARCHER = 1
ST_ARB = 1
ST_BACKRUN = 2
ST_FRONT = 3
ST_BACK = 4
EXECUTED = 0
REVERTED = 1
DROPPED = 2
# column of ``searchers.enabled`` per strategy: in-slot back-runs and sandwiches need
# sight of the transaction before ordering; next-slot back-runs and blind
# (speculative or metadata-guided) sandwiches do not
COL_ARB = 0
COL_BACKRUN = 1
COL_SANDWICH = 2
COL_NEXT_BACKRUN = 3
COL_BLIND = 4
# columns of ``pending``: router legs in flight (0-6), then next-slot back-runs (7-10)
PENDING_COLS = 11
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
def contest_nb(searchers, col, gross, gas_total, race, deadline, key, opp, fav, only_fav):
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
    fav : int
        Searcher the slot's leader colludes with (-1: none). The leader places
        its trade whatever its arrival; in a race it wins whenever it wants the
        opportunity, in an auction whenever it values it at least as much as
        the best rival, whose valuation it pays.
    only_fav : bool
        Only ``fav`` saw the opportunity (the leader leaked it).

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
    rival = 0.0
    fav_in = False
    fav_v = 0.0
    n = 0
    for i in range(ns):
        if only_fav and i != fav:
            continue
        if not searchers.enabled[i, col]:
            continue
        v = gross - gas_total - searchers.cost[i]
        if v <= 0.0:
            continue
        u = uniform_nb(key, opp, i)
        t = searchers.latency[i] - searchers.jitter[i] * math.log(u)
        if t >= deadline and i != fav:
            continue
        n += 1
        if i == fav:
            fav_in = True
            fav_v = v
        else:
            rival = max(rival, v)
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
    # in a race the leader's ordering is enough; in an auction its searcher still has to
    # outbid the best rival, and pays that rival's valuation
    if fav_in and (race or fav_v >= rival):
        return fav, 0.0 if race else rival, n
    bid = 0.0 if race else second
    return best, bid, n


@njit(cache=True)
def cheapest_nb(searchers):
    """Per strategy column, the lowest private cost among the searchers that have it (inf if
    none): :func:`contest_nb` finds no taker for an opportunity that does not beat it."""
    min_cost = np.full(5, np.inf)
    for i in range(searchers.latency.shape[0]):
        for col in range(5):
            if searchers.enabled[i, col]:
                min_cost[col] = min(min_cost[col], searchers.cost[i])
    return min_cost


@njit(cache=True)
def frontrun_nb(rin, rout, a, mo, fee, is_x, px, py, gas, cost):
    """The sandwich's front-run on a victim tendering ``a`` (limit ``mo``) into a pool at
    ``(rin, rout)``: :func:`best_frontrun_nb` up to the largest front-run that keeps the
    victim at its limit, or 0 when an upper bound on the profit (valued at ``px``, ``py``;
    ``is_x``: the victim tenders x) cannot pay two legs' ``gas`` and the cheapest
    sandwicher's ``cost``, so that no contest would find a taker. The bound is tried with
    one piece, then four, then sixteen (:func:`~mevlab.searcher.nb.sandwich_bound_nb`; each
    stage costs a fraction of the 95-point search it may skip); its margin covers the
    profit's round-off."""
    amax = max_frontrun_nb(rin, rout, a, mo, fee) * (1.0 - FRONTRUN_MARGIN)
    if not math.isfinite(amax):
        amax = UNBOUNDED_FRONTRUN * rin
    for pieces in (1, 4, 16):
        ub = sandwich_bound_nb(rin, rout, a, fee, amax, pieces) + 1e-9 * amax
        if not _value(ub, is_x, px, py) - 2.0 * gas - cost > 0.0:
            return 0.0
    af, _ = best_frontrun_nb(rin, rout, a, mo, fee, amax)
    return af


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
        r.lp_value = r.value_in - r.lp_fee_value - r.value_out
    else:
        r.value_in = 0.0
        r.value_out = 0.0
        r.lp_fee_value = 0.0
        r.lp_value = 0.0
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
def terms_nb(d, a, informed, min_out, tolerance, x, y, pre_x, pre_y, p, fee):
    """What a user trades when it executes on a pool at state ``(x, y)``, from its
    transaction's side ``d``, amount ``a``, ``informed`` flag, ``min_out`` and ``tolerance``.

    Informed users trade toward the external price ``p`` (same value
    tendered); the limit is the given ``min_out``, or the quote at the
    pre-slot state ``(pre_x, pre_y)`` times ``1 - tolerance`` (also when the
    side flipped, since a given limit is in the original output token). The
    fields come as scalars: passing the flow tuple to a call costs a reference
    count per array, several times the arithmetic.

    Returns
    -------
    d : int
        Direction (0 tenders x).
    a : float
        Amount tendered, token units.
    mo : float
        Least acceptable output, token units.
    q0 : float
        Output at the pre-slot state, token units.
    """
    flipped = False
    if informed:
        want = 1 if y < p * x else 0
        if want != d:
            a = a * p if d == 0 else a / p
            d = want
            flipped = True
    if d == 0:
        q0 = amount_out_nb(a, pre_x, pre_y, fee)
    else:
        q0 = amount_out_nb(a, pre_y, pre_x, fee)
    mo = min_out
    if math.isnan(mo) or flipped:
        mo = q0 * (1.0 - tolerance)
    return d, a, mo, q0


@njit(cache=True)
def _sim_swap(x, y, d, a, fee):
    """Swap ``a`` on side ``d`` of a pool at ``(x, y)``: returns ``(x', y', output)``."""
    if d == 0:
        out = amount_out_nb(a, x, y, fee)
        return x + a, y - out, out
    out = amount_out_nb(a, y, x, fee)
    return x - out, y + a, out


@njit(cache=True)
def _sim_users(flow, js, lo, hi, x, y, pre_x, pre_y, p, fee):
    """Users ``js[lo:hi]`` on a pool at ``(x, y)``, each reverting below its limit."""
    for m in range(lo, hi):
        jm = js[m]
        d, a, mo, _ = terms_nb(flow.direction[jm], flow.amount_in[jm], flow.informed[jm],
                               flow.min_out[jm], flow.tolerance[jm], x, y, pre_x, pre_y, p, fee)
        if amount_out_nb(a, x if d == 0 else y, y if d == 0 else x, fee) >= mo:
            x, y, _ = _sim_swap(x, y, d, a, fee)
    return x, y


@njit(cache=True)
def spec_gross_nb(flow, js, n_before, x, y, pre_x, pre_y, p, fee, a0, a1):
    """Gross value of speculative sandwich legs around one pool's users in one slot.

    Users ``js[:n_before]`` execute first, then the front legs (``a0`` of x
    for y if positive, then ``a1`` of y for x if positive), then users
    ``js[n_before:]`` (each reverting if below its limit), then the back legs,
    each selling all that its front received. This is exactly the sequence the
    engine settles, so the searcher's reveal decision is computed, not guessed.

    Returns
    -------
    float
        ``(b0 - a0) * p + (b1 - a1)``: the legs' value in units of y at
        external price ``p`` (y per x).
    """
    x, y = _sim_users(flow, js, 0, n_before, x, y, pre_x, pre_y, p, fee)
    o0 = 0.0
    o1 = 0.0
    if a0 > 0.0:
        x, y, o0 = _sim_swap(x, y, 0, a0, fee)
    if a1 > 0.0:
        x, y, o1 = _sim_swap(x, y, 1, a1, fee)
    x, y = _sim_users(flow, js, n_before, js.shape[0], x, y, pre_x, pre_y, p, fee)
    b0 = 0.0
    b1 = 0.0
    if a0 > 0.0:
        x, y, b0 = _sim_swap(x, y, 1, o0, fee)
    if a1 > 0.0:
        x, y, b1 = _sim_swap(x, y, 0, o1, fee)
    return (b0 - a0) * p + (b1 - a1)


@njit(cache=True)
def spec_values_nb(flow, js, ptr, n_before, x, y, p, fee, amounts, d, floor):
    """Mean payoff (units of y) of speculative legs of each size over sampled slots.

    Group ``g`` is the users ``js[ptr[g]:ptr[g+1]]`` of one sampled slot, of
    which ``n_before[g]`` precede the front leg on side ``d``. A group pays
    ``max(gross - floor[1], floor[0])``: ``floor[1]`` is the legs' gas and
    ``floor[0]`` the payoff of not revealing (minus both bonds), or ``-inf``
    when the legs execute regardless.

    Returns
    -------
    ndarray (len(amounts),)
        Mean payoff per group for each size in ``amounts`` (token units of
        side ``d``), units of y.
    """
    n_g = ptr.shape[0] - 1
    out = np.zeros(amounts.shape[0])
    for i in range(amounts.shape[0]):
        a0 = amounts[i] if d == 0 else 0.0
        a1 = amounts[i] if d == 1 else 0.0
        tot = 0.0
        for g in range(n_g):
            v = spec_gross_nb(flow, js[ptr[g]:ptr[g + 1]], n_before[g], x, y, x, y, p, fee,
                              a0, a1) - floor[1]
            tot += max(v, floor[0])
        out[i] = tot / max(n_g, 1)
    return out


@njit(cache=True)
def run_nb(flow, slots, pools, searchers, policy_id, params, key, reserves, fills, ext, state,
           s_lo, s_hi, plan, plan_gross, pending):
    """Simulate slots ``s_lo..s_hi-1`` in order; returns ``(n_fills, n_extractions)``.

    ``reserves`` (n_pools, 2) is updated in place; ``state`` (int64[3]: rows
    of fills and extractions written so far, next bundle id) carries the run
    across calls, and so does ``pending`` (n_pools, :data:`PENDING_COLS`).

    ``params`` is the policy's vector (:data:`P_PUBLIC` ... :data:`P_BOND`),
    followed, when :data:`P_SPEC` is set, by the speculative front-run size per
    pool and direction (fraction of the input reserve, ``2 * n_pools``) and its
    expected value to the searcher (numeraire, ``2 * n_pools``).

    - At the opening of every slot, the limits of the transactions listed in
      ``slots.quote_tx`` for it (legs of cross-rollup intents submitted during
      it) are quoted into ``flow.min_out`` unless already given.
    - A slot with ``slots.live[s]`` false executes nothing (its transactions
      were moved to a later slot by the caller).
    - With :data:`P_NEXT_BACKRUN`, the contents of a slot are known only once
      its order is fixed: the back-run of each pool's last executed user trade
      is sized at that slot's price and lands at the top of the pool's next
      slot (columns 7-10 of ``pending``: active, victim, x and y prices).
    - :data:`SPEC_COMMIT` (commit-reveal): per pool, one searcher commits a
      front-run per direction at its arrival and a back-run at the slot's
      end, and after every reveal decides which pairs to reveal; unrevealed
      commitments are dropped and their bonds go to the sequencer.
    - :data:`SPEC_LEAK` (threshold with leaked pool and direction): a blind
      front-run of the precomputed size before the victim and a back-run after,
      both executed whatever the victim's size or limit turn out to be.

    If ``plan_gross`` is finite, the top-of-slot arbitrage of slot ``s_lo`` is
    the router's bundle ``plan`` (n_pools, 2: amounts tendered per pool and
    side), worth ``plan_gross`` numeraire at external prices, instead of the
    per-pool closed form; pools with NaN rows (left out of the plan because
    they move first) still get the closed form. Legs of the plan on pools of another clock
    (``isolated``: another rollup) do not execute in this slot: they go to
    ``pending`` (columns 0-6: active, direction, amount, min_out, owner,
    bundle, bid) and execute, or revert if they would receive less than
    ``min_out`` (the output planned), at the top of that pool's next slot,
    independently of the rest of the bundle; each also fails with probability
    ``pools.leg_failure`` of its pool. User bundles (``flow.twin``, shared
    topology) settle whole: the second leg right behind the first, both
    reverting if either would miss its limit; in a batch, a bundle with a leg
    not filled in full is left out and the slot cleared again. Returns ``(-1, -1)`` if a buffer
    is too small (the caller retries with the worst-case size) and ``(-2, -2)``
    if ``policy_id`` is not a known ordering kernel.
    """
    public = params[P_PUBLIC] != 0.0
    race = params[P_RACE] != 0.0
    next_backrun = params[P_NEXT_BACKRUN] != 0.0
    spec = int(params[P_SPEC])
    bond = params[P_BOND]
    n_tx = flow.t_seq.shape[0]
    n_pools = reserves.shape[0]
    n_slots = slots.ptr.shape[0] - 1
    cap_f = fills.shape[0]
    cap_e = ext.shape[0]
    max_n = 0
    for s in range(s_lo, s_hi):
        max_n = max(max_n, slots.ptr[s + 1] - slots.ptr[s])
    perm = np.empty(max(max_n, 1), np.int64)
    js = np.empty(max(max_n, 1), np.int64)
    pre = reserves.copy()
    # speculative pairs of the current slot, per pool: which directions are revealed
    # (bit 0: x in, bit 1: y in), committed, fronts executed, winner, front arrival,
    # front sizes and outputs, bundle id
    sp_rev = np.zeros(n_pools, np.int64)
    sp_com = np.zeros(n_pools, np.int64)
    sp_done = np.zeros(n_pools, np.bool_)
    sp_w = np.zeros(n_pools, np.int64)
    sp_t = np.zeros(n_pools)
    sp_a = np.zeros((n_pools, 2))
    sp_o = np.zeros((n_pools, 2))
    sp_b = np.zeros(n_pools, np.int64)
    sp_nc = np.zeros(n_pools, np.int64)
    batch = params[P_BATCH] != 0.0
    fm = params[P_FM] != 0.0
    n_srch = searchers.latency.shape[0]
    # skip sizing sandwiches and back-runs nobody can take (contest_nb would find no taker)
    can_sandwich = False
    can_backrun = False
    for i in range(n_srch):
        can_sandwich = can_sandwich or searchers.enabled[i, COL_SANDWICH]
        can_backrun = can_backrun or searchers.enabled[i, COL_BACKRUN]
    # contest_nb finds no taker unless an opportunity beats the cheapest searcher's cost (the
    # same subtraction it makes): checked first, since a call passing the searchers' arrays
    # costs more than the check
    min_cost = cheapest_nb(searchers)
    # one pool's batch: users' orders, then one order per arbitrageur
    b_side = np.empty(max_n + n_srch, np.int64)
    b_amt = np.empty(max_n + n_srch)
    b_mo = np.empty(max_n + n_srch)
    b_fill = np.empty(max_n + n_srch)
    b_q0 = np.empty(max_n)
    b_j = np.empty(max_n, np.int64)
    b_arb = np.empty(n_srch, np.int64)
    # the pool as it would have been without the revealed fronts: users' counterfactual output
    shadow = np.zeros((n_pools, 2))
    # bundles: the slot's settlement sequence (second legs right behind their first), and
    # in batches the legs left out so that no bundle fills in part
    seq = np.empty(max(max_n, 1), np.int64)
    seen = np.zeros(max(max_n, 1), np.bool_)
    excl = np.zeros(n_tx if batch else 0, np.bool_)
    u_fill = np.zeros(n_tx if batch else 0)
    b_save = np.zeros((n_pools, 2))
    # a batch slot's transactions grouped by pool (in slot order), so that each pool's
    # clearing reads its own orders instead of scanning the whole slot
    g_lo = np.zeros(n_pools, np.int64)
    g_hi = np.zeros(n_pools, np.int64)
    grp = np.empty(max(max_n, 1) if batch else 0, np.int64)
    k = state[0]
    e = state[1]
    bundle = state[2]
    for s in range(s_lo, s_hi):
        # limits quoted at the pool state their users saw when submitting (dead slots too:
        # the state is then the one the last executed slot left)
        for qi in range(slots.quote_ptr[s], slots.quote_ptr[s + 1]):
            j = slots.quote_tx[qi]
            if math.isnan(flow.min_out[j]):
                pl = flow.pool[j]
                d = flow.direction[j]
                flow.min_out[j] = amount_out_nb(flow.amount_in[j], reserves[pl, d],
                                                reserves[pl, 1 - d], pools.fee[pl]) \
                    * (1.0 - flow.tolerance[j])
        if not slots.live[s]:
            continue
        # a colluding leader leaks what it sees to its searcher and orders for it, as far as
        # the policy lets it: it sees no contents under sealed policies
        fav = -1 if (next_backrun or batch) else slots.favoured[s]
        # a slot carrying only forced transactions has no sequencer and no searchers
        forced = slots.forced[s]
        if forced:
            fav = -1
        only = not public
        sight = (public or fav >= 0) and not forced
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
            if pending[pl, 0] == 0.0 or forced:
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
            # the leg may also fail on its way here (relay, reorg, another rollup's sequencer)
            lost = pools.leg_failure[pl] > 0.0 and uniform_nb(
                key, 4 * n_tx + (2 * n_slots + s) * n_pools + pl, 0) < pools.leg_failure[pl]
            if out >= pending[pl, 3] and not lost:
                swap_nb(reserves, pl, d, a, fee)
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, EXECUTED,
                              d, w, b_id, a, out, px, py, fee, gas, leg_bid, t_close)
                gross = _value(out, d == 1, px, py) - _value(a, d == 0, px, py)
            else:
                # the pool moved against the leg since it was planned, or it was lost: it
                # reverts, gas is paid
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, REVERTED,
                              d, w, b_id, a, 0.0, px, py, fee, gas, leg_bid, t_close)
                gross = 0.0
            write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_ARB, 0, -1, b_id, gross,
                                gas, leg_bid)
            k += 1
            e += 1
            pos += 1
        # 0b. back-runs of the previous slot's revealed trades, sized at that slot's price
        if next_backrun and not forced:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                if pending[pl, 7] == 0.0:
                    continue
                pending[pl, 7] = 0.0
                j = int(pending[pl, 8])
                pyo = pending[pl, 10]
                fee = pools.fee[pl]
                gas = pools.gas[pl]
                db, ab, ob, pb = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1],
                                                pending[pl, 9] / pyo, fee)
                if db < 0 or not pb * pyo - gas - min_cost[COL_NEXT_BACKRUN] > 0.0:
                    continue
                w, bid, nc = contest_nb(searchers, COL_NEXT_BACKRUN, pb * pyo, gas, race, window,
                                        key, 3 * j + 2, -1, False)
                if w < 0:
                    continue
                if k >= cap_f or e >= cap_e:
                    return -1, -1
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                ob = swap_nb(reserves, pl, db, ab, fee)
                write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_BACKRUN,
                              EXECUTED, db, w, -1, ab, ob, px, py, fee, gas, bid, t_close)
                # realised at this slot's price: the searcher bore the price move since
                write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_BACKRUN, nc, j, -1,
                                    _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py),
                                    gas, bid)
                k += 1
                e += 1
                pos += 1
        if batch:
            # a bundle fills whole or not at all: clear, leave out every bundle with a leg
            # not filled in full, clear again (each pass leaves out at least one bundle)
            k0 = k
            e0 = e
            pos0 = pos
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                b_save[pl, 0] = reserves[pl, 0]
                b_save[pl, 1] = reserves[pl, 1]
                g_hi[pl] = 0
            for j in range(slots.ptr[s], slots.ptr[s + 1]):
                g_hi[flow.pool[j]] += 1
            run = 0
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                g_lo[pl] = run
                run += g_hi[pl]
                g_hi[pl] = g_lo[pl]
            for j in range(slots.ptr[s], slots.ptr[s + 1]):
                pl = flow.pool[j]
                grp[g_hi[pl]] = j
                g_hi[pl] += 1
            while True:
                for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                    pl = pools.clock_idx[q]
                    res = _settle_batch_nb(flow, slots, pools, searchers, s, pl, key, reserves,
                                           pre, fills, ext, k, e, pos, fm, forced, b_side, b_amt,
                                           b_mo, b_fill, b_q0, b_j, b_arb, excl, u_fill,
                                           grp[g_lo[pl]:g_hi[pl]])
                    if res[0] < 0:
                        return -1, -1
                    k, e, pos = res
                redo = False
                for j in range(slots.ptr[s], slots.ptr[s + 1]):
                    t = flow.twin[j]
                    if t >= 0 and not excl[j] and (u_fill[j] < 1.0 or u_fill[t] < 1.0):
                        excl[j] = True
                        excl[t] = True
                        redo = True
                if not redo:
                    break
                k = k0
                e = e0
                pos = pos0
                for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                    pl = pools.clock_idx[q]
                    reserves[pl, 0] = b_save[pl, 0]
                    reserves[pl, 1] = b_save[pl, 1]
            continue
        # 1. top-of-slot CEX-DEX arbitrage: the router's bundle, or the closed form per pool
        router_slot = s == s_lo and math.isfinite(plan_gross) and not forced
        if router_slot:
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
                                        window, key, 3 * n_tx + s * n_pools, fav, False)
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
        # the closed form on every pool, or in a router slot on the pools the plan left
        # out because they move first (NaN rows of ``plan``)
        for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
            pl = pools.clock_idx[q]
            if forced or (router_slot and not math.isnan(plan[pl, 0])):
                continue
            px = slots.price[s, pools.tok[pl, 0]]
            py = slots.price[s, pools.tok[pl, 1]]
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            d, a, o, prof = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], px / py, fee)
            if d < 0 or not prof * py - gas - min_cost[COL_ARB] > 0.0:
                continue
            opp = 3 * n_tx + s * n_pools + pl
            w, bid, nc = contest_nb(searchers, COL_ARB, prof * py, gas, race, window, key,
                                    opp, fav, False)
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
        # a bundle settles whole: its second leg right behind its first, wherever ordered
        for m in range(n):
            seen[m] = False
        n_seq = 0
        for m in range(n):
            r = perm[m]
            if seen[r]:
                continue
            seq[n_seq] = r
            seen[r] = True
            n_seq += 1
            t = flow.twin[lo + r]
            if t >= 0 and not seen[t - lo]:
                seq[n_seq] = t - lo
                seen[t - lo] = True
                n_seq += 1
        # 2b. speculative commitments, and the reveal decision once every other reveal is in
        if spec == SPEC_COMMIT:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                sp_rev[pl] = 0
                sp_com[pl] = 0
                sp_done[pl] = False
                ev = 0.0
                for d in range(2):
                    if params[N_PARAMS + 2 * pl + d] > 0.0:
                        sp_com[pl] |= 1 << d
                        ev += params[N_PARAMS + 2 * n_pools + 2 * pl + d]
                if sp_com[pl] == 0 or forced:
                    sp_com[pl] = 0
                    continue
                opp = 3 * n_tx + (n_slots + s) * n_pools + pl
                w, _, nc = contest_nb(searchers, COL_BLIND, ev, 0.0, True, window, key, opp, -1,
                                      False)
                if w < 0:
                    sp_com[pl] = 0
                    continue
                sp_w[pl] = w
                sp_nc[pl] = nc
                # the same draw as in the contest: when the winner's commitments arrive
                sp_t[pl] = slots.t_open[s] + searchers.latency[w] \
                    - searchers.jitter[w] * math.log(uniform_nb(key, opp, w))
                for d in range(2):
                    sp_a[pl, d] = params[N_PARAMS + 2 * pl + d] * reserves[pl, d] \
                        if sp_com[pl] & (1 << d) else 0.0
                # the pool's users in the fixed order, and how many precede the fronts
                m_js = 0
                n_before = 0
                for m in range(n):
                    j = lo + seq[m]
                    if flow.pool[j] == pl:
                        js[m_js] = j
                        m_js += 1
                        if flow.t_seq[j] < sp_t[pl]:
                            n_before = m_js
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                gas = pools.gas[pl]
                n_com = (sp_com[pl] & 1) + (sp_com[pl] >> 1)
                best = -2.0 * n_com * bond     # reveal nothing: every bond is forfeited
                for combo in range(1, 4):
                    if combo & sp_com[pl] != combo:
                        continue
                    n_rev = (combo & 1) + (combo >> 1)
                    g = spec_gross_nb(flow, js[:m_js], n_before, reserves[pl, 0],
                                      reserves[pl, 1], pre[pl, 0], pre[pl, 1], px / py,
                                      pools.fee[pl], sp_a[pl, 0] if combo & 1 else 0.0,
                                      sp_a[pl, 1] if combo & 2 else 0.0) * py
                    v = g - 2.0 * n_rev * gas - 2.0 * (n_com - n_rev) * bond
                    if v > best:
                        best = v
                        sp_rev[pl] = combo
        # 3. sequential settlement with searcher insertion
        skip = -1
        for m in range(n):
            j = lo + seq[m]
            if j == skip:       # second leg of a bundle already reverted whole
                continue
            pl = flow.pool[j]
            px = slots.price[s, pools.tok[pl, 0]]
            py = slots.price[s, pools.tok[pl, 1]]
            p = px / py
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            if k + 8 > cap_f or e + 3 > cap_e:
                return -1, -1
            t = flow.twin[j]
            if t >= 0 and m + 1 < n and seq[m + 1] == t - lo:
                # first leg of a bundle: nothing but its own pools' searchers trades between
                # its legs, and sandwiches keep each leg within its limit, so whether the
                # bundle goes through is known now: all legs or none
                ok = True
                for leg in range(2):
                    jj = j if leg == 0 else t
                    pb = flow.pool[jj]
                    if spec == SPEC_COMMIT and sp_rev[pb] != 0 and not sp_done[pb] \
                            and flow.t_seq[jj] >= sp_t[pb]:
                        shadow[pb, 0] = reserves[pb, 0]
                        shadow[pb, 1] = reserves[pb, 1]
                        k, pos = _spec_fronts(fills, k, s, pools, pb, pos, sp_rev, sp_w, sp_t,
                                              sp_a, sp_o, sp_b, sp_done, bundle, reserves,
                                              slots.price[s, pools.tok[pb, 0]],
                                              slots.price[s, pools.tok[pb, 1]], t_close)
                        bundle += 1
                    pxb = slots.price[s, pools.tok[pb, 0]]
                    pyb = slots.price[s, pools.tok[pb, 1]]
                    db, ab, mob, _ = terms_nb(flow.direction[jj], flow.amount_in[jj],
                                              flow.informed[jj], flow.min_out[jj],
                                              flow.tolerance[jj], reserves[pb, 0],
                                              reserves[pb, 1], pre[pb, 0], pre[pb, 1],
                                              pxb / pyb, pools.fee[pb])
                    if amount_out_nb(ab, reserves[pb, db], reserves[pb, 1 - db],
                                     pools.fee[pb]) < mob:
                        ok = False
                if not ok:
                    for leg in range(2):
                        jj = j if leg == 0 else t
                        pb = flow.pool[jj]
                        pxb = slots.price[s, pools.tok[pb, 0]]
                        pyb = slots.price[s, pools.tok[pb, 1]]
                        db, ab, mob, qb = terms_nb(flow.direction[jj], flow.amount_in[jj],
                                                   flow.informed[jj], flow.min_out[jj],
                                                   flow.tolerance[jj], reserves[pb, 0],
                                                   reserves[pb, 1], pre[pb, 0], pre[pb, 1],
                                                   pxb / pyb, pools.fee[pb])
                        _write_user(fills, k, s, pools.rollup[pb], pb, pos, REVERTED, db, jj,
                                    ab, 0.0, pxb, pyb, pools.fee[pb], pools.gas[pb],
                                    flow.priority_fee[jj], flow.submit_time[jj], mob, qb,
                                    np.nan, t_close)
                        k += 1
                        pos += 1
                    skip = t
                    continue
            if spec == SPEC_COMMIT and sp_rev[pl] != 0 and not sp_done[pl] \
                    and flow.t_seq[j] >= sp_t[pl]:
                shadow[pl, 0] = reserves[pl, 0]
                shadow[pl, 1] = reserves[pl, 1]
                k, pos = _spec_fronts(fills, k, s, pools, pl, pos, sp_rev, sp_w, sp_t, sp_a,
                                      sp_o, sp_b, sp_done, bundle, reserves, px, py, t_close)
                bundle += 1
            d, a, mo, q0 = terms_nb(flow.direction[j], flow.amount_in[j], flow.informed[j],
                                    flow.min_out[j], flow.tolerance[j], reserves[pl, 0],
                                    reserves[pl, 1], pre[pl, 0], pre[pl, 1], p, fee)
            i_in = d
            i_out = 1 - d
            mev_out = np.nan
            executed = False
            # sandwich, by a searcher who can read the transaction before ordering
            if sight and can_sandwich:
                rin = reserves[pl, i_in]
                rout = reserves[pl, i_out]
                af = frontrun_nb(rin, rout, a, mo, fee, d == 0, px, py, gas,
                                 min_cost[COL_SANDWICH])
                if af > 0.0:
                    o1, ov, b = sandwich_nb(rin, rout, a, af, fee)
                    gross = _value(b - af, d == 0, px, py)
                    deadline = t_close - flow.t_pub[j]
                    if race:   # a front-run must also beat its victim
                        deadline = min(deadline, flow.t_seq[j] - flow.t_pub[j])
                    w = -1
                    bid = 0.0
                    nc = 0
                    if gross - 2.0 * gas - min_cost[COL_SANDWICH] > 0.0:
                        w, bid, nc = contest_nb(searchers, COL_SANDWICH, gross, 2.0 * gas, race,
                                                deadline, key, 3 * j, fav, only)
                    if w >= 0 and ov >= mo:
                        mev_out = amount_out_nb(a, rin, rout, fee)
                        k, e, pos, _ = _sandwich_legs_nb(fills, ext, k, e, s, pools, pl, pos, d,
                                                         d, j, a, af, mo, q0, mev_out, w, bid,
                                                         nc, bundle, reserves, px, py, flow,
                                                         t_close)
                        bundle += 1
                        executed = True
                    else:
                        mev_out = np.nan
            # blind sandwich: pool and the submitted side leaked (an informed user may
            # still trade the other way), size and limit unknown
            if spec == SPEC_LEAK and not executed and not forced and flow.twin[j] < 0:
                dl = flow.direction[j]
                af = params[N_PARAMS + 2 * pl + dl] * reserves[pl, dl]
                if af > 0.0:
                    deadline = t_close - flow.t_pub[j]
                    if race:
                        deadline = min(deadline, flow.t_seq[j] - flow.t_pub[j])
                    w, bid, nc = contest_nb(searchers, COL_BLIND,
                                            params[N_PARAMS + 2 * n_pools + 2 * pl + dl], 0.0,
                                            race, deadline, key,
                                            3 * n_tx + 2 * n_slots * n_pools + j, -1, False)
                    if w >= 0:
                        mev_out = amount_out_nb(a, reserves[pl, i_in], reserves[pl, i_out], fee)
                        k, e, pos, st = _sandwich_legs_nb(fills, ext, k, e, s, pools, pl, pos,
                                                          dl, d, j, a, af, mo, q0, mev_out, w,
                                                          bid, nc, bundle, reserves, px, py, flow,
                                                          t_close)
                        bundle += 1
                        executed = True
                        if st != EXECUTED:
                            continue
            if not executed:
                out = amount_out_nb(a, reserves[pl, i_in], reserves[pl, i_out], fee)
                cf = out
                if spec == SPEC_COMMIT and sp_done[pl] and sp_rev[pl] != 0:
                    # behind a revealed speculative front: what it would have got without it
                    cf = amount_out_nb(a, shadow[pl, i_in], shadow[pl, i_out], fee)
                    if cf >= mo:
                        shadow[pl, i_in] += a
                        shadow[pl, i_out] -= cf
                    else:
                        cf = 0.0
                if out >= mo:
                    swap_nb(reserves, pl, d, a, fee)
                    st = EXECUTED
                    mev_out = cf
                else:
                    out = 0.0
                    st = REVERTED
                _write_user(fills, k, s, pools.rollup[pl], pl, pos, st, d, j, a, out, px, py,
                            fee, gas, flow.priority_fee[j], flow.submit_time[j], mo, q0,
                            mev_out, t_close)
                k += 1
                pos += 1
                if st != EXECUTED:
                    continue
            if next_backrun:
                pending[pl, 7] = 1.0
                pending[pl, 8] = j
                pending[pl, 9] = px
                pending[pl, 10] = py
            # back-run: arbitrage the displacement the user trade left
            if sight and can_backrun:
                db, ab, ob, pb = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], p, fee)
                if db >= 0 and pb * py - gas - min_cost[COL_BACKRUN] > 0.0:
                    w, bid, nc = contest_nb(searchers, COL_BACKRUN, pb * py, gas, race,
                                            t_close - flow.t_pub[j], key, 3 * j + 1, fav, only)
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
        # 4. speculative pairs: fronts nobody followed, the back-runs, dropped commitments
        if spec == SPEC_COMMIT:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                if sp_com[pl] == 0:
                    continue
                if k + 8 > cap_f or e + 1 > cap_e:
                    return -1, -1
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                fee = pools.fee[pl]
                gas = pools.gas[pl]
                w = sp_w[pl]
                if sp_rev[pl] != 0 and not sp_done[pl]:
                    k, pos = _spec_fronts(fills, k, s, pools, pl, pos, sp_rev, sp_w, sp_t, sp_a,
                                          sp_o, sp_b, sp_done, bundle, reserves, px, py,
                                          t_close)
                    bundle += 1
                gross = 0.0
                n_rev = 0
                for d in range(2):
                    if sp_rev[pl] & (1 << d):
                        b = swap_nb(reserves, pl, 1 - d, sp_o[pl, d], fee)
                        write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER,
                                      ST_BACK, EXECUTED, 1 - d, w, sp_b[pl], sp_o[pl, d], b, px,
                                      py, fee, gas, 0.0, t_close)
                        fills[k].submit_time = sp_t[pl]
                        gross += _value(b - sp_a[pl, d], d == 0, px, py)
                        n_rev += 1
                        k += 1
                        pos += 1
                forfeited = 0.0
                for d in range(2):
                    if sp_com[pl] & (1 << d) and not sp_rev[pl] & (1 << d):
                        # the front and back commitments of this pair: never revealed
                        for leg in range(2):
                            write_fill_nb(fills, k, s, pools.rollup[pl], pl, -1, SEARCHER,
                                          ST_FRONT if leg == 0 else ST_BACK, DROPPED,
                                          d if leg == 0 else 1 - d, w, -1,
                                          sp_a[pl, d] if leg == 0 else 0.0, 0.0, px, py,
                                          fee, 0.0, bond, t_close)
                            fills[k].submit_time = sp_t[pl]
                            k += 1
                            forfeited += bond
                write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_FRONT, sp_nc[pl], -1,
                                    sp_b[pl] if n_rev else -1, gross, 2.0 * n_rev * gas,
                                    forfeited)
                e += 1
    state[0] = k
    state[1] = e
    state[2] = bundle
    return k, e


@njit(cache=True)
def _sandwich_legs_nb(fills, ext, k, e, s, pools, pl, pos, df, d, j, a, af, mo, q0, mev_out, w,
                      bid, nc, bundle, reserves, px, py, flow, t_close):
    """Front-run ``af`` on side ``df``, victim ``j`` on side ``d`` (reverting below ``mo``),
    back-run of all the front got.

    Writes the three fills and the extraction (gross = the legs' value at
    external prices). Returns ``(k, e, pos, victim status)``.
    """
    fee = pools.fee[pl]
    gas = pools.gas[pl]
    rollup = pools.rollup[pl]
    o1 = swap_nb(reserves, pl, df, af, fee)
    write_fill_nb(fills, k, s, rollup, pl, pos, SEARCHER, ST_FRONT, EXECUTED, df, w, bundle, af,
                  o1, px, py, fee, gas, bid, t_close)
    ov = amount_out_nb(a, reserves[pl, d], reserves[pl, 1 - d], fee)
    st = EXECUTED if ov >= mo else REVERTED
    if st == EXECUTED:
        swap_nb(reserves, pl, d, a, fee)
    else:
        ov = 0.0
    _write_user(fills, k + 1, s, rollup, pl, pos + 1, st, d, j, a, ov, px, py, fee, gas,
                flow.priority_fee[j], flow.submit_time[j], mo, q0, mev_out, t_close)
    b = swap_nb(reserves, pl, 1 - df, o1, fee)
    write_fill_nb(fills, k + 2, s, rollup, pl, pos + 2, SEARCHER, ST_BACK, EXECUTED, 1 - df, w,
                  bundle, o1, b, px, py, fee, gas, 0.0, t_close)
    write_extraction_nb(ext, e, s, rollup, pl, w, ST_FRONT, nc, j, bundle,
                        _value(b - af, df == 0, px, py), 2.0 * gas, bid)
    return k + 3, e + 1, pos + 3, st


@njit(cache=True)
def _settle_batch_nb(flow, slots, pools, searchers, s, pl, key, reserves, pre, fills, ext, k, e,
                     pos, fm, no_searchers, b_side, b_amt, b_mo, b_fill, b_q0, b_j, b_arb, excl,
                     u_fill, mine):
    """One pool's batch in slot ``s``: every swap at one uniform clearing price.

    The slot's users on the pool are limit orders (their terms set at the
    slot's opening state); the arbitrageurs that can reach the sequencer in
    time trade through the same batch in a symmetric Cournot equilibrium
    (:func:`~mevlab.searcher.nb.batch_arb_nb`), the costliest dropping out
    while the equilibrium does not cover its gas and cost. The pool takes the
    net of all fills; its fee (constant product only) is charged on that net
    input and shared among the fills on the net side. Users marked in ``excl``
    (legs of a bundle that cannot fill whole) are dropped before clearing;
    every other user's filled fraction is written to ``u_fill``. ``mine`` lists the slot's
    transactions on the pool, in slot order.

    Returns ``(k, e, pos)``, or ``(-1, -1, -1)`` if a buffer is too small.
    """
    t_close = slots.t_close[s]
    window = t_close - slots.t_open[s]
    px = slots.price[s, pools.tok[pl, 0]]
    py = slots.price[s, pools.tok[pl, 1]]
    P = px / py
    fee = pools.fee[pl]
    gas = pools.gas[pl]
    x = reserves[pl, 0]
    y = reserves[pl, 1]
    n_u = 0
    for j in mine:
        d, a, mo, q0 = terms_nb(flow.direction[j], flow.amount_in[j], flow.informed[j],
                                flow.min_out[j], flow.tolerance[j], x, y, pre[pl, 0], pre[pl, 1],
                                P, fee)
        if excl[j]:
            if k >= fills.shape[0]:
                return -1, -1, -1
            _write_user(fills, k, s, pools.rollup[pl], pl, pos, DROPPED, d, j, 0.0, 0.0, px, py,
                        fee, 0.0, flow.priority_fee[j], flow.submit_time[j], 0.0, 0.0, 0.0, t_close)
            fills[k].fee_paid = 0.0
            fills[k].amount_in = a
            fills[k].lp_fee_value = 0.0
            fills[k].lp_value = 0.0
            u_fill[j] = 0.0
            k += 1
            pos += 1
            continue
        b_side[n_u] = d
        b_amt[n_u] = a
        b_mo[n_u] = mo
        b_q0[n_u] = q0
        b_j[n_u] = j
        n_u += 1
    # arbitrageurs whose orders reach the batch before it closes
    n_arb = 0
    opp = 3 * flow.t_seq.shape[0] + s * reserves.shape[0] + pl
    for i in range(0 if no_searchers else searchers.latency.shape[0]):
        if not searchers.enabled[i, COL_ARB]:
            continue
        u = uniform_nb(key, opp, i)
        if searchers.latency[i] - searchers.jitter[i] * math.log(u) < window:
            b_arb[n_arb] = i
            n_arb += 1
    # the users' orders sorted once; the arbitrage is unlimited extra supply or demand
    lim = np.empty(n_u)
    s_idx = np.empty(n_u, np.int64)
    b_idx = np.empty(n_u, np.int64)
    n_s, n_b = batch_sort_nb(b_side[:n_u], b_amt[:n_u], b_mo[:n_u], lim, s_idx, b_idx)
    s_idx = s_idx[:n_s]
    b_idx = b_idx[:n_b]
    d_arb = -1
    q_arb = 0.0
    while n_arb > 0:
        d_arb, q_arb = batch_arb_nb(x, y, fee, fm, b_amt, lim, s_idx, b_idx, n_arb, P, b_fill)
        if d_arb < 0:
            break
        p = batch_sweep_nb(x, y, fee, fm, b_amt, lim, s_idx, b_idx,
                           q_arb if d_arb == 0 else 0.0, q_arb if d_arb == 1 else 0.0, b_fill)
        gain = q_arb / n_arb * (P / p - 1.0 if d_arb == 1 else p - P) * py
        # the costliest arbitrageur leaves if the equilibrium does not pay it
        worst = 0
        for m in range(1, n_arb):
            if searchers.cost[b_arb[m]] > searchers.cost[b_arb[worst]]:
                worst = m
        if gain - gas - searchers.cost[b_arb[worst]] > 0.0:
            break
        for m in range(worst, n_arb - 1):
            b_arb[m] = b_arb[m + 1]
        n_arb -= 1
        d_arb = -1
    if d_arb < 0:
        n_arb = 0
        q_arb = 0.0
    n = n_u + n_arb
    if n == 0:
        return k, e, pos
    if k + n > fills.shape[0] or e + n_arb > ext.shape[0]:
        return -1, -1, -1
    p = batch_sweep_nb(x, y, fee, fm, b_amt, lim, s_idx, b_idx,
                       q_arb if d_arb == 0 else 0.0, q_arb if d_arb == 1 else 0.0, b_fill)
    for m in range(n_u, n):
        # the arbitrageurs' orders carry no limit: always filled in full
        b_side[m] = d_arb
        b_amt[m] = q_arb / n_arb
        b_fill[m] = 1.0
    # what every order gives and gets at p; the pool takes the net
    dx = 0.0
    dy = 0.0
    side_in = np.zeros(2)
    for m in range(n):
        a_in = b_fill[m] * b_amt[m]
        out = a_in * p if b_side[m] == 0 else a_in / p
        if b_side[m] == 0:
            dx += a_in
            dy -= out
        else:
            dy += a_in
            dx -= out
        side_in[b_side[m]] += a_in
        if m < n_u:
            j = b_j[m]
            u_fill[j] = b_fill[m]
            st = EXECUTED if b_fill[m] > 0.0 else DROPPED
            # a partial fill's stand-alone output is that of the part filled
            q0 = b_q0[m] if b_fill[m] == 1.0 else amount_out_nb(
                a_in, pre[pl, b_side[m]], pre[pl, 1 - b_side[m]], fee)
            _write_user(fills, k, s, pools.rollup[pl], pl, pos, st, b_side[m], j, a_in, out, px,
                        py, fee, gas if st == EXECUTED else 0.0, flow.priority_fee[j],
                        flow.submit_time[j], b_mo[m] * b_fill[m], q0, out, t_close)
            if st != EXECUTED:
                fills[k].fee_paid = 0.0
                fills[k].amount_in = b_amt[m]
        else:
            w = b_arb[m - n_u]
            write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_ARB, EXECUTED,
                          b_side[m], w, -1, a_in, out, px, py, fee, gas, 0.0, t_close)
            write_extraction_nb(ext, e, s, pools.rollup[pl], pl, w, ST_ARB, n_arb, -1, -1,
                                _value(out, b_side[m] == 1, px, py)
                                - _value(a_in, b_side[m] == 0, px, py), gas, 0.0)
            e += 1
        fills[k].lp_fee_value = 0.0
        fills[k].lp_value = 0.0
        k += 1
        pos += 1
    # the pool trades only the net: its fee (on its net input) and its trading result at
    # external prices are shared by the fills that supplied that input; the rest of the
    # batch traded among its own orders
    d_net = 0 if dx > 0.0 else 1
    net_in = dx if d_net == 0 else dy
    if net_in > 0.0 and side_in[d_net] > 0.0:
        fee_value = 0.0 if fm else fee * net_in * (px if d_net == 0 else py)
        pool_value = dx * px + dy * py - fee_value
        for r in range(k - n, k):
            if fills[r].direction == d_net and fills[r].status == EXECUTED:
                share = fills[r].amount_in / side_in[d_net]
                fills[r].lp_fee_value = fee_value * share
                fills[r].lp_value = pool_value * share
    reserves[pl, 0] += dx
    reserves[pl, 1] += dy
    return k, e, pos


@njit(cache=True)
def _spec_fronts(fills, k, s, pools, pl, pos, sp_rev, sp_w, sp_t, sp_a, sp_o, sp_b, sp_done,
                 bundle, reserves, px, py, t_close):
    """Execute the revealed speculative front-runs on pool ``pl``; returns ``(k, pos)``."""
    fee = pools.fee[pl]
    for d in range(2):
        if sp_rev[pl] & (1 << d):
            sp_o[pl, d] = swap_nb(reserves, pl, d, sp_a[pl, d], fee)
            write_fill_nb(fills, k, s, pools.rollup[pl], pl, pos, SEARCHER, ST_FRONT, EXECUTED,
                          d, sp_w[pl], bundle, sp_a[pl, d], sp_o[pl, d], px, py, fee,
                          pools.gas[pl], 0.0, t_close)
            fills[k].submit_time = sp_t[pl]     # when the commitment arrived
            k += 1
            pos += 1
    sp_b[pl] = bundle
    sp_done[pl] = True
    return k, pos

@njit(cache=True)
def _write_user(fills, k, s, rollup, pl, pos, st, d, j, a, out, px, py, fee, gas, paid,
                submitted, mo, q0, mev_out, t_close):
    # the transaction's fields come as scalars: passing the flow tuple to a call costs a
    # reference count per array, several times the arithmetic
    write_fill_nb(fills, k, s, rollup, pl, pos, USER, 0, st, d, j, -1, a, out, px, py, fee, gas,
                  paid, t_close)
    r = fills[k]
    r.tx = j
    r.min_out = mo
    r.standalone_out = q0
    r.mev_out = mev_out
    r.submit_time = submitted

"""Engine dispatch: turn a Scenario and a seed into arrays, run the slot-loop kernel.

All random numbers are drawn here, from child streams of one ``SeedSequence``:
the price path, the order flow, the tie-breaking uniforms and the kernel's
jitter key each get their own stream, so changing one input does not shift the
draws of another.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..dtypes import extraction_dt, fill_dt
from ..flow.replay import read_flow
from ..flow.synthetic import generate, generate_intents, price_path, to_token_units
from ..sequencing.clocks import Clocks, assign_slots, build_clocks, price_grid
from .nb import PENDING_COLS, run_nb  # noqa: F401  (PENDING_COLS: pending array width)

#: Columns of ``Searchers.enabled``: the strategy each needs. In-slot back-runs and
#: sandwiches also need sight of the transaction before ordering (a policy may
#: clear those columns); next-slot back-runs and blind sandwiches do not.
STRATEGY_COLUMNS = ("arbitrage", "backrun", "sandwich", "backrun", "sandwich")


class Flow(NamedTuple):
    submit_time: np.ndarray
    t_seq: np.ndarray
    t_pub: np.ndarray
    pool: np.ndarray
    direction: np.ndarray
    amount_in: np.ndarray
    tolerance: np.ndarray
    min_out: np.ndarray
    priority_fee: np.ndarray
    informed: np.ndarray
    tie_u: np.ndarray
    twin: np.ndarray = None   # (n_tx,) the other leg of a shared-sequencer bundle in the same
                              # slot, -1 if none (kernels that settle a slot need it)


class Slots(NamedTuple):
    ptr: np.ndarray      # (n_slots + 1,) CSR offsets into the flow
    clock: np.ndarray    # (n_slots,)
    t_open: np.ndarray   # (n_slots,) s
    t_close: np.ndarray  # (n_slots,) s
    price: np.ndarray    # (n_slots, n_tokens) numeraire per unit at the slot's open; column 0 = 1
    live: np.ndarray     # (n_slots,) bool: the slot executes (threshold: its key was released)
    favoured: np.ndarray  # (n_slots,) searcher the slot's leader colludes with, -1 if none
    forced: np.ndarray    # (n_slots,) bool: a missed slot carrying only forced transactions
    quote_ptr: np.ndarray  # (n_slots + 1,) CSR offsets into quote_tx
    quote_tx: np.ndarray   # transactions whose limit is quoted at the opening of each slot


class Pools(NamedTuple):
    fee: np.ndarray
    tok: np.ndarray       # (n_pools, 2) token index of x and y
    rollup: np.ndarray
    gas: np.ndarray       # numeraire per swap
    clock_ptr: np.ndarray
    clock_idx: np.ndarray
    leg_failure: np.ndarray   # probability a leg sent from another rollup fails to land here


class Searchers(NamedTuple):
    latency: np.ndarray
    jitter: np.ndarray
    cost: np.ndarray
    enabled: np.ndarray   # (n_searchers, 5) bool, columns STRATEGY_COLUMNS


class World(NamedTuple):
    """Everything one run needs, as arrays; the flow table is kept for results."""
    flow: Flow
    slots: Slots
    pools: Pools
    searchers: Searchers
    reserves0: np.ndarray
    key: int
    flow_table: pd.DataFrame
    clocks: Clocks
    policy_seed: np.random.SeedSequence   # draws a policy makes (keyper uptime, history)
    crypto_seed: np.random.SeedSequence   # keys, salts: never shift any other draw
    leader: np.ndarray                    # (n_slots,) sequencer leading each slot, -1 if none
    never_included: int = 0               # transactions whose slot and every later one was missed
    intent_legs: np.ndarray = None        # (n_legs, 3) intent id, leg and rollup of every
                                          # generated leg, executed or not (None: no intents)
    missed_slots: int = 0                 # slots whose leader was offline


def seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        from ..errors import ConfigError
        raise ConfigError([("seed", f"got {seed!r}; expected a non-negative integer")])
    return np.random.SeedSequence(int(seed))


def prepare(scn, seed, flow=None) -> World:
    """Draw (or load) the order flow and the price path and lay out the arrays.

    Parameters
    ----------
    scn : Scenario
    seed : int or SeedSequence
    flow : path or DataFrame, optional
        An order-flow table to replay instead of the synthetic generator.
    """
    ss = seed_sequence(seed)
    # spawn from a copy: spawning advances a SeedSequence, and the caller's object must
    # give the same run every time it is passed in
    ss = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    children = ss.spawn(8)
    r_price, r_flow, r_tie, r_key = (np.random.default_rng(c) for c in children[:4])
    if flow is None:
        # intents from their own stream: they move no price draw and do not depend on the
        # other users (single users give up their share of the rate to them)
        df = generate(scn, r_flow).assign(intent=-1, leg=0)
        intents = generate_intents(scn, np.random.default_rng(children[7]))
        if len(intents):
            df = pd.concat([df, intents.astype(df.dtypes.to_dict())], ignore_index=True)
            df = df.sort_values("submit_time", kind="stable", ignore_index=True)
    else:
        df = read_flow(flow, scn, r_flow)
    horizon = max(scn.duration, float(df["t_seq"].max()) if len(df) else 0.0)
    clocks = build_clocks(scn, horizon)
    # one price path for both topologies: drawn on the union of every clock's slot opens
    grid = price_grid(scn, horizon)
    path = np.ones((len(grid), 1 + len(scn.assets)))
    path[:, 1:] = price_path(scn, grid, r_price)
    prices = path[np.searchsorted(grid, clocks.slot_t_open, side="right") - 1]
    if flow is None:
        to_token_units(scn, df, grid, path)
    df["tie_u"] = r_tie.uniform(size=len(df))
    if scn.topology == "shared" and "intent" in df:
        # a bundle is one message: its legs share their arrival times (a replayed trace may
        # give them apart) and their tie-break, so they stay adjacent in any order
        first, second = intent_pairs(df)
        for c in ("tie_u", "t_seq", "t_pub"):
            v = df[c].to_numpy().copy()
            v[second] = v[first]
            df[c] = v
    tx_clock = clocks.rollup_clock[df["rollup"].to_numpy()]
    df["slot"] = assign_slots(clocks, tx_clock, df["t_seq"].to_numpy())
    # a leg of a cross-rollup intent quotes its limit from the pool as its user saw it: at
    # the opening of the slot of its clock in which it was submitted
    if "intent" in df:
        df["quote_slot"] = np.where(df["intent"].to_numpy() >= 0,
                                    assign_slots(clocks, tx_clock, df["submit_time"].to_numpy()),
                                    -1)
    df = df.sort_values(["slot", "t_seq"], kind="stable", ignore_index=True)
    n_slots = len(clocks.slot_clock)
    ptr = np.zeros(n_slots + 1, np.int64)
    np.cumsum(np.bincount(df["slot"].to_numpy(), minlength=n_slots), out=ptr[1:])

    col = lambda c, dt: np.ascontiguousarray(df[c].to_numpy(dt))
    # NaN limit: the kernel computes it from the pre-slot quote
    min_out = col("min_out", np.float64) if "min_out" in df else np.full(len(df), np.nan)
    fl = Flow(col("submit_time", np.float64), col("t_seq", np.float64),
              col("t_pub", np.float64), col("pool", np.int64), col("direction", np.int64),
              col("amount_in", np.float64), col("tolerance", np.float64), min_out,
              col("priority_fee", np.float64), col("informed", np.bool_),
              col("tie_u", np.float64), bundle_twins(df, scn.topology == "shared"))
    slots = Slots(ptr, clocks.slot_clock.astype(np.int64), clocks.slot_t_open,
                  clocks.slot_t_close, prices, np.ones(n_slots, np.bool_),
                  np.full(n_slots, -1, np.int64), np.zeros(n_slots, np.bool_),
                  *quote_lists(df, n_slots))

    rnames = [r.name for r in scn.rollups]
    p_rollup = np.array([rnames.index(p.rollup) for p in scn.pools], np.int64)
    p_clock = clocks.rollup_clock[p_rollup]
    order = np.argsort(p_clock, kind="stable")
    clock_ptr = np.zeros(len(clocks.period) + 1, np.int64)
    np.cumsum(np.bincount(p_clock, minlength=len(clocks.period)), out=clock_ptr[1:])
    pools = Pools(np.array([p.fee for p in scn.pools]),
                  np.array(scn.pool_tokens(), np.int64).reshape(-1, 2),
                  p_rollup,
                  np.array([scn.rollups[r].gas_cost for r in p_rollup], float),
                  clock_ptr, order.astype(np.int64), np.full(len(scn.pools), scn.leg_failure))
    srch = Searchers(np.array([s.latency for s in scn.searchers], float),
                     np.array([s.jitter for s in scn.searchers], float),
                     np.array([s.cost for s in scn.searchers], float),
                     np.array([[c in s.strategies for c in STRATEGY_COLUMNS]
                               for s in scn.searchers], bool).reshape(-1, 5))
    reserves0 = np.array([[p.reserve_x, p.reserve_y] for p in scn.pools], float)
    key = int(r_key.integers(0, 2**63 - 1))
    legs = None
    if "intent" in df and (df["intent"] >= 0).any():
        legs = df.loc[df["intent"] >= 0, ["intent", "leg", "rollup"]].to_numpy(np.int64)
    world = World(fl, slots, pools, srch, reserves0, key, df, clocks, children[4], children[5],
                  np.full(n_slots, -1, np.int64), intent_legs=legs)
    if scn.sequencers:
        world = _apply_leaders(scn, world, np.random.default_rng(children[6]))
    return world


def _apply_leaders(scn, world: World, rng) -> World:
    """Draw each slot's leader; a slot whose leader is offline executes nothing and its
    transactions wait for the next slot of their clock that is produced (or never run)."""
    from ..sequencing.leaders import draw_leaders, next_live_slot
    leader, online = draw_leaders(scn, world.clocks, rng)
    slot = world.flow_table["slot"].to_numpy()
    new = next_live_slot(world.slots.clock, online)[slot]
    # forced inclusion: a transaction still waiting ``forced_inclusion_delay`` after it was
    # submitted lands in the first slot of its clock opening then, produced or not
    forced = np.zeros(len(online), np.bool_)
    if np.isfinite(scn.forced_inclusion_delay):
        clocks = world.clocks
        c = world.slots.clock[slot]
        t_force = world.flow_table["submit_time"].to_numpy() + scn.forced_inclusion_delay
        k = np.ceil(t_force / clocks.period[c]).astype(np.int64)
        ok = k < clocks.n_slots[c]
        f_slot = np.where(ok, clocks.gid_of[clocks.offset[c] + np.minimum(k, clocks.n_slots[c] - 1)],
                          -1)
        # never before the transaction's own slot (ids grow with time within a clock), and
        # only where that comes before the next produced slot (then that slot is missed)
        f_slot = np.where(f_slot >= 0, np.maximum(f_slot, slot), -1)
        use = ~online[slot] & (f_slot >= 0) & ((new < 0) | (f_slot < new))
        new = np.where(use, f_slot, new)
        forced[f_slot[use]] = True
    keep = new >= 0
    live = online | forced
    world = reslot(world, np.where(keep, new, slot), keep, live)
    # the searcher each colluding member works for
    names = [x.name for x in scn.searchers]
    first = scn.first_sandwicher()
    works_for = np.array([-1 if q.behaviour != "colluding" or not names
                          else (names.index(q.searcher) if q.searcher else first)
                          for q in scn.sequencers], np.int64)
    slots = world.slots._replace(favoured=works_for[leader], forced=forced)
    return world._replace(slots=slots, leader=leader, never_included=int((~keep).sum()),
                          missed_slots=int((~online).sum()))


def reslot(world: World, slot: np.ndarray, keep: np.ndarray, live: np.ndarray) -> World:
    """The world with transactions moved to other slots (or dropped) and dead slots.

    Parameters
    ----------
    slot : int64 (n_tx,)
        New slot of every transaction (same clock, never earlier).
    keep : bool (n_tx,)
        Transactions that execute at all.
    live : bool (n_slots,)
        Slots that execute.
    """
    twin = world.flow.twin
    shared = twin is not None and bool((twin >= 0).any())
    if shared:
        # a shared-sequencer bundle goes whole: a leg dropped drops its twin (slots move
        # whole, so the legs stay together)
        keep = keep & np.where(twin >= 0, keep[np.maximum(twin, 0)], True)
    df = world.flow_table.copy()     # row i is transaction i of world.flow
    df["slot"] = slot
    df["_row"] = np.arange(len(df))
    df = df[keep].sort_values(["slot", "t_seq"], kind="stable", ignore_index=True)
    n_slots = len(world.slots.t_close)
    ptr = np.zeros(n_slots + 1, np.int64)
    np.cumsum(np.bincount(df["slot"].to_numpy(), minlength=n_slots), out=ptr[1:])
    idx = df.pop("_row").to_numpy()
    flow = Flow(*(np.ascontiguousarray(a[idx]) for a in world.flow[:-1]),
                bundle_twins(df, shared))
    q_ptr, q_tx = quote_lists(df, n_slots)
    slots = world.slots._replace(ptr=ptr, live=np.ascontiguousarray(live, np.bool_),
                                 quote_ptr=q_ptr, quote_tx=q_tx)
    return world._replace(flow=flow, slots=slots, flow_table=df)


def quote_lists(df: pd.DataFrame, n_slots: int):
    """CSR lists, per slot, of the rows of ``df`` whose limit is quoted at its opening."""
    ptr = np.zeros(n_slots + 1, np.int64)
    if "quote_slot" not in df:
        return ptr, np.zeros(0, np.int64)
    q = df["quote_slot"].to_numpy()
    rows = np.flatnonzero(q >= 0)
    rows = rows[np.argsort(q[rows], kind="stable")]
    np.cumsum(np.bincount(q[rows], minlength=n_slots), out=ptr[1:])
    return ptr, rows.astype(np.int64)


def bundle_twins(df: pd.DataFrame, shared: bool) -> np.ndarray:
    """Row of the other leg of each shared-sequencer bundle in ``df`` (-1: none).

    Under ``isolated`` every leg is its own transaction; under ``shared`` both legs
    of an intent sit in one slot (one clock, one arrival time) and settle as a bundle.
    """
    twin = np.full(len(df), -1, np.int64)
    if not shared or "intent" not in df:
        return twin
    a, b = intent_pairs(df)
    intent = df["intent"].to_numpy()
    if len(a) != len(b) or (intent[a] != intent[b]).any() \
            or (df["slot"].to_numpy()[a] != df["slot"].to_numpy()[b]).any():
        raise RuntimeError("a shared-sequencer bundle lost a leg or was split across slots")
    twin[a] = b
    twin[b] = a
    return twin


def intent_pairs(df: pd.DataFrame):
    """Rows of the first and of the second leg of every cross-rollup intent in ``df``, in
    intent order (a leg without its twin shifts the pairing; callers check)."""
    iid = df["intent"].to_numpy()
    rows = np.flatnonzero(iid >= 0)
    rows = rows[np.lexsort((df["leg"].to_numpy()[rows], iid[rows]))]
    return rows[0::2], rows[1::2]


def make_router(scn):
    """The scenario's solver-based searcher, or None for the closed-form one."""
    if scn.searcher == "closed_form":
        return None
    from ..searcher.routing import ConvexRouter, DualRouter
    cls = ConvexRouter if scn.searcher == "convex" else DualRouter
    return cls(scn.pool_tokens(), len(scn.tokens))


def run(world: World, policy, params: np.ndarray, router=None, inventory=np.inf):
    """Run the slot-loop kernel for ``policy``.

    With a ``router`` (:class:`~mevlab.searcher.ConvexRouter` or
    :class:`~mevlab.searcher.DualRouter`) the top-of-slot arbitrage of every
    slot is the router's joint trade over every pool, solved from Python
    between single-slot kernel calls. Under ``shared`` (one clock) it is one
    atomic bundle. Under ``isolated`` the legs on the slot's own rollup
    execute as a bundle there and the others are sent to their rollups, each
    landing at the top of its rollup's next slot, or reverting if its pool
    has moved against it; a pool with a leg in flight is left out of later
    plans until it lands (and gets the per-pool closed form, as do pools a
    next-slot back-run moves first). A slot whose solve is not optimal falls back to the
    per-pool closed form and is counted in ``router_stats``.

    Returns
    -------
    fills : ndarray of :data:`~mevlab.dtypes.fill_dt`
    extractions : ndarray of :data:`~mevlab.dtypes.extraction_dt`
    reserves : ndarray (n_pools, 2), final pool state
    router_stats : dict
    """
    n_tx = len(world.flow.t_seq)
    n_slots = len(world.slots.t_close)
    n_pools = len(world.reserves0)
    arb_rows = int(np.sum(np.diff(world.pools.clock_ptr)[world.slots.clock]))
    pool_slots = arb_rows
    if router is not None:
        arb_rows *= 2      # a slot may also land the legs sent from other rollups
    # per pool and slot, a next-slot back-run and up to eight speculative legs or
    # dropped commitments; slack for the kernel's per-step headroom check
    n_srch = len(world.searchers.latency)
    worst_f = 4 * n_tx + arb_rows + (9 + n_srch) * pool_slots + 8
    worst_e = 2 * n_tx + arb_rows + (2 + n_srch) * pool_slots + 3
    no_plan = np.zeros((n_pools, 2))
    # a realistic first guess; the worst case only if a run overflows it
    for cap_f, cap_e in ((min(worst_f, 2 * n_tx + arb_rows + 64),
                          min(worst_e, n_tx + arb_rows + 64)), (worst_f, worst_e)):
        reserves = world.reserves0.copy()
        fills = np.zeros(cap_f, fill_dt)
        ext = np.zeros(cap_e, extraction_dt)
        state = np.zeros(3, np.int64)
        stats = {"solves": 0, "failures": 0, "solve_time_s": 0.0}
        pending = np.zeros((n_pools, PENDING_COLS))
        # the kernel writes the limits it quotes: into a copy, so a world runs many times
        flow = world.flow._replace(min_out=world.flow.min_out.copy())
        args = (flow, world.slots, world.pools, world.searchers, policy.policy_id, params,
                world.key, reserves, fills, ext, state)
        if router is None:
            k, e = run_nb(*args, 0, n_slots, no_plan, np.nan, pending)
        else:
            for s in range(n_slots):
                plan, gross = _route(world, router, reserves, s, inventory, stats, pending)
                k, e = run_nb(*args, s, s + 1, plan, gross, pending)
                if k < 0:
                    break
        if k == -2:
            raise ValueError(f"policy {policy.name!r} has policy_id {policy.policy_id}, "
                             "which no ordering kernel implements")
        if k >= 0:
            return fills[:k], ext[:e], reserves, stats
    raise RuntimeError("engine buffers overflowed at their worst-case size (a bug)")


def _route(world, router, reserves, s, inventory, stats, pending):
    """The router's top-of-slot plan for slot ``s``: (tendered (n_pools, 2), gross numeraire).

    Every pool is reachable except those that move before the plan executes:
    a router leg in flight (``pending``, including legs that land at the top of
    this very slot) or a next-slot back-run due. With unbounded inventory those
    get NaN rows: the kernel runs the per-pool closed form on them once they have
    moved; with a bounded inventory they wait for the next slot.

    Gas is per leg, which the convex program cannot see: a leg worth less than
    its gas at the optimal dual prices (its share of the bundle's value) is
    dropped and the rest re-solved, at most three times.
    """
    pools = world.pools
    moves_first = (pending[:, 0] != 0.0) | (pending[:, 7] != 0.0)
    mask = ~moves_first
    prices = world.slots.price[s]
    plan = np.zeros_like(reserves)
    if np.all(np.isinf(inventory)):
        # the closed form is CEX-DEX arbitrage: only a searcher with unbounded inventory
        # trades one pool alone (with none it needs a second pool, and both left it)
        plan[moves_first] = np.nan
    for _ in range(3):
        res = router.solve(reserves, pools.fee, prices, reachable=mask, inventory=inventory,
                           min_profit=float(pools.gas[mask].min()) if mask.any() else 0.0)
        stats["solves"] += 1
        stats["solve_time_s"] += res.solve_time
        if not res.optimal:
            stats["failures"] += 1
            return np.zeros_like(reserves), np.nan     # per-pool closed form for this slot
        tok = pools.tok
        leg_value = ((res.received * res.prices[tok]).sum(axis=1)
                     - (res.tendered * res.prices[tok]).sum(axis=1))
        traded = res.tendered.max(axis=1) > 0
        poor = traded & (leg_value < pools.gas)
        if not poor.any():
            break
        mask &= ~poor
    else:
        return plan, 0.0
    plan[mask] = res.tendered[mask]
    return plan, res.profit

"""Outcome-only engine: order a stream of transactions by sorting packed int64 keys, settle it.

:func:`run_stream` gives, for the sequential policies (``fcfs``, ``fcfs-private``,
``priority``, and ``commit_reveal`` and ``threshold`` with ``crypto = "fast"``) and for batch
auctions without arbitrageurs, exactly the execution order, user outcomes and final pool
state of :func:`mevlab.engine.run`, and its extraction records' totals per searcher and
strategy (summed per pool in record order, then over pools), without writing a fill record
per leg. It is for throughput studies and very large replays: past its input (the flow's
arrays, about 90 bytes per order, and :attr:`StreamInput.meta`) it needs 17 bytes per order,
and 8 more (36 for ``priority`` on the pipeline) of scratch on several threads or for a
batch auction, where the record engine's buffers need about 400; :func:`mevlab.engine.run`
is what the ledger and every metric use. :func:`run_scenario` does the whole thing from a
scenario.

Ordering. The input is in any order (a stream as submitted). Every transaction gets one
int64 key ``slot | q | i``: its slot, a monotone quantisation ``q`` of the policy's sort
value inside the slot (arrival; or the fee, descending, then arrival) and its input index
``i`` in the low bits (batch auctions: the pool's rank on the clock and the transaction id;
see :func:`scatter_nb`). The keys are written grouped by slot and sorted by ``np.sort`` in
cache-sized runs of whole slots (NumPy's vectorised sort: no argsort, no gathers). That
gives the order except among keys with the same slot and leading quantum (the same arrival
quantum, or the same fee code); those runs, rare and short, are then put in the policy's
exact order (insertion sort, or merge sort past an inversion budget). The order is
therefore exactly the kernel's, whatever the quantisation.

Threads. Pools do not interact in the runs this engine covers, and every random draw is
keyed on the transaction, so the work can be shared without changing a bit of the result:
the keys are built by ranges of the input, on every thread; then one thread sorts runs of
slots while another settles those already sorted (``"pipeline"``: two threads), or every
thread sorts a range of slots and then settles a group of pools (``"pools"``); see
:data:`SCHEDULES`.
"""
from __future__ import annotations

import math
import numbers
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from ..amm.nb import amount_out_nb, batch_sweep_nb, swap_nb
from ..enums import Strategy
from ..policies.nb import (FCFS, P_BATCH, P_FM, P_NEXT_BACKRUN, P_PUBLIC, P_RACE, P_SPEC,
                           PRIORITY, SPEC_NONE, order_fcfs_nb, order_priority_nb)
from ..searcher.nb import optimal_arb_nb, sandwich_nb
from .nb import (COL_ARB, COL_BACKRUN, COL_BLIND, COL_NEXT_BACKRUN, COL_SANDWICH, DROPPED,
                 EXECUTED,
                 REVERTED, _value, cheapest_nb, contest_nb, frontrun_nb, terms_nb)

#: strategies of :attr:`StreamResult.searchers` (axis 1)
STREAM_STRATEGIES = ("arbitrage", "backrun", "sandwich")
#: quantities of :attr:`StreamResult.searchers` (axis 2)
STREAM_FIELDS = ("count", "gross", "gas", "bid")
#: keys sorted at a time (whole slots): 64 kB, a run that stays in the L2 cache
_CHUNK = 1 << 13
#: transactions from which :func:`run_stream` uses several threads by default (below it,
#: starting the threads and handing runs between them cost more than they save: at 10^5
#: orders two threads measured 0.7x one)
PARALLEL_MIN = 1 << 19
#: keys a pipelined run sorts and prepares before the settling thread takes them
_PIPE_RUN = 1 << 16
#: pipelined by fee, the sorting thread gathers a run's fields into execution order when it
#: is at least this many runs' keys ahead of the settling thread; else the settling thread
#: reads them itself. Always gathering (0) left the sorting side the slower one (priority at
#: 10^7 orders, Intel: 22.2 ns per order; never, 19.6; half of the runs, 17.0-18.2; this
#: rule, 17.1-17.4)
_GATHER_LEAD = 2
#: how :func:`run_stream` shares the work between threads once the keys are built, by name:
#: the sorting and the settlement side by side (one thread sorts runs of slots and puts
#: them in exact order while another settles those done, behind it), or ranges of slots
#: sorted side by side and then groups of pools settled side by side
SCHEDULES = ("pipeline", "pools")


class StreamInput(NamedTuple):
    """Transactions in the order they are presented to :func:`run_stream`.

    ``flow`` holds the world's flow arrays permuted to that order, ``slot`` the slot of
    each, ``tid`` its index in the world's flow (outcomes are reported by ``tid``, and the
    searchers' random draws are keyed on it, so the presentation order changes nothing).
    ``meta`` packs what the settlement reads of each as integers, ``pool << 2 | informed << 1
    | side`` (uint32: one load of 4 bytes where three arrays took 17; at 10^7 transactions
    the engine is bound by memory traffic). ``bundled`` tells whether any transaction is a
    leg of a shared-sequencer bundle, ``pool_count`` how many transactions each pool has
    (int64, ``n_pools``: how the pools are shared out between threads); both are computed
    here once, not at every run (each a pass over the input).
    """
    flow: object
    slot: np.ndarray
    tid: np.ndarray
    meta: np.ndarray
    bundled: bool = False
    pool_count: np.ndarray | None = None


class StreamResult(NamedTuple):
    """What :func:`run_stream` returns.

    order : int64 (n_tx,)
        Transaction ids (rows of the world's flow) in execution order.
    status : int8 (n_tx,)
        Per transaction id: 0 executed, 1 reverted (the codes of ``fills.status``), -1 in a
        slot that executed nothing (``slots.live`` false).
    amount_out : float64 (n_tx,)
        Per transaction id: tokens received (0 if reverted).
    reserves : float64 (n_pools, 2)
        Final pool state.
    searchers : float64 (n_searchers, 3, 4)
        Per searcher and strategy (:data:`STREAM_STRATEGIES`): count, gross (numeraire at
        the slot's external prices), gas and bid (numeraire) of its extractions.
    work : array, tuple of arrays, or None
        Scratch (each slot's inputs listed per group of pools; or, pipelined by fee, the
        plain settlement's fields in execution order, 36 bytes per transaction; or a batch
        auction's input index by transaction id), kept so that a later call with ``out=``
        reuses it; no result.
    """
    order: np.ndarray
    status: np.ndarray
    amount_out: np.ndarray
    reserves: np.ndarray
    searchers: np.ndarray
    work: np.ndarray | None = None


def stream_input(world, perm=None) -> StreamInput:
    """Present the world's transactions in the order ``perm`` (default: as submitted).

    ``perm`` is a permutation of ``range(n_tx)``; the default sorts by ``submit_time``
    (stable), the order in which users sent them, which the sequencer's ordering must undo.
    """
    n = len(world.flow.t_seq)
    if perm is None:
        perm = np.argsort(world.flow.submit_time, kind="stable")
    perm = np.asarray(perm, np.int64)
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError(f"perm: expected a permutation of range({n})")
    slot = np.repeat(np.arange(len(world.slots.t_close), dtype=np.int64),
                     np.diff(world.slots.ptr))
    flow = world.flow._replace(
        **{f: np.ascontiguousarray(getattr(world.flow, f)[perm])
           for f in world.flow._fields if getattr(world.flow, f) is not None})
    if len(world.pools.fee) >= 1 << 30:
        raise ValueError(f"pools: {len(world.pools.fee):,} is more than run_stream packs "
                         f"(< 2^30)")
    meta = ((flow.pool.astype(np.uint32) << np.uint32(2))
            | (flow.informed.astype(np.uint32) << np.uint32(1))
            | flow.direction.astype(np.uint32))
    return StreamInput(flow, np.ascontiguousarray(slot[perm], dtype=np.int32), perm, meta,
                       _bundled(world), np.bincount(flow.pool, minlength=len(world.pools.fee)))


def extraction_totals(ext: np.ndarray, n_pools: int, n_searchers: int) -> np.ndarray:
    """:attr:`StreamResult.searchers` from :func:`mevlab.engine.run`'s extraction records
    (``extraction_dt``): count, gross, gas and bid per searcher and strategy, summed per pool
    in record order, then over pools in pool order, as :func:`run_stream` sums them (the
    same bits whatever its threads). float64 ``(n_searchers, 3, 4)``."""
    col = {int(Strategy.ARBITRAGE): 0, int(Strategy.BACKRUN): 1,
           int(Strategy.SANDWICH_FRONT): 2}
    agg = np.zeros((n_pools, n_searchers, len(STREAM_STRATEGIES), len(STREAM_FIELDS)))
    for e in ext:
        agg[e["pool"], e["searcher"], col[int(e["strategy"])]] += (1, e["gross"], e["gas"],
                                                                    e["bid"])
    return agg.sum(axis=0)


def _bundled(world) -> bool:
    return world.flow.twin is not None and bool((world.flow.twin >= 0).any())


def run_scenario(scn, policy="fcfs", seed=0, perm=None, threads=None) -> StreamResult:
    """Draw ``scn``'s flow for ``seed`` and order and settle it under ``policy`` (a name or
    a :class:`~mevlab.policies.Policy`), presented as submitted (or in the order ``perm``),
    on ``threads`` threads (see :func:`run_stream`).

    With ``crypto = "full"`` the sealed policies' cryptography runs in their setup, as for
    :func:`mevlab.engine.run`; the timed throughput figures use ``"fast"``.

    Example
    -------
    >>> base = ml.Scenario.preset("superchain")
    >>> scn = dataclasses.replace(base, users=dataclasses.replace(base.users, cross_share=0.0))
    >>> r = run_scenario(scn, "priority", seed=1)
    >>> (r.status == 1).mean(), r.searchers[:, :, 1].sum()   # revert share, searchers' gross
    """
    from . import prepare
    from ..policies import get_policy
    if scn.searcher != "closed_form":
        raise ValueError(f"run_stream does not cover: solver-based searchers (scenario.searcher"
                         f" = {scn.searcher!r}; expected 'closed_form'): use engine.run")
    pol = get_policy(policy) if isinstance(policy, str) else policy
    world = prepare(scn, seed)
    w, params, pid, _ = pol.setup(scn, world)
    return run_stream(stream_input(w, perm), w, pid, params, threads=threads)


def check_stream(world, params, router=None, bundled=None) -> None:
    """Raise ``ValueError`` naming what :func:`run_stream` does not cover in this run.

    A world does not record whether its scenario's searcher is solver-based: pass the
    ``router`` of :func:`mevlab.engine.make_router`, or use :func:`run_scenario`, which
    refuses those scenarios itself. ``bundled`` (:attr:`StreamInput.bundled`) saves a pass
    over the flow; by default it is computed."""
    why = []
    if params[P_BATCH] != 0.0 and world.searchers.enabled[:, COL_ARB].any():
        why.append("batch auctions with arbitrageurs (their Cournot equilibrium per pool "
                   "and slot): use engine.run")
    if params[P_BATCH] != 0.0 and params[P_NEXT_BACKRUN] != 0.0 \
            and world.searchers.enabled[:, COL_NEXT_BACKRUN].any():
        why.append("batch auctions with next-slot back-runs: use engine.run")
    blind = world.searchers.enabled[:, COL_BLIND].any()
    if int(params[P_SPEC]) != SPEC_NONE and blind:
        why.append("speculative or blind sandwiches (commit_reveal.speculative, "
                   "threshold.metadata, with a searcher that takes them): use engine.run")
    if router is not None:
        why.append("solver-based searchers (scenario.searcher): use engine.run")
    if _bundled(world) if bundled is None else bundled:
        why.append("shared-sequencer bundles (topology 'shared' with intents)")
    if len(world.slots.quote_tx):
        why.append("cross-rollup intents (users.cross_share > 0)")
    if why:
        raise ValueError("run_stream does not cover: " + "; ".join(why))


def _bits(n: int) -> int:
    return max(1, int(n - 1).bit_length())


def default_threads(n_tx: int) -> int:
    """Threads :func:`run_stream` uses by default for ``n_tx`` transactions: the cores this
    process may run on (its CPU affinity, and a cgroup v2 CPU quota where one is set, as in
    a container), or 1 below :data:`PARALLEL_MIN` transactions (where starting threads
    costs more than it saves)."""
    if n_tx < PARALLEL_MIN:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:       # not on Linux
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _schedule(nt: int, batch: bool, params: np.ndarray, world) -> str:
    """The schedule :func:`run_stream` picks for ``nt`` threads (see :data:`SCHEDULES`):
    ``"pipeline"`` where the settlement is mostly plain trades (about as costly as building
    and sorting the keys, so the two halves balance), ``"pools"`` where searchers act inside
    slots (a sandwich or back-run costs several plain trades) and for batch auctions (the
    clearing is most of the work)."""
    if nt == 1:
        return "serial"
    if batch:
        return "pools"
    en = world.searchers.enabled
    seen = params[P_PUBLIC] != 0.0 or bool((world.slots.favoured >= 0).any())
    acts = (seen and bool(en[:, COL_SANDWICH].any() or en[:, COL_BACKRUN].any())) or (
        params[P_NEXT_BACKRUN] != 0.0 and bool(en[:, COL_NEXT_BACKRUN].any()))
    return "pools" if acts else "pipeline"


def _pipeline(ex, cut, prepare, settle) -> None:
    """Run ``prepare(cut[k], cut[k + 1])`` for every ``k`` on a thread of ``ex`` and, on
    this thread, ``settle(cut[k], cut[k + 1])`` for every non-empty run once it is
    prepared, in order. An exception on either side stops both and is raised here."""
    cond = threading.Condition()
    state = {"ready": int(cut[0]), "error": None, "stop": False}

    def produce():
        try:
            for k in range(len(cut) - 1):
                if state["stop"]:
                    return
                prepare(int(cut[k]), int(cut[k + 1]))
                with cond:
                    state["ready"] = int(cut[k + 1])
                    cond.notify()
        except BaseException as e:       # handed to the settling thread, which raises it
            with cond:
                state["error"] = e
                cond.notify()
    job = ex.submit(produce)
    done = False
    try:
        # run by run, as prepared: a run's boundaries are the ones prepare saw
        for k in range(len(cut) - 1):
            a, b = int(cut[k]), int(cut[k + 1])
            if b <= a:
                continue
            with cond:
                while state["ready"] < b and state["error"] is None:
                    cond.wait()
                if state["error"] is not None:
                    raise state["error"]
            settle(a, b)
        done = True
    finally:
        if not done:
            state["stop"] = True
        job.result()
    # an error in a trailing empty run, prepared after the last one was settled
    if state["error"] is not None:
        raise state["error"]


def _gather_now(ahead: int) -> bool:
    """Whether the sorting thread of a pipeline by fee gathers its next run, being ``ahead``
    keys ahead of the settling thread (prepared, not yet settled). Speed only: every run is
    settled from what its preparation left."""
    return ahead >= _GATHER_LEAD * _PIPE_RUN


def _pool_groups(pool_count: np.ndarray, groups: int) -> np.ndarray:
    """Group of each pool (int64, contiguous ranges of pool indices with about as many
    transactions each): a thread settles one group. Pools are independent in every run
    :func:`run_stream` covers, so the grouping changes no result, only the balance. Ranges,
    not a pool-by-pool deal, so that neighbouring pools' state (16 bytes each) sits on a
    cache line of one thread only."""
    c = np.cumsum(pool_count, dtype=np.float64)
    total = c[-1] if len(c) else 0.0
    if total <= 0.0:
        return np.zeros(len(pool_count), np.int64)
    # a pool's group: how many whole shares of the load end before its midpoint
    mid = c - 0.5 * pool_count
    return np.minimum((mid * groups / total).astype(np.int64), groups - 1)


def _ranges(ptr: np.ndarray, parts: int) -> np.ndarray:
    """``parts + 1`` slot boundaries splitting the keys grouped by slot (``ptr``) into runs of
    whole slots with about as many keys each."""
    n = ptr[-1]
    cut = np.searchsorted(ptr, np.linspace(0, n, parts + 1), side="left")
    cut[0], cut[-1] = 0, len(ptr) - 1
    return np.maximum.accumulate(np.clip(cut, 0, len(ptr) - 1))


def run_stream(inp: StreamInput, world, policy_id: int, params: np.ndarray,
               out: StreamResult | None = None, threads: int | None = None,
               schedule: str | None = None) -> StreamResult:
    """Order and settle ``inp`` under the policy ``(policy_id, params)``.

    Parameters
    ----------
    inp : StreamInput
        From :func:`stream_input`.
    world : World
        The world the input came from (slots, pools, searchers, prices, key).
    policy_id, params
        As returned by the policy's ``setup`` (``FCFS`` or ``PRIORITY`` ordering).
    out : StreamResult, optional
        A result of an earlier call on as many transactions: its ``order``, ``status``,
        ``amount_out`` and ``work`` arrays are overwritten and returned (no allocation, no
        page faults: for repeated runs, e.g. a benchmark or a stream processed in batches of
        one size); ``reserves`` and ``searchers`` are new.
    threads : int, optional
        Threads to order and settle with (default :func:`default_threads`: every core this
        process may use, from :data:`PARALLEL_MIN` transactions). The keys are built by
        ranges of the input on all of them, then the work is shared as ``schedule`` says.
    schedule : {"pipeline", "pools"}, optional
        How several threads share the sorting and the settlement (:data:`SCHEDULES`); by
        default ``"pools"`` for batch auctions and where searchers act inside slots,
        ``"pipeline"`` elsewhere. The pipeline uses two threads; a batch auction always
        uses pool groups (its work is the clearing), and with only one pool that has
        transactions there is one group: a sequential policy is then pipelined, a batch
        auction settled on one thread. Ignored with one thread.

    Returns
    -------
    StreamResult
        Bit-identical for every ``threads`` and ``schedule``: each pool sees the same
        operations in the same order (pools do not interact in the runs this engine
        covers), and searcher totals are summed per pool, then over pools in pool order.

    Raises
    ------
    ValueError
        If the run needs something only :func:`mevlab.engine.run` does (see
        :func:`check_stream`), or ``threads`` or ``schedule`` is not one it knows.
    """
    check_stream(world, params, bundled=inp.bundled)
    bad = []
    if threads is not None:
        if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, numbers.Integral) \
                or not 1 <= threads <= 1024:
            bad.append(f"threads: got {threads!r}; expected an integer in [1, 1024]")
        else:
            threads = int(threads)
    if schedule is not None and schedule not in SCHEDULES:
        bad.append(f"schedule: got {schedule!r}; expected one of {', '.join(SCHEDULES)}")
    if bad:
        raise ValueError("; ".join(bad))
    batch = params[P_BATCH] != 0.0
    if not batch and policy_id not in (FCFS, PRIORITY):
        raise ValueError(f"policy_id: {policy_id} is not an ordering run_stream knows "
                         f"(FCFS={FCFS}, PRIORITY={PRIORITY})")
    n = len(inp.slot)
    n_slots = len(world.slots.t_close)
    n_pools = len(world.pools.fee)
    bi = _bits(n)
    bs = _bits(n_slots)
    bq = 63 - bi - bs
    if bq < 2:
        raise ValueError(f"run_stream: {n:,} transactions in {n_slots:,} slots leave no bits "
                         "to order by; use engine.run")
    by_fee = policy_id == PRIORITY and not batch
    fee_shift, fee_lo, bf = _fee_quantiser(inp.flow.priority_fee, bq) if by_fee else (0, 0, 0)
    # a batch auction orders nothing: its keys group each slot's transactions by pool, in
    # the order the slot loop clears the pools (their rank on the slot's clock)
    rank = np.zeros(n_pools, np.int64)
    if batch:
        if n_pools > 1 << bq:
            raise ValueError(f"run_stream: {n_pools:,} pools and {n:,} transactions in "
                             f"{n_slots:,} slots do not fit a 63-bit key; use engine.run")
        rank[world.pools.clock_idx] = np.arange(len(world.pools.clock_idx)) - np.repeat(
            world.pools.clock_ptr[:-1], np.diff(world.pools.clock_ptr))
    pool_count = inp.pool_count if inp.pool_count is not None else np.bincount(
        inp.meta >> np.uint32(2), minlength=n_pools)
    nt = default_threads(n) if threads is None else threads
    how = "serial" if nt == 1 else schedule or _schedule(nt, batch, params, world)
    if batch and how == "pipeline":
        how = "pools"         # a batch auction's work is the clearing: share it out
    # no more groups of pools than pools that have transactions
    groups = max(1, min(nt, int((pool_count > 0).sum()))) if how == "pools" else 1
    if groups == 1 and how == "pools":
        how = "serial" if batch else "pipeline"
    reuse = out is not None and len(out.order) == n
    if reuse:
        keys, status, amount = out.order, out.status, out.amount_out
    else:
        keys = np.empty(n, np.int64)
        status = np.empty(n, np.int8)
        amount = np.empty(n)
    # scratch, kept in the result for out= to reuse (a fresh array costs its page faults):
    # each slot's inputs listed per pool group; or, pipelined by fee, the plain
    # settlement's fields in execution order; or, for a batch auction, the input index by
    # transaction id
    gather = how == "pipeline" and by_fee
    split = how == "pools" and not batch
    old = out.work if reuse else None
    work = None
    if gather:
        work = old if isinstance(old, tuple) else (
            np.empty(n, np.uint64), np.empty(n, np.uint32), np.empty(n), np.empty(n),
            np.empty(n))
    elif split or batch:
        dt = np.uint64 if split else np.int64
        work = old if isinstance(old, np.ndarray) and old.dtype == dt else np.empty(n, dt)
    grp = _pool_groups(pool_count, groups)
    fee = inp.flow.priority_fee
    mode = 2 if batch else int(by_fee)
    bt = bq - bf if by_fee else bq
    span = world.slots.t_close - world.slots.t_open
    scale = np.where(span > 0.0, (1 << bt) / np.where(span > 0.0, span, 1.0), 0.0)
    agg_pool = np.zeros((n_pools, len(world.searchers.latency), 3, 4))
    reserves = world.reserves0.copy()
    mask = (np.int64(1) << bi) - 1
    sh_run = bi + bt if by_fee else bi
    f = inp.flow
    # the settlement reads the inputs through the keys, or through per-group lists
    lst = work if split else keys.view(np.uint64)
    rec = work if gather else (inp.tid.view(np.uint64), inp.meta, f.amount_in, f.min_out,
                               f.tolerance)
    gptr = np.empty((groups + 1, n_slots), np.int64)
    # pipelined by fee: the runs (by first slot) whose fields the sorting thread gathers
    gat = np.zeros(n_slots + 1, np.bool_)
    # batch auctions: input index by transaction id, filled with the keys
    inv = work if batch else np.empty(0, np.int64)
    ex = ThreadPoolExecutor(nt) if nt > 1 else None
    try:
        def par(fn, k=nt):
            if ex is None or k == 1:
                for t in range(k):
                    fn(t)
            else:
                for job in [ex.submit(fn, t) for t in range(k)]:
                    job.result()
        # 1. keys, grouped by slot: a counting sort on the slot, each thread a range of the
        # input (its keys follow the earlier ranges' in every slot: input order is kept)
        cut_i = np.linspace(0, n, nt + 1).astype(np.int64)
        cnt = np.zeros((nt, n_slots), np.int64)
        par(lambda t: count_nb(inp.slot, cut_i[t], cut_i[t + 1], cnt[t]))
        ptr = np.zeros(n_slots + 1, np.int64)
        np.cumsum(cnt.sum(axis=0), out=ptr[1:])
        pos = ptr[:-1] + np.cumsum(cnt, axis=0) - cnt
        par(lambda t: scatter_nb(inp.slot, f.t_seq, fee, fee.view(np.int64),
                                 world.slots.t_open, scale, mode, bi, bq, bf, fee_shift,
                                 fee_lo, inp.meta, rank, inp.tid, keys, pos[t], cut_i[t],
                                 cut_i[t + 1], inv))
        if not split:
            gptr[0], gptr[1] = ptr[:-1], ptr[1:]

        # 2. sorted in runs of whole slots; runs of equal keys put in exact order (with pool
        # groups: the inputs listed per group)
        def prepare(s0, s1):
            _sort_chunks(keys, ptr, s0, s1)
            if not batch:
                prep_nb(keys, ptr, s0, s1, sh_run, mask, f.t_seq, fee, f.tie_u, inp.tid,
                        by_fee, world.slots.live, inp.meta, grp, split, lst, gptr, status,
                        amount, gather and _gathers(s0), f.amount_in, f.min_out,
                        f.tolerance, rec)
            prog[0] = s1

        # 3. settled slot by slot, pool group g
        def settle(g, s0, s1, nbs):
            if batch:
                settle_batch_nb(keys, ptr, bi, f.amount_in, f.min_out, f.tolerance, inp.meta,
                                inv, world.slots, world.pools, params[P_FM] != 0.0, grp, g,
                                reserves, status, amount)
            else:
                settle_stream_nb(lst, np.uint64(mask), s0, s1, gptr[g], gptr[g + 1], grp, g,
                                 policy_id, f, inp.tid, inp.meta, world.slots, world.pools,
                                 world.searchers, params, world.key, reserves, status,
                                 amount, agg_pool, nbs, gather and gat[s0], rec)
            prog[1] = s1

        def _gathers(s0):
            # pipelined by fee: the sorting thread gathers a run's fields only while it is
            # ahead of the settling thread, which otherwise reads them itself, so that the
            # two sides balance whichever is the slower (see _GATHER_LEAD)
            gat[s0] = _gather_now(int(ptr[prog[0]] - ptr[prog[1]]))
            return gat[s0]
        # the slots prepared and settled so far; read on the pipeline only, where each is
        # written by its own thread
        prog = [0, 0]
        if how == "pipeline":
            # one thread sorts and prepares runs of slots, this one settles them behind it
            nbs = nb_state(n_pools)
            _pipeline(ex, _ranges(ptr, max(1, n // _PIPE_RUN)), prepare,
                      lambda s0, s1: settle(0, s0, s1, nbs))
        else:
            cut_s = _ranges(ptr, nt)
            par(lambda t: prepare(int(cut_s[t]), int(cut_s[t + 1])))
            par(lambda g: settle(g, 0, n_slots, nb_state(n_pools)), groups)
            if batch:
                # the keys become the transaction ids in execution order
                par(lambda t: decode_nb(keys, mask, ptr, int(cut_s[t]), int(cut_s[t + 1]),
                                        world.slots.live, status, amount))
    finally:
        if ex is not None:
            ex.shutdown()
    # per pool, then over pools in pool order: the same sum whatever the threads
    agg = agg_pool.sum(axis=0)
    return StreamResult(keys, status, amount, reserves, agg, work)


def _sort_chunks(keys: np.ndarray, ptr: np.ndarray, s0: int = 0, s1: int | None = None,
                 chunk: int = _CHUNK) -> None:
    """Sort slots ``s0:s1`` of ``keys`` in place, given that they are grouped by slot
    (``ptr``): runs of whole slots of about ``chunk`` keys, each sorted by ``np.sort``'s
    vectorised in-place sort (which releases the GIL: threads sort ranges side by side). A
    run stays in cache while it is sorted, where one sort of all keys streams them through
    memory at every pass: at 10^7 keys, 6.4 ns a key against 9.8 (``docs/performance.md``)."""
    s1 = len(ptr) - 1 if s1 is None else s1
    a = s0
    while a < s1:
        # the last slot starting within `chunk` keys of this run's start
        b = max(a + 1, int(np.searchsorted(ptr, ptr[a] + chunk, side="right")) - 1)
        b = min(b, s1)
        keys[ptr[a]:ptr[b]].sort()
        a = b


def _fee_quantiser(fee: np.ndarray, bq: int, arrival_bits: int | None = None):
    """Shift, offset and width ``bf`` of a monotone integer code of the fees, in ``bq`` bits
    of which the ``bq - bf`` left order equal fees by arrival.

    A positive float's bit pattern orders like the float; dropping low mantissa bits keeps
    that order (non-strictly). Fees below 2^-24 of the largest share the lowest code, zero
    fees get code 0; equal codes are put in exact order during settlement, so the widths
    change only the speed. Arrival bits pay where fees tie (zero or round fees: a tied run
    then comes nearly in order); with distinct fees they only make codes coarser, and every
    collision of codes is a run to order (priority at 10^7 orders: 36-38 -> 28 ns per order
    without them). So by default (``arrival_bits=None``) 8 arrival bits are kept where bits
    are plentiful (``bq - 8 >= 32``) or fees tie in an evenly spaced sample of 4,096, else
    none.
    """
    if arrival_bits is None:
        arrival_bits = 8
        if bq - 8 < 32 and len(fee) > 1:
            sample = fee[::max(1, len(fee) // 4096)]
            if len(np.unique(sample)) == len(sample):
                arrival_bits = 0
    bf = max(1, bq - arrival_bits)
    hi_f = float(fee.max()) if len(fee) else 0.0
    if not hi_f > 0.0:
        return 0, 0, 1
    lo = int(np.float64(hi_f * 2.0**-24).view(np.int64))
    hi = int(np.float64(hi_f).view(np.int64))
    shift = 0
    while (hi >> shift) - (lo >> shift) + 2 > (1 << bf):
        shift += 1
    return shift, lo >> shift, bf


@njit(cache=True, nogil=True)
def count_nb(slot, i0, i1, cnt):
    """``cnt[s]`` += the inputs ``i0:i1`` in slot ``s`` (``cnt``: int64, ``n_slots``)."""
    # the input comes nearly grouped by slot, a slot's stragglers mixed with the next one's
    # first arrivals: counts of two consecutive slots (base, base + 1) stay in registers,
    # chosen without a branch (a per-key branch on "same slot as the last key?" mispredicts
    # at every such mix; an increment in memory per key waits for the previous one). Keys
    # further ahead move the pair; stragglers further behind go through memory.
    if i1 <= i0:
        return
    base = np.int64(slot[i0])
    c0 = 0
    c1 = 0
    for i in range(i0, i1):
        dl = np.int64(slot[i]) - base
        if dl == 0 or dl == 1:
            c0 += 1 - dl
            c1 += dl
        elif dl > 1:
            cnt[base] += c0
            if c1:
                cnt[base + 1] += c1
            base += dl - 1
            c0 = 0
            c1 = 1
        else:
            cnt[base + dl] += 1
    cnt[base] += c0
    if c1:
        cnt[base + 1] += c1


@njit(cache=True, nogil=True)
def scatter_nb(slot, t_seq, fee, fee_bits, t_open, scale, mode, bi, bq, bf, fee_shift, fee_lo,
               meta, rank, tid, keys, pos, i0, i1, inv):
    """``keys[...] = slot | q | i`` (see the module docstring) for the inputs ``i0:i1``,
    grouped by slot: input ``i`` of slot ``s`` goes to ``keys[pos[s]]``, ``pos[s]`` then
    incremented (the write positions of :func:`count_nb`'s counts; the caller's per-chunk
    sorts then only have to finish the order). ``q`` is non-decreasing in the policy's order
    inside a slot: arrival (``mode`` 0), or fee descending and then arrival (1); for a batch
    auction (2), the rank of the transaction's pool on the slot's clock (``rank``, by pool;
    the pool from ``meta``), and in the low bits the transaction id (``tid``) instead of the
    input index: the kernel lists a pool's batch in id order, and ``inv[tid[i]] = i`` is
    filled on the way (the settlement reads the fields by input index). ``scale[s]``:
    quanta of arrival per second in slot ``s``."""
    by_fee = mode == 1
    bt = bq - bf if by_fee else bq
    top_t = (1 << bt) - 1
    top_f = (1 << bf) - 1
    if i1 <= i0:
        return
    # write positions of two consecutive slots in registers, as count_nb's counts
    base = np.int64(slot[i0])
    at0 = pos[base]
    at1 = pos[base + 1] if base + 1 < pos.shape[0] else 0
    for i in range(i0, i1):
        s = np.int64(slot[i])
        dl = s - base
        if dl == 0 or dl == 1:
            at = at1 if dl else at0
            at0 += 1 - dl
            at1 += dl
        elif dl > 1:
            pos[base] = at0
            if base + 1 < pos.shape[0]:
                pos[base + 1] = at1
            base = s - 1
            at0 = pos[base]
            at = pos[s]
            at1 = at + 1
        else:
            at = pos[s]
            pos[s] += 1
        x = (t_seq[i] - t_open[s]) * scale[s]
        # clipped (reslotted transactions arrived before their slot opened): still monotone
        qt = 0 if not x > 0.0 else (top_t if x >= top_t else int(x))
        q = qt
        if by_fee:
            f = fee[i]
            qf = 0
            if f > 0.0:
                qf = min(top_f, 1 + max(0, (fee_bits[i] >> fee_shift) - fee_lo))
            q = ((top_f - qf) << bt) | qt
        low = i
        if mode == 2:
            q = rank[meta[i] >> 2]
            low = tid[i]
            inv[low] = i
        keys[at] = (s << (bq + bi)) | (q << bi) | low


@njit(cache=True)
def _before(t_seq, fee, tie_u, tid, by_fee, i, j):
    """The policy's exact order: is input ``i`` before input ``j``? (Full ties: the world's
    row order, as the kernel's stable sorts leave them.)"""
    if by_fee:
        if fee[i] != fee[j]:
            return fee[i] > fee[j]
    if t_seq[i] != t_seq[j]:
        return t_seq[i] < t_seq[j]
    if tie_u[i] != tie_u[j]:
        return tie_u[i] < tie_u[j]
    return tid[i] < tid[j]


@njit(cache=True)
def _order_run(keys, lo, hi, mask, t_seq, fee, tie_u, tid, by_fee, buf, tmp_t, tmp_f, tmp_u,
               perm):
    """Decode ``keys[lo:hi]`` (one slot, one quantum of the leading sort value) into inputs
    in the policy's exact order."""
    m = hi - lo
    for r in range(m):
        buf[r] = keys[lo + r] & mask
    # insertion sort: linear in the inversions, few since the keys already order by the
    # quantised value; past a budget (e.g. a replay with one timestamp per block) merge sort
    shifts = 0
    budget = 8 * m + 64
    for r in range(1, m):
        v = buf[r]
        q = r - 1
        while q >= 0 and _before(t_seq, fee, tie_u, tid, by_fee, v, buf[q]):
            buf[q + 1] = buf[q]
            q -= 1
            shifts += 1
        buf[q + 1] = v
        if shifts > budget:
            break
    if shifts <= budget:
        for r in range(m):
            keys[lo + r] = buf[r]
        return
    for r in range(m):
        buf[r] = keys[lo + r] & mask
    # world rows ascending first: the stable merge sorts keep that as the last tie-break
    for r in range(m):
        perm[r] = tid[buf[r]]
    o = np.argsort(perm[:m])
    for r in range(m):
        perm[r] = buf[o[r]]
    for r in range(m):
        buf[r] = perm[r]
    for r in range(m):
        tmp_t[r] = t_seq[buf[r]]
        tmp_f[r] = fee[buf[r]]
        tmp_u[r] = tie_u[buf[r]]
    if by_fee:
        order_priority_nb(tmp_t[:m], tmp_f[:m], tmp_u[:m], perm)
    else:
        order_fcfs_nb(tmp_t[:m], tmp_u[:m], perm)
    for r in range(m):
        keys[lo + r] = buf[perm[r]]


@njit(cache=True)
def _fix_slot(keys, lo, hi, sh_run, mask, t_seq, fee, tie_u, tid, by_fee, buf, tmp_t, tmp_f,
              tmp_u, perm):
    """One slot's keys: runs sharing ``keys >> sh_run`` put in exact order (and decoded to
    inputs); the other keys are left as they are, their input being ``key & mask`` (the
    settlement loop masks every key, so decoding costs no pass of its own)."""
    r0 = lo
    while r0 < hi - 1:
        if (keys[r0] ^ keys[r0 + 1]) >> sh_run != 0:
            r0 += 1
            continue
        r1 = r0 + 2
        while r1 < hi and (keys[r1] ^ keys[r0]) >> sh_run == 0:
            r1 += 1
        _order_run(keys, r0, r1, mask, t_seq, fee, tie_u, tid, by_fee, buf, tmp_t, tmp_f,
                   tmp_u, perm)
        r0 = r1


@njit(cache=True, nogil=True)
def prep_nb(keys, ptr, s0, s1, sh_run, mask, t_seq, fee, tie_u, tid, by_fee, live, meta, grp,
            split, lst, gptr, status, out, gather, amount_in, min_out, tolerance, rec):
    """Slots ``s0:s1`` of the sorted ``keys``: runs of equal keys put in exact order
    (:func:`_fix_slot`); transactions of dead slots get status -1 and no output, their keys
    become transaction ids.

    With ``split`` (several threads settling pool groups), each live slot's inputs are
    listed group by group of pools (``grp``) in execution order: group ``g``'s inputs of
    slot ``s`` are ``lst[gptr[g, s]:gptr[g + 1, s]]``; the keys become transaction ids (the
    execution order).

    With ``gather``, what the plain settlement reads of each transaction (its id, ``meta``,
    amount, ``min_out``, tolerance) is copied to ``rec`` at its key's position, after one
    pass over the slot's inputs in address order (:func:`_warm`): where the policy visits a
    slot's inputs out of address order (by fee), the thread that sorts takes these random
    reads off the thread that settles, which then reads in order.
    """
    n_groups = gptr.shape[0] - 1
    most = 1
    for s in range(s0, s1):
        most = max(most, ptr[s + 1] - ptr[s])
    buf = np.empty(most, np.int64)
    tmp_t = np.empty(most)
    tmp_f = np.empty(most)
    tmp_u = np.empty(most)
    perm = np.empty(most, np.int64)
    c = np.zeros(n_groups + 1, np.int64)
    sink = np.zeros(1)
    for s in range(s0, s1):
        lo = ptr[s]
        hi = ptr[s + 1]
        if not live[s]:
            for m in range(lo, hi):
                j = tid[keys[m] & mask]
                keys[m] = j
                status[j] = -1
                out[j] = 0.0
            if split:
                for g in range(n_groups + 1):
                    gptr[g, s] = hi
            continue
        # exact order inside runs of equal keys, then inputs in place of keys
        _fix_slot(keys, lo, hi, sh_run, mask, t_seq, fee, tie_u, tid, by_fee, buf, tmp_t,
                  tmp_f, tmp_u, perm)
        if gather and hi > lo:
            r_j, r_meta, r_amt, r_mo, r_tol = rec
            ia, ib = _span(keys, lo, hi, mask)
            _warm(ia, ib, hi - lo, meta, amount_in, min_out, tolerance, tid, status, out, 0, 0,
                  sink)
            for m in range(lo, hi):
                i = keys[m] & mask
                r_j[m] = tid[i]
                r_meta[m] = meta[i]
                r_amt[m] = amount_in[i]
                r_mo[m] = min_out[i]
                r_tol[m] = tolerance[i]
        if not split:
            continue
        c[:] = 0
        for m in range(lo, hi):
            c[grp[meta[keys[m] & mask] >> 2] + 1] += 1
        c[0] = lo
        for g in range(n_groups):
            c[g + 1] += c[g]
            gptr[g, s] = c[g]
        gptr[n_groups, s] = hi
        for m in range(lo, hi):
            i = keys[m] & mask
            g = grp[meta[i] >> 2]
            q = c[g]
            c[g] = q + 1
            lst[q] = i
            keys[m] = tid[i]


@njit(cache=True, nogil=True)
def decode_nb(keys, mask, ptr, s0, s1, live, status, out):
    """Batch auctions, slots ``s0:s1``: each key becomes the transaction id in its low bits,
    in place (the execution order); transactions of dead slots get status -1 and no
    output."""
    for s in range(s0, s1):
        dead = not live[s]
        for m in range(ptr[s], ptr[s + 1]):
            j = keys[m] & mask
            keys[m] = j
            if dead:
                status[j] = -1
                out[j] = 0.0


def nb_state(n_pools: int):
    """Next-slot back-runs due, per pool, for :func:`settle_stream_nb`: due, victim
    (transaction id), the victim's slot prices."""
    return (np.zeros(n_pools, np.bool_), np.zeros(n_pools, np.int64), np.zeros(n_pools),
            np.zeros(n_pools))


@njit(cache=True, nogil=True)
def settle_stream_nb(lst, mask, s0, s1, start, stop, grp, g, policy_id, flow, tid, meta, slots,
                     pools, searchers, params, key, reserves, status, out, agg, nbs, gathered,
                     rec):
    """Settle pool group ``g`` (the pools with ``grp == g``) slot by slot as
    :func:`mevlab.engine.nb.run_nb` does (top-of-slot arbitrage, next-slot back-runs,
    sandwiches and back-runs by the closed-form searchers). The group's inputs of slot ``s``
    in execution order are ``lst[start[s]:stop[s]] & mask``; each is overwritten with its
    transaction id. ``status``, ``out`` (by transaction id) and
    ``agg`` (per pool, searcher and strategy: see :class:`StreamResult`) are filled for the
    group's transactions in slots ``s0:s1``; ``reserves`` is updated in place for its pools.
    ``nbs``: the next-slot back-runs due, per pool (due, victim id, prices; from
    :func:`nb_state`), carried from one call to the next. ``gathered``: the plain trades'
    fields are in ``rec`` at their keys' positions (:func:`prep_nb`)."""
    public = params[P_PUBLIC] != 0.0
    race = params[P_RACE] != 0.0
    next_backrun = params[P_NEXT_BACKRUN] != 0.0
    by_fee = policy_id == PRIORITY
    n_tx = tid.shape[0]
    n_pools = reserves.shape[0]
    n_slots = slots.t_close.shape[0]
    # contest_nb finds no taker unless the opportunity beats the cheapest searcher's cost
    # (the same subtraction it makes): checked here, so most opportunities cost no call;
    # costs are finite, so a column is enabled by some searcher iff its cheapest is
    min_cost = cheapest_nb(searchers)
    can = min_cost < np.inf
    # set per slot for the group's pools before they are read (see settle_batch_nb)
    pre = np.empty_like(reserves)
    shared = grp.max() > 0 if grp.shape[0] else False
    tid_u = tid.view(np.uint64)
    sink = np.zeros(1)
    nb_on, nb_j, nb_px, nb_py = nbs
    # the slot's prices per pool (each division made once, as the kernel makes it per trade)
    cpx = np.zeros(n_pools)
    cpy = np.zeros(n_pools)
    cp = np.zeros(n_pools)
    for s in range(s0, s1):
        if not slots.live[s]:
            continue
        lo = start[s]
        hi = stop[s]
        fav = -1 if next_backrun else slots.favoured[s]
        forced = slots.forced[s]
        if forced:
            fav = -1
        only = not public
        sight = (public or fav >= 0) and not forced
        c = slots.clock[s]
        t_close = slots.t_close[s]
        window = t_close - slots.t_open[s]
        for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
            pl = pools.clock_idx[q]
            if grp[pl] != g:
                continue
            pre[pl, 0] = reserves[pl, 0]
            pre[pl, 1] = reserves[pl, 1]
            cpx[pl] = slots.price[s, pools.tok[pl, 0]]
            cpy[pl] = slots.price[s, pools.tok[pl, 1]]
            cp[pl] = cpx[pl] / cpy[pl]
        # 0b. back-runs of the previous slot's trades, sized at that slot's price
        if next_backrun and not forced:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                if not nb_on[pl] or grp[pl] != g:
                    continue
                nb_on[pl] = False
                fee = pools.fee[pl]
                db, ab, ob, pb = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1],
                                                nb_px[pl] / nb_py[pl], fee)
                if db < 0 or not pb * nb_py[pl] - pools.gas[pl] - min_cost[COL_NEXT_BACKRUN] > 0.0:
                    continue
                w, bid, nc = contest_nb(searchers, COL_NEXT_BACKRUN, pb * nb_py[pl],
                                        pools.gas[pl], race, window, key, 3 * nb_j[pl] + 2,
                                        -1, False)
                if w < 0:
                    continue
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                ob = swap_nb(reserves, pl, db, ab, fee)
                _book(agg, pl, w, 1,
                      _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py),
                      pools.gas[pl], bid)
        # 1. top-of-slot CEX-DEX arbitrage, per pool
        if can[COL_ARB] and not forced:
            for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
                pl = pools.clock_idx[q]
                if grp[pl] != g:
                    continue
                px = slots.price[s, pools.tok[pl, 0]]
                py = slots.price[s, pools.tok[pl, 1]]
                fee = pools.fee[pl]
                d, a, o, prof = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], px / py, fee)
                if d < 0 or not prof * py - pools.gas[pl] - min_cost[COL_ARB] > 0.0:
                    continue
                w, bid, nc = contest_nb(searchers, COL_ARB, prof * py, pools.gas[pl], race,
                                        window, key, 3 * n_tx + s * n_pools + pl, fav, False)
                if w < 0:
                    continue
                o = swap_nb(reserves, pl, d, a, fee)
                _book(agg, pl, w, 0, _value(o, d == 1, px, py) - _value(a, d == 0, px, py),
                      pools.gas[pl], bid)
        if hi <= lo:
            continue
        if by_fee:
            # gathered: prep_nb has read the inputs in address order, the outputs are left
            # the outputs too, unless other threads write some of them
            ia, ib = (1, 0) if gathered else _span(lst, lo, hi, mask)
            _warm(ia, ib, hi - lo, meta, flow.amount_in, flow.min_out, flow.tolerance, tid,
                  status, out, slots.ptr[s], slots.ptr[s] if shared else slots.ptr[s + 1],
                  sink)
        # 3. sequential settlement: without searchers acting inside the slot, a lean loop
        # (the searchers' branches in the loop body cost the plain trades their registers)
        if not ((sight and (can[COL_SANDWICH] or can[COL_BACKRUN]))
                or (next_backrun and can[COL_NEXT_BACKRUN])):
            if gathered:
                _settle_plain(lst, np.uint64(0), np.uint64(1), lo, hi, rec[0], rec[1], rec[2],
                              rec[3], rec[4], pools.fee, reserves, pre, cp, status, out)
            else:
                _settle_plain(lst, mask, np.uint64(0), lo, hi, tid_u, meta, flow.amount_in,
                              flow.min_out, flow.tolerance, pools.fee, reserves, pre, cp,
                              status, out)
            continue
        for m in range(lo, hi):
            i = lst[m] & mask
            j = tid[i]
            lst[m] = np.uint64(j)
            out[j] = 0.0
            pl = flow.pool[i]
            px = cpx[pl]
            py = cpy[pl]
            fee = pools.fee[pl]
            gas = pools.gas[pl]
            d, a, mo, q0 = terms_nb(flow.direction[i], flow.amount_in[i], flow.informed[i],
                                    flow.min_out[i], flow.tolerance[i], reserves[pl, 0],
                                    reserves[pl, 1], pre[pl, 0], pre[pl, 1], cp[pl], fee)
            executed = False
            if sight and can[COL_SANDWICH]:
                rin = reserves[pl, d]
                rout = reserves[pl, 1 - d]
                af = frontrun_nb(rin, rout, a, mo, fee, d == 0, px, py, gas,
                                 min_cost[COL_SANDWICH])
                gross = 0.0
                ov = 0.0
                if af > 0.0:
                    o1, ov, b = sandwich_nb(rin, rout, a, af, fee)
                    gross = _value(b - af, d == 0, px, py)
                if af > 0.0 and gross - 2.0 * gas - min_cost[COL_SANDWICH] > 0.0:
                    deadline = t_close - flow.t_pub[i]
                    if race:
                        deadline = min(deadline, flow.t_seq[i] - flow.t_pub[i])
                    w, bid, nc = contest_nb(searchers, COL_SANDWICH, gross, 2.0 * gas, race,
                                            deadline, key, 3 * j, fav, only)
                    if w >= 0 and ov >= mo:
                        # the same legs as engine.run: front, victim, back
                        o1 = swap_nb(reserves, pl, d, af, fee)
                        ov = amount_out_nb(a, reserves[pl, d], reserves[pl, 1 - d], fee)
                        if ov >= mo:
                            swap_nb(reserves, pl, d, a, fee)
                            status[j] = EXECUTED
                            out[j] = ov
                        else:
                            status[j] = REVERTED
                        b = swap_nb(reserves, pl, 1 - d, o1, fee)
                        _book(agg, pl, w, 2, _value(b - af, d == 0, px, py), 2.0 * gas, bid)
                        executed = True
            if not executed:
                o = amount_out_nb(a, reserves[pl, d], reserves[pl, 1 - d], fee)
                if o >= mo:
                    # swap_nb's update, without computing o again
                    reserves[pl, d] += a
                    reserves[pl, 1 - d] -= o
                    status[j] = EXECUTED
                    out[j] = o
                else:
                    status[j] = REVERTED
                    continue
            if next_backrun:
                nb_on[pl] = True
                nb_j[pl] = j
                nb_px[pl] = px
                nb_py[pl] = py
            if sight and can[COL_BACKRUN]:
                db, ab, ob, pb = optimal_arb_nb(reserves[pl, 0], reserves[pl, 1], cp[pl], fee)
                if db >= 0 and pb * py - gas - min_cost[COL_BACKRUN] > 0.0:
                    w, bid, nc = contest_nb(searchers, COL_BACKRUN, pb * py, gas, race,
                                            t_close - flow.t_pub[i], key, 3 * j + 1, fav, only)
                    if w >= 0:
                        ob = swap_nb(reserves, pl, db, ab, fee)
                        _book(agg, pl, w, 1,
                              _value(ob, db == 1, px, py) - _value(ab, db == 0, px, py),
                              gas, bid)


@njit(cache=True, nogil=True, error_model="numpy")
def _warm(a, b, count, meta, amount_in, min_out, tolerance, tid, status, out, j0, j1, sink):
    """Read a slot's inputs (the span ``a..b`` of input indices that holds its ``count``
    transactions) and outputs (transaction ids ``j0:j1``) once in address order before they
    are settled.

    In fee order, or pool by pool in a batch auction, the settlement visits a slot's inputs
    out of address order: each first touch of a cache line then waits for memory, where a
    pass in address order is prefetched by the hardware and leaves them in the L2 cache
    (priority at 10^7 orders: 39-47 -> 32-38 ns per order; batch auctions 66 -> 60;
    ``docs/performance.md``). The sum lands in ``sink[0]`` (the thread's own), so the loads
    are not optimised away. Inputs presented far from slot order (a shuffled stream)
    spread a slot over the whole input: their span is then not read (it would cost a pass
    over the input per slot)."""
    acc = 0.0
    if b - a <= 8 * count:
        for i in range(a, b + 1):
            acc += amount_in[i] + min_out[i] + tolerance[i] + meta[i] + tid[i]
    for j in range(j0, j1):
        acc += out[j] + status[j]
    sink[0] += acc


@njit(cache=True, nogil=True)
def _span(idx, lo, hi, mask):
    """Least and greatest of ``idx[lo:hi] & mask`` (``lo < hi``)."""
    a = idx[lo] & mask
    b = a
    for m in range(lo + 1, hi):
        i = idx[m] & mask
        a = min(a, i)
        b = max(b, i)
    return a, b


@njit(cache=True, nogil=True, error_model="numpy")
def _settle_plain(lst, mask, step, lo, hi, tid, meta, amount_in, min_out, tolerance, pool_fee,
                  reserves, pre, cp, status, out):
    """Users ``lst[lo:hi]`` one after another, each reverting below its limit; ``lst`` is
    overwritten with their transaction ids. User ``m``'s fields are at ``(lst[m] & mask) +
    m * step`` of ``tid`` ... ``tolerance``: by input (``mask`` the key's input bits, step
    0), or gathered at the list's positions (mask 0, step 1: a multiply-add, no branch).

    The arithmetic of :func:`~mevlab.engine.nb.terms_nb` and ``amount_out_nb``, operation for
    operation (the results are bit-identical), written without data-dependent branches: a
    mispredicted side, flip or revert discards the next trades already in flight, which
    doubled the loop's time. Choices go through two-slot tables or a 0/1 factor
    (``x + a * 1.0 == x + a`` and ``x + 0.0 == x`` exactly, for finite ``a``). Both
    reserves of the pool are read and written whole, the side chosen in a two-slot table: a
    store to ``reserves[pool, side]`` has an address that waits for the side, which waits
    for the reserves, and the next trades' loads wait for it (3-10% at 10^6 orders; 0/1
    factors measured the same but turn an infinite reserve into NaN). ``ga`` uses
    ``max(a, 0)``, as
    ``amount_out_nb`` returns 0 for ``a <= 0``. Indices are unsigned (``lst`` and ``tid`` as
    uint64, :attr:`StreamInput.meta`): a signed index costs a wrap-around test per
    access. ``error_model="numpy"`` drops the zero-division checks (no denominator here can
    be 0: reserves and prices are positive).
    """
    one = np.uint64(1)
    two = np.uint64(2)
    sel = np.empty(2)
    tb = np.empty(2)
    for m in range(lo, hi):
        i = (lst[m] & mask) + np.uint64(m) * step
        j = tid[i]
        lst[m] = j
        mt = meta[i]
        pl = mt >> two
        d0 = mt & one
        a0 = amount_in[i]
        p = cp[pl]
        r0 = reserves[pl, 0]
        r1 = reserves[pl, 1]
        # informed users trade toward the external price: flip to the side it wants
        want = np.uint64(r1 < p * r0)
        flip = ((mt >> one) & one) & (want ^ d0)
        sel[0] = a0 * p
        sel[1] = a0 / p
        a1 = sel[d0]
        sel[0] = a0
        sel[1] = a1
        a = sel[flip]
        d = d0 ^ flip
        e = d ^ one
        ga = (1.0 - pool_fee[pl]) * max(a, 0.0)
        q0 = ga * pre[pl, e] / (pre[pl, d] + ga)
        mo0 = min_out[i]
        sel[0] = mo0
        sel[1] = q0 * (1.0 - tolerance[i])
        mo = sel[np.uint64(math.isnan(mo0)) | flip]
        tb[0] = r0
        tb[1] = r1
        rin = tb[d]
        rout = tb[e]
        o = ga * rout / (rin + ga)
        ok = o >= mo
        f = np.float64(ok)
        tb[d] = rin + a * f
        tb[e] = rout - o * f
        reserves[pl, 0] = tb[0]
        reserves[pl, 1] = tb[1]
        status[j] = np.int8(1) - np.int8(ok)
        out[j] = o * f


@njit(cache=True, nogil=True, error_model="numpy")
def settle_batch_nb(keys, ptr, bi, amount_in, min_out, tolerance, meta, inv, slots, pools,
                    fm, group, g0, reserves, status, out):
    """Batch auctions without arbitrageurs, as :func:`mevlab.engine.nb.run_nb` clears them:
    per slot and pool, every user's order at one uniform price (``batch_sweep_nb``, the
    same function), the pool taking the net. ``keys`` (sorted, ``slot | pool rank | id``)
    hold each (slot, pool) group contiguously in transaction id order, the order the kernel
    lists, and sums, the orders in. Only the pools of group ``g0`` (``group``, by pool) are
    cleared; ``inv``: input index by transaction id. Fills ``status`` (0 executed, 2 not
    filled: ``DROPPED``) and ``out`` of their transactions; updates ``reserves``."""
    mask = (np.int64(1) << bi) - 1
    n_slots = slots.t_close.shape[0]
    # set per slot for the group's pools before they are read (a copy of all reserves would
    # read rows other threads are writing)
    pre = np.empty_like(reserves)
    shared = group.max() > 0 if group.shape[0] else False
    most = 1
    for s in range(n_slots):
        most = max(most, ptr[s + 1] - ptr[s])
    one = np.uint64(1)
    two = np.uint64(2)
    sel = np.empty(2)
    side = np.empty(2, np.uint64)
    sv = np.empty((2, most))
    sa = np.empty((2, most))
    g = np.empty(most, np.int64)
    b_side = np.empty(most, np.uint64)
    sink = np.zeros(1)
    b_amt = np.empty(most)
    b_mo = np.empty(most)
    b_fill = np.empty(most)
    lim = np.empty(most)
    idx = np.empty((2, most), np.int64)
    for s in range(n_slots):
        lo = ptr[s]
        hi = ptr[s + 1]
        if not slots.live[s]:
            continue
        c = slots.clock[s]
        for q in range(pools.clock_ptr[c], pools.clock_ptr[c + 1]):
            pl = pools.clock_idx[q]
            if group[pl] == g0:
                pre[pl, 0] = reserves[pl, 0]
                pre[pl, 1] = reserves[pl, 1]
        # each pool's batch in id order reads the slot's inputs out of address order; the
        # outputs too, unless other threads write some of them
        j0 = slots.ptr[s]
        j1 = slots.ptr[s + 1]
        if j1 > j0:
            ia, ib = _span(inv, j0, j1, mask)
            _warm(ia, ib, j1 - j0, meta, amount_in, min_out, tolerance, inv, status, out, j0,
                  j0 if shared else j1, sink)
        m0 = lo
        while m0 < hi:
            grp = keys[m0] >> bi
            m1 = m0 + 1
            while m1 < hi and keys[m1] >> bi == grp:
                m1 += 1
            n = m1 - m0
            pl = meta[inv[keys[m0] & mask]] >> two
            if group[pl] != g0:
                m0 = m1
                continue
            for r in range(n):
                g[r] = inv[keys[m0 + r] & mask]
            fee = pools.fee[pl]
            x = reserves[pl, 0]
            y = reserves[pl, 1]
            P = slots.price[s, pools.tok[pl, 0]] / slots.price[s, pools.tok[pl, 1]]
            # terms_nb's arithmetic, without its branches (see _settle_plain); the side an
            # informed user wants is the same for the whole group: one clearing state
            want = np.uint64(y < P * x)
            g1 = 1.0 - fee
            for r in range(n):
                i = g[r]
                mt = meta[i]
                d0 = mt & one
                flip = ((mt >> one) & one) & (want ^ d0)
                a0 = amount_in[i]
                sel[0] = a0 * P
                sel[1] = a0 / P
                a1 = sel[d0]
                sel[0] = a0
                sel[1] = a1
                a = sel[flip]
                side[0] = d0
                side[1] = want
                d = side[flip]
                ga = g1 * max(a, 0.0)
                q0 = ga * pre[pl, one - d] / (pre[pl, d] + ga)
                mo0 = min_out[i]
                sel[0] = mo0
                sel[1] = q0 * (1.0 - tolerance[i])
                b_side[r] = d
                b_amt[r] = a
                b_mo[r] = sel[np.uint64(math.isnan(mo0)) | flip]
            n_s, n_b = _batch_order(b_side, b_amt, b_mo, n, lim, idx, sv, sa)
            p = batch_sweep_nb(x, y, fee, fm, b_amt, lim, idx[0, :n_s], idx[1, :n_b], 0.0, 0.0,
                               b_fill)
            dx = 0.0
            dy = 0.0
            for r in range(n):
                a_in = b_fill[r] * b_amt[r]
                d = b_side[r]
                sel[0] = a_in * p
                sel[1] = a_in / p
                o = sel[d]
                # side 0: dx += a_in, dy -= o; side 1 the other way (x + (-o) == x - o)
                sel[0] = a_in
                sel[1] = -o
                dx += sel[d]
                dy += sel[one - d]
                j = keys[m0 + r] & mask
                status[j] = np.int8(DROPPED) * np.int8(not b_fill[r] > 0.0)
                out[j] = o
            reserves[pl, 0] += dx
            reserves[pl, 1] += dy
            m0 = m1


@njit(cache=True, error_model="numpy")
def _batch_order(side, amount, min_out, n, lim, idx, sv, sa):
    """``batch_sort_nb`` without its allocations: the same limits, and the sellers'
    (``idx[0]``) and buyers' (``idx[1]``) indices in the same order, (limit, amount)
    ascending with ties in listing order (its two stable merge sorts, by amount and then by
    limit, give exactly that). ``sv``, ``sa`` (rows as ``idx``): scratch, each side's sorted
    limits and amounts, compared directly rather than through the indices. Returns
    ``(n_sellers, n_buyers)``."""
    cnt = np.zeros(2, np.int64)
    for i in range(n):
        a = amount[i]
        d = side[i]
        if d == 0:
            v = min_out[i] / a if min_out[i] > 0.0 else 0.0
        else:
            v = a / min_out[i] if min_out[i] > 0.0 else np.inf
        lim[i] = v
        t = cnt[d] - 1
        while t >= 0 and (sv[d, t] > v or (sv[d, t] == v and sa[d, t] > a)):
            sv[d, t + 1] = sv[d, t]
            sa[d, t + 1] = sa[d, t]
            idx[d, t + 1] = idx[d, t]
            t -= 1
        sv[d, t + 1] = v
        sa[d, t + 1] = a
        idx[d, t + 1] = i
        cnt[d] += 1
    return cnt[0], cnt[1]


@njit(cache=True, nogil=True)
def _book(agg, pl, w, strat, gross, gas, bid):
    agg[pl, w, strat, 0] += 1.0
    agg[pl, w, strat, 1] += gross
    agg[pl, w, strat, 2] += gas
    agg[pl, w, strat, 3] += bid


__all__ = ["StreamInput", "StreamResult", "stream_input", "check_stream", "run_stream",
           "run_scenario", "default_threads", "extraction_totals", "STREAM_STRATEGIES",
           "STREAM_FIELDS",
           "SCHEDULES", "PARALLEL_MIN"]

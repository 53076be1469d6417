"""The outcome-only engine (``mevlab.engine.stream``) against the slot-loop kernel.

``run_stream`` orders by sorting packed keys and settles without fill records; on every run
it covers it must give the kernel's execution order, user outcomes, searcher profits and
final pools exactly, whatever order the transactions are presented in. The order is also
checked against an independent ``np.lexsort`` of the policy's keys.
"""
import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st_

import mevlab as ml
from mevlab import engine
from mevlab.engine import stream as st
from mevlab.policies import get_policy

SEQUENTIAL = ("fcfs", "fcfs-private", "priority", "commit_reveal", "threshold")


def _scenario(searchers: bool, n_pools=3, rate=40.0, duration=30.0, **users):
    base = ml.Scenario.preset("superchain")
    pools = [dict(rollup="r", reserve_x=1e3, reserve_y=3e6, fee=0.003) for _ in range(n_pools)]
    return dataclasses.replace(
        base, name="stream", rollups=[dict(name="r", block_time=1.0, gas_cost=0.01)],
        pools=pools, duration=duration,
        users=dataclasses.replace(base.users, rate=rate, cross_share=0.0, **users),
        searchers=base.searchers if searchers else ())


def _kernel(world, name, scn):
    pol = get_policy(name)
    w, params, pid, _ = pol.setup(scn, world)
    fills, ext, reserves, _ = engine.run(w, dataclasses.replace(pol, policy_id=pid), params)
    return w, params, pid, fills, ext, reserves


def _assert_same(w, r, fills, ext, reserves):
    u = fills[fills["sender_kind"] == 0]
    settled = r.order[r.status[r.order] >= 0]
    np.testing.assert_array_equal(settled, u["tx"])
    assert (r.status >= 0).sum() == len(u)
    np.testing.assert_array_equal(r.status[u["tx"]], u["status"])
    np.testing.assert_array_equal(r.amount_out[u["tx"]], u["amount_out"])
    np.testing.assert_array_equal(r.reserves, reserves)
    np.testing.assert_array_equal(r.searchers, st.extraction_totals(ext, r.reserves.shape[0],
                                                                    r.searchers.shape[0]))


@pytest.mark.parametrize("searchers", [False, True])
@pytest.mark.parametrize("name", SEQUENTIAL)
def test_stream_equals_kernel(name, searchers):
    scn = _scenario(searchers)
    if searchers:
        # speculative and blind sandwiches are engine.run's alone
        scn = dataclasses.replace(
            scn, commit_reveal=dataclasses.replace(scn.commit_reveal, speculative=False),
            threshold=dataclasses.replace(scn.threshold, metadata="hidden"))
    w, params, pid, fills, ext, reserves = _kernel(engine.prepare(scn, 5), name, scn)
    rng = np.random.default_rng(0)
    r = None
    for perm in (None, rng.permutation(len(w.flow.t_seq)), np.arange(len(w.flow.t_seq))):
        # the later calls write into the previous result's arrays (out=)
        r = st.run_stream(st.stream_input(w, perm), w, pid, params, out=r)
        _assert_same(w, r, fills, ext, reserves)
    if searchers and name in ("fcfs", "priority"):
        assert r.searchers[:, :, 0].sum() > 10     # the searchers did act


@pytest.mark.parametrize("n_pools", [1, 3])
@pytest.mark.parametrize("name", ["batch_auction", "batch_auction-fm"])
def test_stream_batch_equals_kernel(name, n_pools):
    # a deep slot on few pools, tight limits: orders left out and filled in part occur
    scn = _scenario(False, n_pools=n_pools, rate=80.0, tolerances=(0.0005, 0.002),
                    tolerance_weights=(0.5, 0.5))
    w, params, pid, fills, ext, reserves = _kernel(engine.prepare(scn, 3), name, scn)
    u = fills[fills["sender_kind"] == 0]
    if name == "batch_auction":
        assert (u["status"] == 2).any()       # some orders are not filled
    rng = np.random.default_rng(1)
    r = None
    for perm in (None, rng.permutation(len(w.flow.t_seq))):
        r = st.run_stream(st.stream_input(w, perm), w, pid, params, out=r)
        _assert_same(w, r, fills, ext, reserves)


def test_run_scenario_is_the_same_run():
    scn = _scenario(True)
    r = st.run_scenario(scn, "priority", seed=5)
    w, params, pid, fills, ext, reserves = _kernel(engine.prepare(scn, 5), "priority", scn)
    _assert_same(w, r, fills, ext, reserves)


@pytest.mark.parametrize("name", ["fcfs", "priority"])
@pytest.mark.parametrize("grid", [0.25, 1.0])
def test_stream_coarse_timestamps(name, grid):
    """A replay with coarse timestamps: many exact ties in arrival (and, for ``priority``,
    zero fees for a third), put in order by the tie-break uniforms. ``grid = 1.0``: one
    timestamp per block, so whole slots are one run (the merge-sort path)."""
    scn = _scenario(True, rate=80.0)
    world = engine.prepare(scn, 9)
    t = np.floor(world.flow.t_seq / grid) * grid
    fee = world.flow.priority_fee.copy()
    fee[::3] = 0.0
    world = world._replace(flow=world.flow._replace(t_seq=t, priority_fee=fee))
    w, params, pid, fills, ext, reserves = _kernel(world, name, scn)
    perm = np.random.default_rng(1).permutation(len(t))
    r = st.run_stream(st.stream_input(w, perm), w, pid, params)
    _assert_same(w, r, fills, ext, reserves)


@given(seed=st_.integers(0, 2**31 - 1), fee_scale=st_.sampled_from([0.0, 1e-9, 0.01, 1e6]),
       grid=st_.sampled_from([0.0, 1e-3, 0.5]), by_fee=st_.booleans())
def test_stream_order_is_lexsort(seed, fee_scale, grid, by_fee):
    """The packed-key order equals ``np.lexsort`` of (slot, [-fee], arrival, tie, row)."""
    scn = _scenario(False, n_pools=2, rate=60.0, duration=8.0)
    world = engine.prepare(scn, seed)
    rng = np.random.default_rng(seed)
    n = len(world.flow.t_seq)
    t = world.flow.t_seq if grid == 0.0 else np.floor(world.flow.t_seq / grid) * grid
    fee = np.round(rng.exponential(fee_scale, n), 3) if fee_scale else np.zeros(n)
    world = world._replace(flow=world.flow._replace(t_seq=t, priority_fee=fee))
    pol = get_policy("priority" if by_fee else "fcfs")
    params = pol.params(scn)
    r = st.run_stream(st.stream_input(world, rng.permutation(n)), world, pol.policy_id, params)
    slot = np.repeat(np.arange(len(world.slots.t_close)), np.diff(world.slots.ptr))
    keys = (np.arange(n), world.flow.tie_u, t) + ((-fee,) if by_fee else ()) + (slot,)
    np.testing.assert_array_equal(r.order, np.lexsort(keys))


def test_stream_refuses_what_it_does_not_cover():
    scn = _scenario(True)
    world = engine.prepare(scn, 2)
    for name, words in (("batch_auction", "batch auctions with arbitrageurs"),
                        ("commit_reveal", "speculative")):
        pol = get_policy(name)
        w, params, pid, _ = pol.setup(scn, world)
        with pytest.raises(ValueError, match=words):
            st.run_stream(st.stream_input(w), w, pid, params)
    shared = dataclasses.replace(scn, topology="shared",
                                 users=dataclasses.replace(scn.users, cross_share=0.3),
                                 rollups=[dict(name="r", block_time=1.0, gas_cost=0.01),
                                          dict(name="q", block_time=2.0, gas_cost=0.01)],
                                 pools=list(scn.pools) + [dict(rollup="q", reserve_x=1e3,
                                                               reserve_y=3e6, fee=0.003)])
    w = engine.prepare(shared, 2)
    pol = get_policy("fcfs")
    with pytest.raises(ValueError, match="bundles"):
        st.run_stream(st.stream_input(w), w, pol.policy_id, pol.params(shared))
    with pytest.raises(ValueError, match="solver-based"):
        st.run_scenario(dataclasses.replace(scn, searcher="convex"), "fcfs")
    with pytest.raises(ValueError, match="perm"):
        st.stream_input(world, np.zeros(len(world.flow.t_seq), np.int64))


def test_fee_code_width():
    """Arrival bits in the key only where fees tie or bits are plentiful."""
    rng = np.random.default_rng(0)
    fee = rng.exponential(0.01, 10**5)
    assert st._fee_quantiser(fee, 25)[2] == 25                  # scarce, distinct: all fee
    assert st._fee_quantiser(np.round(fee, 3), 25)[2] == 17     # ties: 8 bits of arrival
    assert st._fee_quantiser(fee, 45)[2] == 37                  # plentiful: 8 bits anyway


@pytest.mark.parametrize("arrival_bits", [0, 8, "coarse"])
@pytest.mark.parametrize("fees", ["distinct", "tied"])
def test_stream_fee_code_widths(monkeypatch, fees, arrival_bits):
    """Whatever the split of the key between fee code and arrival (forced here; see
    ``test_fee_code_width`` for the default), the order is ``np.lexsort``'s and the outcomes
    are the kernel's: with no arrival bits, runs of tied fees come in presentation order and
    the settlement sorts them; with a 6-bit fee code ("coarse") distinct fees share codes
    and the settlement orders them by the fees themselves."""
    orig = st._fee_quantiser

    def quantiser(fee, bq):
        return orig(fee, bq, arrival_bits=bq - 6 if arrival_bits == "coarse" else arrival_bits)
    monkeypatch.setattr(st, "_fee_quantiser", quantiser)
    scn = _scenario(False, n_pools=2, rate=200.0, duration=8.0)
    world = engine.prepare(scn, 4)
    rng = np.random.default_rng(4)
    n = len(world.flow.t_seq)
    fee = rng.exponential(0.01, n)
    if fees == "tied":
        fee = np.round(fee, 3)
    world = world._replace(flow=world.flow._replace(priority_fee=fee))
    w, params, pid, fills, ext, reserves = _kernel(world, "priority", scn)
    for perm in (None, rng.permutation(n)):
        r = st.run_stream(st.stream_input(w, perm), w, pid, params)
        _assert_same(w, r, fills, ext, reserves)
    slot = np.repeat(np.arange(len(w.slots.t_close)), np.diff(w.slots.ptr))
    keys = (np.arange(n), w.flow.tie_u, w.flow.t_seq, -w.flow.priority_fee, slot)
    np.testing.assert_array_equal(r.order, np.lexsort(keys))


THREADED = [(2, "pipeline"), (2, "pools"), (3, "pools"), (3, "pipeline")]


@pytest.mark.parametrize("name,searchers",
                         [(p, on) for p in SEQUENTIAL for on in (False, True)]
                         + [("batch_auction", False), ("batch_auction-fm", False)])
def test_stream_threads_are_bit_identical(monkeypatch, name, searchers):
    """Every thread count and schedule gives the one-thread result bit for bit, and the
    kernel's: pipelined runs of a few slots (many hand-overs between the threads), pool
    groups of unequal load, inputs shuffled."""
    monkeypatch.setattr(st, "_PIPE_RUN", 97)
    scn = _scenario(searchers, n_pools=5, rate=60.0)
    if searchers:
        scn = dataclasses.replace(
            scn, commit_reveal=dataclasses.replace(scn.commit_reveal, speculative=False),
            threshold=dataclasses.replace(scn.threshold, metadata="hidden"))
    w, params, pid, fills, ext, reserves = _kernel(engine.prepare(scn, 11), name, scn)
    perm = np.random.default_rng(2).permutation(len(w.flow.t_seq))
    for p in (None, perm):
        inp = st.stream_input(w, p)
        one = st.run_stream(inp, w, pid, params, threads=1)
        _assert_same(w, one, fills, ext, reserves)
        r = None
        for threads, schedule in THREADED:
            r = st.run_stream(inp, w, pid, params, out=r, threads=threads, schedule=schedule)
            # the pools schedule listed each slot's inputs per group (batch auctions read
            # theirs through the keys)
            if "batch" not in name:
                assert isinstance(r.work, np.ndarray) == (schedule == "pools")
            for field in ("order", "status", "amount_out", "reserves", "searchers"):
                np.testing.assert_array_equal(getattr(r, field), getattr(one, field),
                                              err_msg=f"{field}, {threads} {schedule}")


def test_pipelined_priority_gathers_any_share_of_runs(monkeypatch):
    """Pipelined by fee, the sorting thread gathers a run's fields only while it leads the
    settling thread (``_gather_now``); every run gathered, none, every other run and the
    adaptive rule must all give the kernel's result bit for bit. Searchers off: with
    searchers acting, the settlement's full loop reads the inputs, never the gathered
    fields."""
    monkeypatch.setattr(st, "_PIPE_RUN", 97)
    scn = _scenario(False, n_pools=5, rate=60.0)
    w, params, pid, fills, ext, reserves = _kernel(engine.prepare(scn, 12), "priority", scn)
    inp = st.stream_input(w)
    rule = st._gather_now
    chosen = []

    def every_other(ahead):
        chosen.append(len(chosen) % 2 == 0)
        return chosen[-1]
    # a first call that gathers every run, for a result whose buffers the calls below reuse
    monkeypatch.setattr(st, "_gather_now", lambda ahead: True)
    r = st.run_stream(inp, w, pid, params, threads=2, schedule="pipeline")
    for how in (lambda ahead: False, lambda ahead: True, every_other, rule):
        # the gather buffer is reused (out=): filled first with valid but wrong fields
        # (transaction 0, pool 0, NaN amounts), so that a run settled from it without being
        # gathered in this call cannot pass
        tid_, meta_, *amounts = r.work
        tid_[:], meta_[:] = 0, 0
        for a in amounts:
            a[:] = np.nan
        monkeypatch.setattr(st, "_gather_now", how)
        r = st.run_stream(inp, w, pid, params, out=r, threads=2, schedule="pipeline")
        _assert_same(w, r, fills, ext, reserves)
    assert True in chosen and False in chosen       # the mix did mix


def test_pipeline_settles_each_run_as_prepared():
    """The settling side gets exactly the non-empty runs the preparing side was given, in
    order, each only after it was prepared (a run is settled the way it was prepared), also
    with repeated boundaries and a slow settlement."""
    import time
    from concurrent.futures import ThreadPoolExecutor
    cut = np.array([0, 0, 2, 2, 5, 5, 8, 9, 9])
    prepared, settled = [], []

    def settle(a, b):
        assert (a, b) in prepared
        time.sleep(0.01)
        settled.append((a, b))
    with ThreadPoolExecutor(2) as ex:
        st._pipeline(ex, cut, lambda a, b: prepared.append((a, b)), settle)
    assert settled == [(0, 2), (2, 5), (5, 8), (8, 9)]


def test_stream_threads_refuse_bad_values():
    scn = _scenario(False)
    w = engine.prepare(scn, 1)
    pol = get_policy("fcfs")
    inp = st.stream_input(w)
    for kw, words in ((dict(threads=0), "threads"), (dict(threads=2.0), "threads"),
                      (dict(threads=True), "threads"), (dict(schedule="fast"), "schedule")):
        with pytest.raises(ValueError, match=words):
            st.run_stream(inp, w, pol.policy_id, pol.params(scn), **kw)
    # any integer type will do, NumPy's included
    one = st.run_stream(inp, w, pol.policy_id, pol.params(scn), threads=1)
    two = st.run_stream(inp, w, pol.policy_id, pol.params(scn), threads=np.int64(2))
    np.testing.assert_array_equal(one.order, two.order)


def test_pool_groups_are_balanced_ranges():
    rng = np.random.default_rng(3)
    count = rng.integers(0, 1000, 64)
    for groups in (1, 2, 3, 7):
        g = st._pool_groups(count, groups)
        assert g.min() >= 0 and g.max() <= groups - 1
        assert np.all(np.diff(g) >= 0)                  # contiguous ranges of pools
        load = np.bincount(g, weights=count, minlength=groups)
        # no group exceeds its share by more than one pool's load
        assert load.max() <= count.sum() / groups + count.max()
    assert np.all(st._pool_groups(np.zeros(4, np.int64), 2) == 0)


def test_pipeline_hands_on_errors():
    """An error on the sorting thread stops the settling one and is raised to the caller."""
    from concurrent.futures import ThreadPoolExecutor
    settled = []

    def prepare(a, b):
        if a >= 4:
            raise RuntimeError("prepare failed")

    with ThreadPoolExecutor(2) as ex:
        with pytest.raises(RuntimeError, match="prepare failed"):
            st._pipeline(ex, np.arange(0, 10, 2), prepare, lambda a, b: settled.append((a, b)))
        assert all(b <= 4 for a, b in settled)          # nothing past the failure settled
        settled.clear()
        st._pipeline(ex, np.arange(0, 10, 2), lambda a, b: None,
                     lambda a, b: settled.append((a, b)))
        assert settled[0][0] == 0 and settled[-1][1] == 8
        assert all(x[1] == y[0] for x, y in zip(settled, settled[1:]))   # no gap, no overlap

        # an error on the settling thread, and one in a trailing empty run, are raised too
        def bad_settle(a, b):
            raise ValueError("settle failed")
        with pytest.raises(ValueError, match="settle failed"):
            st._pipeline(ex, np.arange(0, 10, 2), lambda a, b: None, bad_settle)

        def bad_tail(a, b):
            if a == b:
                raise RuntimeError("empty run failed")
        with pytest.raises(RuntimeError, match="empty run failed"):
            st._pipeline(ex, np.array([0, 2, 2]), bad_tail, lambda a, b: None)

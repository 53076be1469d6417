"""Numba kernels against their pure-Python twins in ``mevlab._reference``.

The twins do the same arithmetic in the same order, so any difference beyond
round-off means a kernel (or its twin) drifted from the documented algorithm.
"""
import dataclasses
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import mevlab as ml
from mevlab import _reference as ref
from mevlab import engine
from mevlab.amm.nb import amount_out_nb
from mevlab.engine.nb import contest_nb, uniform_nb
from mevlab.policies import get_policy
from mevlab.policies.nb import order_fcfs_nb, order_priority_nb
from mevlab.searcher.nb import (best_frontrun_nb, max_frontrun_nb, optimal_arb_nb,
                                sandwich_bound_nb, sandwich_nb)

N_CASES = 3000
RTOL = 1e-12


def _log_uniform(rng, lo, hi, n):
    return 10.0 ** rng.uniform(math.log10(lo), math.log10(hi), n)


def _pools(rng, n):
    """Reserves over 1e3..1e27 and fees over [0, 0.01], a tenth of them fee-free."""
    rin = _log_uniform(rng, 1e3, 1e27, n)
    rout = _log_uniform(rng, 1e3, 1e27, n)
    fee = np.where(rng.uniform(size=n) < 0.1, 0.0, rng.uniform(0.0, 0.01, n))
    return rin, rout, fee


def _victims(rng, rin, rout, fee):
    """Victim sizes up to the pool depth and limits around the standalone quote.

    Most limits sit below the quote (a sandwich fits), some above it (no
    front-run fits) and some at zero (no slippage protection).
    """
    n = len(rin)
    v = rin * 10.0 ** rng.uniform(-9.0, 0.0, n)
    quote = np.array([ref.amount_out(*t) for t in zip(v.tolist(), rin.tolist(), rout.tolist(),
                                                      fee.tolist())])
    tol = rng.uniform(0.0, 0.05, n)
    kind = rng.uniform(size=n)
    m = np.where(kind < 0.8, quote * (1.0 - tol), np.where(kind < 0.95, quote * (1.0 + tol), 0.0))
    return v, m


def test_amount_out_matches_twin():
    rng = np.random.default_rng(101)
    rin, rout, fee = _pools(rng, N_CASES)
    a = rin * 10.0 ** rng.uniform(-9.0, 1.0, N_CASES)
    a[::50] = 0.0
    for args in zip(a.tolist(), rin.tolist(), rout.tolist(), fee.tolist()):
        assert_allclose(amount_out_nb(*args), ref.amount_out(*args), rtol=RTOL, err_msg=str(args))


def test_optimal_arb_matches_twin():
    rng = np.random.default_rng(102)
    x, y, fee = _pools(rng, N_CASES)
    # prices from far off the pool price down to inside the no-trade band
    spread = np.where(rng.uniform(size=N_CASES) < 0.7, rng.uniform(-0.5, 0.5, N_CASES),
                      rng.uniform(-3e-3, 3e-3, N_CASES))
    p = y / x * 10.0 ** spread
    directions = set()
    for args in zip(x.tolist(), y.tolist(), p.tolist(), fee.tolist()):
        d, *vals = optimal_arb_nb(*args)
        d_ref, *vals_ref = ref.optimal_arb(*args)
        assert d == d_ref, args
        assert_allclose(vals, vals_ref, rtol=RTOL, err_msg=str(args))
        directions.add(d)
    assert directions == {-1, 0, 1}


def test_max_frontrun_matches_twin():
    rng = np.random.default_rng(103)
    rin, rout, fee = _pools(rng, N_CASES)
    v, m = _victims(rng, rin, rout, fee)
    for args in zip(rin.tolist(), rout.tolist(), v.tolist(), m.tolist(), fee.tolist()):
        assert_allclose(max_frontrun_nb(*args), ref.max_frontrun(*args), rtol=RTOL,
                        err_msg=str(args))


def test_sandwich_matches_twin():
    rng = np.random.default_rng(104)
    rin, rout, fee = _pools(rng, N_CASES)
    v = rin * 10.0 ** rng.uniform(-9.0, 0.0, N_CASES)
    a = rin * 10.0 ** rng.uniform(-9.0, 0.0, N_CASES)
    for args in zip(rin.tolist(), rout.tolist(), v.tolist(), a.tolist(), fee.tolist()):
        assert_allclose(sandwich_nb(*args), ref.sandwich(*args), rtol=RTOL, err_msg=str(args))


def test_best_frontrun_matches_twin():
    rng = np.random.default_rng(105)
    n = N_CASES // 3
    rin, rout, fee = _pools(rng, n)
    v, m = _victims(rng, rin, rout, fee)
    for args in zip(rin.tolist(), rout.tolist(), v.tolist(), m.tolist(), fee.tolist()):
        a_max = ref.max_frontrun(*args) * (1.0 - ref.FRONTRUN_MARGIN)
        assert_allclose(best_frontrun_nb(*args, a_max), ref.best_frontrun(*args, a_max),
                        rtol=RTOL, err_msg=str(args))


def test_sandwich_bound_holds():
    """The bounds (1, 4 and 16 pieces) that let the engines skip the front-run search are
    never below the profit of any front-run in ``[0, a_max]``: the twin's optimum and a
    200-point grid, in exact rational arithmetic (so the bound is checked, not the floats'
    luck)."""
    from fractions import Fraction as Fr
    rng = np.random.default_rng(106)
    n = N_CASES // 6
    rin, rout, fee = _pools(rng, n)
    v, m = _victims(rng, rin, rout, fee)
    v = np.where(rng.uniform(size=n) < 0.5, v, v * 1e-3)   # many victims too small to pay
    tight = 0
    for args in zip(rin.tolist(), rout.tolist(), v.tolist(), m.tolist(), fee.tolist()):
        a_max = min(ref.max_frontrun(*args), 10.0 * args[0]) * (1.0 - ref.FRONTRUN_MARGIN)
        ubs = [sandwich_bound_nb(args[0], args[1], args[2], args[4], a_max, k)
               for k in (1, 4, 16)]
        if not a_max > 0.0:
            assert ubs == [0.0, 0.0, 0.0]
            continue
        R, S, V, f = (Fr(x) for x in (args[0], args[1], args[2], args[4]))
        g = 1 - f

        def out(a, r_in, r_out):
            return g * a * r_out / (r_in + g * a)

        def profit(a):
            a = Fr(a)
            o1 = out(a, R, S)
            ov = out(V, R + a, S - o1)
            return out(o1, S - o1 - ov, R + a + V) - a
        best = max(profit(a_max * i / 200) for i in range(1, 201))
        best = max(best, profit(ref.best_frontrun(*args, a_max)[0]))
        for ub in ubs:
            assert best <= Fr(ub), args
        tight += best > Fr(ubs[1]) / 2
    assert tight > 0     # the bound is not vacuous: it comes within 2x of some optima


def test_uniform_is_bit_identical():
    rng = np.random.default_rng(106)
    keys = rng.integers(0, 2**63 - 1, 4000).tolist() + [0, 1, 2**63 - 2]
    for key in keys:
        a = int(rng.integers(0, 2**40))
        b = int(rng.integers(0, 64))
        u = uniform_nb(key, a, b)
        assert u == ref.uniform(key, a, b), (key, a, b)
        assert 0.0 < u < 1.0


def _searchers(rng, n):
    enabled = rng.uniform(size=(n, 5)) < 0.8
    # a few cost levels so that bid valuations tie
    return engine.Searchers(rng.uniform(0.0, 0.5, n), rng.uniform(0.0, 0.2, n),
                            rng.choice([0.0, 0.5, 1.0], n), enabled)


@pytest.mark.parametrize("race", [True, False])
def test_contest_matches_twin(race):
    rng = np.random.default_rng(107)
    for case in range(300):
        s = _searchers(rng, int(rng.integers(0, 8)))
        s_ref = engine.Searchers(*(x.tolist() for x in s))
        n_s = len(s.latency)
        # a colluding leader's searcher now and then, sometimes the only one to see it
        fav = int(rng.integers(-1, n_s)) if n_s and rng.uniform() < 0.4 else -1
        args = (int(rng.integers(0, 3)), float(rng.uniform(0.0, 5.0)), float(rng.uniform(0, 2)),
                race, float(rng.uniform(0.0, 1.0)) if race else math.inf,
                int(rng.integers(0, 2**62)), case, fav, bool(fav >= 0 and rng.uniform() < 0.5))
        w, bid, n = contest_nb(s, *args)
        w_ref, bid_ref, n_ref = ref.contest(s_ref, *args)
        assert (w, n) == (w_ref, n_ref), args
        assert bid == bid_ref, args


def _slots(rng, n_cases=300):
    """Random slots with coarse arrival times and few fee levels, so ties are common."""
    for _ in range(n_cases):
        n = int(rng.integers(0, 120))
        t_seq = rng.integers(0, max(1, n // 3), n).astype(float) * 0.01
        fee = rng.choice([0.0, 0.01, 0.02, 0.05], n)
        # sometimes tie the tie-breaker too, so the fallback to slot index is exercised
        tie_u = rng.uniform(size=n) if rng.uniform() < 0.7 else rng.choice([0.25, 0.5], n)
        yield t_seq, fee, tie_u


def test_order_fcfs_matches_twin():
    for t_seq, fee, tie_u in _slots(np.random.default_rng(108)):
        out = np.empty(len(t_seq), np.int64)
        assert order_fcfs_nb(t_seq, tie_u, out) == len(t_seq)
        assert out.tolist() == ref.order_fcfs(t_seq.tolist(), tie_u.tolist())


def test_order_priority_matches_twin():
    for t_seq, fee, tie_u in _slots(np.random.default_rng(109)):
        out = np.empty(len(t_seq), np.int64)
        assert order_priority_nb(t_seq, fee, tie_u, out) == len(t_seq)
        assert out.tolist() == ref.order_priority(t_seq.tolist(), fee.tolist(), tie_u.tolist())


# --------------------------------------------------------------------------- full engine

@pytest.fixture(scope="module")
def scenario():
    return dataclasses.replace(ml.Scenario.preset("superchain"), duration=120.0)


@pytest.fixture(scope="module")
def worlds(scenario):
    return {seed: engine.prepare(scenario, seed) for seed in (0, 1)}


def _assert_records_match(got, want, what):
    assert len(got) == len(want), f"{what}: {len(got)} rows, twin has {len(want)}"
    for name in got.dtype.names:
        if got.dtype[name].kind == "f":
            assert_allclose(got[name], want[name], rtol=1e-9, equal_nan=True,
                            err_msg=f"{what}.{name}")
        else:
            bad = np.flatnonzero(got[name] != want[name])
            assert len(bad) == 0, f"{what}.{name} differs at rows {bad[:10].tolist()}"


#: policy, scenario changes: every path of the slot loop (sealed variants included)
ENGINE_CASES = {
    "fcfs": ("fcfs", {}),
    "fcfs-private": ("fcfs-private", {}),
    "priority": ("priority", {}),
    "commit_reveal": ("commit_reveal", {"commit_reveal": {"bond": 0.3}}),
    "threshold-collusion-downtime": ("threshold", {"threshold": {"uptime": 0.7,
                                                                 "colluding": 3}}),
    "threshold-leak-fee": ("threshold", {"threshold": {"metadata": "pool_direction",
                                                       "order_by": "fee"},
                                         "users": {"size_median": 30000.0}}),
    "fcfs-private-colluding-leaders": (
        "fcfs-private", {"sequencers": [{"name": "a", "behaviour": "colluding", "stake": 2.0},
                                        {"name": "b", "offline_prob": 0.2}],
                         "leader_selection": "stake_weighted"}),
    "fcfs-forced-inclusion": (
        "fcfs", {"sequencers": [{"name": "a", "offline_prob": 0.6, "behaviour": "colluding"}],
                 "forced_inclusion_delay": 3.0}),
    "priority-colluding-leaders": (
        "priority", {"sequencers": [{"name": "a", "behaviour": "colluding"}, {"name": "b"}]}),
    "batch_auction": ("batch_auction", {}),
    "batch_auction-fm": ("batch_auction-fm", {}),
}
#: cross-rollup bundles settle whole under every policy: tight limits so that some revert
BUNDLES = {"users": {"cross_share": 0.3, "tolerances": [0.002, 0.004, 0.03],
                     "tolerance_weights": [0.4, 0.4, 0.2]}}
for _name in ("fcfs", "priority", "commit_reveal"):
    ENGINE_CASES[f"{_name}-bundles"] = (_name, {**ENGINE_CASES[_name][1], **BUNDLES})
ENGINE_CASES["batch_auction-bundles"] = (
    "batch_auction", {"users": {**BUNDLES["users"], "tolerances": [0.0003, 0.001, 0.03]}})
ENGINE_CASES["threshold-leak-bundles"] = (
    "threshold", {**ENGINE_CASES["threshold-leak-fee"][1],
                  "users": {**BUNDLES["users"], "size_median": 30000.0}})


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_engine_matches_twin(scenario, worlds, case, seed):
    policy_name, changes = ENGINE_CASES[case]
    policy = get_policy(policy_name)
    if changes:
        scn = dataclasses.replace(scenario, **changes)
        world = engine.prepare(scn, seed)
    else:
        scn, world = scenario, worlds[seed]
    world, params, policy_id, _ = policy.setup(scn, world)
    fills, ext, reserves, _ = engine.run(world, dataclasses.replace(policy, policy_id=policy_id),
                                         params)
    fills_ref, ext_ref, reserves_ref = ref.run(world, policy_id, params)

    _assert_records_match(fills, fills_ref, "fills")
    _assert_records_match(ext, ext_ref, "extractions")
    assert_allclose(reserves, reserves_ref, rtol=1e-12)

    # guard against a vacuous comparison: the path the case is about did run
    assert np.any(fills["sender_kind"] == ref.SEARCHER)
    if params[0] != 0.0 or case in ("commit_reveal", "threshold-leak-fee"):
        assert np.any(fills["strategy"] == ref.ST_FRONT)
    if case == "commit_reveal":
        assert np.any(fills["status"] == ref.DROPPED)
    if params[2] != 0.0:
        assert np.any(fills["strategy"] == ref.ST_BACKRUN)
    if case == "threshold-collusion-downtime":
        assert not world.slots.live.all()
    if case == "fcfs-forced-inclusion":
        assert world.slots.forced.any()
    if "colluding" in case:
        assert (world.slots.favoured >= 0).any() and np.any(fills["strategy"] == ref.ST_FRONT)
    if case.endswith("bundles"):
        # both outcomes of the all-or-none rule were exercised
        legs = fills[(fills["sender_kind"] == ref.USER) & (world.flow.twin[fills["tx"]] >= 0)]
        assert np.any(legs["status"] == ref.EXECUTED) and np.any(legs["status"] != ref.EXECUTED)
    if case.startswith("batch"):
        assert np.any(fills["strategy"] == ref.ST_ARB) and not np.any(fills["strategy"] == ref.ST_FRONT)


def test_clear_batch_matches_twin():
    from mevlab.amm.nb import clear_batch_nb
    rng = np.random.default_rng(77)
    for _ in range(500):
        n = int(rng.integers(0, 40))
        side = rng.integers(0, 2, n).astype(np.int64)
        amount = np.where(side == 0, rng.lognormal(0, 1.5, n), rng.lognormal(8, 1.5, n))
        quote = np.where(side == 0, amount * 3000, amount / 3000)
        min_out = quote * (1 - rng.choice([-0.01, 0.0, 0.002, 0.02], n))
        min_out[rng.uniform(size=n) < 0.1] = 0.0
        fee, fm = float(rng.choice([0.0, 0.003])), bool(rng.uniform() < 0.4)
        y = 3e6 * rng.uniform(0.97, 1.03)
        fill = np.zeros(n)
        p = clear_batch_nb(1000.0, y, fee, fm, side, amount, min_out, fill)
        p_ref, fill_ref = ref.clear_batch(1000.0, y, fee, fm, side.tolist(), amount.tolist(),
                                          min_out.tolist())
        assert (np.isnan(p) and np.isnan(p_ref)) or p == p_ref
        assert fill.tolist() == fill_ref

"""Optimal routing: the cvxpy router and the dual-decomposition router against closed forms,
against each other, and against their optimality certificate."""
import dataclasses
import warnings

import numpy as np
import pytest

import mevlab as ml
from mevlab.amm import optimal_arbitrage
from mevlab.searcher import ConvexRouter, DualRouter, check_certificate, two_pool_arbitrage

warnings.filterwarnings("ignore", message="Solution may be inaccurate")


@pytest.fixture(scope="module")
def pair_routers():
    pairs = [(1, 0), (1, 0)]                 # two ETH/USDC pools, token 0 = USDC
    return ConvexRouter(pairs, 2), DualRouter(pairs, 2)


def two_pool_cases(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = 10 ** rng.uniform(1, 5)
        pa = 3000 * np.exp(rng.normal(0, 0.02))
        pb = pa * np.exp(rng.choice([-1, 1]) * rng.uniform(0.01, 0.2))
        fees = rng.choice([0.0, 0.0005, 0.003], 2)
        xb = x * 10 ** rng.uniform(-1, 1)
        yield np.array([[x, x * pa], [xb, xb * pb]]), fees


@pytest.mark.parametrize("case", list(two_pool_cases(40, 0)))
def test_atomic_routing_of_two_pools_matches_the_two_pool_closed_form(pair_routers, case):
    R, fees = case
    cf = two_pool_arbitrage(R[0], R[1], fees[0], fees[1])
    # ETH valued below both pools: an atomic (Psi >= 0) trade keeps none of it, so its value
    # is the closed form's USDC profit
    c = np.array([1.0, 0.5 * min(R[:, 1] / R[:, 0])])
    for router in pair_routers:
        res = router.solve(R, fees, c, inventory=0.0)
        assert res.optimal
        assert res.profit == pytest.approx(cf["profit"], rel=1e-6)
        assert abs(res.net[1]) <= 1e-9 * R[:, 0].max()
        assert check_certificate(res, R, fees, [(1, 0), (1, 0)]) == []


@pytest.mark.parametrize("case", list(two_pool_cases(20, 1)))
def test_unbounded_inventory_is_the_sum_of_per_pool_closed_forms(pair_routers, case):
    R, fees = case
    c = np.array([1.0, np.sqrt(np.prod(R[:, 1] / R[:, 0]))])
    expected = sum(optimal_arbitrage(r[0], r[1], c[1], f).profit for r, f in zip(R, fees))
    for router in pair_routers:
        res = router.solve(R, fees, c, inventory=np.inf)
        assert res.optimal and res.profit == pytest.approx(expected, rel=1e-9)


def test_no_profitable_trade_gives_a_zero_trade(pair_routers):
    R = np.array([[1000.0, 3e6], [2000.0, 6e6]])
    for router in pair_routers:
        res = router.solve(R, [0.003, 0.003], [1.0, 3000.0])
        assert res.optimal and res.profit == 0.0
        assert not res.tendered.any() and not res.received.any()


def random_topology(rng):
    n = int(rng.integers(2, 6))
    m = int(rng.integers(2, 51))
    return n, [tuple(int(t) for t in rng.choice(n, 2, replace=False)) for _ in range(m)]


def random_instance(rng, n, pairs):
    """Pool values 1e4-1e7 USD, prices off by a few %, base units of 6 to 27 decimals."""
    c = np.exp(rng.normal(0, 2, n))
    c[0] = 1.0
    tok = np.array(pairs)
    value = np.exp(rng.normal(13, 1.5, len(pairs)))
    tilt = np.exp(rng.normal(0, 0.03, len(pairs)))
    R = np.stack([value / 2 / c[tok[:, 0]] * tilt, value / 2 / c[tok[:, 1]] / tilt], axis=1)
    fees = rng.choice([0.0, 0.0005, 0.003, 0.01], len(pairs))
    unit = 10.0 ** rng.integers(6, 28, n)      # base units per token
    return R * unit[tok], fees, c / unit


def test_routers_agree_on_1000_random_instances():
    rng = np.random.default_rng(2023)
    rows = []
    for _ in range(40):
        n, pairs = random_topology(rng)
        convex, dual = ConvexRouter(pairs, n), DualRouter(pairs, n)  # built once per topology
        for _ in range(25):
            R, fees, c = random_instance(rng, n, pairs)
            a, b = convex.solve(R, fees, c), dual.solve(R, fees, c)
            rows.append((a, b, R, fees, pairs))
    assert len(rows) == 1000
    failed = [(a.status, b.status) for a, b, *_ in rows if not (a.optimal and b.optimal)]
    assert failed == []
    worst = worst_ipm = 0.0
    for a, b, R, fees, pairs in rows:
        top = max(a.profit, b.profit)
        if top > 0:
            worst = max(worst, abs(a.profit - b.profit) / top)
            # the interior-point optimum itself, before polishing, agrees too: Clarabel's
            # 1e-8 tolerances on an objective scaled to at least 1e-4 of the pool value
            worst_ipm = max(worst_ipm, abs(a.objective - b.profit) / top)
        assert check_certificate(a, R, fees, pairs) == []
        assert check_certificate(b, R, fees, pairs) == []
    assert worst <= 1e-6, worst
    assert worst_ipm <= 1e-4, worst_ipm


def test_newton_and_lbfgsb_minimise_the_same_dual():
    # two methods with different failure modes on the same dual: scipy's L-BFGS-B (plus a
    # root-find) and the Numba projected Newton
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(8):
        n, pairs = random_topology(rng)
        newton, lbfgsb = DualRouter(pairs, n), DualRouter(pairs, n, method="lbfgsb")
        for _ in range(25):
            R, fees, c = random_instance(rng, n, pairs)
            a, b = newton.solve(R, fees, c), lbfgsb.solve(R, fees, c)
            assert a.optimal and b.optimal
            top = max(a.profit, b.profit)
            if top > 0:
                worst = max(worst, abs(a.profit - b.profit) / top)
    assert worst <= 1e-6, worst


def test_dual_hessian_matches_finite_differences():
    from mevlab.searcher.nb import dual_eval_nb, dual_hessian_nb
    rng = np.random.default_rng(3)
    for _ in range(20):
        n, pairs = random_topology(rng)
        tok = np.array(pairs)
        r = np.exp(rng.normal(0, 1, (len(pairs), 2)))
        fees = rng.choice([0.0, 0.003, 0.01], len(pairs))
        b = np.zeros(n)
        nu = np.exp(rng.normal(0, 0.3, n))
        t, q = np.zeros_like(r), np.zeros_like(r)
        H = np.zeros((n, n))
        dual_eval_nb(r, fees, tok, b, nu, t, q, np.zeros(n))
        dual_hessian_nb(r, fees, tok, nu, t, H)
        fd = np.zeros((n, n))
        for j in range(n):
            h = 1e-6 * nu[j]
            gp, gm = np.zeros(n), np.zeros(n)
            dual_eval_nb(r, fees, tok, b, nu + h * np.eye(n)[j], t, q, gp)
            dual_eval_nb(r, fees, tok, b, nu - h * np.eye(n)[j], t, q, gm)
            fd[:, j] = (gp - gm) / (2 * h)
        assert np.allclose(H, H.T)
        assert np.abs(H - fd).max() <= 1e-5 * max(np.abs(H).max(), 1e-12)


def test_realistic_magnitudes_mixed_in_one_instance_solve_to_optimal():
    # the same ETH/USDC price in pools whose tokens have 6, 18 and 27 decimals
    pairs = [(1, 0), (2, 0), (1, 2), (1, 0)]
    c = np.array([1e-6, 3000e-18, 1e-27])      # numeraire per base unit
    R = np.array([[1e3 * 1e18, 3e6 * 1e6], [1e27 * 1e3, 3e6 * 1e6],
                  [1e3 * 1e18, 3.1e6 * 1e27], [2e3 * 1e18, 6.3e6 * 1e6]])
    for router in (ConvexRouter(pairs, 3), DualRouter(pairs, 3)):
        res = router.solve(R, np.full(4, 0.003), c)
        assert res.optimal and res.profit > 0
        assert check_certificate(res, R, np.full(4, 0.003), pairs) == []


def test_non_optimal_solves_are_retried_then_counted(monkeypatch):
    pairs = [(1, 0), (1, 0)]
    R, fees, c = np.array([[1e3, 3e6], [1e3, 3.3e6]]), np.full(2, 0.003), np.array([1.0, 1500.0])
    router = ConvexRouter(pairs, 2)
    # first attempt stopped after one iteration: the retry must rescue it
    real = router._attempts
    monkeypatch.setattr(router, "_attempts",
                        lambda: iter([("CLARABEL", dict(max_iter=1)), *real()]))
    res = router.solve(R, fees, c)
    assert res.optimal and res.attempts[0]["status"] != "optimal" and len(res.attempts) >= 2
    # every attempt fails: reported, never a silent "no MEV"
    monkeypatch.setattr(router, "_attempts", lambda: iter([("CLARABEL", dict(max_iter=1))]))
    res = router.solve(R, fees, c)
    assert not res.optimal and router.failures == 1
    assert router.report()["status"].tolist()[-1] == res.status


@pytest.fixture(scope="module")
def short_superchain():
    return dataclasses.replace(ml.Scenario.preset("superchain"), duration=120.0)


@pytest.mark.parametrize("inventory", [np.inf, 0.0])
def test_engine_with_either_router_gives_the_same_run(short_superchain, inventory):
    runs = [ml.simulate(dataclasses.replace(short_superchain, searcher=s,
                                            router_inventory=inventory), "fcfs-private", 0)
            for s in ("convex", "dual")]
    assert all(r.meta["router"]["failures"] == 0 and r.meta["router"]["solves"] > 0
               for r in runs)
    g = [r.extractions["gross"].sum() for r in runs]
    assert g[0] > 0 and g[0] == pytest.approx(g[1], rel=1e-6)
    assert runs[0].checks()["mtm_residual"] < 1e-9


def test_router_plan_is_worth_at_least_the_closed_form_arbitrage_in_every_slot_of_a_run(
        short_superchain):
    # replay a closed-form run slot by slot; at each slot's state the router's plan (gas-aware
    # leg dropping included) is worth at least what the closed-form searchers took there
    from mevlab.engine import _route
    from mevlab.engine.nb import ST_ARB, run_nb
    from mevlab.dtypes import extraction_dt, fill_dt
    scn = short_superchain
    world = ml.engine.prepare(scn, 0)
    pol = ml.policies.get_policy("fcfs-private")
    router = DualRouter(scn.pool_tokens(), len(scn.tokens))
    n = len(world.flow.t_seq)
    reserves = world.reserves0.copy()
    fills, ext = np.zeros(8 * n + 10_000, fill_dt), np.zeros(4 * n + 10_000, extraction_dt)
    state = np.zeros(3, np.int64)
    pending = np.zeros((len(reserves), ml.engine.PENDING_COLS))
    stats = {"solves": 0, "failures": 0, "solve_time_s": 0.0}
    slots_with_arb = more = 0
    for s in range(len(world.slots.t_close)):
        before = reserves.copy()
        e0 = int(state[1])
        k, e = run_nb(world.flow, world.slots, world.pools, world.searchers, pol.policy_id,
                      pol.params(scn), world.key, reserves, fills, ext, state, s, s + 1,
                      np.zeros_like(reserves), np.nan, pending)
        assert k >= 0
        taken = ext[e0:e]
        closed = float(taken["gross"][taken["strategy"] == ST_ARB].sum())
        _, planned = _route(world, router, before, s, np.inf, stats, pending)
        planned = 0.0 if not np.isfinite(planned) else planned
        assert planned >= closed * (1 - 1e-9), (s, planned, closed)
        slots_with_arb += closed > 0
        more += planned > closed * (1 + 1e-6)
    assert stats["failures"] == 0 and slots_with_arb > 20 and more > 0


@pytest.mark.parametrize("policy", ["fcfs", "fcfs-private", "priority"])
def test_without_searcher_costs_the_router_run_is_the_closed_form_run(short_superchain, policy):
    # with unbounded inventory the joint trade separates into the per-pool closed forms; the
    # bundle differs only in paying the searcher's cost once instead of per pool, so with
    # zero costs both searchers take the same legs and the runs coincide
    scn = dataclasses.replace(short_superchain, searchers=tuple(
        dataclasses.replace(s, cost=0.0) for s in short_superchain.searchers))
    runs = [ml.simulate(dataclasses.replace(scn, searcher=s), policy, 1)
            for s in ("closed_form", "dual")]
    a, b = (r.summary().iloc[0] for r in runs)
    assert a["mev_arbitrage"] > 0
    for col in ("mev_arbitrage", "mev_total", "lp_lvr", "user_cost"):
        assert b[col] == pytest.approx(a[col], rel=1e-9, abs=1e-9), col
    assert len(runs[0].fills) == len(runs[1].fills)


def test_router_sees_at_least_the_closed_form_opportunities(short_superchain):
    # at the same pool state, the joint trade is worth at least the per-pool closed forms
    # an atomic searcher could take without inventory, and equals them with inventory
    res = ml.simulate(short_superchain, "fcfs-private", 0)
    scn = short_superchain
    pairs = scn.pool_tokens()
    router = DualRouter(pairs, len(scn.tokens))
    rng = np.random.default_rng(0)
    for _ in range(30):
        R = res.reserves0 * np.exp(rng.normal(0, 0.01, res.reserves0.shape))
        fees = np.array([p.fee for p in scn.pools])
        c = res.slot_prices[int(rng.integers(len(res.slot_prices)))]
        closed = sum(optimal_arbitrage(r[0], r[1], c[1], f).profit for r, f in zip(R, fees))
        assert router.solve(R, fees, c, inventory=np.inf).profit == pytest.approx(closed,
                                                                                  rel=1e-9)
        assert router.solve(R, fees, c, inventory=0.0).profit <= closed * (1 + 1e-9)


@pytest.mark.parametrize("topology", ["shared", "isolated"])
def test_router_bundles_are_atomic_when_shared_and_split_when_isolated(topology):
    scn = dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=120.0,
                              topology=topology, searcher="dual", router_inventory=0.0)
    res = ml.simulate(scn, "fcfs-private", 0)
    a = res.extractions[res.extractions["strategy"] == "arbitrage"]
    legs = a.groupby("bundle").agg(n=("pool", "size"), slots=("slot", "nunique"),
                                   rollups=("rollup", "nunique"))
    # inventory-free arbitrage across one pair on three rollups: every bundle has two legs
    # or more, on different rollups
    assert len(legs) > 5 and (legs["n"] >= 2).all() and (legs["rollups"] >= 2).all()
    if topology == "shared":
        assert (legs["slots"] == 1).all()          # one slot: all legs or none
    else:
        assert (legs["slots"] >= 2).all()          # each rollup's leg in its own block
        world = ml.engine.prepare(scn, 0)
        clock_of_slot = world.slots.clock[a["slot"].to_numpy()]
        clock_of_pool = world.clocks.rollup_clock[world.pools.rollup[a["pool"].to_numpy()]]
        assert (clock_of_slot == clock_of_pool).all()
    assert res.meta["router"]["failures"] == 0
    assert res.checks()["mtm_residual"] < 1e-9


def test_a_leg_sent_to_another_rollup_lands_or_reverts_on_its_own(small):
    from mevlab.engine.nb import run_nb
    from mevlab.dtypes import extraction_dt, fill_dt
    from mevlab.amm.nb import amount_out_nb
    scn = dataclasses.replace(small, topology="isolated")
    world = ml.engine.prepare(scn, 0)
    pol = ml.policies.get_policy("fcfs-private")
    pl = 0
    s = int(np.flatnonzero(world.slots.clock == world.clocks.rollup_clock[world.pools.rollup[pl]])[3])
    R = world.reserves0
    a = 1e-3 * R[pl, 1]                          # tender y, receive x
    out = amount_out_nb(a, R[pl, 1], R[pl, 0], world.pools.fee[pl])
    for min_out, status in ((out, 0), (out * (1 + 1e-9), 1)):
        reserves = R.copy()
        fills, ext = np.zeros(64, fill_dt), np.zeros(64, extraction_dt)
        pending = np.zeros((len(R), ml.engine.PENDING_COLS))
        pending[pl, :7] = [1.0, 1, a, min_out, 2, 7, 0.0]
        k, e = run_nb(world.flow, world.slots, world.pools, world.searchers, pol.policy_id,
                      pol.params(scn), world.key, reserves, fills, ext, np.zeros(3, np.int64),
                      s, s + 1, np.zeros((len(R), 2)), np.nan, pending)
        leg, x = fills[0], ext[0]
        assert k > 0 and pending[pl, 0] == 0.0                  # landed, no longer in flight
        assert (leg["pool"], leg["sender"], leg["bundle"], leg["status"]) == (pl, 2, 7, status)
        assert x["gas"] == world.pools.gas[pl]
        if status == 0:
            assert leg["amount_out"] == out and x["gross"] == pytest.approx(
                leg["value_out"] - leg["value_in"])
        else:                                     # the pool cannot pay min_out: gas only
            assert leg["amount_out"] == 0.0 and x["gross"] == 0.0 and x["net"] == -x["gas"]

"""Shared against isolated sequencing: cross-rollup intents, atomic bundles, leg risk,
atomic against non-atomic arbitrage, the Shapley split across rollups (issue 6)."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mevlab as ml
from mevlab import engine
from mevlab.experiments.cross import restrict, two_rollup_arbitrage_scenario
from mevlab.searcher.cross_rollup import inventory_free_arbitrage, nonatomic_expected_profit


def _with_intents(scn, share=0.3, **users):
    return dataclasses.replace(scn, users=dataclasses.replace(scn.users, cross_share=share,
                                                              **users))


@pytest.fixture(scope="module")
def mixed():
    return _with_intents(dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=60.0))


# --------------------------------------------------------------------------- the flow
def test_intents_need_a_pair_on_two_rollups():
    scn = ml.Scenario.preset("mixed-stack")
    assert scn.users.cross_share > 0
    with pytest.raises(ml.ConfigError, match=r"users.cross_share.*two rollups"):
        dataclasses.replace(scn, rollups=scn.rollups[:1], pools=scn.pools[:1])
    one = dataclasses.replace(_with_intents(scn, 0.0), rollups=scn.rollups[:1],
                              pools=scn.pools[:1])
    assert one.cross_routes() == []
    with pytest.raises(ml.ConfigError, match=r"cross_share.*\[0.0, 1.0\]"):
        _with_intents(scn, share=1.5)


def test_intent_legs_span_two_rollups_and_travel_as_the_topology_says(mixed):
    shared = engine.prepare(mixed, 4).flow_table
    isolated = engine.prepare(dataclasses.replace(mixed, topology="isolated"), 4).flow_table
    for df in (shared, isolated):
        legs = df[df["intent"] >= 0].sort_values(["intent", "leg"])
        assert len(legs) > 50 and len(legs) == 2 * legs["intent"].nunique()
        a, b = legs[legs["leg"] == 0], legs[legs["leg"] == 1]
        assert (a["rollup"].to_numpy() != b["rollup"].to_numpy()).all()
        # sell one token of the pair on one rollup, buy it back on the other
        assert (a["direction"].to_numpy() != b["direction"].to_numpy()).all()
        assert (a["submit_time"].to_numpy() == b["submit_time"].to_numpy()).all()
    s = shared[shared["intent"] >= 0].sort_values(["intent", "leg"])
    i = isolated[isolated["intent"] >= 0].sort_values(["intent", "leg"])
    # one bundle, one message under shared; two independent messages under isolated
    assert (s["t_seq"].to_numpy()[0::2] == s["t_seq"].to_numpy()[1::2]).all()
    assert (i["t_seq"].to_numpy()[0::2] != i["t_seq"].to_numpy()[1::2]).all()
    # same intents, same sizes in both topologies
    assert np.array_equal(s["amount_in"].to_numpy(), i["amount_in"].to_numpy())


def test_intents_draw_from_their_own_stream(mixed):
    """Adding intents moves no price draw, and the intents do not depend on the other users."""
    off = dataclasses.replace(mixed, users=dataclasses.replace(mixed.users, cross_share=0.0))
    a, b = engine.prepare(off, 2), engine.prepare(mixed, 2)
    assert (a.flow_table["intent"] == -1).all()
    assert np.array_equal(a.slots.price, b.slots.price)
    other = dataclasses.replace(mixed, users=dataclasses.replace(mixed.users,
                                                                 informed_share=0.9))
    c = engine.prepare(other, 2)
    cols = ["intent", "leg", "submit_time", "t_seq", "pool", "direction", "amount_in"]
    legs = lambda w: w.flow_table[w.flow_table["intent"] >= 0].sort_values(
        ["intent", "leg"])[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(legs(b), legs(c))


# --------------------------------------------------------------------------- atomicity
def _legs_executed(res):
    """Executed legs per intent, counted from the fill records against the flow table
    (an intent with no fill row at all counts with 0)."""
    f = res.raw_fills[res.raw_fills["sender_kind"] == 0]
    intent = res.flow["intent"].to_numpy()[f["tx"]]
    done = pd.Series((f["status"] == 0)[intent >= 0]).groupby(intent[intent >= 0]).sum()
    return done.reindex(np.unique(res.intent_legs[:, 0]), fill_value=0)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(policy=st.sampled_from(["fcfs", "fcfs-private", "priority", "commit_reveal",
                               "threshold", "batch_auction", "batch_auction-fm"]),
       share=st.floats(0.1, 0.8), tol=st.sampled_from([0.0003, 0.001, 0.005]),
       latency=st.floats(0.01, 3.0), searcher=st.sampled_from(["closed_form", "dual"]),
       offline=st.sampled_from([0.0, 0.3, 0.7]), colluding=st.booleans(),
       forced=st.sampled_from([np.inf, 3.0]),
       threshold=st.sampled_from([{}, {"uptime": 0.6, "colluding": 3},
                                  {"metadata": "pool_direction", "order_by": "fee"}]),
       seed=st.integers(0, 2**31 - 1))
def test_shared_bundles_never_execute_in_part(policy, share, tol, latency, searcher, offline,
                                              colluding, forced, threshold, seed):
    base = ml.Scenario.preset("mixed-stack")
    scn = dataclasses.replace(
        _with_intents(base, share, tolerances=(tol, 0.03), tolerance_weights=(0.8, 0.2),
                      size_median=20000.0),
        duration=20.0, searcher=searcher, router_inventory=0.0 if searcher == "dual" else np.inf,
        latency=dataclasses.replace(base.latency, user_to_sequencer=latency),
        sequencers=[{"name": "a", "offline_prob": offline,
                     "behaviour": "colluding" if colluding else "honest"}, {"name": "b"}],
        forced_inclusion_delay=forced, threshold=threshold)
    res = ml.simulate(scn, policy, seed)
    done = _legs_executed(res)
    assert len(done) > 0 and set(done.unique()) <= {0, 2}
    it = res.intents
    assert set(it["outcome"]) <= {"both", "none"}
    assert (it.loc[it["outcome"] == "both", "leg_gap"] == 0).all()
    s = res.summary().iloc[0]
    assert s["one_leg_rate"] == 0 and s["bundles_partial"] == 0 and s["leg_risk_users"] == 0


def test_atomicity_is_not_vacuous_and_isolated_legs_do_split(mixed):
    """Over the same runs, shared bundles revert whole while isolated legs split."""
    tight = _with_intents(mixed, 0.3, tolerances=(0.0005, 0.03), tolerance_weights=(0.8, 0.2))
    outcomes = {"shared": pd.Series(dtype=int), "isolated": pd.Series(dtype=int)}
    for topo in outcomes:
        for policy in ("fcfs", "priority", "batch_auction"):
            for seed in range(3):
                it = ml.simulate(dataclasses.replace(tight, topology=topo), policy, seed).intents
                outcomes[topo] = outcomes[topo].add(it["outcome"].value_counts(), fill_value=0)
    assert outcomes["shared"].get("none", 0) > 10 and outcomes["shared"].get("one_leg", 0) == 0
    assert outcomes["isolated"].get("one_leg", 0) > 10


def test_isolated_legs_land_in_different_blocks_and_strand_inventory(mixed):
    tight = _with_intents(mixed, 0.3, tolerances=(0.0005, 0.03), tolerance_weights=(0.8, 0.2))
    res = ml.simulate(dataclasses.replace(tight, topology="isolated"), "fcfs", 1)
    it = res.intents
    assert (it["leg_gap"] > 0).any()
    one = it[it["outcome"] == "one_leg"]
    assert len(one) > 0 and (one["stranded_value"] > 0).all()
    # the stranded inventory, marked to market at the end of the run, is what the ledger reports
    s = res.summary().iloc[0]
    assert s["leg_risk_users"] == pytest.approx(one["stranded_value_end"].sum())
    assert s["leg_pnl_users"] == pytest.approx(one["leg_pnl_end"].sum())
    # and the accounting identities still hold with the intents in the flow
    chk = res.checks()
    assert chk["max_slot_imbalance"] < 1e-6 and chk["mtm_residual"] < 1e-9


def _two_proportion_z(k1, n1, k2, n2):
    p = (k1 + k2) / (n1 + n2)
    return (k2 / n2 - k1 / n1) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def test_one_leg_rate_grows_with_latency_and_block_time_mismatch():
    scn = dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=200.0)
    df = ml.leg_risk(scn, latencies=(0.05, 3.0), block_times=(0.25, 8.0), seeds=range(4),
                     cross_share=0.3, progress=False)
    assert (df.loc[df["topology"] == "shared", "one_leg_rate"] == 0).all()
    iso = df[df["topology"] == "isolated"].assign(
        k=lambda d: d["one_leg_rate"] * d["cross_intents"])
    for sweep in ("latency", "block_time"):
        g = iso[iso["sweep"] == sweep].groupby("value")[["k", "cross_intents"]].sum()
        (lo, hi) = g.index.min(), g.index.max()
        z = _two_proportion_z(g.loc[lo, "k"], g.loc[lo, "cross_intents"],
                              g.loc[hi, "k"], g.loc[hi, "cross_intents"])
        assert z > 3.0, (sweep, g, z)


# --------------------------------------------------------------------------- arbitrage
def test_router_takes_the_independent_inventory_free_optimum():
    scn = two_rollup_arbitrage_scenario(gap=0.03, fee=0.003)
    (pa, pb) = ((p.reserve_x, p.reserve_y) for p in scn.pools)
    ref = inventory_free_arbitrage(pa, pb, 0.003, 0.003, scn.assets[0].price)
    for topo in ("shared", "isolated"):
        s = ml.simulate(dataclasses.replace(scn, topology=topo), "fcfs", 0).summary().iloc[0]
        assert s["mev_total"] == pytest.approx(ref["profit"], rel=1e-7)
        assert s["bundles"] == 1 and s["bundles_partial"] == 0
    lost = ml.simulate(dataclasses.replace(scn, topology="isolated", leg_failure=1.0), "fcfs", 0)
    s = lost.summary().iloc[0]
    assert s["bundles_partial"] == 1
    assert s["mev_total"] == pytest.approx(ref["legs"]["a"]["value"], rel=1e-7)
    # the inventory the lost bundle left, at the (unmoved) external price, and its result
    leg = ref["legs"]["a"]
    p = scn.assets[0].price
    assert s["leg_risk_searchers"] == pytest.approx(leg["received"] * p, rel=1e-6)
    assert s["leg_pnl_searchers"] == pytest.approx(leg["value"], rel=1e-6)


def test_mev_per_rollup_adds_up_to_the_run():
    scn = dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=120.0,
                              searcher="dual", router_inventory=0.0)
    res = ml.simulate(_with_intents(scn, 0.2), "fcfs", 1)
    b, s = res.by_rollup(), res.summary().iloc[0]
    assert list(b.index) == ["op", "zk", "arb"]
    for col in ("mev_total", "cross_mev", "user_cost"):
        assert b[col].sum() == pytest.approx(s[col], rel=1e-9, abs=1e-9)
    assert s["cross_mev"] > 0 and s["bundles"] > 0
    parts = b[[c for c in b.columns if c.startswith("mev_") and c != "mev_total"]]
    assert np.allclose(parts.sum(axis=1), b["mev_total"])


def test_atomic_and_nonatomic_profits_match_theory():
    df = ml.atomic_vs_nonatomic((0.0, 0.3, 0.6, 1.0), n_runs=120, progress=False)
    scn = two_rollup_arbitrage_scenario()
    (pa, pb) = ((p.reserve_x, p.reserve_y) for p in scn.pools)
    for _, r in df.iterrows():
        th = nonatomic_expected_profit(pa, pb, 0.003, 0.003, scn.assets[0].price,
                                       r["leg_failure"])
        if r["topology"] == "shared" or r["leg_failure"] in (0.0, 1.0):
            assert r["simulated"] == pytest.approx(r["theory"], rel=1e-7)
        else:
            bound = 4.0 * th["stderr_per_run"] / np.sqrt(r["n_runs"])
            assert abs(r["simulated"] - r["theory"]) < bound
            assert 0 < r["one_leg_rate"] < 1
    iso = df[df["topology"] == "isolated"].set_index("leg_failure")["simulated"]
    shared = df[df["topology"] == "shared"].set_index("leg_failure")["simulated"]
    assert iso.loc[1.0] < iso.loc[0.0] == pytest.approx(shared.loc[1.0], rel=1e-9)
    with pytest.raises(ml.ConfigError, match="leg_failures"):
        ml.atomic_vs_nonatomic((0.5, 1.5), n_runs=2)


# --------------------------------------------------------------------------- Shapley
def _identical_rollups(n=3):
    base = ml.Scenario.preset("superchain")
    r0, p0 = base.rollups[0], base.pools[0]
    rollups = [dataclasses.replace(r0, name=f"r{i}") for i in range(n)]
    pools = [dataclasses.replace(p0, rollup=f"r{i}") for i in range(n)]
    return dataclasses.replace(_with_intents(base, 0.3), rollups=rollups, pools=pools,
                               duration=60.0)


def test_shapley_split_is_efficient_and_symmetric():
    scn = _identical_rollups(3)
    sh = ml.shapley_rollups(scn, "fcfs", seeds=[0, 1], progress=False)
    total = np.mean([ml.simulate(scn, "fcfs", s).summary()["cross_mev"].iloc[0] for s in (0, 1)])
    assert total > 0
    assert sh["shapley"].sum() == pytest.approx(total, rel=1e-12)
    assert sh.attrs["total"] == pytest.approx(total, rel=1e-12)
    # identical rollups, identical shares
    assert np.ptp(sh["shapley"].to_numpy()) <= 1e-9 * total
    sampled = ml.shapley_rollups(scn, "fcfs", seeds=[0, 1], exact_max=2, samples=20,
                                 progress=False)
    assert sampled.attrs["method"] == "sampled"
    assert sampled["shapley"].sum() == pytest.approx(total, rel=1e-9)


def test_restricted_scenario_keeps_intents_only_where_a_pair_spans_two_rollups():
    scn = _with_intents(ml.Scenario.preset("mixed-stack"), 0.2)
    assert restrict(scn, ["op", "zk"]).users.cross_share == 0.2
    single = restrict(scn, ["op"])
    assert single.users.cross_share == 0.0 and [r.name for r in single.rollups] == ["op"]


# --------------------------------------------------------------------------- compare
def test_compare_runs_both_topologies_and_draws_the_figure(tmp_path, mixed):
    df = ml.compare(mixed, policies=["fcfs", "batch_auction"], seeds=range(2),
                    topology=["isolated", "shared"], progress=False)
    assert len(df) == 8
    assert set(zip(df["topology"], df["policy"])) == {(t, p) for t in ("isolated", "shared")
                                                      for p in ("fcfs", "batch_auction")}
    # same prices and flow: the shared sequencer cuts the inclusion delay of the slow rollups
    g = df.groupby("topology")["delay_mean"].mean()
    assert g["shared"] < g["isolated"]
    ml.plot_topology(df, tmp_path / "topology.png")
    assert (tmp_path / "topology.png").stat().st_size > 10_000
    with pytest.raises(ml.ConfigError, match="topology"):
        ml.compare(mixed, policies=["fcfs"], seeds=[0], topology=["both"])


def test_legs_never_included_are_reported_not_lost():
    """Keyper downtime leaves some legs encrypted at the end: the intent is still listed,
    its missing leg as not included (under shared the twin goes with it)."""
    scn = dataclasses.replace(_with_intents(ml.Scenario.preset("mixed-stack"), 0.3),
                              duration=60.0, threshold={"uptime": 0.35})
    for topo in ("isolated", "shared"):
        for seed in range(10):    # the first seed whose run ends with legs still encrypted
            res = ml.simulate(dataclasses.replace(scn, topology=topo), "threshold", seed)
            it = res.intents
            missing = (it["status_0"] == "not_included") | (it["status_1"] == "not_included")
            if missing.any():
                break
        assert missing.any(), topo
        assert len(it) == len(np.unique(res.intent_legs[:, 0]))
        if topo == "shared":
            assert ((it["status_0"] == "not_included") == (it["status_1"] == "not_included")).all()
        assert it["rollup_0"].notna().all() and it["rollup_1"].notna().all()
        assert res.summary()["cross_intents"].iloc[0] == len(it)


def test_a_replayed_flow_with_intents_reproduces_the_run_and_its_summary(tmp_path, mixed):
    for topo in ("isolated", "shared"):
        sc = dataclasses.replace(mixed, topology=topo)
        res = ml.simulate(sc, "priority", 5)
        path = tmp_path / f"flow_{topo}.parquet"
        res.flow.to_parquet(path)
        again = ml.simulate(sc, "priority", 5, flow=path)
        assert again.raw_fills.tobytes() == res.raw_fills.tobytes()
        pd.testing.assert_frame_equal(again.summary().drop(columns="seed"),
                                      res.summary().drop(columns="seed"))
        pd.testing.assert_frame_equal(again.intents, res.intents)
    # a trace without latencies: under shared the bundle still travels as one message
    bare = res.flow.drop(columns=["t_seq", "t_pub", "leg"])
    ml.simulate(dataclasses.replace(mixed, topology="shared"), "fcfs", 1, flow=bare).summary()
    bad = res.flow.assign(informed=res.flow["intent"] >= 0)
    with pytest.raises(ml.ConfigError, match="flow.informed"):
        ml.simulate(mixed, "fcfs", 1, flow=bad)

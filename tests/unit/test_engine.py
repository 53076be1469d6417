"""Engine behaviour: ledger identities, searcher rules and the comparative statements of the issue."""
import dataclasses

import numpy as np
import pytest

import mevlab as ml


def test_result_tables(small):
    res = ml.simulate(small, "fcfs", 7)
    f = res.fills
    for col in ("slot", "rollup", "pool", "position", "sender_kind", "strategy", "bundle",
                "amount_in", "amount_out", "price", "status"):
        assert col in f.columns
    assert set(f["status"].unique()) <= {"executed", "reverted", "dropped", "delayed"}
    # positions are 0..n-1 within each slot
    for _, g in f.groupby("slot"):
        assert sorted(g["position"]) == list(range(len(g)))
    led = res.ledger
    assert set(led["agent_kind"].unique()) <= {"user", "searcher", "sequencer", "lp"}
    assert res.meta["scenario_hash"] == small.hash() and res.meta["seed"] == 7
    assert "numba" in res.meta["versions"]
    s = res.summary()
    assert len(s) == 1 and s.loc[0, "policy"] == "fcfs"


@pytest.mark.parametrize("policy", ["fcfs", "fcfs-private", "priority"])
def test_ledger_balances_and_reconciles_with_summary(small, policy):
    res = ml.simulate(small, policy, 2)
    chk = res.checks()
    assert chk["max_slot_imbalance"] <= 1e-9 * chk["volume"]
    assert chk["token_imbalance"] < 1e-12 and chk["all_finite"]
    assert chk["mtm_residual"] < 1e-9
    led, s = res.ledger, res.summary().iloc[0]
    by_kind = led.groupby("agent_kind", observed=True)["value"].sum()
    assert by_kind.get("searcher", 0.0) == pytest.approx(s["to_searchers"], rel=1e-9, abs=1e-9)
    assert by_kind["sequencer"] == pytest.approx(s["sequencer_revenue"], rel=1e-12)
    assert by_kind["lp"] == pytest.approx(s["lp_net"], rel=1e-9)
    assert -by_kind["user"] == pytest.approx(s["user_cost"], rel=1e-9)


def _fresh(res, **changes):
    """A copy of ``res`` with fields replaced and no cached tables."""
    return dataclasses.replace(res, **changes)


def test_accounting_checks_catch_corrupted_runs(small):
    res = ml.simulate(small, "priority", 2)
    assert res.checks()["mtm_residual"] < 1e-9
    user = np.flatnonzero((res.raw_fills["sender_kind"] == 0) & (res.raw_fills["status"] == 0))[5]
    # a fill valued at the wrong price: the trader's entry no longer mirrors the LPs' (their
    # result is its own column), so the slot does not balance
    bad = res.raw_fills.copy()
    bad["value_out"][user] *= 1.01
    chk = _fresh(res, raw_fills=bad).checks()
    assert chk["max_slot_imbalance"] > 1e-7 * chk["volume"]
    # ... and if the LP side is corrupted to match, holdings marked to market disagree
    bad["lp_value"][user] -= res.raw_fills["value_out"][user] * 0.01
    chk = _fresh(res, raw_fills=bad).checks()
    assert chk["max_slot_imbalance"] < 1e-9 * chk["volume"]
    assert chk["mtm_residual"] > 1e-7
    # a fill booked against the wrong pool
    bad = res.raw_fills.copy()
    bad["pool"][user] = (bad["pool"][user] + 1) % len(small.pools)
    assert _fresh(res, raw_fills=bad).checks()["token_imbalance"] > 1e-9
    # non-finite entries are reported, not skipped
    bad = res.raw_fills.copy()
    bad["gas"][user] = np.nan
    assert not _fresh(res, raw_fills=bad).checks()["all_finite"]


def test_mev_loss_falls_exactly_on_sandwiched_users(small):
    res = ml.simulate(small, "priority", 2)
    f = res.fills
    users = f[f["sender_kind"] == "user"]
    executed = (users["status"] == "executed").to_numpy()
    loss = ((users["mev_out"] - users["amount_out"]) * users["out_price"]).to_numpy()
    # a user is sandwiched iff the fill right before it is a front-run leg
    front = res.raw_fills["strategy"] == int(ml.enums.Strategy.SANDWICH_FRONT)
    prev_front = np.concatenate([[False], front[:-1]])[users["id"].to_numpy()]
    victim = prev_front & executed
    assert victim.any()
    assert (loss[victim] > 0).all()
    assert (loss[~victim & executed] == 0).all()
    assert res.summary().loc[0, "user_mev_loss"] == pytest.approx(loss[victim].sum())


def test_lvr_is_the_lps_loss_to_searchers_and_users_mark_out_separately(preset):
    # without users the LPs' trading result is all loss-versus-rebalancing
    scn = dataclasses.replace(preset, users=dataclasses.replace(preset.users, rate=0.0),
                              duration=3600.0)
    s = ml.simulate(scn, "fcfs", 0).summary().iloc[0]
    assert s["n_user_tx"] == 0 and s["lp_user_markout"] == 0 and s["lp_lvr"] > 0
    s = ml.simulate(preset, "fcfs-private", 0).summary().iloc[0]
    assert s["lp_lvr"] > 0 and s["lp_user_markout"] != 0
    assert s["lp_net"] == pytest.approx(s["lp_fees"] - s["lp_lvr"] + s["lp_user_markout"])
    s = ml.simulate(preset, "priority", 0).summary().iloc[0]
    assert s["lp_sandwich_markout"] < 0 < s["lp_user_markout"]
    assert s["lp_net"] == pytest.approx(s["lp_fees"] - s["lp_lvr"] + s["lp_user_markout"]
                                        + s["lp_sandwich_markout"])


@pytest.mark.parametrize("policy", ["fcfs", "priority"])
def test_searchers_never_take_a_losing_trade(preset, policy):
    res = ml.simulate(dataclasses.replace(preset, duration=300.0), policy, 4)
    e = res.extractions
    cost = np.array([s.cost for s in preset.searchers])[e["searcher"].cat.codes]
    assert (e["net"] >= cost - 1e-9).all()
    assert (e["bid"] >= 0).all()


def test_priority_sends_most_mev_to_the_sequencer(preset):
    df = ml.compare(preset, policies=["priority"], seeds=range(4))
    assert len(preset.searchers) >= 2
    total = df["mev_total"].sum()
    to_seq = (df["to_sequencer_bids"] + df["to_sequencer_gas"]).sum()
    assert total > 0 and to_seq / total > 0.5


def test_private_mempool_fcfs_has_no_sandwiches(preset):
    df = ml.compare(preset, policies=["fcfs-private", "fcfs"], seeds=range(4))
    private = df[df["policy"] == "fcfs-private"]
    public = df[df["policy"] == "fcfs"]
    assert (private["n_sandwiches"] == 0).all() and (private["mev_sandwich"] == 0).all()
    assert (private["user_mev_loss"] == 0).all()
    # the statement is not vacuous: the same flow with a public mempool is sandwiched
    assert (public["n_sandwiches"] > 0).all()
    # the scenario-level switch does the same for plain "fcfs"
    s = ml.simulate(dataclasses.replace(preset, mempool="private"), "fcfs", 0).summary()
    assert s.loc[0, "n_sandwiches"] == 0


def test_fcfs_front_running_needs_a_faster_path(preset):
    # users reach the sequencer 0.15 s after submitting and the mempool after 0.10 s; a
    # searcher 0.5 s away can still back-run within a 2 s slot but never front-run
    lat = dataclasses.replace(preset.latency, sigma=0.0)
    slow = tuple(dataclasses.replace(s, latency=0.5, jitter=0.0) for s in preset.searchers)
    s = ml.simulate(dataclasses.replace(preset, searchers=slow, latency=lat), "fcfs",
                    0).summary().iloc[0]
    assert s["n_sandwiches"] == 0 and s["mev_backrun"] > 0


@pytest.mark.parametrize("policy", ["fcfs", "priority"])
def test_searchers_slower_than_a_slot_extract_nothing(preset, policy):
    slow = tuple(dataclasses.replace(s, latency=5.0) for s in preset.searchers)
    s = ml.simulate(dataclasses.replace(preset, searchers=slow, duration=120.0), policy,
                    0).summary().iloc[0]
    assert s["mev_total"] == 0 and s["n_user_tx"] > 0


def test_race_ties_are_broken_by_draws_not_by_index(preset):
    twins = tuple(dataclasses.replace(preset.searchers[0], name=n, jitter=0.0) for n in "ab")
    e = ml.simulate(dataclasses.replace(preset, searchers=twins), "fcfs", 0).extractions
    wins = e["searcher"].value_counts()
    assert wins["a"] > 0.3 * len(e) and wins["b"] > 0.3 * len(e)


def test_same_seed_same_ledger_different_seed_differs(small):
    a, b = ml.simulate(small, "fcfs", 11), ml.simulate(small, "fcfs", 11)
    assert a.raw_fills.tobytes() == b.raw_fills.tobytes() and a.ledger.equals(b.ledger)
    c = ml.simulate(small, "fcfs", 12)
    assert c.raw_fills.tobytes() != a.raw_fills.tobytes()


@pytest.mark.parametrize("topology", ["shared", "isolated"])
def test_topologies_run_on_mixed_block_times(topology):
    scn = dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=60.0, topology=topology)
    res = ml.simulate(scn, "fcfs", 0)
    f = res.fills[res.fills["sender_kind"] == "user"]
    block = {r.name: r.block_time for r in scn.rollups}
    period = f["rollup"].map(block).astype(float) if topology == "isolated" else scn.slot_time
    # every transaction is included at the close of the first slot after it reached the sequencer
    t_seq = res.flow["t_seq"].to_numpy()[f["tx"]]
    assert np.allclose(f["inclusion_time"], (np.floor(t_seq / period) + 1) * period)
    assert res.checks()["max_slot_imbalance"] < 1e-6


def test_unknown_policy_and_bad_seed(small):
    with pytest.raises(ml.ConfigError, match="policy"):
        ml.simulate(small, "fifo")
    with pytest.raises(ml.ConfigError, match="seed"):
        ml.simulate(small, "fcfs", seed=-1)
    with pytest.raises(ml.ConfigError, match="scenario"):
        ml.simulate("superchain", "fcfs")


@pytest.mark.parametrize("policy", ["fcfs", "fcfs-private", "priority"])
def test_check_policy_passes_for_built_ins(policy):
    report = ml.check_policy(policy, n_cases=100)
    assert report["ordering_cases"] == 100 and len(report["engine"]) == 2


def test_check_policy_catches_a_broken_policy():
    from mevlab.policies.check import PolicyCheckError, check_ordering
    # a policy whose declared key contradicts what its kernel does must fail
    liar = ml.Policy("liar", 0, visibility="public", competition="latency",
                     sorted_by=("-priority_fee",))
    with pytest.raises(PolicyCheckError, match="key"):
        check_ordering(liar, n_cases=50)


def test_unknown_ordering_kernel_is_an_error_not_an_empty_run(small):
    ghost = ml.Policy("ghost", 99, visibility="public", competition="latency")
    with pytest.raises(ValueError, match="policy_id 99"):
        ml.simulate(small, ghost, 0)


def test_victims_without_a_limit_are_sandwiched_with_a_capped_front_run(small):
    f = ml.simulate(small, "fcfs", 0).flow[["submit_time", "pool", "direction", "amount_in",
                                             "tolerance", "t_seq", "t_pub"]].copy()
    f["min_out"] = 0.0
    res = ml.simulate(small, "priority", 0, flow=f)
    e = res.extractions
    assert (e["strategy"] == "sandwich").any()
    fronts = res.fills[(res.fills["strategy"] == "sandwich") & (res.fills["bundle"] >= 0)]
    fronts = fronts.drop_duplicates("bundle")            # the first leg of each bundle
    side_reserve = res.reserves0[fronts["pool"], fronts["direction"].astype(int)]
    # capped at 10x the pool's input reserve (reserves move by far less than 2x in a minute)
    assert len(fronts) and (fronts["amount_in"] <= 20.0 * side_reserve).all()
    assert res.checks()["max_slot_imbalance"] <= 1e-9 * res.checks()["volume"]


def test_replayed_limit_is_voided_when_an_informed_trader_flips_side(small):
    f = ml.simulate(small, "fcfs", 0).flow[["submit_time", "pool", "direction", "amount_in",
                                             "tolerance", "t_seq", "t_pub"]].copy()
    f["informed"] = True
    f["min_out"] = 1e30          # unreachable in the original output token
    res = ml.simulate(small, "fcfs-private", 0, flow=f)
    users = res.fills[res.fills["sender_kind"] == "user"]
    # a trade that kept its side keeps the unreachable limit and reverts; one that flipped
    # gets the recomputed limit and can execute
    ex = users[users["status"] == "executed"]
    assert len(ex) > 0 and (ex["min_out"] < 1e30).all()
    kept = users[users["min_out"] == 1e30]
    assert len(kept) > 0 and (kept["status"] == "reverted").all()


def test_a_seed_sequence_can_be_passed_twice(small):
    ss = np.random.SeedSequence(7)
    a, b = ml.simulate(small, "fcfs", ss), ml.simulate(small, "fcfs", ss)
    assert a.raw_fills.tobytes() == b.raw_fills.tobytes()


def test_shared_and_isolated_runs_see_the_same_prices_and_flow():
    scn = dataclasses.replace(ml.Scenario.preset("mixed-stack"), duration=60.0)
    a = ml.simulate(scn, "fcfs", 3)
    b = ml.simulate(dataclasses.replace(scn, topology="isolated"), "fcfs", 3)
    cols = ["submit_time", "pool", "direction", "amount_in", "tolerance"]
    pd_a = a.flow[cols].sort_values(["submit_time", "pool"], ignore_index=True)
    pd_b = b.flow[cols].sort_values(["submit_time", "pool"], ignore_index=True)
    assert pd_a.equals(pd_b)
    # the slots of the fastest rollup open at the same times under both topologies
    t = {float(x) for x in np.arange(0, 60, scn.slot_time)}
    pa = {float(o): p for o, p in zip(np.arange(len(a.slot_prices)) * scn.slot_time,
                                      a.slot_prices[:, 1])}
    fast = [i for i, r in enumerate(scn.rollups) if r.block_time == scn.slot_time][0]
    fb = b.fills[(b.fills["rollup"] == scn.rollups[fast].name)]
    matched = 0
    for slot, t_incl in zip(fb["slot"], fb["inclusion_time"]):
        t_open = t_incl - scn.slot_time
        if t_open in t:
            assert b.slot_prices[slot, 1] == pa[t_open]
            matched += 1
    assert matched > 50

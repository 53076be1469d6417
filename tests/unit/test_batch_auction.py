"""Batch auctions in the engine: one price per pool and slot, limits, no sandwiches."""
import pytest

import mevlab as ml


@pytest.mark.parametrize("policy", ["batch_auction", "batch_auction-fm"])
def test_batch_runs_give_one_price_per_pool_and_slot_and_respect_limits(small, policy):
    r = ml.simulate(small, policy, 3)
    f = r.fills
    ex = f[f["status"] == "executed"]
    spread = ex.groupby(["slot", "pool"], observed=True)["price"].agg(["min", "max"])
    assert len(spread) > 50
    assert ((spread["max"] - spread["min"]) <= 1e-12 * spread["max"]).all()
    users = ex[ex["sender_kind"] == "user"]
    assert (users["amount_out"] >= users["min_out"] * (1 - 1e-12)).all()
    # nobody sandwiches in a batch, and the arbitrage goes through it
    assert not (f["strategy"] == "sandwich").any()
    assert (ex["strategy"] == "arbitrage").any()
    assert ml.check_policy(policy, n_cases=30, scenario=small)["ordering_cases"] == 30

"""Published results reproduced by the engine (mevlab.papers, issue 7): LVR and arbitrage with
fees under Poisson blocks, against their closed forms."""
import math

import pytest

import mevlab as ml
from mevlab import papers


def test_lvr_tends_to_sigma_squared_over_eight():
    r = papers.lvr(sigma_daily=0.05, fee=0.0, blocks_per_day=7200, block_times="fixed", days=1,
                   n_paths=10, seed=1)
    assert r["theory"] == pytest.approx(0.05 ** 2 / 8)
    assert r["stderr"] < 0.01 * r["theory"]          # the check below can fail
    assert abs(r["simulated"] / r["theory"] - 1) < 0.03


@pytest.mark.parametrize("fee, blocks_per_day, days, n_paths", [
    (0.0005, 10, 200, 10),      # rare blocks, small fee: nearly every block trades
    (0.003, 7200, 2, 20),       # Ethereum-like blocks, Uniswap v2 fee
    (0.01, 100, 80, 20),        # wide band: about one block in five trades
])
def test_arbitrage_with_fees_matches_milionis_moallemi_roughgarden(fee, blocks_per_day, days,
                                                                   n_paths):
    df = papers.arbitrage_with_fees(sigma_daily=0.05, fee=fee, blocks_per_day=blocks_per_day,
                                    block_times="poisson", days=days, n_paths=n_paths, seed=2)
    for q in ("ARB/V", "P_trade"):
        sim, th, se = df.loc[q, ["simulated", "theory", "stderr"]]
        assert se < 0.015 * th, (q, se / th)
        assert abs(sim / th - 1) < 0.05, (q, sim, th)


def test_the_theory_is_pinned_to_the_fee_convention():
    # gamma = -ln(1 - 0.003) = 0.0030045 (half-spread); lambda = 7200 per day, sigma = 0.05
    th = papers.arbitrage_with_fees_theory(0.05, 0.003, 7200, "poisson")
    assert th["p_trade"] == pytest.approx(0.121790, rel=1e-4)      # 1 / (1 + 120 * 0.06009)
    assert th["arb_per_v"] == pytest.approx(3.8061e-5, rel=1e-3)
    # Nezlobin-Tassy with their full spread 2 gamma: 3.2e-5 (their half-spread misreading
    # would give 5.8e-5)
    assert papers.arbitrage_with_fees_theory(0.05, 0.003, 7200, "fixed")["arb_per_v"] == \
        pytest.approx(3.20e-5, rel=5e-3)
    # no fee: both block laws give sigma^2/8 (up to the discrete-block factor)
    assert papers.arbitrage_with_fees_theory(0.05, 0.0, 1e6, "poisson")["arb_per_v"] == \
        pytest.approx(0.05 ** 2 / 8, rel=1e-6)
    assert papers.arbitrage_with_fees_theory(0.05, 0.0, 1e6, "fixed")["arb_per_v"] == \
        pytest.approx(0.05 ** 2 / 8, rel=1e-12)


@pytest.mark.parametrize("fee", [0.003, 0.01])
def test_fixed_blocks_match_nezlobin_and_tassy(fee):
    df = papers.arbitrage_with_fees(sigma_daily=0.05, fee=fee, blocks_per_day=7200,
                                    block_times="fixed", days=1, n_paths=20, seed=3)
    sim, th, se = df.loc["ARB/V", ["simulated", "theory", "stderr"]]
    assert se < 0.06 * th
    assert abs(sim / th - 1) < 0.05, (sim, th)
    # fixed blocks leak less than Poisson blocks of the same rate (Nezlobin and Tassy)
    assert th < papers.arbitrage_with_fees_theory(0.05, fee, 7200, "poisson")["arb_per_v"]


def test_paper_scenarios_reject_bad_input_by_name():
    with pytest.raises(ml.ConfigError, match=r"sigma_daily.*\(0, 1\]"):
        papers.pool_scenario(0.0, 0.003, 10)
    with pytest.raises(ml.ConfigError, match="block_times"):
        papers.pool_scenario(0.05, 0.003, 10, block_times="gamma")
    with pytest.raises(ml.ConfigError, match="n_paths"):
        papers.lvr(n_paths=1)
    with pytest.raises(ml.ConfigError, match="blocks_per_day"):
        papers.pool_scenario(0.05, 0.003, 200000, block_times="poisson")


def test_the_engine_sandwiches_at_zhou_et_al_s_maximum_front_run():
    df = papers.sandwich(slippages=(0.001, 0.005, 0.02))
    # the engine shrinks a* by 1e-9 so that rounding never pushes the victim below its limit
    assert (df["frontrun_simulated"] <= df["frontrun_theory"]).all()
    assert (df["frontrun_simulated"] / df["frontrun_theory"] > 1 - 1e-8).all()
    assert list(df["simulated"]) == pytest.approx(list(df["theory"]), rel=1e-7)
    assert df["theory"].is_monotonic_increasing and (df["theory"] > 0).all()

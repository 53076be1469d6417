"""Published results reproduced with the real engine: each function builds a scenario for the
result, runs :func:`mevlab.simulate` on it and returns the simulated value next to the theory.

Conventions (model.md §6):

- ``sigma_daily`` is the volatility of the external log price per square-root day; the
  scenario's annualised ``sigma`` is ``sigma_daily * sqrt(365)``. The price is a martingale
  (zero drift).
- The fee is Uniswap v2's, on the input: ``g = 1 - fee``. The pool then quotes a bid ``g P``
  and an ask ``P / g`` around its price ``P``, so in log price its half-spread is
  ``gamma = -ln(1 - fee)``. That half-spread is the ``gamma`` of Milionis, Moallemi and
  Roughgarden (2023). Nezlobin and Tassy (2025) write their fixed-block formula with the full
  spread, ``2 gamma`` here (their no-trade band is ``[-gamma_NT/2, gamma_NT/2]``). Mixing the
  two up changes ``P_trade`` and ``ARB`` by up to a factor of two at typical parameters.
- ``ARB/V`` is the arbitrageur's profit per unit of pool value (the pool's value at the
  external price just before each trade) per day; ``P_trade`` the share of blocks that carry
  an arbitrage trade.
- Poisson block times are a Bernoulli thinning of a fixed clock of ``substeps`` slots per
  mean block: each slot is produced with probability ``1 / substeps`` (a sequencer set of one
  member offline otherwise; the price is drawn at every slot). The gaps between blocks are
  geometric, which tends to the exponential as ``substeps`` grows. At the default 100,
  ``P_trade`` at 30 bp and 7,200 blocks a day is within 0.1 % of the Poisson formula; at 20
  it was 2.7 % above it (variance of the gaps 95 % of the exponential's).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .config import Scenario
from .errors import ConfigError

#: |zeta(1/2)|, for the fixed-block formula of Nezlobin and Tassy (2025)
ZETA_HALF = 1.4603545088095868
SECONDS_PER_DAY = 86400.0


def _check(problems, name, value, lo, hi, what, lo_open=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        problems.append((name, f"got {value!r}; expected {what} in "
                               f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"))


def pool_scenario(sigma_daily: float, fee: float, blocks_per_day: float,
                  block_times: str = "fixed", days: float = 1.0, *, substeps: int = 100,
                  price: float = 3000.0, pool_value: float = 10e6) -> Scenario:
    """One constant-product ETH/USDC pool on one rollup, an external GBM price, no users and
    one arbitrageur with no latency, gas or cost (Milionis et al.'s setting).

    Parameters
    ----------
    sigma_daily : float
        Volatility per square-root day.
    fee : float
        Fraction of the input.
    blocks_per_day : float
    block_times : {"fixed", "poisson"}
    days : float
        Simulated time.
    substeps : int
        Slots per mean block for Poisson blocks.
    """
    problems = []
    _check(problems, "sigma_daily", sigma_daily, 0.0, 1.0, "a number", lo_open=True)
    _check(problems, "fee", fee, 0.0, 0.5, "a number")
    _check(problems, "blocks_per_day", blocks_per_day, 1.0, 1e6, "a number")
    _check(problems, "days", days, 1e-3, 1000.0, "a number")
    if block_times not in ("fixed", "poisson"):
        problems.append(("block_times", f"got {block_times!r}; expected 'fixed' or 'poisson'"))
    _check(problems, "substeps", substeps, 2, 10_000, "an integer")
    if problems:
        raise ConfigError(problems)
    block = SECONDS_PER_DAY / blocks_per_day
    seq = []
    if block_times == "poisson":
        block /= substeps
        if block < 0.01:
            raise ConfigError([("blocks_per_day", f"got {blocks_per_day!r} with substeps="
                                f"{substeps}; expected blocks_per_day * substeps <= 8,640,000 "
                                "(slots of at least 0.01 s)")])
        seq = [{"name": "producer", "offline_prob": 1.0 - 1.0 / substeps}]
    return Scenario.from_dict({
        "name": f"{block_times}-blocks", "duration": days * SECONDS_PER_DAY,
        "assets": [{"name": "ETH", "price": price, "sigma": sigma_daily * math.sqrt(365.0)}],
        "rollups": [{"name": "L", "block_time": block, "gas_cost": 0.0}],
        "pools": [{"rollup": "L", "reserve_x": pool_value / 2 / price,
                   "reserve_y": pool_value / 2, "fee": fee}],
        "users": {"rate": 0.0},
        "searchers": [{"name": "arbitrageur", "latency": 0.0, "jitter": 0.0,
                       "strategies": ["arbitrage"]}],
        "sequencers": seq,
        "description": "Milionis et al.: one pool, an external price, one arbitrageur."})


def _arbitrage_paths(scn: Scenario, n_paths: int, seed: int):
    """Per path: arbitrage profit per unit of pool value per day, and the share of blocks
    with a trade."""
    from .experiments.simulate import simulate
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 2:
        raise ConfigError([("n_paths", f"got {n_paths!r}; expected an integer >= 2")])
    days = scn.duration / SECONDS_PER_DAY
    arb, p_trade = np.empty(n_paths), np.empty(n_paths)
    for i in range(n_paths):
        res = simulate(scn, "fcfs", np.random.SeedSequence(seed, spawn_key=(i,)))
        f = res.raw_fills
        e = res.raw_extractions
        # the pool before each trade, rebuilt from its trades (they are all arbitrage)
        d = f["direction"].astype(np.int64)
        dx = np.where(d == 0, f["amount_in"], -f["amount_out"])
        dy = np.where(d == 1, f["amount_in"], -f["amount_out"])
        x = res.reserves0[0, 0] + np.concatenate([[0.0], np.cumsum(dx)[:-1]])
        y = res.reserves0[0, 1] + np.concatenate([[0.0], np.cumsum(dy)[:-1]])
        value = x * f["ext_price"] + y
        arb[i] = np.sum(e["gross"] / value) / days
        n_slots = len(res.slot_prices)
        blocks = n_slots - res.meta["sequencing"]["missed_slots"]
        p_trade[i] = len(e) / blocks
    return arb, p_trade


def _row(sim, theory):
    return {"simulated": float(sim.mean()), "theory": theory,
            "stderr": float(sim.std(ddof=1) / math.sqrt(len(sim)))}


def lvr(sigma_daily: float = 0.05, fee: float = 0.0, blocks_per_day: float = 7200.0,
        block_times: str = "fixed", days: float = 1.0, n_paths: int = 20, seed: int = 0,
        substeps: int = 100) -> dict:
    """Loss-versus-rebalancing (Milionis, Moallemi, Roughgarden and Zhang 2022): with no fee
    and short blocks, the arbitrage profit per unit of pool value per unit time tends to
    ``sigma^2 / 8`` for a constant-product pool.

    Returns
    -------
    dict
        ``simulated``, ``theory`` (``sigma_daily**2 / 8`` per day; with a fee, the formula
        of :func:`arbitrage_with_fees_theory`) and ``stderr`` (over paths) of ARB/V per
        day, with the parameters.
    """
    scn = pool_scenario(sigma_daily, fee, blocks_per_day, block_times, days, substeps=substeps)
    arb, _ = _arbitrage_paths(scn, n_paths, seed)
    # sigma^2/8 is the no-fee limit; with a fee, the formula of the block law
    theory = sigma_daily ** 2 / 8.0 if fee == 0 else arbitrage_with_fees_theory(
        sigma_daily, fee, blocks_per_day, block_times)["arb_per_v"]
    return {**_row(arb, theory), "sigma_daily": sigma_daily, "fee": fee,
            "blocks_per_day": blocks_per_day, "block_times": block_times, "days": days,
            "n_paths": n_paths, "seed": seed}


def lvr_curve(blocks=(24, 288, 2880, 7200, 43200), n_paths: int = 20, days: float = 1.0,
              sigma_daily: float = 0.05) -> pd.DataFrame:
    """:func:`lvr` at fixed block rates with no fee: one row per ``blocks_per_day``."""
    return pd.DataFrame([lvr(sigma_daily, 0.0, b, "fixed", days, n_paths, seed=i)
                         for i, b in enumerate(blocks)])


def plot_lvr(df: pd.DataFrame, path=None):
    """ARB/V per day against blocks per day (points, two standard errors) and ``sigma^2/8``."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    ax.errorbar(df["blocks_per_day"], df["simulated"], yerr=2 * df["stderr"], fmt="o",
                capsize=3, label="engine: arbitrage profit / pool value per day (±2 s.e.)")
    ax.axhline(df["theory"].iloc[0], color="k", ls="--", label="σ²/8 (Milionis et al. 2022)")
    ax.set_xscale("log")
    ax.set_xlabel("blocks per day (fixed, no fee)")
    ax.set_ylabel("ARB / V per day")
    ax.set_title("Loss-versus-rebalancing")
    ax.legend(fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def arbitrage_with_fees_theory(sigma_daily: float, fee: float, blocks_per_day: float,
                               block_times: str = "poisson") -> dict:
    """``ARB/V`` per day and ``P_trade`` in closed form.

    Poisson blocks (Milionis, Moallemi and Roughgarden 2023, constant product):
    ``P_trade = 1 / (1 + sqrt(2 lambda) gamma / sigma)`` and
    ``ARB/V = (sigma^2 / 8) P_trade cosh(gamma / 2) / (1 - sigma^2 / (8 lambda))``.
    Fixed blocks (Nezlobin and Tassy 2025): per block and unit of liquidity
    ``sigma_b^2 / (2 + sqrt(2 pi) gamma_NT / (|zeta(1/2)| sigma_b))`` with their full spread
    ``gamma_NT = 2 gamma`` and ``sigma_b = sigma / sqrt(lambda)``; normalised to pool value
    (so that it is the LVR per block, ``sigma_b^2 / 8``, at no fee) this is
    ``ARB/V = (sigma_b^2 / 8) / (1 + sqrt(2 pi) gamma / (|zeta(1/2)| sigma_b))``. No
    ``P_trade`` formula is used for fixed blocks. ``gamma = -ln(1 - fee)``, the half-spread.
    """
    lam, sig = float(blocks_per_day), float(sigma_daily)
    gamma = -math.log(1.0 - fee)
    if block_times == "poisson":
        p = 1.0 / (1.0 + math.sqrt(2.0 * lam) * gamma / sig)
        arb = sig ** 2 / 8.0 * p * math.cosh(gamma / 2.0) / (1.0 - sig ** 2 / (8.0 * lam))
        return {"arb_per_v": arb, "p_trade": p}
    sb = sig / math.sqrt(lam)
    per_block = sb ** 2 / 8.0 / (1.0 + math.sqrt(2.0 * math.pi) * gamma / (ZETA_HALF * sb))
    return {"arb_per_v": per_block * lam, "p_trade": float("nan")}


def arbitrage_with_fees(sigma_daily: float = 0.05, fee: float = 0.003,
                        blocks_per_day: float = 7200.0, block_times: str = "poisson",
                        days: float = 1.0, n_paths: int = 20, seed: int = 0,
                        substeps: int = 100) -> pd.DataFrame:
    """Arbitrage profits with fees (Milionis, Moallemi and Roughgarden 2023; fixed blocks:
    Nezlobin and Tassy 2025), simulated by the engine next to the closed forms of
    :func:`arbitrage_with_fees_theory`.

    Returns
    -------
    DataFrame
        Indexed by ``quantity`` (``"ARB/V"`` per day, ``"P_trade"``): ``simulated``,
        ``theory``, ``stderr`` (over paths); the parameters in ``attrs``.
    """
    scn = pool_scenario(sigma_daily, fee, blocks_per_day, block_times, days, substeps=substeps)
    arb, p = _arbitrage_paths(scn, n_paths, seed)
    th = arbitrage_with_fees_theory(sigma_daily, fee, blocks_per_day, block_times)
    df = pd.DataFrame([_row(arb, th["arb_per_v"]), _row(p, th["p_trade"])],
                      index=pd.Index(["ARB/V", "P_trade"], name="quantity"))
    df.attrs.update({"sigma_daily": sigma_daily, "fee": fee, "blocks_per_day": blocks_per_day,
                     "block_times": block_times, "days": days, "n_paths": n_paths,
                     "seed": seed, "substeps": substeps})
    return df


def fee_grid(fees=(0.0005, 0.001, 0.003, 0.01), blocks_per_day=(10, 1000, 7200, 50000),
             sigma_daily: float = 0.05, block_times: str = "poisson", trades: float = 20000.0,
             n_paths: int = 20, seed: int = 0, substeps: int = 100,
             progress: bool | None = None) -> pd.DataFrame:
    """:func:`arbitrage_with_fees` over a grid of fees and block rates, each point sized to
    about ``trades`` arbitrage trades over its ``n_paths`` paths (from the theory's
    ``P_trade``), so that every point has a similar standard error.

    Returns
    -------
    DataFrame
        Tidy: one row per fee, block rate and quantity, with ``simulated``, ``theory``,
        ``stderr``, ``rel_error`` and ``days``.
    """
    from .experiments.simulate import _progress
    rows = []
    points = [(f, b) for f in fees for b in blocks_per_day]
    for fee, bpd in _progress(points, "fee grid", progress):
        p = arbitrage_with_fees_theory(sigma_daily, fee, bpd, "poisson")["p_trade"]
        days = float(min(1000.0, max(trades / (n_paths * bpd * p), 2.0 / bpd * 10)))
        df = arbitrage_with_fees(sigma_daily, fee, bpd, block_times, days, n_paths, seed,
                                 substeps)
        for q, r in df.iterrows():
            rows.append({"fee": fee, "blocks_per_day": bpd, "quantity": q, **r.to_dict(),
                         "rel_error": r["simulated"] / r["theory"] - 1, "days": days})
    out = pd.DataFrame(rows)
    out.attrs.update({"sigma_daily": sigma_daily, "block_times": block_times,
                      "n_paths": n_paths, "seed": seed, "substeps": substeps})
    return out


def plot_fee_grid(df: pd.DataFrame, path=None):
    """``ARB/V`` and ``P_trade`` against blocks per day, one line per fee: theory (lines)
    and the engine (points, two standard errors)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, q in zip(axes, ("ARB/V", "P_trade")):
        d = df[df["quantity"] == q]
        for i, (fee, g) in enumerate(d.groupby("fee")):
            c = f"C{i}"
            ax.plot(g["blocks_per_day"], g["theory"], "-", color=c,
                    label=f"fee {fee * 1e4:g} bp: theory")
            ax.errorbar(g["blocks_per_day"], g["simulated"], yerr=2 * g["stderr"], fmt="o",
                        color=c, capsize=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        law = df.attrs.get("block_times", "poisson")
        ax.set_xlabel(f"blocks per day ({law})")
        ax.set_ylabel("arbitrage profit / pool value per day" if q == "ARB/V"
                      else "share of blocks with an arbitrage trade")
        ref = "Milionis et al. 2023" if law == "poisson" else "Nezlobin and Tassy 2025"
        ax.set_title(f"{q}: engine (points) against {ref} (lines)")
        ax.legend(fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def sandwich(slippages=(0.001, 0.003, 0.005, 0.01, 0.02, 0.05), victim_usd: float = 20000.0,
             pool_value: float = 10e6, fee: float = 0.003, price: float = 3000.0) -> pd.DataFrame:
    """Optimal sandwich against the victim's slippage tolerance (Zhou, Qin, Torres, Le and
    Gervais 2021, "High-Frequency Trading on Decentralized On-Chain Exchanges", §V).

    For every tolerance the engine runs one victim buying ETH with ``victim_usd`` USDC on a
    constant-product pool (limit: the quote times ``1 - tolerance``) with one sandwiching
    searcher that sees it in the public mempool; the theory is the largest front-run that
    keeps the victim at its limit (the root of Zhou et al.'s quadratic) and the profit of the
    sandwich at that size (profit grows with the front-run up to it).

    Returns
    -------
    DataFrame
        One row per ``slippage``: ``frontrun_simulated``, ``frontrun_theory`` (USDC),
        ``simulated``, ``theory`` (profit, USD, before gas) and ``stderr`` (0: one
        deterministic run each).
    """
    from .amm import get_amount_out
    from .experiments.simulate import simulate
    from .searcher.closed_form import max_frontrun
    x, y = pool_value / 2 / price, pool_value / 2
    scn = Scenario.from_dict({
        "name": "sandwich", "duration": 1.0,
        "assets": [{"name": "ETH", "price": price, "sigma": 0.0}],
        "rollups": [{"name": "L", "block_time": 2.0, "gas_cost": 0.0}],
        "pools": [{"rollup": "L", "reserve_x": x, "reserve_y": y, "fee": fee}],
        "users": {"rate": 0.0},
        "searchers": [{"name": "sandwicher", "latency": 0.01, "jitter": 0.0,
                       "strategies": ["sandwich"]}]})
    rows = []
    for tol in slippages:
        quote = get_amount_out(victim_usd, y, x, fee)
        flow = pd.DataFrame({"submit_time": [0.1], "t_pub": [0.2], "t_seq": [0.6], "pool": [0],
                             "direction": [1], "amount_in": [victim_usd], "tolerance": [tol],
                             "min_out": [quote * (1 - tol)]})
        res = simulate(scn, "fcfs", 0, flow=flow)
        f, e = res.fills, res.extractions
        front = f.loc[(f["strategy"] == "sandwich") & (f["position"] == 0), "amount_in"]
        a_star = max_frontrun(y, x, victim_usd, quote * (1 - tol), fee)
        # the sandwich at a*: front buys ETH, the victim trades, the back sells it all
        o1 = get_amount_out(a_star, y, x, fee)
        y1, x1 = y + a_star, x - o1
        ov = get_amount_out(victim_usd, y1, x1, fee)
        y2, x2 = y1 + victim_usd, x1 - ov
        back = get_amount_out(o1, x2, y2, fee)
        rows.append({"slippage": tol, "frontrun_simulated": float(front.sum()),
                     "frontrun_theory": a_star, "simulated": float(e["gross"].sum()),
                     "theory": back - a_star, "stderr": 0.0})
    return pd.DataFrame(rows)


def policy_comparison(preset: str = "superchain", seeds=range(4), duration: float | None = None):
    """mevlab's headline: every policy on one preset (mean over seeds, standard error);
    ``simulated`` is the extracted MEV (USD per run). No closed form: ``theory`` is NaN."""
    import dataclasses

    import mevlab as ml
    scn = Scenario.preset(preset)
    if duration is not None:
        scn = dataclasses.replace(scn, duration=duration)
    df = ml.compare(scn, ml.list_policies(), seeds=seeds, progress=False)
    g = df.groupby("policy", sort=False)["mev_total"]
    out = pd.DataFrame({"simulated": g.mean(), "theory": np.nan,
                        "stderr": g.std(ddof=1) / np.sqrt(g.size())})
    out.attrs["runs"] = df
    return out


def shared_vs_isolated(preset: str = "mixed-stack", seeds=range(4),
                       duration: float | None = None):
    """Every policy under isolated and shared sequencing on one preset: ``simulated`` is the
    extracted MEV (USD per run), per policy and topology; ``theory`` is NaN."""
    import dataclasses

    import mevlab as ml
    scn = Scenario.preset(preset)
    if duration is not None:
        scn = dataclasses.replace(scn, duration=duration)
    df = ml.compare(scn, ml.list_policies(), seeds=seeds, topology=["isolated", "shared"],
                    progress=False)
    g = df.groupby(["policy", "topology"], sort=False)["mev_total"]
    out = pd.DataFrame({"simulated": g.mean(), "theory": np.nan,
                        "stderr": g.std(ddof=1) / np.sqrt(g.size())})
    out.attrs["runs"] = df
    return out

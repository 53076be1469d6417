"""Shared against isolated sequencing: leg risk, atomic against non-atomic arbitrage, and
the Shapley split of cross-rollup MEV across rollups (model.md §1, §5, §6 item 7)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..config import Scenario
from ..errors import ConfigError
from ..metrics.shapley import shapley
from ..searcher.cross_rollup import nonatomic_expected_profit, nonatomic_monte_carlo
from .simulate import _check_scenario, _progress, simulate, versions

#: Default sweeps of :func:`leg_risk`: user-to-sequencer latency (s) and the block time (s)
#: of the first rollup while the others keep theirs.
DEFAULT_LATENCIES = (0.05, 0.3, 1.0, 3.0)
DEFAULT_BLOCK_TIMES = (0.25, 1.0, 2.0, 8.0)
#: Default leg-failure probabilities of :func:`atomic_vs_nonatomic`.
DEFAULT_LEG_FAILURES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def leg_risk(scn: Scenario, latencies=DEFAULT_LATENCIES, block_times=DEFAULT_BLOCK_TIMES,
             seeds=range(3), *, policy="fcfs", cross_share: float | None = None,
             progress: bool | None = None) -> pd.DataFrame:
    """One-leg executions of users' cross-rollup intents against latency and block-time mismatch.

    Every point runs under ``isolated`` and ``shared``. ``latency`` sweeps the median
    user-to-sequencer latency (s); ``block_time`` sweeps the block time (s) of the first
    rollup, the others keeping theirs (their mismatch grows with it).

    Parameters
    ----------
    cross_share : float, optional
        Share of cross-rollup intents; default the scenario's, or 0.2 if it has none.

    Returns
    -------
    DataFrame
        Tidy: one row per run, :meth:`Result.summary` columns plus ``sweep``
        (``"latency"`` or ``"block_time"``) and ``value``.
    """
    _check_scenario(scn)
    seeds = list(seeds)
    share = scn.users.cross_share if cross_share is None else cross_share
    if cross_share is None and share == 0:
        share = 0.2
    base = dataclasses.replace(scn, users=dataclasses.replace(scn.users, cross_share=share))
    points = [("latency", float(v), dataclasses.replace(
        base, latency=dataclasses.replace(base.latency, user_to_sequencer=v)))
        for v in latencies]
    for v in block_times:
        rollups = (dataclasses.replace(base.rollups[0], block_time=v),) + base.rollups[1:]
        points.append(("block_time", float(v), dataclasses.replace(base, rollups=rollups)))
    runs = [(p, topo, s) for p in points for topo in ("isolated", "shared") for s in seeds]
    rows = []
    for (sweep, value, sc), topo, seed in _progress(runs, f"{scn.name} leg risk", progress):
        row = simulate(dataclasses.replace(sc, topology=topo), policy, seed).summary()
        row.insert(0, "value", value)
        row.insert(0, "sweep", sweep)
        rows.append(row)
    df = pd.concat(rows, ignore_index=True)
    df.attrs.update({"scenario": scn.name, "scenario_hash": base.hash(), "seeds": seeds,
                     "versions": versions(), "policy": policy, "cross_share": share})
    return df


def two_rollup_arbitrage_scenario(gap: float = 0.02, fee: float = 0.003, price: float = 3000.0,
                                  pool_value: float = 10e6, block_time: float = 2.0) -> Scenario:
    """Two rollups, one ETH/USDC pool each, priced ``gap`` apart around the external price.

    No users and no price moves (``sigma = 0``): the only opportunity is the
    initial one, taken by one inventory-free arbitrageur (the dual router with
    ``router_inventory = 0``), no gas. The run lasts one slot of each rollup, so
    under ``isolated`` the leg sent from A lands, or fails, in B's one slot.
    """
    problems = []
    if not 0 <= gap < 1:
        problems.append(("gap", f"got {gap!r}; expected a number in [0, 1)"))
    if not 1.0 < block_time <= 3600.0:
        problems.append(("block_time", f"got {block_time!r}; expected a number in (1, 3600] s "
                         "(the run lasts 1 s, one slot of each rollup)"))
    if problems:
        raise ConfigError(problems)
    half = pool_value / 2.0
    pools = [{"rollup": r, "reserve_x": half / (price * m), "reserve_y": half, "fee": fee}
             for r, m in (("A", 1.0 - gap / 2.0), ("B", 1.0 + gap / 2.0))]
    return Scenario.from_dict({
        "name": "two-rollup-arbitrage", "duration": 1.0,
        "assets": [{"name": "ETH", "price": price, "sigma": 0.0}],
        "rollups": [{"name": r, "block_time": block_time, "gas_cost": 0.0} for r in ("A", "B")],
        "pools": pools, "users": {"rate": 0.0},
        "searchers": [{"name": "arb", "strategies": ["arbitrage"]}],
        "searcher": "dual", "router_inventory": 0.0,
        "description": "Atomic against non-atomic cross-rollup arbitrage (model.md §6 item 7)."})


def atomic_vs_nonatomic(leg_failures=DEFAULT_LEG_FAILURES, n_runs: int = 400, *,
                        gap: float = 0.02, fee: float = 0.003, seed: int = 0,
                        progress: bool | None = None) -> pd.DataFrame:
    """Expected cross-rollup arbitrage profit, shared (atomic) against isolated (non-atomic),
    simulated by the engine and computed independently, against the leg-failure probability.

    For every probability ``q``, ``n_runs`` seeds of :func:`two_rollup_arbitrage_scenario`
    run under both topologies with ``leg_failure = q``. Theory: the atomic bundle earns the
    inventory-free optimum; the non-atomic trade earns it with probability ``1 - q`` and
    otherwise only the first leg's value at the external price
    (:func:`~mevlab.searcher.cross_rollup.nonatomic_expected_profit`, an independent
    numeric solution), checked also by an independent Monte Carlo of the same Bernoulli model.

    Returns
    -------
    DataFrame
        One row per ``(topology, leg_failure)``: ``simulated`` (mean profit per run,
        numeraire), ``stderr``, ``theory``, ``monte_carlo``, ``monte_carlo_stderr``,
        ``one_leg_rate`` (runs whose bundle executed in part) and ``n_runs``.
    """
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 2:
        raise ConfigError([("n_runs", f"got {n_runs!r}; expected an integer >= 2")])
    qs = [float(q) for q in leg_failures]
    bad = [q for q in qs if not 0 <= q <= 1]
    if bad:
        raise ConfigError([("leg_failures", f"got {bad}; expected probabilities in [0, 1]")])
    scn = two_rollup_arbitrage_scenario(gap=gap, fee=fee)
    seeds = np.random.SeedSequence(seed).spawn(n_runs)
    pa, pb = ((p.reserve_x, p.reserve_y) for p in scn.pools)
    price = scn.assets[0].price
    jobs = [(topo, q) for q in qs for topo in ("shared", "isolated")]
    rows = []
    for topo, q in _progress(jobs, "atomic vs non-atomic", progress):
        sc = dataclasses.replace(scn, topology=topo, leg_failure=q)
        profit = np.empty(n_runs)
        partial = np.empty(n_runs)
        for i, ss in enumerate(seeds):
            s = simulate(sc, "fcfs", ss).summary().iloc[0]
            profit[i] = s["mev_total"]
            partial[i] = s["bundles_partial"] > 0
        th = nonatomic_expected_profit(pa, pb, fee, fee, price, q, first="a")
        mc = nonatomic_monte_carlo(pa, pb, fee, fee, price, q, n_runs, seed, first="a")
        atomic = topo == "shared"
        rows.append({"topology": topo, "leg_failure": q, "simulated": profit.mean(),
                     "stderr": profit.std(ddof=1) / np.sqrt(n_runs),
                     "theory": th["atomic"] if atomic else th["nonatomic"],
                     "monte_carlo": th["atomic"] if atomic else mc["mean"],
                     "monte_carlo_stderr": 0.0 if atomic else mc["stderr"],
                     "one_leg_rate": partial.mean(), "n_runs": n_runs})
    df = pd.DataFrame(rows)
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(), "seed": seed,
                     "versions": versions(), "gap": gap, "fee": fee})
    return df


def restrict(scn: Scenario, rollups) -> Scenario:
    """The scenario with only ``rollups`` (names) and their pools; cross-rollup intents
    are kept where a pair still spans two of them."""
    keep = [r for r in scn.rollups if r.name in set(rollups)]
    pools = [p for p in scn.pools if p.rollup in set(rollups)]
    sc = dataclasses.replace(scn, rollups=keep, pools=pools,
                             users=dataclasses.replace(scn.users, cross_share=0.0))
    if scn.users.cross_share > 0 and sc.cross_routes():
        sc = dataclasses.replace(sc, users=scn.users)
    return sc


def shapley_rollups(scn: Scenario, policy="fcfs", seeds=range(2), *, metric="cross_mev",
                    exact_max: int = 6, samples: int = 200, seed: int = 0,
                    progress: bool | None = None) -> pd.DataFrame:
    """Shapley split of cross-rollup MEV across rollups.

    The value of a coalition ``S`` of rollups is ``metric`` (default the
    cross-rollup MEV of :meth:`Result.cross_rollup`, numeraire) averaged over
    ``seeds``, in the scenario restricted to the rollups of ``S``
    (:func:`restrict`); a coalition of fewer than two rollups has no
    cross-rollup MEV. Exact for up to ``exact_max`` rollups, sampled (antithetic
    permutations) beyond. Identical rollups get identical values, and the
    values sum to the metric of the whole scenario.

    Returns
    -------
    DataFrame
        Indexed by rollup: ``shapley`` (numeraire), ``stderr``, ``share``;
        attrs ``total``, ``method``, ``evaluations``.
    """
    _check_scenario(scn)
    seeds = list(seeds)
    names = [r.name for r in scn.rollups]
    bar = None
    if progress or (progress is None and len(names) > 3):
        bar = _progress(list(range(2 ** min(len(names), exact_max))), f"{scn.name} coalitions",
                        progress)

    def value(coalition):
        if len(coalition) < 2:
            return 0.0
        sc = restrict(scn, coalition)
        return float(np.mean([simulate(sc, policy, s).summary()[metric].iloc[0]
                              for s in seeds]))

    tick = None
    if bar is not None and hasattr(bar, "update"):
        def tick(done, total):
            bar.total = total
            bar.update(1)
    df = shapley(names, value, exact_max=exact_max, samples=samples, seed=seed, progress=tick)
    df.index.name = "rollup"
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": seeds,
                     "policy": policy, "metric": metric, "versions": versions()})
    return df

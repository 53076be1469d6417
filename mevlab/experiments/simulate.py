"""``simulate`` and ``compare``: the entry points economists call from notebooks."""
from __future__ import annotations

import dataclasses
import sys
import time
from importlib import metadata

import numpy as np
import pandas as pd

from .. import engine
from ..config import Scenario
from ..errors import ConfigError
from ..policies import get_policy
from .result import Result

_VERSIONED = ("mevlab", "numpy", "numba", "pandas", "scipy")


def versions() -> dict:
    """Versions of mevlab, Python and the numerical stack (stored with every result)."""
    out = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _check_scenario(scn):
    if not isinstance(scn, Scenario):
        raise ConfigError([("scenario", f"got {type(scn).__name__}; expected a mevlab.Scenario "
                            "(e.g. Scenario.preset('superchain'))")])


def _progress(jobs, desc, progress):
    """``jobs`` wrapped in a progress bar when asked (default: more than 4 on a terminal)."""
    if progress is None:
        progress = len(jobs) > 4 and sys.stderr.isatty()
    if not progress:
        return jobs
    from tqdm.auto import tqdm
    return tqdm(jobs, desc=desc, unit="run")


def simulate(scn: Scenario, policy="fcfs", seed: int = 0, *, flow=None) -> Result:
    """Run one ordering policy on a scenario.

    Parameters
    ----------
    scn : Scenario
    policy : str or Policy
        A registered policy name (see :func:`mevlab.policies.list_policies`).
    seed : int
        Seeds every random draw of the run; same scenario and seed give
        bit-identical results.
    flow : path or DataFrame, optional
        Replay this order-flow table instead of generating one.

    Returns
    -------
    Result
    """
    _check_scenario(scn)
    pol = get_policy(policy)
    t0 = time.perf_counter()
    world = engine.prepare(scn, seed, flow=flow)
    world, params, policy_id, policy_info = pol.setup(scn, world)
    t1 = time.perf_counter()
    # in a batch auction every arbitrage order trades through the batch: no router bundle
    router = engine.make_router(scn) if pol.settlement == "sequential" else None
    fills, ext, reserves, router_stats = engine.run(
        world, dataclasses.replace(pol, policy_id=policy_id), params, router,
        scn.router_inventory)
    policy_info.update(pol.audit(scn, world, fills))
    t2 = time.perf_counter()
    sequencing = {"missed_slots": world.missed_slots, "never_included_tx": world.never_included,
                  "leader_selection": scn.leader_selection if scn.sequencers else None}
    meta = {"scenario": scn.name, "scenario_hash": scn.hash(), "policy": pol.name,
            "sequencing": sequencing,
            "seed": seed if not isinstance(seed, np.random.SeedSequence) else seed.entropy,
            "versions": versions(), "replayed": flow is not None, "searcher": scn.searcher,
            "router": router_stats, "policy_info": policy_info, "timings_s": {"prepare": t1 - t0, "engine": t2 - t1}}
    return Result(scn, pol.name, meta["seed"], fills, ext, world.flow_table, reserves,
                  world.reserves0, world.slots.price, world.pools.tok, meta,
                  slot_leader=world.leader, intent_legs=world.intent_legs)


def compare(scn: Scenario, policies=("fcfs", "priority"), seeds=range(4), *, flow=None,
            topology=None, progress: bool | None = None) -> pd.DataFrame:
    """Run every policy on every seed of one scenario.

    Parameters
    ----------
    topology : str or list of str, optional
        ``"isolated"``, ``"shared"`` or both (e.g. ``["isolated", "shared"]``):
        run the scenario under each; default its own ``topology``. Both topologies
        see the same prices and order flow for a seed.

    Returns
    -------
    DataFrame
        Tidy: one row per topology x policy x seed, columns as in :meth:`Result.summary`.
    """
    _check_scenario(scn)
    pols = [get_policy(p) for p in policies]   # fail on a bad name before any work
    seeds = list(seeds)
    if not seeds:
        raise ConfigError([("seeds", "expected at least one seed")])
    topos = [scn.topology] if topology is None else \
        [topology] if isinstance(topology, str) else list(topology)
    bad = [t for t in topos if t not in ("isolated", "shared")]
    if bad or not topos:
        raise ConfigError([("topology", f"got {topology!r}; expected 'isolated', 'shared' or "
                            "a list of them")])
    scns = {t: scn if t == scn.topology else dataclasses.replace(scn, topology=t)
            for t in topos}
    jobs = [(t, p, s) for t in topos for p in pols for s in seeds]
    rows = [simulate(scns[t], p, s, flow=flow).summary()
            for t, p, s in _progress(jobs, scn.name, progress)]
    df = pd.concat(rows, ignore_index=True)
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": seeds,
                     "versions": versions()})
    return df


#: Default knob values of :func:`sealed_curves`.
DEFAULT_BONDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
DEFAULT_UPTIMES = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6)


def sealed_curves(scn: Scenario, bonds=DEFAULT_BONDS, colluding=None, uptimes=DEFAULT_UPTIMES,
                  seeds=range(2), *, progress: bool | None = None) -> pd.DataFrame:
    """What survives sealed contents, against each policy's knob.

    Runs ``commit_reveal`` for every bond (numeraire per commitment),
    ``threshold`` for every number of colluding keypers (default ``0..n``) and
    for every keyper uptime (probability online per slot), plus ``fcfs`` on the
    scenario's mempool as the reference.

    Returns
    -------
    DataFrame
        Tidy: one row per run, columns of :meth:`Result.summary` plus
        ``knob`` (``"bond"``, ``"colluding"``, ``"uptime"`` or ``"reference"``)
        and ``knob_value``.
    """
    _check_scenario(scn)
    seeds = list(seeds)
    if colluding is None:
        colluding = range(scn.threshold.keypers + 1)
    jobs = [("reference", 0.0, "fcfs", scn)]
    jobs += [("bond", float(b), "commit_reveal",
              dataclasses.replace(scn, commit_reveal=dataclasses.replace(scn.commit_reveal,
                                                                         bond=b)))
             for b in bonds]
    jobs += [("colluding", float(c), "threshold",
              dataclasses.replace(scn, threshold=dataclasses.replace(scn.threshold,
                                                                     colluding=c)))
             for c in colluding]
    jobs += [("uptime", float(u), "threshold",
              dataclasses.replace(scn, threshold=dataclasses.replace(scn.threshold, uptime=u)))
             for u in uptimes]
    runs = [(j, s) for j in jobs for s in seeds]
    rows = []
    for (knob, value, policy, sc), seed in _progress(runs, f"{scn.name} knobs", progress):
        row = simulate(sc, policy, seed).summary()
        row.insert(0, "knob_value", value)
        row.insert(0, "knob", knob)
        rows.append(row)
    df = pd.concat(rows, ignore_index=True)
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": seeds,
                     "versions": versions(), "threshold": scn.threshold.threshold})
    return df


def batch_competition(scn: Scenario, n_arbitrageurs=(1, 2, 3, 5, 10, 20), seeds=range(2), *,
                      latency: float = 0.05, jitter: float = 0.02, cost: float = 0.0,
                      progress: bool | None = None) -> pd.DataFrame:
    """Batch auctions against the number of competing arbitrageurs, constant product and FM-AMM.

    The scenario's searchers are replaced by ``n`` identical arbitrage-only searchers
    (``latency``, ``jitter`` in s, ``cost`` numeraire per trade) for each ``n``; both
    ``batch_auction`` (constant product) and ``batch_auction-fm`` run on every seed.

    Returns
    -------
    DataFrame
        Tidy: one row per run, :meth:`Result.summary` columns plus ``n_arbitrageurs``.
    """
    _check_scenario(scn)
    seeds = list(seeds)
    runs = []
    for n in n_arbitrageurs:
        sc = dataclasses.replace(scn, searchers=[
            {"name": f"arb{i}", "latency": latency, "jitter": jitter,
             "strategies": ["arbitrage"], "cost": cost} for i in range(int(n))])
        runs += [(n, sc, p, s) for p in ("batch_auction", "batch_auction-fm") for s in seeds]
    rows = []
    for n, sc, policy, seed in _progress(runs, f"{scn.name} arbitrageurs", progress):
        row = simulate(sc, policy, seed).summary()
        row.insert(0, "n_arbitrageurs", int(n))
        rows.append(row)
    df = pd.concat(rows, ignore_index=True)
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": seeds,
                     "versions": versions()})
    return df

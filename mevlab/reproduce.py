"""``mevlab reproduce``: every figure from a manifest (figure -> function -> parameters).

Each entry runs a function of :mod:`mevlab.papers` or :mod:`mevlab.experiments` at full
size, or at smoke size with ``fast``, and writes ``NAME.png`` (the figure), ``NAME.csv`` (the
numbers behind it) and a line of ``manifest.json`` (function, parameters, versions, time).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from . import papers
from .errors import ConfigError

def _plot_sandwich(df, path):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (sim, th, what) in zip(axes, (("frontrun_simulated", "frontrun_theory",
                                           "front-run (USDC)"),
                                          ("simulated", "theory", "sandwich profit (USD)"))):
        ax.plot(100 * df["slippage"], df[th], "-", color="k", label="Zhou et al. 2021")
        ax.plot(100 * df["slippage"], df[sim], "o", label="engine")
        ax.set_xlabel("victim slippage tolerance (%)")
        ax.set_ylabel(what)
        ax.legend(fontsize=8)
    fig.suptitle("Optimal sandwich against slippage tolerance")
    fig.savefig(path, dpi=120)
    return fig


def _runs(df):
    return df.attrs["runs"]


def _entries():
    import mevlab as ml
    return {
        "lvr": dict(run=papers.lvr_curve, full={},
                    fast=dict(blocks=(288, 7200), n_paths=4, days=0.5), plot=papers.plot_lvr),
        "arbitrage_with_fees": dict(
            run=papers.fee_grid, full={},
            fast=dict(fees=(0.0005, 0.003), blocks_per_day=(10, 7200), trades=2000.0,
                      n_paths=4), plot=papers.plot_fee_grid),
        "arbitrage_fixed_blocks": dict(
            run=papers.fee_grid, full=dict(block_times="fixed"),
            fast=dict(block_times="fixed", fees=(0.0005, 0.003), blocks_per_day=(10, 7200),
                      trades=2000.0, n_paths=4), plot=papers.plot_fee_grid),
        "sandwich": dict(run=papers.sandwich, full={}, fast={}, plot=_plot_sandwich),
        "policy_comparison": dict(run=papers.policy_comparison, full={},
                                  fast=dict(seeds=range(1), duration=60.0),
                                  plot=lambda df, p: ml.plot_value_flow(_runs(df), p),
                                  table=_runs),
        "shared_vs_isolated": dict(run=papers.shared_vs_isolated, full={},
                                   fast=dict(seeds=range(1), duration=60.0),
                                   plot=lambda df, p: ml.plot_topology(_runs(df), p),
                                   table=_runs),
        "atomic_vs_nonatomic": dict(run=ml.atomic_vs_nonatomic, full=dict(n_runs=400),
                                    fast=dict(n_runs=10, leg_failures=(0.0, 0.5, 1.0)),
                                    plot=lambda df, p: ml.plot_cross_rollup(atomic=df, path=p)),
        "leg_risk": dict(run=lambda **kw: ml.leg_risk(ml.Scenario.preset("mixed-stack"), **kw),
                         full=dict(seeds=range(4)),
                         fast=dict(seeds=range(1), latencies=(0.05, 3.0),
                                   block_times=(0.25, 8.0)),
                         plot=lambda df, p: ml.plot_cross_rollup(leg_risk=df, path=p)),
    }


def names() -> list[str]:
    """The figures the manifest can reproduce."""
    return list(_entries())


def reproduce(which=None, *, fast: bool = False, out=".", progress: bool = True) -> dict:
    """Regenerate figures (all by default) into ``out``; returns ``{name: seconds}``."""
    entries = _entries()
    which = list(entries) if not which else list(which)
    bad = [w for w in which if w not in entries]
    if bad:
        raise ConfigError([("name", f"got {bad}; expected any of {list(entries)}")])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from .experiments.simulate import versions
    log = {}
    for name in which:
        e = entries[name]
        params = e["fast" if fast else "full"]
        t0 = time.perf_counter()
        if progress:
            print(f"{name}: running ({'fast' if fast else 'full'} size) ...", flush=True)
        df = e["run"](**params)
        table = e.get("table", lambda d: d)(df)
        tmp = out / f".{name}.csv.tmp"
        table.to_csv(tmp, index=not isinstance(table.index, pd.RangeIndex))
        tmp.replace(out / f"{name}.csv")
        tmp = out / f".{name}.tmp.png"
        e["plot"](df, tmp)
        tmp.replace(out / f"{name}.png")
        import matplotlib.pyplot as plt
        plt.close("all")
        log[name] = round(time.perf_counter() - t0, 2)
        # the manifest follows every figure, so it never names files a failure left stale
        manifest = out / "manifest.json"
        entry = json.loads(manifest.read_text()) if manifest.is_file() else {}
        entry[name] = {"function": getattr(e["run"], "__qualname__", name),
                       "params": {k: (list(v) if isinstance(v, (range, tuple)) else v)
                                  for k, v in params.items()},
                       "fast": fast, "seconds": log[name], "versions": versions()}
        tmp = out / ".manifest.json.tmp"
        tmp.write_text(json.dumps(entry, indent=2, default=str))
        tmp.replace(manifest)
        if progress:
            print(f"{name}: wrote {name}.png and {name}.csv ({log[name]:.1f} s)", flush=True)
    return log


__all__ = ["names", "reproduce"]

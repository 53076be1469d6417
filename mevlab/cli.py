"""Command line: ``mevlab compare``, ``sweep``, ``reproduce``, ``sealed``, ``batch``, ``cross``,
``bench`` and ``presets``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_POLICIES = ("fcfs,fcfs-private,priority,commit_reveal,threshold,batch_auction,"
                    "batch_auction-fm")

TABLE_COLUMNS = (("mev_total", "MEV", "{:,.0f}"),
                 ("mev_arbitrage", "arb", "{:,.0f}"),
                 ("mev_backrun", "backrun", "{:,.0f}"),
                 ("mev_sandwich", "sandwich", "{:,.0f}"),
                 ("share_searchers", "to searchers", "{:.1%}"),
                 ("share_sequencer", "to sequencer", "{:.1%}"),
                 ("user_mev_loss", "user MEV loss", "{:,.0f}"),
                 ("user_cost", "user cost", "{:,.0f}"),
                 ("lp_lvr", "LP LVR", "{:,.0f}"),
                 ("revert_rate", "reverts", "{:.2%}"),
                 ("delay_mean", "delay s", "{:.2f}"))


CROSS_COLUMNS = (("cross_mev", "cross MEV", "{:,.0f}"),
                 ("one_leg_rate", "one-leg", "{:.1%}"))


def _scenario_args(parser):
    """``--preset`` or ``--scenario``: which scenario a command runs."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--preset", default=None, help="bundled scenario (default: superchain)")
    src.add_argument("--scenario", type=Path, help="scenario TOML file")


def _parser():
    p = argparse.ArgumentParser(prog="mevlab", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="compare ordering policies on one scenario")
    _scenario_args(c)
    c.add_argument("--policies", default=DEFAULT_POLICIES,
                   help=f"comma-separated policy names (default: {DEFAULT_POLICIES})")
    c.add_argument("--seeds", type=int, default=4, help="number of seeds, 0..N-1 (default 4)")
    c.add_argument("--flow", type=Path, help="replay this order-flow table (CSV or Parquet)")
    c.add_argument("--searcher", choices=("closed_form", "convex", "dual"),
                   help="arbitrage strategy: per-pool closed forms, or the joint trade of the "
                        "cvxpy or dual-decomposition router (default: the scenario's)")
    c.add_argument("--inventory", type=float,
                   help="how much of each token's value (numeraire) the router's trade may "
                        "go short: 0 atomic arbitrage, inf CEX-DEX (default: the scenario's)")
    c.add_argument("--crypto", choices=("fast", "full"),
                   help="commit_reveal and threshold: model the information structure (fast) "
                        "or run keccak commitments and Shamir/AES-GCM per transaction (full); "
                        "both give the same ledger (default: the scenario's)")
    c.add_argument("--topology", default=None,
                   help="isolated, shared, or both comma-separated: run under each (default: "
                        "the scenario's); with both, also writes topology.png")
    c.add_argument("--out", type=Path, required=True, help="output directory")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    x = sub.add_parser("cross", help="shared against isolated: leg risk of cross-rollup "
                                     "intents, atomic against non-atomic arbitrage, Shapley "
                                     "split of cross-rollup MEV across rollups")
    _scenario_args(x)
    x.add_argument("--policy", default="fcfs", help="policy for leg risk and Shapley "
                                                    "(default fcfs)")
    x.add_argument("--seeds", type=int, default=2, help="number of seeds, 0..N-1 (default 2)")
    x.add_argument("--runs", type=int, default=200,
                   help="runs per leg-failure probability in the arbitrage comparison "
                        "(default 200)")
    x.add_argument("--out", type=Path, required=True, help="output directory")
    x.add_argument("--quiet", action="store_true", help="no progress bar")
    w = sub.add_parser("sweep", help="policies x a grid of scenario parameters x seeds, "
                                     "locally or on a Dask cluster, cached, to Parquet")
    w.add_argument("config", type=Path, help="sweep TOML: preset or scenario, policies, seeds, "
                                             "[set] fixed changes, [grid] swept values")
    w.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="local processes (default) or Dask (default with --scheduler)")
    w.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://host:port "
                                                     "(default: a LocalCluster)")
    w.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all cores)")
    w.add_argument("--out", type=Path, required=True, help="output directory")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    r = sub.add_parser("reproduce", help="regenerate the figures of the published results and "
                                         "mevlab's headline figures from their manifest")
    r.add_argument("names", nargs="*", help="figures to make (default with --all: every one)")
    r.add_argument("--all", action="store_true", help="every figure of the manifest")
    r.add_argument("--fast", action="store_true", help="smoke size (minutes for all)")
    r.add_argument("--out", type=Path, required=True, help="output directory")
    bn = sub.add_parser("bench", help="throughput of every policy engine against np.sort and "
                                      "its pure-Python twin (run from a source checkout)",
                        add_help=False)
    bn.add_argument("rest", nargs=argparse.REMAINDER)
    k = sub.add_parser("sealed", help="commit_reveal against the bond and threshold against "
                                      "the colluding keypers: what MEV survives, who gets it")
    _scenario_args(k)
    k.add_argument("--bonds", default=",".join(f"{b:g}" for b in _default_bonds()),
                   help="comma-separated bonds per commitment, numeraire")
    k.add_argument("--seeds", type=int, default=2, help="number of seeds, 0..N-1 (default 2)")
    k.add_argument("--out", type=Path, required=True, help="output directory")
    k.add_argument("--quiet", action="store_true", help="no progress bar")
    b = sub.add_parser("batch", help="batch auctions, constant product against FM-AMM, as the "
                                     "number of competing arbitrageurs grows")
    _scenario_args(b)
    b.add_argument("--arbitrageurs", default="1,2,3,5,10,20",
                   help="comma-separated numbers of competing arbitrageurs")
    b.add_argument("--seeds", type=int, default=2, help="number of seeds, 0..N-1 (default 2)")
    b.add_argument("--out", type=Path, required=True, help="output directory")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("presets", help="list the bundled scenarios")
    return p


def _default_bonds():
    from mevlab.experiments.simulate import DEFAULT_BONDS
    return DEFAULT_BONDS


def format_table(df) -> str:
    """Mean over seeds per policy (and topology, if several), as a fixed-width text table
    (numeraire = USD)."""
    several = df["topology"].nunique() > 1
    key = df["policy"] + ("/" + df["topology"] if several else "")
    mean = df.groupby(key.rename("policy"), sort=False).mean(numeric_only=True)
    columns = TABLE_COLUMNS + (CROSS_COLUMNS if several else ())
    head = ["policy/topology" if several else "policy"] + [h for _, h, _ in columns]
    rows = [[pol] + [fmt.format(mean.loc[pol, c]) for c, _, fmt in columns]
            for pol in mean.index]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(s.rjust(w) if i else s.ljust(w)
                               for i, (s, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _compare(args) -> int:
    import mevlab as ml
    from mevlab.errors import ConfigError

    problems = []
    if args.seeds < 1 or args.seeds > 10_000:
        problems.append(("--seeds", f"got {args.seeds}; expected an integer in [1, 10000]"))
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in ml.list_policies()]
    if unknown or not policies:
        problems.append(("--policies", f"got {unknown or policies}; expected names from "
                                       f"{ml.list_policies()}"))
    topology = None
    if args.topology is not None:
        topology = [t.strip() for t in args.topology.split(",") if t.strip()]
        if not topology or any(t not in ("isolated", "shared") for t in topology):
            problems.append(("--topology", f"got {args.topology!r}; expected isolated, shared "
                                           "or isolated,shared"))
    scn = _scenario_and_out(args, problems)
    if scn is not None and (args.searcher is not None or args.inventory is not None
                            or args.crypto is not None):
        try:
            scn = dataclasses.replace(
                scn, **({} if args.searcher is None else {"searcher": args.searcher}),
                **({} if args.inventory is None else {"router_inventory": args.inventory}),
                **({} if args.crypto is None else {"crypto": args.crypto}))
        except ConfigError as e:
            problems.extend(("--inventory" if f == "router_inventory" else f"--{f}", why)
                            for f, why in e.problems)
    if problems:
        raise ConfigError(problems)
    flow = None
    if args.flow is not None:
        import numpy as np
        # read the file once for every run, and validate it before any work
        flow = ml.flow.load_table(args.flow)
        ml.flow.read_flow(flow, scn, np.random.default_rng(0))

    t0 = time.perf_counter()
    df = ml.compare(scn, policies=policies, seeds=range(args.seeds), flow=flow,
                    topology=topology, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    topos = list(dict.fromkeys(df["topology"]))
    print(f"\n{scn.name}: {len(policies)} policies x {args.seeds} seeds, "
          f"{int(df['n_user_tx'].mean()):,} user tx per run, {scn.duration:g} s simulated, "
          f"topology {' and '.join(topos)}, {scn.searcher} searcher"
          + ("" if scn.searcher == "closed_form" else f" (inventory {scn.router_inventory:g})")
          + "; money in numeraire (USD), mean over seeds\n")
    print(format_table(df))

    meta = {"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": list(range(args.seeds)),
            "policies": policies, "topology": topos, "searcher": scn.searcher,
            # JSON has no infinity
            "router_inventory": scn.router_inventory if math.isfinite(scn.router_inventory)
            else "inf", "versions": ml.experiments.versions(),
            "replayed_flow": str(args.flow) if args.flow else None,
            "elapsed_s": round(elapsed, 3)}

    def write(tmp):
        _write_parquet(df, tmp / "summary.parquet", meta)
        df.to_csv(tmp / "summary.csv", index=False)
        scn.to_toml(tmp / "scenario.toml")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        for topo in topos:
            name = "value_flow.png" if len(topos) == 1 else f"value_flow_{topo}.png"
            ml.plot_value_flow(df[df["topology"] == topo], tmp / name,
                               title=None if len(topos) == 1 else
                               f"Where the value went — {scn.name}, {topo} sequencing")
        if len(topos) > 1:
            ml.plot_topology(df, tmp / "topology.png")

    _publish(args.out, write)
    figs = ("value_flow.png" if len(topos) == 1
            else ", ".join(f"value_flow_{t}.png" for t in topos) + ", topology.png")
    print(f"\nwrote summary.parquet, summary.csv, {figs}, scenario.toml, meta.json "
          f"to {args.out}/ ({elapsed:.1f} s)")
    return 0


SWEEP_KEYS = ("preset", "scenario", "policies", "seeds", "entropy", "set", "grid")


def load_sweep_config(path: Path):
    """``(scenario, grid, policies, seeds, entropy)`` from a sweep TOML file.

    Keys: ``preset`` or ``scenario`` (a scenario TOML path, relative to the config),
    ``policies`` (list), ``seeds`` (count or list), ``entropy``, a ``[set]`` table of
    dotted paths fixed for the whole sweep and a ``[grid]`` table of dotted paths to
    lists of values.
    """
    import tomllib

    import mevlab as ml
    from mevlab.errors import ConfigError
    from mevlab.experiments.sweeps import set_path
    if not path.is_file():
        raise ConfigError([("config", f"no sweep file at {str(path)!r}")])
    try:
        cfg = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([("config", f"not valid TOML: {e}")]) from None
    problems = [(f"config.{k}", f"unknown key; accepted: {list(SWEEP_KEYS)}")
                for k in cfg if k not in SWEEP_KEYS]
    if "preset" in cfg and "scenario" in cfg:
        problems.append(("config.scenario", "give preset or scenario, not both"))
    if problems:
        raise ConfigError(problems)
    if "scenario" in cfg:
        scn = ml.Scenario.from_toml(path.parent / cfg["scenario"])
    else:
        scn = ml.Scenario.preset(cfg.get("preset", "superchain"))
    for k, kind in (("set", dict), ("grid", dict), ("policies", list)):
        if k in cfg and not isinstance(cfg[k], kind):
            problems.append((f"config.{k}", f"got {cfg[k]!r}; expected a "
                                            f"{'table' if kind is dict else 'list'}"))
    seeds = cfg.get("seeds", 4)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list)):
        problems.append(("config.seeds", f"got {seeds!r}; expected a count or a list of "
                                         "integers"))
    if problems:
        raise ConfigError(problems)
    fixed = cfg.get("set", {})
    if fixed:
        d = scn.to_dict()
        for k, v in fixed.items():
            set_path(d, k, v, where="config.set")
        scn = ml.Scenario.from_dict(d)
    return (scn, cfg.get("grid", {}), cfg.get("policies", ["fcfs"]), seeds,
            cfg.get("entropy", 0))


def _sweep(args) -> int:
    import mevlab as ml
    from mevlab.errors import ConfigError
    from mevlab.experiments.sweeps import sweep
    problems = []
    if args.out.exists() and not args.out.is_dir():
        problems.append(("--out", f"{str(args.out)!r} exists and is not a directory"))
    if problems:
        raise ConfigError(problems)
    scn, grid, policies, seeds, entropy = load_sweep_config(args.config)
    backend = args.backend or ("dask" if args.scheduler else "local")
    t0 = time.perf_counter()
    df = sweep(scn, grid, policies, seeds, backend=backend, scheduler=args.scheduler,
               workers=args.workers, out=args.out, entropy=entropy, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    keys = ["policy", *grid]
    print(f"\n{scn.name}: {len(df)} runs ({df.attrs['computed']} computed, "
          f"{df.attrs['cached']} from the cache), {backend} backend; mean over seeds, USD\n")
    print(df.groupby(keys, sort=False)[["mev_total", "to_searchers", "user_cost",
                                        "user_mev_loss"]].mean()
          .to_string(float_format=lambda v: f"{v:,.2f}"))
    print(f"\nwrote sweep.parquet to {args.out}/ ({elapsed:.1f} s)")
    return 0


def _bench(rest) -> int:
    """``mevlab bench [--quick] [--json FILE]``: the runner in ``benchmarks/run.py`` of the
    source checkout this package is installed from."""
    from mevlab.errors import ConfigError
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "run.py").is_file():
        raise ConfigError([("bench", f"no benchmarks/run.py beside the package ({root}); "
                                     "run it from a source checkout")])
    sys.path.insert(0, str(root))
    from benchmarks.run import main as bench_main
    return bench_main(rest)


def _reproduce(args) -> int:
    from mevlab.errors import ConfigError
    from mevlab.reproduce import names, reproduce
    if not args.names and not args.all:
        raise ConfigError([("names", f"name a figure or pass --all; figures: {names()}")])
    if args.names and args.all:
        raise ConfigError([("--all", "give figure names or --all, not both")])
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError([("--out", f"{str(args.out)!r} exists and is not a directory")])
    t0 = time.perf_counter()
    log = reproduce(args.names or None, fast=args.fast, out=args.out)
    print(f"\nwrote {len(log)} figure(s) and manifest.json to {args.out}/ "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


def _cross(args) -> int:
    import mevlab as ml
    from mevlab.errors import ConfigError
    problems = []
    if args.seeds < 1 or args.seeds > 1000:
        problems.append(("--seeds", f"got {args.seeds}; expected an integer in [1, 1000]"))
    if args.runs < 2 or args.runs > 100_000:
        problems.append(("--runs", f"got {args.runs}; expected an integer in [2, 100000]"))
    if args.policy not in ml.list_policies():
        problems.append(("--policy", f"got {args.policy!r}; expected one of "
                                     f"{ml.list_policies()}"))
    scn = _scenario_and_out(args, problems)
    if problems:
        raise ConfigError(problems)
    t0 = time.perf_counter()
    seeds = range(args.seeds)
    lr = ml.leg_risk(scn, seeds=seeds, policy=args.policy, progress=not args.quiet)
    at = ml.atomic_vs_nonatomic(n_runs=args.runs, progress=not args.quiet)
    base = scn if scn.users.cross_share > 0 else dataclasses.replace(
        scn, users=dataclasses.replace(scn.users, cross_share=lr.attrs["cross_share"]))
    sh = ml.shapley_rollups(base, args.policy, seeds=seeds, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(f"\n{scn.name}: one-leg executions of cross-rollup intents ({args.policy}, mean over "
          f"{args.seeds} seed(s))\n")
    print(lr.groupby(["sweep", "value", "topology"])["one_leg_rate"].mean().unstack()
          .to_string(float_format=lambda v: f"{v:.2%}"))
    print("\natomic (shared) against non-atomic (isolated) arbitrage, USD per opportunity\n")
    print(at.set_index(["leg_failure", "topology"])[["simulated", "stderr", "theory"]]
          .unstack().to_string(float_format=lambda v: f"{v:,.2f}"))
    print(f"\nShapley split of cross-rollup MEV ({sh.attrs['method']}), USD per run\n")
    print(sh.to_string(float_format=lambda v: f"{v:,.2f}"))
    meta = {"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": list(seeds),
            "policy": args.policy, "runs": args.runs, "versions": ml.experiments.versions(),
            "shapley_total": sh.attrs["total"], "elapsed_s": round(elapsed, 3)}

    def write(tmp):
        _write_parquet(lr, tmp / "leg_risk.parquet", meta)
        _write_parquet(at, tmp / "atomic_vs_nonatomic.parquet", meta)
        _write_parquet(sh.reset_index(), tmp / "shapley.parquet", meta)
        for name, d in (("leg_risk", lr), ("atomic_vs_nonatomic", at),
                        ("shapley", sh.reset_index())):
            d.to_csv(tmp / f"{name}.csv", index=False)
        ml.plot_cross_rollup(lr, at, sh, tmp / "cross_rollup.png",
                             title=f"Cross-rollup leg risk and MEV — {scn.name}")

    _publish(args.out, write)
    print(f"\nwrote leg_risk, atomic_vs_nonatomic and shapley (.parquet, .csv) and "
          f"cross_rollup.png to {args.out}/ ({elapsed:.1f} s)")
    return 0


def _parse_list(text, flag, cast, lo, hi, what, problems):
    """Comma-separated values of ``flag`` in ``[lo, hi]``; a problem is appended otherwise."""
    try:
        values = [cast(v) for v in text.split(",") if v.strip()]
        if values and all(lo <= v <= hi for v in values):
            return values
    except ValueError:
        pass
    problems.append((flag, f"got {text!r}; expected comma-separated {what} in [{lo:g}, {hi:g}]"))
    return []


def _curves(args, problems, run, stem, plot, cols, group, title, meta_extra):
    """Shared body of the knob commands: validate, run, print a table, publish the files."""
    import mevlab as ml
    from mevlab.errors import ConfigError
    if args.seeds < 1 or args.seeds > 1000:
        problems.append(("--seeds", f"got {args.seeds}; expected an integer in [1, 1000]"))
    scn = _scenario_and_out(args, problems)
    if problems:
        raise ConfigError(problems)
    t0 = time.perf_counter()
    df = run(scn)
    elapsed = time.perf_counter() - t0
    mean = df.groupby(group, sort=False)[cols].mean()
    print(f"\n{scn.name}: {title(scn)}, mean over {args.seeds} seed(s); numeraire (USD)\n")
    print(mean.to_string(float_format=lambda v: f"{v:,.2f}"))
    meta = {"scenario": scn.name, "scenario_hash": scn.hash(), "seeds": list(range(args.seeds)),
            **meta_extra, "versions": ml.experiments.versions(), "elapsed_s": round(elapsed, 3)}

    def write(tmp):
        _write_parquet(df, tmp / f"{stem}.parquet", meta)
        df.to_csv(tmp / f"{stem}.csv", index=False)
        plot(df, tmp / f"{stem}.png")

    _publish(args.out, write)
    print(f"\nwrote {stem}.parquet, {stem}.csv, {stem}.png to {args.out}/ ({elapsed:.1f} s)")
    return 0


def _sealed(args) -> int:
    import mevlab as ml
    problems = []
    bonds = _parse_list(args.bonds, "--bonds", float, 0.0, 1e9,
                        "numbers (numeraire per commitment)", problems)
    return _curves(
        args, problems,
        lambda scn: ml.sealed_curves(scn, bonds=bonds, seeds=range(args.seeds),
                                     progress=not args.quiet),
        "sealed_curves", ml.plot_sealed_curves,
        ["mev_sandwich", "mev_backrun", "to_searchers", "to_sequencer_bonds", "user_mev_loss",
         "delay_mean"], ["knob", "knob_value"],
        lambda scn: f"what survives sealed contents (threshold t = {scn.threshold.threshold} "
                    f"of n = {scn.threshold.keypers})", {"bonds": bonds})


def _batch(args) -> int:
    from mevlab.experiments.figures import plot_batch_competition
    from mevlab.experiments.simulate import batch_competition
    problems = []
    counts = _parse_list(args.arbitrageurs, "--arbitrageurs", int, 1, 1000, "integers",
                         problems)
    return _curves(
        args, problems,
        lambda scn: batch_competition(scn, counts, seeds=range(args.seeds),
                                      progress=not args.quiet),
        "batch_competition", plot_batch_competition,
        ["mev_arbitrage", "lp_lvr", "lp_vs_rebalancing", "lp_fees", "lp_net", "user_cost"],
        ["policy", "n_arbitrageurs"],
        lambda scn: "batch auctions against competing arbitrageurs", {"arbitrageurs": counts})


def _scenario_and_out(args, problems):
    """The scenario of ``--preset``/``--scenario`` (None if invalid); problems are appended."""
    import mevlab as ml
    from mevlab.errors import ConfigError
    if args.out.exists() and not args.out.is_dir():
        problems.append(("--out", f"{str(args.out)!r} exists and is not a directory"))
    try:
        return (ml.Scenario.from_toml(args.scenario) if args.scenario
                else ml.Scenario.preset(args.preset or "superchain"))
    except ConfigError as e:
        problems.extend(e.problems)
        return None


def _publish(out: Path, write) -> None:
    """Run ``write(tmp)`` in a temporary sibling of ``out``, then move its files into ``out``.

    A failure while writing never leaves a half-written ``out`` behind.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_parquet(df, path, meta):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pandas(df, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"mevlab"] = json.dumps(meta).encode()
    pq.write_table(table.replace_schema_metadata(md), path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from mevlab.errors import ConfigError
    if argv[:1] == ["bench"]:
        # the runner owns its options (--quick, --json)
        try:
            return _bench(argv[1:])
        except ConfigError as e:
            print(f"mevlab: error: {e}", file=sys.stderr)
            return 2
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "sealed":
            return _sealed(args)
        if args.cmd == "batch":
            return _batch(args)
        if args.cmd == "cross":
            return _cross(args)
        if args.cmd == "sweep":
            return _sweep(args)
        if args.cmd == "reproduce":
            return _reproduce(args)
        if args.cmd == "presets":
            import mevlab as ml
            for name in ml.list_presets():
                print(f"{name:14s} {ml.Scenario.preset(name).description}")
            return 0
        return _compare(args)
    except ConfigError as e:
        print(f"mevlab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

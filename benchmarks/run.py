"""The benchmark runner: ordering-and-settlement throughput of every policy engine, next to
``np.sort`` of as many int64 keys and the pure-Python twin, in one process and one run.

    python -m benchmarks.run [--quick] [--json FILE]      (or: mevlab bench)

For each configuration (orders, pools, orders per block) the flow is drawn once; every
policy then runs on it with searchers off (ordering and settlement only) and with the
closed-form searchers of the ``superchain`` preset on. Timed is ``engine.run`` (the slot loop
with its output buffers; flow generation and the policy's setup excluded):

- cold: the first call in this process on a small world (Numba cache load or compilation);
- warm: the median of ``rounds`` calls on the configuration;
- ``np.sort`` of the same number of random int64 keys, timed the same way (the floor:
  ordering is at least a sort);
- the pure-Python twin (``mevlab._reference.run``), on the smallest configuration only,
  after checking that engine and twin write the same records (parity before timing);
- memory: the bytes of the flow and of the output buffers the engine allocates, and the
  process's peak resident set at the end.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time

import numpy as np

POLICIES = ("fcfs", "fcfs-private", "priority", "commit_reveal", "threshold", "batch_auction",
            "batch_auction-fm")
#: (orders, pools, orders per block)
QUICK = ((10_000, 1, 100), (100_000, 16, 1_000))
#: the smoke run of the test suite: checks that the runner works, times nothing that matters
SMOKE = ((2_000, 2, 100),)
FULL = ((10_000, 1, 100), (100_000, 16, 1_000), (100_000, 64, 1_000),
        (1_000_000, 64, 100), (1_000_000, 64, 1_000), (1_000_000, 64, 10_000),
        (1_000_000, 64, 100_000), (1_000_000, 1, 1_000), (1_000_000, 16, 1_000),
        (1_000_000, 256, 1_000), (10_000_000, 64, 10_000))


def scenario(n_orders: int, n_pools: int, per_block: int, searchers: bool):
    """One rollup with 1 s blocks and ``n_pools`` ETH/USDC pools; ``per_block`` user orders
    per block on average, ``n_orders`` in all."""
    import mevlab as ml
    base = ml.Scenario.preset("superchain")
    pools = [dict(rollup="r", reserve_x=1e5, reserve_y=3e8, fee=0.003) for _ in range(n_pools)]
    return dataclasses.replace(
        base, name=f"bench-{n_orders}-{n_pools}-{per_block}",
        rollups=[dict(name="r", block_time=1.0, gas_cost=0.01)], pools=pools,
        users=dataclasses.replace(base.users, rate=float(per_block), cross_share=0.0),
        duration=max(2.0, n_orders / per_block), searchers=base.searchers if searchers else ())


def _median_time(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _parity(world, pol, params, pid):
    """Engine and twin write the same records on ``world`` (else the timing means nothing)."""
    from mevlab import _reference as ref
    from mevlab import engine
    fills, ext, reserves, _ = engine.run(world, dataclasses.replace(pol, policy_id=pid), params)
    f2, e2, r2 = ref.run(world, pid, params)
    same = len(fills) == len(f2) and len(ext) == len(e2)
    for a, b in ((fills, f2), (ext, e2)):
        for name in a.dtype.names:
            if not same:
                break
            x, y = a[name], b[name]
            same = bool(np.allclose(x, y, rtol=1e-9, equal_nan=True) if x.dtype.kind == "f"
                        else np.array_equal(x, y))
    if not same or not np.allclose(reserves, r2, rtol=1e-12):
        raise RuntimeError(f"{pol.name}: engine and twin disagree; not timing it")


def run(quick: bool = False, rounds: int | None = None, configs=None, policies=None,
        progress=print, searchers=(False, True)) -> dict:
    """Measure every policy on every configuration; returns the results as a dict."""
    from mevlab import _reference as ref
    from mevlab import engine
    from mevlab.dtypes import extraction_dt, fill_dt
    from mevlab.policies import get_policy
    configs = configs or (QUICK if quick else FULL)
    policies = policies or POLICIES
    searchers_set = tuple(searchers)
    rounds = rounds or (3 if quick else 5)
    rng = np.random.default_rng(0)
    out = {"configs": [], "cold_s": {}, "twin": {}, "quick": quick, "rounds": rounds}
    # cold first calls, on a small world, before anything else touches the kernels
    small = scenario(2_000, 2, 100, True)
    w0 = engine.prepare(small, 0)
    for name in policies:
        pol = get_policy(name)
        w, params, pid, _ = pol.setup(small, w0)
        t0 = time.perf_counter()
        engine.run(w, dataclasses.replace(pol, policy_id=pid), params)
        out["cold_s"][name] = time.perf_counter() - t0
    # the twin, on the smallest configuration, after a parity check
    n, m, b = configs[0]
    for searchers in searchers_set:
        scn = scenario(n, m, b, searchers)
        world = engine.prepare(scn, 1)
        for name in policies:
            pol = get_policy(name)
            w, params, pid, _ = pol.setup(scn, world)
            _parity(w, pol, params, pid)
            k = len(w.flow.t_seq)
            t_twin = _median_time(lambda: ref.run(w, pid, params), 1)
            t_eng = _median_time(lambda: engine.run(
                w, dataclasses.replace(pol, policy_id=pid), params), rounds)
            out["twin"][f"{name}|{'on' if searchers else 'off'}"] = {
                "orders": k, "twin_orders_s": k / t_twin, "engine_orders_s": k / t_eng,
                "speedup": t_twin / t_eng}
        progress(f"twin and parity checked on {n:,} orders")
    for n, m, b in configs:
        r_n = rounds if n < 1_000_000 else 1       # big runs: one timed call after the warm one
        keys = rng.integers(0, 2**62, n)
        t_sort = _median_time(lambda: np.sort(keys), max(r_n, 3))
        row = {"orders": n, "pools": m, "per_block": b, "sort_keys_s": n / t_sort,
               "policies": {}}
        for searchers in searchers_set:
            scn = scenario(n, m, b, searchers)
            world = engine.prepare(scn, 2)
            k = len(world.flow.t_seq)
            for name in policies:
                pol = get_policy(name)
                w, params, pid, _ = pol.setup(scn, world)
                p2 = dataclasses.replace(pol, policy_id=pid)
                engine.run(w, p2, params)                       # warm this size
                t = _median_time(lambda: engine.run(w, p2, params), r_n)
                buffers = (2 * k + 64) * fill_dt.itemsize + (k + 64) * extraction_dt.itemsize
                flow = sum(a.nbytes for a in w.flow if a is not None)
                row["policies"][f"{name}|{'on' if searchers else 'off'}"] = {
                    "orders": k, "orders_s": k / t, "vs_sort": (k / t) / (n / t_sort),
                    "memory_mb": (buffers + flow) / 2**20}
        out["configs"].append(row)
        progress(f"{n:,} orders, {m} pools, {b:,} per block: done")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def format_table(res: dict) -> str:
    """Orders per second per policy and configuration, searchers off / on, and vs np.sort."""
    lines = []
    for row in res["configs"]:
        lines.append(f"\n{row['orders']:,} orders, {row['pools']} pools, {row['per_block']:,} "
                     f"per block; np.sort: {row['sort_keys_s']:,.0f} keys/s")
        lines.append(f"{'policy':<17}{'off orders/s':>14}{'vs sort':>9}{'on orders/s':>14}"
                     f"{'on/off':>8}{'memory MB':>11}")
        for name in dict.fromkeys(k.split("|")[0] for k in row["policies"]):
            off = row["policies"].get(f"{name}|off")
            on = row["policies"].get(f"{name}|on")
            base = off or on
            lines.append(f"{name:<17}"
                         + (f"{off['orders_s']:>14,.0f}{off['vs_sort']:>9.2f}" if off
                            else f"{'-':>14}{'-':>9}")
                         + (f"{on['orders_s']:>14,.0f}" if on else f"{'-':>14}")
                         + (f"{on['orders_s'] / off['orders_s']:>8.2f}" if on and off
                            else f"{'-':>8}")
                         + f"{base['memory_mb']:>11.1f}")
    lines.append("\nengine against its pure-Python twin (parity checked first):")
    for key, t in res["twin"].items():
        lines.append(f"  {key:<24}{t['twin_orders_s']:>12,.0f} twin orders/s  "
                     f"{t['speedup']:>7.1f}x")
    lines.append("\ncold first call (cache load or compile), s: " + ", ".join(
        f"{k} {v:.2f}" for k, v in res["cold_s"].items()))
    lines.append(f"peak resident set: {res['peak_rss_mb']:,.0f} MB")
    return "\n".join(lines)


def plot_scaling(res: dict, path=None):
    """Searcher-off throughput per policy against orders per block (64 pools) and against
    the pool count (1,000 per block), at the largest order count measured for each, with
    ``np.sort`` on the same axes."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
    rows = res["configs"]
    for ax, (fixed, vary, label) in zip(axes, (("pools", "per_block", "orders per block"),
                                               ("per_block", "pools", "pools"))):
        want = 64 if fixed == "pools" else 1_000
        sel = [r for r in rows if r[fixed] == want]
        if not sel:
            continue
        n = max(r["orders"] for r in sel)
        sel = sorted((r for r in sel if r["orders"] == n), key=lambda r: r[vary])
        xs = [r[vary] for r in sel]
        for name in dict.fromkeys(k.split("|")[0] for k in sel[0]["policies"]):
            ax.plot(xs, [r["policies"][f"{name}|off"]["orders_s"] for r in sel], "o-",
                    label=name)
        ax.plot(xs, [r["sort_keys_s"] for r in sel], "k--", label="np.sort (keys/s)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("orders per second (searchers off)")
        ax.set_title(f"{n:,} orders, {fixed} = {want:,}")
        ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="mevlab bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--json", type=str, default=None, help="also write the results here")
    ap.add_argument("--plot", type=str, default=None,
                    help="write the scaling figure (PNG) here")
    ap.add_argument("--searchers", choices=("both", "off", "on"), default="both",
                    help="time with searchers off, on, or both (default)")
    ap.add_argument("--max-orders", type=int, default=None,
                    help="skip configurations with more orders (memory: ~0.4 kB per order)")
    args = ap.parse_args(argv)
    configs = None
    if args.max_orders is not None:
        configs = tuple(c for c in (QUICK if args.quick else FULL) if c[0] <= args.max_orders)
    which = {"both": (False, True), "off": (False,), "on": (True,)}[args.searchers]
    res = run(quick=args.quick, configs=configs, searchers=which,
              progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(format_table(res))
    if args.plot:
        plot_scaling(res, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

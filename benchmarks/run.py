"""The benchmark runner: ordering-and-settlement throughput of every policy engine, next to
``np.sort`` of as many int64 keys and the pure-Python twin, in one process and one run.

    python -m benchmarks.run [--quick] [--json FILE] [--plot FILE]      (or: mevlab bench)

For each configuration (orders, pools, orders per block) the flow is drawn once; every
policy then runs on it with searchers off (ordering and settlement only) and with the
closed-form searchers of the ``superchain`` preset on. Two engines are timed:

- ``stream`` (:func:`mevlab.engine.stream.run_stream`): the transactions presented in the
  order users submitted them; timed are the packed keys (bucketed by slot), their sort, the
  exact ordering of equal keys and the settlement, with outcomes per transaction and searcher
  totals (the policies it covers: batch auctions with arbitrageurs and speculative searchers
  are ``engine.run``'s alone). The timed calls write into the output arrays of the warm call
  (``out=``), as a stream processed in batches would. Timed twice: on its default threads
  (every core of the machine, from ``PARALLEL_MIN`` orders; the figure the targets use) and
  on one thread, after checking that the two results are bit-identical;
- ``records`` (:func:`mevlab.engine.run`, what ``simulate`` uses): the slot loop writing a
  fill record per leg (flow generation, slotting and the policy's setup excluded).

Next to them, measured the same way in the same process:

- cold: the first call in this process on a small world (Numba cache load or compilation);
- warm: the fastest of ``rounds`` calls on the configuration (``STREAM_ROUNDS`` for the
  stream engine, at every size: the least disturbed; on a shared machine other work only ever
  adds time, and the same code measured up to 2x apart between runs when the median was
  taken);
- ``np.sort`` of the same number of random int64 keys (the baseline: ordering is at least a
  sort), and the same sort in place (``ndarray.sort``: no result array to allocate); the
  sort is timed again after every timed stream call, and the fastest of all is the one
  every ratio is taken to;
- the pure-Python twin (``mevlab._reference.run``), on the first configuration only, after
  checking that the engine, the twin and the stream engine agree (parity before timing);
- memory: the bytes of the flow and of what each engine allocates, and the process's peak
  resident set at the end.

``np.sort`` runs on one core; the stream engine's default uses every core (two here). Both
figures are reported, so that either comparison can be read off.
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
#: timed calls of the stream engine (each engine and thread count) at every size, each
#: followed by an np.sort of as many keys
STREAM_ROUNDS = 7
#: the first is where the twins run; then orders 10^5 -> 10^7 (64 pools, 1,000 per block),
#: pool counts, block sizes, and the issue's reference point (10^7 orders, 64 pools)
FULL = ((10_000, 1, 100),
        (100_000, 64, 1_000), (1_000_000, 64, 1_000), (10_000_000, 64, 1_000),
        (1_000_000, 1, 1_000), (1_000_000, 16, 1_000), (1_000_000, 256, 1_000),
        (1_000_000, 64, 100), (1_000_000, 64, 10_000), (1_000_000, 64, 100_000),
        (10_000_000, 64, 10_000))


def scenario(n_orders: int, n_pools: int, per_block: int, searchers: bool):
    """One rollup with 1 s blocks and ``n_pools`` ETH/USDC pools of 1,000 ETH (deep enough
    for users' trades, shallow enough that searchers act: MEV is not zero); ``per_block``
    user orders per block on average, ``n_orders`` in all. Speculative and metadata-guided
    sandwiches are off (the stream engine does not run them)."""
    import mevlab as ml
    base = ml.Scenario.preset("superchain")
    pools = [dict(rollup="r", reserve_x=1e3, reserve_y=3e6, fee=0.003) for _ in range(n_pools)]
    return dataclasses.replace(
        base, name=f"bench-{n_orders}-{n_pools}-{per_block}",
        rollups=[dict(name="r", block_time=1.0, gas_cost=0.01)], pools=pools,
        users=dataclasses.replace(base.users, rate=float(per_block), cross_share=0.0),
        commit_reveal=dataclasses.replace(base.commit_reveal, speculative=False),
        threshold=dataclasses.replace(base.threshold, metadata="hidden"),
        duration=max(2.0, n_orders / per_block), searchers=base.searchers if searchers else ())


def _best_time(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _timed_inplace(work, keys):
    work[:] = keys
    t0 = time.perf_counter()
    work.sort()
    return time.perf_counter() - t0


def _parity(world, pol, params, pid):
    """Engine, twin and stream engine agree on ``world`` (else the timings mean nothing).

    Returns whether the stream engine covers this run."""
    from mevlab import _reference as ref
    from mevlab import engine
    from mevlab.engine import stream
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
    try:
        r = stream.run_stream(stream.stream_input(world), world, pid, params)
    except ValueError:
        return False
    u = fills[fills["sender_kind"] == 0]
    # searcher totals as run_stream sums them: per pool in record order, then over pools
    agg = stream.extraction_totals(ext, len(reserves), r.searchers.shape[0])
    if not (np.array_equal(r.order[r.status[r.order] >= 0], u["tx"])
            and np.array_equal(r.amount_out[u["tx"]], u["amount_out"])
            and np.array_equal(r.status[u["tx"]], u["status"])
            and np.array_equal(r.reserves, reserves)
            and np.array_equal(r.searchers, agg)):
        raise RuntimeError(f"{pol.name}: stream engine and engine disagree; not timing it")
    return True


def run(quick: bool = False, rounds: int | None = None, configs=None, policies=None,
        progress=print, searchers=(False, True), budget: float = 20.0) -> dict:
    """Measure every policy on every configuration; returns the results as a dict.

    A (policy, searchers, engine) whose warm call takes longer than ``budget`` seconds is
    timed by that call alone and not run again at as many orders or more (batch auctions with
    arbitrageurs: their equilibrium is solved numerically per pool and slot)."""
    from mevlab import _reference as ref
    from mevlab import engine
    from mevlab.dtypes import extraction_dt, fill_dt
    from mevlab.engine import stream
    from mevlab.policies import get_policy
    configs = configs or (QUICK if quick else FULL)
    policies = policies or POLICIES
    searchers_set = tuple(searchers)
    rounds = rounds or (3 if quick else 5)
    rng = np.random.default_rng(0)
    out = {"configs": [], "cold_s": {}, "twin": {}, "quick": quick, "rounds": rounds,
           "skipped": {}}
    slow = {}      # (policy|searchers) -> orders at which its warm call exceeded the budget
    # cold first calls, on a small world, before anything else touches the kernels
    small = scenario(2_000, 2, 100, True)
    w0 = engine.prepare(small, 0)
    for name in policies:
        pol = get_policy(name)
        w, params, pid, _ = pol.setup(small, w0)
        t0 = time.perf_counter()
        engine.run(w, dataclasses.replace(pol, policy_id=pid), params)
        out["cold_s"][name] = time.perf_counter() - t0
        try:
            inp = stream.stream_input(w)
            t0 = time.perf_counter()
            stream.run_stream(inp, w, pid, params)
            out["cold_s"][f"{name} (stream)"] = time.perf_counter() - t0
        except ValueError:
            pass
    # the twin, on the first configuration, after a parity check
    n, m, b = configs[0]
    for searchers in searchers_set:
        scn = scenario(n, m, b, searchers)
        world = engine.prepare(scn, 1)
        for name in policies:
            pol = get_policy(name)
            w, params, pid, _ = pol.setup(scn, world)
            covered = _parity(w, pol, params, pid)
            k = len(w.flow.t_seq)
            t_twin = _best_time(lambda: ref.run(w, pid, params), 1)
            t_eng = _best_time(lambda: engine.run(
                w, dataclasses.replace(pol, policy_id=pid), params), rounds)
            row = {"orders": k, "twin_orders_s": k / t_twin, "engine_orders_s": k / t_eng,
                   "speedup": t_twin / t_eng}
            if covered:
                inp = stream.stream_input(w)
                r0 = stream.run_stream(inp, w, pid, params)
                t_str = _best_time(lambda: stream.run_stream(inp, w, pid, params, out=r0),
                                   rounds)
                row.update(stream_orders_s=k / t_str, stream_speedup=t_twin / t_str)
            out["twin"][f"{name}|{'on' if searchers else 'off'}"] = row
        progress(f"twin and parity checked on {n:,} orders")
    for n, m, b in configs:
        r_n = rounds if n < 1_000_000 else 2     # big runs: fewer timed calls after the warm one
        keys = rng.integers(0, 2**62, n)
        t_sort = _best_time(lambda: np.sort(keys), max(r_n, 5))
        # also in place (no result array to allocate, as the stream engine's timed calls)
        work = keys.copy()
        t_inpl = min(_timed_inplace(work, keys) for _ in range(max(r_n, 5)))
        threads = stream.default_threads(n)
        row = {"orders": n, "pools": m, "per_block": b, "sort_keys_s": n / t_sort,
               "sort_inplace_keys_s": n / t_inpl, "threads": threads, "policies": {}}
        del work
        sorts = [t_sort]
        for searchers in searchers_set:
            scn = scenario(n, m, b, searchers)
            world = engine.prepare(scn, 2)
            k = len(world.flow.t_seq)
            flow = sum(a.nbytes for a in world.flow if a is not None)
            for name in policies:
                tag = f"{name}|{'on' if searchers else 'off'}"
                if tag in slow and n >= slow[tag]:
                    out["skipped"][f"{tag}|{n}"] = (f"warm call over {budget:g} s at "
                                                    f"{slow[tag]:,} orders")
                    continue
                pol = get_policy(name)
                w, params, pid, _ = pol.setup(scn, world)
                p2 = dataclasses.replace(pol, policy_id=pid)
                t = _best_time(lambda: engine.run(w, p2, params), 1)      # warm this size
                if t > budget:
                    slow[tag] = n
                else:
                    t = _best_time(lambda: engine.run(w, p2, params), r_n)
                buffers = (2 * k + 64) * fill_dt.itemsize + (k + 64) * extraction_dt.itemsize
                rec = {"orders": k, "orders_s": k / t, "vs_sort": (k / t) / (n / t_sort),
                       "memory_mb": (buffers + flow) / 2**20}
                try:
                    inp = stream.stream_input(w)
                    r0 = stream.run_stream(inp, w, pid, params)
                    r1 = stream.run_stream(inp, w, pid, params, threads=1)
                    if not all(np.array_equal(a, b) for a, b in zip(r0[:5], r1[:5])):
                        raise RuntimeError(f"{name}: the stream engine on {threads} threads "
                                           "and on one disagree; not timing it")
                    # cheap next to the record engine's calls: more rounds, at every size,
                    # interleaved with np.sort (a disturbed stretch of the run then slows
                    # the baseline too, and the fastest of each is kept)
                    t_s = t_1 = np.inf
                    for _ in range(max(rounds, STREAM_ROUNDS)):
                        t_s = min(t_s, _best_time(lambda: stream.run_stream(
                            inp, w, pid, params, out=r0), 1))
                        t_1 = min(t_1, _best_time(lambda: stream.run_stream(
                            inp, w, pid, params, out=r1, threads=1), 1))
                        sorts.append(_best_time(lambda: np.sort(keys), 1))
                    work = _nbytes(r0.work)
                    rec.update(stream_orders_s=k / t_s, stream1_orders_s=k / t_1,
                               # its input (the flow permuted, slot, id), outputs, scratch
                               stream_memory_mb=(flow + k * (16 + 8 + 8 + 1) + work) / 2**20)
                    del inp, r0, r1
                except ValueError:
                    pass
                row["policies"][tag] = rec
            del world
        # the fastest np.sort of the configuration, the one every ratio is taken to
        row["sort_keys_s"] = n / min(sorts)
        for rec in row["policies"].values():
            rec["vs_sort"] = rec["orders_s"] / row["sort_keys_s"]
            for eng in ("stream", "stream1"):
                if f"{eng}_orders_s" in rec:
                    rec[f"{eng}_vs_sort"] = rec[f"{eng}_orders_s"] / row["sort_keys_s"]
        del keys
        out["configs"].append(row)
        progress(f"{n:,} orders, {m} pools, {b:,} per block: done")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["targets"] = targets(out)
    return out


def _nbytes(work) -> int:
    """Bytes of a stream result's scratch (None, an array or a tuple of arrays)."""
    if work is None:
        return 0
    return work.nbytes if isinstance(work, np.ndarray) else sum(a.nbytes for a in work)


def _threads(row) -> str:
    t = row.get("threads", 1)
    return f"{t} thread{'s' if t > 1 else ''}"


def _rate(row, name, on=False, key="stream_orders_s"):
    r = row["policies"].get(f"{name}|{'on' if on else 'off'}", {})
    return r.get(key)


def targets(res: dict) -> list:
    """The issue's targets against what was measured: ``(target, measured, met)`` rows (the
    stream engine; ``None`` where the run did not measure it)."""
    rows = res["configs"]
    out = []
    ref = [r for r in rows if r["pools"] == 64 and r["orders"] == max(x["orders"] for x in rows)]
    for r in ref[:1]:
        for name in dict.fromkeys(k.split("|")[0] for k in r["policies"]):
            v = _rate(r, name)
            need = 0.5 if name in ("fcfs", "priority") else 0.25
            ratio = None if v is None else v / r["sort_keys_s"]
            out.append((f"{name}: >= {need:g} x np.sort, searchers off ({r['orders']:,} orders,"
                        f" 64 pools, {r['per_block']:,}/block, {_threads(r)})",
                        ratio, None if ratio is None else ratio >= need))
            one = _rate(r, name, key="stream1_orders_s")
            if one is not None and r.get("threads", 1) > 1:
                out.append((f"{name}: the same on one thread (for reference)",
                            one / r["sort_keys_s"], None))
        off, on = _rate(r, "fcfs"), _rate(r, "fcfs", on=True)
        if off and on:
            out.append(("fcfs: searchers on >= 0.2 x off", on / off, on / off >= 0.2))
    for key, t in res["twin"].items():
        for eng, k in (("stream", "stream_speedup"), ("records", "speedup")):
            if k in t:
                out.append((f"{key} {eng}: >= 20 x its twin", t[k], t[k] >= 20))
    lin = sorted((r for r in rows if r["pools"] == 64 and r["per_block"] == 1_000),
                 key=lambda r: r["orders"])
    if len(lin) >= 2 and lin[-1]["orders"] >= 100 * lin[0]["orders"]:
        for name in dict.fromkeys(k.split("|")[0] for k in lin[0]["policies"]):
            a, b = _rate(lin[0], name), _rate(lin[-1], name)
            if a and b:
                # time per order at the largest size over time per order at the smallest
                f = a / b
                out.append((f"{name}: cost per order (off) {lin[0]['orders']:,} -> "
                            f"{lin[-1]['orders']:,} within 1.5x of linear", f, f <= 1.5))
    pools = sorted((r for r in rows if r["per_block"] == 1_000 and r["orders"] == 1_000_000),
                   key=lambda r: r["pools"])
    if len(pools) >= 3:
        lo, hi = pools[0]["pools"], pools[-1]["pools"]
        for name in dict.fromkeys(k.split("|")[0] for k in pools[0]["policies"]):
            v = [_rate(r, name) for r in pools]
            if all(v):
                # cost per order at the most pools over cost at the fewest: 1.5x allowed for
                # the pools' state leaving the cache
                f = v[0] / v[-1]
                out.append((f"{name}: cost per order (off) at {hi} pools <= 1.5 x at {lo}", f,
                            f <= 1.5))
                out.append((f"{name}: throughput (off) over {lo}-{hi} pools, max / min",
                            max(v) / min(v), None))
    return out


def format_table(res: dict) -> str:
    """Orders per second per policy and configuration (stream engine and record engine,
    searchers off / on) and vs np.sort; the targets at the end."""
    lines = []

    def num(x, fmt):
        return format(x, fmt) if x is not None else "-".rjust(int(fmt[1:].split(",")[0]
                                                                   .split(".")[0]))
    for row in res["configs"]:
        lines.append(f"\n{row['orders']:,} orders, {row['pools']} pools, {row['per_block']:,} "
                     f"per block; np.sort: {row['sort_keys_s']:,.0f} keys/s"
                     + (f" (in place: {row['sort_inplace_keys_s']:,.0f})"
                        if "sort_inplace_keys_s" in row else ""))
        lines.append(f"stream engine on {_threads(row)}; '1 thread': the same engine on one")
        lines.append(f"{'policy':<17}{'stream off':>12}{'vs sort':>8}{'1 thread':>12}"
                     f"{'vs sort':>8}{'stream on':>12}{'on/off':>7}{'records off':>13}"
                     f"{'records on':>12}{'MB stream':>10}{'MB records':>11}")
        for name in dict.fromkeys(k.split("|")[0] for k in row["policies"]):
            off = row["policies"].get(f"{name}|off", {})
            on = row["policies"].get(f"{name}|on", {})
            so, sn = off.get("stream_orders_s"), on.get("stream_orders_s")
            base = off or on
            lines.append(f"{name:<17}" + num(so, ">12,.0f") + num(off.get("stream_vs_sort"),
                                                                  ">8.3f")
                         + num(off.get("stream1_orders_s"), ">12,.0f")
                         + num(off.get("stream1_vs_sort"), ">8.3f")
                         + num(sn, ">12,.0f") + num(sn / so if sn and so else None, ">7.2f")
                         + num(off.get("orders_s"), ">13,.0f") + num(on.get("orders_s"),
                                                                     ">12,.0f")
                         + num(base.get("stream_memory_mb"), ">10.0f")
                         + num(base.get("memory_mb"), ">11.0f"))
    lines.append("\nagainst the pure-Python twin (parity of engine, twin and stream checked "
                 "first):")
    for key, t in res["twin"].items():
        lines.append(f"  {key:<22}{t['twin_orders_s']:>10,.0f} twin orders/s  records "
                     f"{t['speedup']:>6.1f}x" + (f"  stream {t['stream_speedup']:>6.1f}x"
                                                  if "stream_speedup" in t else ""))
    lines.append("\ncold first call (cache load or compile), s: " + ", ".join(
        f"{k} {v:.2f}" for k, v in res["cold_s"].items()))
    lines.append(f"peak resident set: {res['peak_rss_mb']:,.0f} MB")
    for key, why in res.get("skipped", {}).items():
        name, on, n = key.split("|")
        lines.append(f"not timed: {name}, searchers {on}, {int(n):,} orders ({why})")
    if res.get("targets"):
        lines.append("\ntargets (stream engine):")
        for what, got, met in res["targets"]:
            flag = {True: "met", False: "NOT met", None: ""}[met]
            lines.append(f"  {what:<72}{num(got, '>8.2f')}  {flag}")
    return "\n".join(lines)


def plot_scaling(res: dict, path=None):
    """Searcher-off throughput per policy against the number of orders (64 pools, 1,000 per
    block), orders per block (64 pools) and pool count (1,000 per block): the stream engine
    solid (its default threads) and dash-dot (one thread), the record engine dotted, ``np.sort`` dashed black on the same axes. The last two
    panels use the order count measured at the most settings."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from collections import Counter
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2), layout="constrained")
    rows = res["configs"]
    panels = (("orders", {"pools": 64, "per_block": 1_000}, "orders"),
              ("per_block", {"pools": 64}, "orders per block"),
              ("pools", {"per_block": 1_000}, "pools"))
    colors = {}
    for ax, (vary, fixed, label) in zip(axes, panels):
        sel = [r for r in rows if all(r[k] == v for k, v in fixed.items())]
        if vary != "orders" and sel:
            n = Counter(r["orders"] for r in sel).most_common(1)[0][0]
            sel = [r for r in sel if r["orders"] == n]
            fixed = dict(fixed, orders=n)
        sel = sorted(sel, key=lambda r: r[vary])
        if len(sel) < 2:
            ax.set_visible(False)
            continue
        xs = [r[vary] for r in sel]
        for name in dict.fromkeys(k.split("|")[0] for k in sel[0]["policies"]):
            for key, style in (("stream_orders_s", "o-"), ("stream1_orders_s", "^-."),
                               ("orders_s", "s:")):
                ys = [r["policies"].get(f"{name}|off", {}).get(key) for r in sel]
                if not all(ys):
                    continue
                line, = ax.plot(xs, ys, style, color=colors.get(name),
                                label=name if key == "stream_orders_s" or name not in colors
                                else None, ms=4)
                colors.setdefault(name, line.get_color())
        ax.plot(xs, [r["sort_keys_s"] for r in sel], "k--", label="np.sort (keys/s)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("orders per second, searchers off")
        ax.set_title(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in fixed.items()),
                     fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8,
               title="solid: stream engine (all cores); dash-dot: stream engine (one thread); "
                     "dotted: record engine", title_fontsize=8)
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
    ap.add_argument("--budget", type=float, default=20.0,
                    help="seconds: a run slower than this is timed once and not at larger "
                         "sizes (default 20)")
    ap.add_argument("--max-orders", type=int, default=None,
                    help="skip configurations with more orders (memory: ~1 kB per order)")
    args = ap.parse_args(argv)
    configs = None
    if args.max_orders is not None:
        configs = tuple(c for c in (QUICK if args.quick else FULL) if c[0] <= args.max_orders)
    which = {"both": (False, True), "off": (False,), "on": (True,)}[args.searchers]
    res = run(quick=args.quick, configs=configs, searchers=which, budget=args.budget,
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

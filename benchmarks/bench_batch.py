"""Batch-auction throughput next to ``fcfs``, for batches of 100, 1,000 and 10,000 orders.

    python -m benchmarks.bench_batch [--quick] [--json FILE]

One rollup with 1 s slots and one deep ETH/USDC pool; users arrive at ``n`` per second, so
every slot (one batch) holds about ``n`` orders. For each batch size both policies run on
the same flow in the same process, searchers off (ordering and settlement only) and on (the
closed-form searcher under ``fcfs``, Cournot arbitrageurs in the batch). A warm-up run loads
the kernels first; each configuration is then timed over interleaved rounds and the median
reported, as orders per second of ``engine.run`` (the slot loop, flow generation excluded).

Before timing, the clearing kernel is checked bit for bit against its pure-Python twin
(``mevlab._reference.clear_batch``) on batches of each size, and the twin's own throughput
is reported next to it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

SIZES = (100, 1_000, 10_000)


def scenario(n_per_slot, total, searchers):
    import mevlab as ml
    base = ml.Scenario.preset("superchain")
    return dataclasses.replace(
        base, name=f"batch-bench-{n_per_slot}",
        rollups=[dict(name="r", block_time=1.0, gas_cost=0.01)],
        pools=[dict(rollup="r", reserve_x=1e6, reserve_y=3e9, fee=0.003)],
        users=dataclasses.replace(base.users, rate=float(n_per_slot), cross_share=0.0),
        duration=max(5.0, total / n_per_slot),
        searchers=base.searchers if searchers else ())


def _random_batch(rng, n):
    side = rng.integers(0, 2, n).astype(np.int64)
    amount = np.where(side == 0, rng.lognormal(-1, 1.3, n), rng.lognormal(6.7, 1.3, n))
    quote = np.where(side == 0, amount * 3000, amount / 3000)
    min_out = quote * (1 - rng.choice([0.001, 0.005, 0.01, 0.03], n))
    return side, amount, min_out


def check_clearing_and_time_twin(rounds):
    from mevlab import _reference as ref
    from mevlab.amm.nb import clear_batch_nb
    rng = np.random.default_rng(0)
    out = {}
    for n in SIZES:
        side, amount, min_out = _random_batch(rng, n)
        fill = np.zeros(n)
        p = clear_batch_nb(1e6, 3e9, 0.003, False, side, amount, min_out, fill)
        t0 = time.perf_counter()
        p_ref, fill_ref = ref.clear_batch(1e6, 3e9, 0.003, False, side.tolist(),
                                          amount.tolist(), min_out.tolist())
        t_ref = time.perf_counter() - t0
        assert p == p_ref and fill.tolist() == fill_ref, f"clearing differs from its twin, n={n}"
        ts = []
        for _ in range(rounds * 20):
            t0 = time.perf_counter()
            clear_batch_nb(1e6, 3e9, 0.003, False, side, amount, min_out, fill)
            ts.append(time.perf_counter() - t0)
        out[n] = (n / float(np.median(ts)), n / t_ref)
    return out


def main(argv=None):
    from mevlab import engine
    from mevlab.policies import get_policy
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer orders and rounds")
    ap.add_argument("--json", help="also write the table as JSON")
    args = ap.parse_args(argv)
    total = 20_000 if args.quick else 200_000
    rounds = 2 if args.quick else 5
    clearing = check_clearing_and_time_twin(rounds)
    rows = []
    print(f"engine.run throughput, orders per second (median of {rounds} rounds, "
          f"~{total:,} orders per configuration)\n")
    print(f"{'orders/batch':>12s} {'searchers':>9s} {'fcfs':>12s} {'batch_auction':>14s} "
          f"{'ratio':>6s}")
    for n in SIZES:
        for srch in (False, True):
            scn = scenario(n, total, srch)
            world = engine.prepare(scn, 0)
            runs = {}
            for name in ("fcfs", "batch_auction"):
                pol = get_policy(name)
                w, params, pid, _ = pol.setup(scn, world)
                runs[name] = (w, dataclasses.replace(pol, policy_id=pid), params)
                engine.run(*runs[name])                               # warm-up
            times = {name: [] for name in runs}
            for _ in range(rounds):
                for name, args_ in runs.items():
                    t0 = time.perf_counter()
                    engine.run(*args_)
                    times[name].append(time.perf_counter() - t0)
            n_tx = len(world.flow.t_seq)
            rate = {name: n_tx / float(np.median(t)) for name, t in times.items()}
            rows.append({"orders_per_batch": n, "searchers": srch, "orders": n_tx,
                         "fcfs": rate["fcfs"], "batch_auction": rate["batch_auction"]})
            print(f"{n:12,d} {'on' if srch else 'off':>9s} {rate['fcfs']:12,.0f} "
                  f"{rate['batch_auction']:14,.0f} {rate['batch_auction'] / rate['fcfs']:6.2f}")
    print("\nclearing kernel alone (one batch, constant product), orders per second")
    print(f"{'orders/batch':>12s} {'kernel':>12s} {'Python twin':>12s} {'speed-up':>9s}")
    for n, (kern, twin) in clearing.items():
        print(f"{n:12,d} {kern:12,.0f} {twin:12,.0f} {kern / twin:9.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"engine": rows, "clearing": {str(n): {"kernel": k, "twin": t}
                                                     for n, (k, t) in clearing.items()}},
                      f, indent=2)


if __name__ == "__main__":
    main()

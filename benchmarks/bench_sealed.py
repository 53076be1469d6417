"""Throughput of the sealed-content policies next to ``fcfs``, fast and cryptographic modes.

    python -m benchmarks.bench_sealed [--quick] [--json FILE]

Every policy runs on the same scenario and seeds in the same process; a warm-up run first
loads the Numba kernels from the cache, then each configuration is timed over the seeds,
interleaved round by round, and the median run is reported. A run's time is what a
simulation costs before its result tables: drawing the flow (``engine.prepare``), the
policy's ``setup`` (keyper draws, speculative sizing, and in ``crypto = "full"`` every
commitment, share and AES-GCM payload) and the slot loop (``engine.run``). Throughput is user
orders per second of that time. Before timing, each ``full`` configuration is checked to give
the same fills as its ``fast`` twin.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

CONFIGS = (("fcfs", "fcfs", "fast"),
           ("commit_reveal", "commit_reveal", "fast"),
           ("threshold", "threshold", "fast"),
           ("commit_reveal (full crypto)", "commit_reveal", "full"),
           ("threshold (full crypto)", "threshold", "full"))


def _run(scn, policy, seed):
    from mevlab import engine
    from mevlab.policies import get_policy
    pol = get_policy(policy)
    t0 = time.perf_counter()
    world = engine.prepare(scn, seed)
    world, params, pid, _ = pol.setup(scn, world)
    fills, *_ = engine.run(world, dataclasses.replace(pol, policy_id=pid), params)
    return time.perf_counter() - t0, len(world.flow.t_seq), fills


def main(argv=None):
    import mevlab as ml
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="60 s of flow and 2 seeds")
    ap.add_argument("--json", help="also write the table as JSON")
    args = ap.parse_args(argv)
    base = ml.Scenario.preset("superchain")
    # a sealed policy with its knobs switched on: bonds, collusion below t, downtime
    scn = dataclasses.replace(base, duration=60.0 if args.quick else 600.0,
                              commit_reveal={"bond": 0.2},
                              threshold={"uptime": 0.9, "colluding": 2})
    seeds = range(2 if args.quick else 5)
    for name, policy, mode in CONFIGS:                     # warm-up and parity
        fills = _run(dataclasses.replace(scn, crypto=mode), policy, 0)[2]
        if mode == "full":
            fast = _run(scn, policy, 0)[2]
            assert fills.tobytes() == fast.tobytes(), f"{name}: full and fast modes differ"
    times = {name: [] for name, *_ in CONFIGS}
    n_tx = {}
    for seed in seeds:
        for name, policy, mode in CONFIGS:
            t, n, _ = _run(dataclasses.replace(scn, crypto=mode), policy, seed)
            times[name].append(t / n)
            n_tx[name] = n_tx.get(name, 0) + n
    fcfs = 1.0 / np.median(times["fcfs"])
    rows = []
    print(f"superchain, {scn.duration:g} s of flow, {len(seeds)} seeds, "
          f"~{n_tx['fcfs'] // len(seeds):,} user orders per run; median over seeds\n")
    print(f"{'policy':30s} {'orders/s':>12s} {'vs fcfs':>8s}")
    for name, *_ in CONFIGS:
        rate = 1.0 / float(np.median(times[name]))
        rows.append({"policy": name, "orders_per_s": rate, "vs_fcfs": rate / fcfs})
        print(f"{name:30s} {rate:12,.0f} {rate / fcfs:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scenario": scn.name, "duration_s": scn.duration,
                       "seeds": list(seeds), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()

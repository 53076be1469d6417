"""Routing throughput: solves per second of the Parameter-based cvxpy router, the same
formulation rebuilt for every solve (as published reference code does), and the dual router.

    python -m benchmarks.bench_router [--quick]

All three see the same random instances in the same run; profits are checked to agree before
anything is timed. Targets (issue 3): Parameter router >= 5x rebuilt; dual >= 10x Parameter
router at 20 pools.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", message="Solution may be inaccurate")


def instances(n_pools, n_tokens, k, seed):
    rng = np.random.default_rng(seed)
    pairs = [tuple(int(t) for t in rng.choice(n_tokens, 2, replace=False)) for _ in range(n_pools)]
    tok = np.array(pairs)
    out = []
    for _ in range(k):
        c = np.exp(rng.normal(0, 1, n_tokens))
        c[0] = 1.0
        value = np.exp(rng.normal(13, 1, n_pools))
        tilt = np.exp(rng.normal(0, 0.03, n_pools))
        R = np.stack([value / 2 / c[tok[:, 0]] * tilt, value / 2 / c[tok[:, 1]] / tilt], axis=1)
        out.append((R, rng.choice([0.0005, 0.003], n_pools), c))
    return pairs, out


def rebuilt_solve(pairs, n_tokens, R, fees, c):
    """The plain formulation, built from constants for every solve (no Parameters)."""
    import cvxpy as cp
    m = len(pairs)
    tok = np.array(pairs)
    V = float((R * c[tok]).sum(axis=1).mean())
    r = R * c[tok] / V
    D = cp.Variable((m, 2), nonneg=True)
    L = cp.Variable((m, 2), nonneg=True)
    g = 1.0 - fees
    u = r[:, 0] + cp.multiply(g, D[:, 0]) - L[:, 0]
    v = r[:, 1] + cp.multiply(g, D[:, 1]) - L[:, 1]
    Ma = np.zeros((n_tokens, m))
    Mb = np.zeros((n_tokens, m))
    Ma[tok[:, 0], np.arange(m)] = 1.0
    Mb[tok[:, 1], np.arange(m)] = 1.0
    psi = Ma @ (L[:, 0] - D[:, 0]) + Mb @ (L[:, 1] - D[:, 1])
    prob = cp.Problem(cp.Maximize(cp.sum(psi)),
                      [cp.SOC(u + v, cp.vstack([2 * np.sqrt(r[:, 0] * r[:, 1]), u - v]), axis=0),
                       psi >= 0, D <= 1e3 * r])
    prob.solve(solver="CLARABEL")
    return prob.value * V


def rate(fn, items, min_time):
    n, t0 = 0, time.perf_counter()
    while True:
        for it in items:
            fn(it)
            n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return n / el


def main(argv=None):
    from mevlab.searcher import ConvexRouter, DualRouter
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short timings (a smoke run)")
    ap.add_argument("--json", help="also write the table here")
    args = ap.parse_args(argv)
    sizes = (2, 20) if args.quick else (2, 20, 200)
    min_time = 0.3 if args.quick else 3.0
    rows = []
    for m in sizes:
        n_tok = 2 if m == 2 else 5
        pairs, inst = instances(m, n_tok, 10, seed=m)
        convex, dual = ConvexRouter(pairs, n_tok), DualRouter(pairs, n_tok)
        # parity before timing
        for R, f, c in inst:
            a, b = convex.solve(R, f, c), dual.solve(R, f, c)
            ref = rebuilt_solve(pairs, n_tok, R, f, c)
            assert a.optimal and b.optimal
            assert abs(a.profit - b.profit) <= 1e-6 * b.profit + 1e-12 * float(
                (R * c[np.array(pairs)]).sum(axis=1).mean()), (a.profit, b.profit)
            # the unscaled baseline is solved to Clarabel's default absolute tolerance, so it
            # agrees only to ~1e-3 on small arbitrages: same problem, less accuracy
            scale = float((R * c[np.array(pairs)]).sum(axis=1).mean())
            assert abs(ref - b.profit) <= 1e-2 * b.profit + 1e-8 * scale, (ref, b.profit)
        r_conv = rate(lambda x: convex.solve(*x), inst, min_time)
        r_dual = rate(lambda x: dual.solve(*x), inst, min_time)
        r_rebuilt = rate(lambda x: rebuilt_solve(pairs, n_tok, *x), inst[:3], min_time)
        rows.append({"pools": m, "tokens": n_tok, "rebuilt_per_s": r_rebuilt,
                     "convex_per_s": r_conv, "dual_per_s": r_dual,
                     "convex_vs_rebuilt": r_conv / r_rebuilt, "dual_vs_convex": r_dual / r_conv})
    print(f"{'pools':>5} {'tokens':>6} {'rebuilt/s':>10} {'convex/s':>10} {'dual/s':>10} "
          f"{'convex/rebuilt':>15} {'dual/convex':>12}")
    for r in rows:
        print(f"{r['pools']:>5} {r['tokens']:>6} {r['rebuilt_per_s']:>10.1f} "
              f"{r['convex_per_s']:>10.1f} {r['dual_per_s']:>10.1f} "
              f"{r['convex_vs_rebuilt']:>14.1f}x {r['dual_vs_convex']:>11.1f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()

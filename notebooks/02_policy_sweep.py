# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Policy sweep: slippage tolerance and searcher latency against extracted MEV
#
# `ml.sweep` runs every policy on every cell of a grid and every seed (local processes, or a
# Dask cluster with `backend="dask"`); each cell and seed has its own logged seed, so any row
# re-runs alone. Set `MEVLAB_SMOKE=1` for a quick run.

# %%
import dataclasses
import os

import matplotlib.pyplot as plt

import mevlab as ml

SMOKE = os.environ.get("MEVLAB_SMOKE") == "1"
scn = dataclasses.replace(ml.Scenario.preset("superchain"), duration=30.0 if SMOKE else 300.0)
grid = {"users.tolerances": [[0.001], [0.005], [0.01], [0.03]] if not SMOKE else [[0.001], [0.03]],
        "users.tolerance_weights": [[1.0]],
        "searchers.0.latency": [0.01, 0.05, 0.2] if not SMOKE else [0.01, 0.2]}
policies = ["fcfs", "fcfs-private", "priority", "commit_reveal", "threshold", "batch_auction"]
df = ml.sweep(scn, grid, policies, seeds=1 if SMOKE else 3, workers=1 if SMOKE else None)
df[["cell", "policy", "seed", "spawn_key", "users.tolerances", "searchers.0.latency",
    "mev_total"]].head()

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
for policy, g in df.groupby("policy"):
    m = g.groupby("users.tolerances", sort=False)["mev_total"].mean()
    axes[0].plot([float(t.strip("[]")) * 100 for t in m.index], m.to_numpy(), "o-", label=policy)
    m = g.groupby("searchers.0.latency")["mev_total"].mean()
    axes[1].plot(m.index, m.to_numpy(), "o-", label=policy)
axes[0].set_xlabel("users' slippage tolerance (%)")
axes[1].set_xlabel("fastest searcher's latency (s)")
for ax in axes:
    ax.set_ylabel("extracted MEV (USD per run)")
    ax.legend(fontsize=7)

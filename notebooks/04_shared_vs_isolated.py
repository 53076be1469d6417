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
# # Shared against isolated sequencing
#
# Three rollups with different block times (`mixed-stack`). Every policy runs with one
# sequencer per rollup and with one shared sequencer; then the leg risk of cross-rollup
# intents, atomic against non-atomic arbitrage, and the Shapley split of cross-rollup MEV
# across rollups. Set `MEVLAB_SMOKE=1` for a quick run.

# %%
import dataclasses
import os

import mevlab as ml

SMOKE = os.environ.get("MEVLAB_SMOKE") == "1"
scn = ml.Scenario.preset("mixed-stack")
if SMOKE:
    scn = dataclasses.replace(scn, duration=60.0)
seeds = range(1 if SMOKE else 4)

# %%
df = ml.compare(scn, policies=ml.list_policies(), seeds=seeds, topology=["isolated", "shared"])
ml.plot_topology(df);

# %%
legs = ml.leg_risk(scn, seeds=seeds)
atomic = ml.atomic_vs_nonatomic(n_runs=10 if SMOKE else 400)
shares = ml.shapley_rollups(scn, "fcfs", seeds=seeds)
ml.plot_cross_rollup(legs, atomic, shares);

# %%
shares

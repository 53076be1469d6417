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
# # Quickstart: one scenario, every policy, where the value went
#
# Four OP Stack rollups on one shared sequencer (the `superchain` preset). Every ordering
# policy runs on the same prices and order flow; the table and the figure show who ended up
# with the value: searchers, the sequencer, users, LPs. Set `MEVLAB_SMOKE=1` for a quick run.

# %%
import dataclasses
import os

import mevlab as ml

SMOKE = os.environ.get("MEVLAB_SMOKE") == "1"
scn = ml.Scenario.preset("superchain")
if SMOKE:
    scn = dataclasses.replace(scn, duration=60.0)
seeds = range(1 if SMOKE else 4)

# %%
df = ml.compare(scn, policies=ml.list_policies(), seeds=seeds)
df.groupby("policy")[["mev_total", "to_searchers", "to_sequencer_bids", "user_mev_loss",
                      "user_cost", "lp_net"]].mean().round(0)

# %%
ml.plot_value_flow(df);

# %% [markdown]
# One run in detail: the value ledger balances (value is moved, not created).

# %%
res = ml.simulate(scn, "fcfs", seed=0)
res.checks()

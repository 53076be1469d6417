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
# # Reproducing Milionis et al.: LVR and arbitrage with fees
#
# Both results run the real engine on a one-pool scenario (`mevlab.papers`) and compare with
# the closed forms: `sigma^2/8` (2022) and, with fees and Poisson blocks, `P_trade` and
# `ARB/V` (2023). The fee is the half-spread `gamma = -ln(1 - fee)`. Set `MEVLAB_SMOKE=1`
# for a quick run.

# %%
import os

from mevlab import papers

SMOKE = os.environ.get("MEVLAB_SMOKE") == "1"

# %%
lvr = papers.lvr_curve(blocks=(288, 7200) if SMOKE else (24, 288, 2880, 7200, 43200),
                       n_paths=4 if SMOKE else 20, days=0.5 if SMOKE else 1.0)
papers.plot_lvr(lvr)
lvr[["blocks_per_day", "simulated", "theory", "stderr"]]

# %%
grid = papers.fee_grid(fees=(0.0005, 0.003) if SMOKE else (0.0005, 0.001, 0.003, 0.01),
                       blocks_per_day=(10, 7200) if SMOKE else (10, 1000, 7200, 50000),
                       trades=2000.0 if SMOKE else 20000.0, n_paths=4 if SMOKE else 20)
papers.plot_fee_grid(grid)
grid[["fee", "blocks_per_day", "quantity", "simulated", "theory", "stderr", "rel_error"]]

"""Figures drawn from result tables (the CLI, notebooks and tests use the same functions)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RECIPIENTS = (("to_searchers", "searchers (net)", "#d95f02"),
              ("to_sequencer_bids", "sequencer: bids", "#1b9e77"),
              ("to_sequencer_bonds", "sequencer: forfeited bonds", "#a6761d"),
              ("to_sequencer_gas", "sequencer: searcher gas", "#66c2a5"))
STRATEGIES = (("mev_arbitrage", "CEX-DEX arbitrage", "#7570b3"),
              ("mev_backrun", "backrun", "#e7298a"),
              ("mev_sandwich", "sandwich", "#e6ab02"))
USER_COSTS = (("user_standalone_cost", "price impact + fee alone", "#a6cee3"),
              ("user_mev_loss", "MEV loss (front-run)", "#e31a1c"),
              ("user_other_flow_cost", "other flow in the slot", "#b2df8a"))


def plot_value_flow(summary, path=None, title=None):
    """Stacked bars per policy: where the MEV went, by strategy, and what users paid.

    Parameters
    ----------
    summary : DataFrame
        Rows of :meth:`Result.summary` (e.g. from :func:`mevlab.compare`); bars
        show the mean over seeds, whiskers one standard error of the total.
    path : path, optional
        Write a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = summary.groupby("policy", sort=False)
    mean = g.mean(numeric_only=True)
    n = g.size()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), constrained_layout=True)
    panels = ((axes[0], RECIPIENTS, "Extracted MEV by recipient", "mev_total"),
              (axes[1], STRATEGIES, "Extracted MEV by strategy", "mev_total"),
              (axes[2], USER_COSTS, "User execution cost", None))
    x = np.arange(len(mean))
    for ax, parts, ttl, total_col in panels:
        bottom = np.zeros(len(mean))
        for col, label, color in parts:
            v = mean[col].to_numpy()
            ax.bar(x, v, bottom=bottom, label=label, color=color)
            bottom = bottom + v
        if total_col is not None:
            se = g[total_col].std(ddof=1).fillna(0).to_numpy() / np.sqrt(n.to_numpy())
            ax.errorbar(x, mean[total_col], yerr=se, fmt="none", ecolor="k", capsize=3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, mean.index, rotation=15)
        ax.set_title(ttl)
        ax.set_ylabel("numeraire (USD) per run")
        top = max(float(np.max(bottom)), 1e-12)
        ax.set_ylim(top=1.45 * top)  # headroom so the legend does not cover the bars
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title or f"Where the value went — {summary['scenario'].iloc[0]}, "
                 f"{int(n.iloc[0])} seed(s) per policy")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig

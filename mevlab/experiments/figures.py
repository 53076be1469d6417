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
LP_PARTS = (("lp_fees", "fees", "#1b9e77"),
            ("lp_lvr", "loss to searchers (LVR)", "#d95f02"),
            ("lp_user_markout", "markout vs users", "#7570b3"),
            ("lp_sandwich_markout", "markout vs sandwich legs", "#e6ab02"))
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
        With rows of both topologies (``compare(..., topology=["isolated", "shared"])``)
        this is :func:`plot_topology`: shared against isolated per policy.
    """
    if summary["topology"].nunique() > 1:
        return plot_topology(summary, path, title)
    g = summary.groupby("policy", sort=False)
    mean = g.mean(numeric_only=True)
    n = g.size()
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.6), constrained_layout=True)
    panels = ((axes[0], RECIPIENTS, "Extracted MEV by recipient", "mev_total"),
              (axes[1], STRATEGIES, "Extracted MEV by strategy", "mev_total"),
              (axes[2], USER_COSTS, "User execution cost", None))
    x = np.arange(len(mean))
    for ax, parts, ttl, total_col in panels:
        # positive parts stack up from 0, negative ones down from 0 (a batch can give
        # users a better price than trading alone)
        up = np.zeros(len(mean))
        down = np.zeros(len(mean))
        for col, label, color in parts:
            v = mean[col].to_numpy()
            ax.bar(x, v, bottom=np.where(v >= 0, up, down), label=label, color=color)
            up = up + np.maximum(v, 0)
            down = down + np.minimum(v, 0)
        bottom = up
        if total_col is not None:
            se = g[total_col].std(ddof=1).fillna(0).to_numpy() / np.sqrt(n.to_numpy())
            ax.errorbar(x, mean[total_col], yerr=se, fmt="none", ecolor="k", capsize=3)
        else:
            ax.plot(x, up + down, "D", color="k", ms=4, label="net")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, mean.index, rotation=30, ha="right")
        ax.set_title(ttl)
        ax.set_ylabel("numeraire (USD) per run")
        top = max(float(np.max(bottom)), 1e-12)
        ax.set_ylim(top=1.45 * top)  # headroom so the legend does not cover the bars
        ax.legend(fontsize=8, loc="upper left")
    _lp_panel(axes[3], g, mean, n)
    fig.suptitle(title or f"Where the value went — {summary['scenario'].iloc[0]}, "
                 f"{int(n.iloc[0])} seed(s) per policy")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _lp_panel(ax, g, mean, n):
    """LPs per policy: fees, loss to searchers (negative) and markouts, the net, and the
    pool's loss versus rebalancing against everyone it traded with (fees excluded)."""
    x = np.arange(len(mean))
    w = 0.8 / len(LP_PARTS)
    for i, (col, label, color) in enumerate(LP_PARTS):
        v = mean[col].to_numpy() * (-1.0 if col == "lp_lvr" else 1.0)
        ax.bar(x - 0.4 + (i + 0.5) * w, v, width=w, color=color, label=label)
    se = g["lp_net"].std(ddof=1).fillna(0).to_numpy() / np.sqrt(n.to_numpy())
    ax.errorbar(x, mean["lp_net"], yerr=se, fmt="D", color="k", ms=4, capsize=3, label="net")
    ax.plot(x, mean["lp_vs_rebalancing"], "X", color="#e31a1c", ms=7,
            label="loss vs rebalancing (pool as a whole)")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, mean.index, rotation=30, ha="right")
    ax.set_title("Liquidity providers")
    ax.set_ylabel("numeraire (USD) per run")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))   # headroom for the legend
    ax.legend(fontsize=8, loc="upper left")


SEALED_LINES = (("mev_sandwich", "sandwich MEV (gross)", "#e6ab02", "-"),
                ("to_searchers", "searchers (net, all strategies)", "#d95f02", "-"),
                ("to_sequencer_bonds", "sequencer: forfeited bonds", "#a6761d", "-"),
                ("to_sequencer_bids", "sequencer: bids", "#1b9e77", "-"),
                ("user_mev_loss", "users: MEV loss", "#e31a1c", ":"))


def plot_sealed_curves(curves, path=None, title=None):
    """Extracted MEV and its recipients against the bond and the colluding keypers, and
    the inclusion delay against keyper uptime.

    Parameters
    ----------
    curves : DataFrame
        From :func:`mevlab.experiments.sealed_curves`; lines are means over
        seeds, bands one standard error; the dashed line is the sandwich MEV
        under ``fcfs`` with the scenario's mempool.
    path : path, optional
        Write a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.6), constrained_layout=True)
    ref = curves[curves["knob"] == "reference"]["mev_sandwich"].mean()
    panels = ((axes[0], "bond", "commit_reveal: bond per commitment (numeraire)", True),
              (axes[1], "colluding", "threshold: colluding keypers "
               f"(t = {int(curves.attrs.get('threshold', 0)) or '?'})", False))
    for ax, knob, xlabel, logx in panels:
        d = curves[curves["knob"] == knob]
        if d.empty:
            ax.set_visible(False)
            continue
        g = d.groupby("knob_value")
        x = np.array(sorted(d["knob_value"].unique()))
        for col, label, color, ls in SEALED_LINES:
            m = g[col].mean().reindex(x).to_numpy()
            se = (g[col].std(ddof=1) / np.sqrt(g.size())).reindex(x).fillna(0).to_numpy()
            ax.plot(x, m, ls, color=color, label=label, marker="o", ms=3)
            ax.fill_between(x, m - se, m + se, color=color, alpha=0.15, lw=0)
        ax.axhline(ref, color="k", ls="--", lw=0.8, label="sandwich MEV under fcfs")
        ax.axhline(0, color="k", lw=0.5)
        if logx:
            ax.set_xscale("symlog", linthresh=max(float(x[x > 0].min()), 1e-6) if (x > 0).any()
                          else 1.0)
            ax.set_xlim(left=0.0)   # bonds are never negative
        ax.set_xlabel(xlabel)
        ax.set_ylabel("numeraire (USD) per run")
        ax.legend(fontsize=8)
    _delay_panel(axes[2], curves[curves["knob"] == "uptime"])
    fig.suptitle(title or f"What survives sealed contents — {curves['scenario'].iloc[0]}")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _delay_panel(ax, d):
    """Users' inclusion delay (median, mean, 95th percentile, max) against keyper uptime."""
    if d.empty:
        ax.set_visible(False)
        return
    g = d.groupby("knob_value")
    x = np.array(sorted(d["knob_value"].unique()))
    for col, label, ls in (("delay_p50", "median", ":"), ("delay_mean", "mean", "-"),
                           ("delay_p95", "95th percentile", "--"), ("delay_max", "max", "-.")):
        ax.plot(x, g[col].mean().reindex(x), ls, marker="o", ms=3, color="#1f78b4",
                label=label)
    ax2 = ax.twinx()
    ax2.bar(x, g["undecryptable_slots"].mean().reindex(x), width=0.02, color="#b2df8a",
            alpha=0.6, label="undecryptable slots")
    ax2.set_ylabel("undecryptable slots per run")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.invert_xaxis()   # falling uptime to the right
    ax.set_xlabel("threshold: keyper uptime (probability online per slot)")
    ax.set_ylabel("user inclusion delay (s)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")


def plot_batch_competition(df, path=None, title=None):
    """LP loss and arbitrage in batch auctions against the number of competing arbitrageurs.

    Parameters
    ----------
    df : DataFrame
        From :func:`mevlab.experiments.batch_competition`; means over seeds, bands one
        standard error; constant product (solid) and FM-AMM (dashed).

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = (("lp_vs_rebalancing", "LP loss vs rebalancing (pool as a whole)"),
              ("lp_lvr", "LP loss to arbitrageurs (LVR)"),
              ("mev_arbitrage", "arbitrage extracted (gross)"),
              ("lp_net", "LP net (fees + trading result)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(18, 4.2), constrained_layout=True)
    for ax, (col, ttl) in zip(axes, panels):
        for policy, label, ls in (("batch_auction", "constant product", "-"),
                                  ("batch_auction-fm", "FM-AMM", "--")):
            d = df[df["policy"] == policy]
            g = d.groupby("n_arbitrageurs")[col]
            x = np.array(sorted(d["n_arbitrageurs"].unique()))
            m = g.mean().reindex(x).to_numpy()
            se = (g.std(ddof=1) / np.sqrt(g.size())).reindex(x).fillna(0).to_numpy()
            ax.plot(x, m, ls, marker="o", ms=3, color="k", label=label)
            ax.fill_between(x, m - se, m + se, color="k", alpha=0.12, lw=0)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("competing arbitrageurs")
        ax.set_ylabel("numeraire (USD) per run")
        ax.set_title(ttl)
        ax.legend(fontsize=8)
    fig.suptitle(title or f"Batch auctions: constant product vs FM-AMM — {df['scenario'].iloc[0]}")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


TOPOLOGY_COLORS = {"isolated": "#7570b3", "shared": "#1b9e77"}


def plot_topology(summary, path=None, title=None):
    """Per policy, shared against isolated sequencing: extracted MEV by recipient, user
    costs, cross-rollup outcomes and inclusion delay.

    Parameters
    ----------
    summary : DataFrame
        Rows of :meth:`Result.summary` for both topologies (e.g. from
        ``mevlab.compare(..., topology=["isolated", "shared"])``); bars are means
        over seeds, whiskers one standard error.
    path : path, optional
        Write a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    topos = [t for t in ("isolated", "shared") if t in set(summary["topology"])]
    policies = list(dict.fromkeys(summary["policy"]))
    g = summary.groupby(["policy", "topology"], sort=False)
    mean = g.mean(numeric_only=True)
    se = g.std(ddof=1, numeric_only=True).fillna(0.0) / np.sqrt(g.size().to_numpy()[:, None])
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.8), constrained_layout=True)
    x = np.arange(len(policies))
    w = 0.8 / max(len(topos), 1)
    hatches = {"isolated": "//", "shared": ""}
    for i, topo in enumerate(topos):
        xs = x - 0.4 + (i + 0.5) * w
        rows = [(p, topo) for p in policies]
        m = mean.reindex(rows)
        e = se.reindex(rows)
        # 1. extracted MEV stacked by recipient
        bottom = np.zeros(len(policies))
        for col, label, color in RECIPIENTS:
            v = np.maximum(m[col].to_numpy(), 0.0)
            axes[0].bar(xs, v, w, bottom=bottom, color=color, hatch=hatches[topo],
                        edgecolor="white", label=label if i == 0 else None)
            bottom += v
        axes[0].errorbar(xs, m["mev_total"], yerr=e["mev_total"], fmt="none", ecolor="k",
                         capsize=3)
        # 2. user costs: total, and the part lost to MEV
        axes[1].bar(xs, m["user_cost"], w, color=TOPOLOGY_COLORS[topo], hatch=hatches[topo],
                    edgecolor="white", label=f"{topo}: total cost")
        axes[1].errorbar(xs, m["user_cost"], yerr=e["user_cost"], fmt="none", ecolor="k",
                         capsize=3)
        axes[1].plot(xs, m["user_mev_loss"], "v", color="#e31a1c", ms=7,
                     label="MEV loss" if i == 0 else None)
        # 3. cross-rollup: MEV from cross-rollup flow and one-leg executions
        axes[2].bar(xs, m["cross_mev"], w, color=TOPOLOGY_COLORS[topo], hatch=hatches[topo],
                    edgecolor="white", label=f"{topo}: cross-rollup MEV")
        ax2 = axes[2].twinx() if i == 0 else ax2
        ax2.plot(xs, 100 * m["one_leg_rate"], "o", color="k", ms=6,
                 label="one-leg intents (%)" if i == 0 else None)
        # 4. inclusion delay: mean with p95 whiskers
        d = m["delay_mean"].to_numpy()
        axes[3].bar(xs, d, w, color=TOPOLOGY_COLORS[topo], hatch=hatches[topo],
                    edgecolor="white", label=f"{topo}: mean")
        axes[3].errorbar(xs, d, yerr=[np.zeros_like(d), np.maximum(m["delay_p95"] - d, 0)],
                         fmt="none", ecolor="0.3", capsize=3, label="to p95" if i == 0 else None)
    titles = ("Extracted MEV by recipient (isolated hatched)", "User execution cost",
              "Cross-rollup MEV and one-leg intents", "Inclusion delay")
    ylabels = ("numeraire (USD) per run", "numeraire (USD) per run", "numeraire (USD) per run",
               "s")
    for ax, ttl, yl in zip(axes, titles, ylabels):
        ax.set_xticks(x, policies, rotation=30, ha="right")
        ax.set_title(ttl)
        ax.set_ylabel(yl)
        ax.axhline(0, color="k", lw=0.6)
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.4 * (hi - lo))
        ax.legend(fontsize=8, loc="upper left")
    ax2.set_ylabel("one-leg intents (%)")
    lo, hi = ax2.get_ylim()
    ax2.set_ylim(0, max(hi, 1.0) * 1.4)
    ax2.legend(fontsize=8, loc="upper right")
    n = int(g.size().min())
    fig.suptitle(title or f"Shared against isolated sequencing — "
                 f"{summary['scenario'].iloc[0]}, {n} seed(s) per bar")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_cross_rollup(leg_risk=None, atomic=None, shapley=None, path=None, title=None):
    """Leg risk and cross-rollup arbitrage: any of the three tables, one panel each.

    Parameters
    ----------
    leg_risk : DataFrame, optional
        From :func:`mevlab.experiments.cross.leg_risk`: one-leg rate against latency
        and against the first rollup's block time, isolated and shared.
    atomic : DataFrame, optional
        From :func:`~mevlab.experiments.cross.atomic_vs_nonatomic`: expected
        profit against leg-failure probability, simulated (points, 2 standard
        errors) and theory (lines).
    shapley : DataFrame, optional
        From :func:`~mevlab.experiments.cross.shapley_rollups`.
    """
    panels = []
    if leg_risk is not None:
        panels += [("latency", "median user-to-sequencer latency (s)"),
                   ("block_time", "block time of the first rollup (s)")]
    if atomic is not None:
        panels.append(("atomic", None))
    if shapley is not None:
        panels.append(("shapley", None))
    if not panels:
        raise ValueError("plot_cross_rollup: pass at least one of leg_risk, atomic, shapley")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4),
                             constrained_layout=True, squeeze=False)
    for ax, (kind, xlabel) in zip(axes[0], panels):
        if kind in ("latency", "block_time"):
            d = leg_risk[leg_risk["sweep"] == kind]
            for topo, dd in d.groupby("topology"):
                g = dd.groupby("value")["one_leg_rate"]
                m = g.mean()
                e = g.std(ddof=1).fillna(0) / np.sqrt(g.size())
                ax.errorbar(m.index, 100 * m, yerr=200 * e, marker="o", capsize=3,
                            color=TOPOLOGY_COLORS[topo], label=topo)
            ax.set_xscale("log")
            vals = sorted(d["value"].unique())
            ax.set_xticks(vals, [f"{v:g}" for v in vals])
            ax.minorticks_off()
            ax.set_xlabel(xlabel)
            ax.set_ylabel("intents executed on one leg only (%)")
            ax.set_title("One-leg executions (isolated: leg risk)")
            ax.legend(fontsize=8)
        elif kind == "atomic":
            for topo, dd in atomic.groupby("topology"):
                c = TOPOLOGY_COLORS[topo]
                name = "atomic (shared)" if topo == "shared" else "non-atomic (isolated)"
                ax.plot(dd["leg_failure"], dd["theory"], "-", color=c, label=f"{name}: theory")
                ax.errorbar(dd["leg_failure"], dd["simulated"], yerr=2 * dd["stderr"], fmt="o",
                            color=c, capsize=3, label=f"{name}: simulated ±2 s.e.")
            ax.set_xlabel("leg-failure probability")
            ax.set_ylabel("expected arbitrage profit per opportunity (USD)")
            ax.set_title("Atomic against non-atomic cross-rollup arbitrage")
            ax.legend(fontsize=8)
        else:
            s = shapley
            ax.bar(s.index.astype(str), s["shapley"], yerr=2 * s["stderr"], color="#1b9e77",
                   capsize=3)
            ax.set_ylabel("Shapley value (USD per run)")
            ax.set_title(f"Cross-rollup MEV by rollup (total {s.attrs.get('total', np.nan):,.1f}, "
                         f"{s.attrs.get('method', '')})")
            ax.axhline(0, color="k", lw=0.6)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig

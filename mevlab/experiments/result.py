"""The Result of one run: fills, extractions, ledger and a one-row summary."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..enums import SENDER_NAMES, STATUS_NAMES, STRATEGY_NAMES
from ..ledger import balance, build_ledger, lp_trading
from ..metrics import gini, hhi

#: status codes of intent legs beyond the kernel's: filled in part by a batch, never included
PARTIAL = 10
NOT_INCLUDED = 11

FILL_COLUMNS = ("id", "slot", "rollup", "pool", "position", "sender_kind", "sender", "strategy",
                "bundle", "tx", "direction", "amount_in", "amount_out", "price", "status",
                "min_out", "standalone_out", "mev_out", "ext_price", "out_price", "value_in",
                "value_out",
                "lp_fee_value", "lp_value", "gas", "fee_paid", "submit_time", "inclusion_time",
                "inclusion_delay")


@dataclass
class Result:
    """Outcome of one simulation of one policy with one seed.

    Attributes
    ----------
    scenario : Scenario
    policy : str
    seed : int
    meta : dict
        Scenario hash, seed, package versions and timings.
    reserves : ndarray (n_pools, 2)
        Final pool reserves (x, y).
    """
    scenario: object
    policy: str
    seed: object
    raw_fills: np.ndarray = field(repr=False)
    raw_extractions: np.ndarray = field(repr=False)
    flow: pd.DataFrame = field(repr=False)
    reserves: np.ndarray = field(repr=False)
    reserves0: np.ndarray = field(repr=False)
    slot_prices: np.ndarray = field(repr=False)   # (n_slots, n_tokens) numeraire per unit
    pool_tokens: np.ndarray = field(repr=False)   # (n_pools, 2) token index of x and y
    meta: dict = field(default_factory=dict)
    slot_leader: np.ndarray = field(default=None, repr=False)   # (n_slots,) -1: no leader set
    intent_legs: np.ndarray = field(default=None, repr=False)   # (n_legs, 3) intent, leg, rollup

    # ------------------------------------------------------------------ tables
    @functools.cached_property
    def fills(self) -> pd.DataFrame:
        """One row per transaction, users' and searchers'.

        ``price`` is the execution price in numeraire per unit of the risky
        asset (NaN if not executed); amounts are token units of the tendered
        (``amount_in``) and received (``amount_out``) side; ``*_value`` and
        ``gas``/``fee_paid`` are numeraire; times are s.
        """
        f = pd.DataFrame(self.raw_fills)
        names = [r.name for r in self.scenario.rollups]
        x_amt = np.where(f["direction"] == 0, f["amount_in"], f["amount_out"])
        y_amt = np.where(f["direction"] == 0, f["amount_out"], f["amount_in"])
        with np.errstate(divide="ignore", invalid="ignore"):
            f["price"] = np.where((f["status"] == 0) & (x_amt > 0), y_amt / x_amt, np.nan)
        f["inclusion_delay"] = f["inclusion_time"] - f["submit_time"]
        f["rollup"] = pd.Categorical.from_codes(f["rollup"], categories=names)
        f["sender_kind"] = _cat(f["sender_kind"], SENDER_NAMES)
        f["strategy"] = _cat(f["strategy"], STRATEGY_NAMES)
        f["status"] = _cat(f["status"], STATUS_NAMES)
        return f[list(FILL_COLUMNS)]

    @functools.cached_property
    def extractions(self) -> pd.DataFrame:
        """One row per MEV opportunity a searcher took; money columns in numeraire."""
        e = pd.DataFrame(self.raw_extractions)
        e["strategy"] = _cat(e["strategy"], STRATEGY_NAMES)
        e["searcher"] = pd.Categorical.from_codes(
            e["searcher"], categories=[s.name for s in self.scenario.searchers] or ["-"])
        e["rollup"] = pd.Categorical.from_codes(
            e["rollup"], categories=[r.name for r in self.scenario.rollups])
        return e

    @functools.cached_property
    def ledger(self) -> pd.DataFrame:
        """Tidy value ledger, one row per agent-or-transaction entry (numeraire)."""
        return build_ledger(self.fills, [s.name for s in self.scenario.searchers])

    def checks(self) -> dict:
        """Accounting identities of this run, each computed independently of the others.

        - ``max_slot_imbalance``, ``volume``, ``all_finite``: the ledger sums to
          zero in every slot (value is moved, not created; numeraire);
        - ``token_imbalance``: tokens are conserved per pool and side, the largest
          ``|final reserve - (initial + tendered - received)|`` relative to the
          initial reserve;
        - ``mtm_residual``: model.md §5 per agent kind (traders, sequencer, LPs):
          the change in the kind's holdings marked to the final external prices
          equals its ledger value plus the revaluation of its holdings by the
          price moves since each trade. Holdings come from token amounts (the
          LPs' from the pool reserves), not from the ledger; the largest
          residual relative to the ledger volume.
        """
        out = balance(self.ledger)
        f = self.raw_fills
        ex = f["status"] == 0
        d = f["direction"].astype(np.int64)
        pool = f["pool"].astype(np.int64)
        a_in = np.where(ex, f["amount_in"], 0.0)
        a_out = np.where(ex, f["amount_out"], 0.0)
        flow = np.zeros_like(self.reserves0)
        np.add.at(flow, (pool, d), a_in)
        np.add.at(flow, (pool, 1 - d), -a_out)
        out["token_imbalance"] = float(np.max(np.abs(self.reserves - self.reserves0 - flow)
                                              / self.reserves0))
        rows = np.arange(len(f))
        tok = self.pool_tokens[pool]
        t_in, t_out = tok[rows, d], tok[rows, 1 - d]
        P = self.slot_prices[-1]
        p = self.slot_prices[f["slot"]]
        reval = a_out * (P[t_out] - p[rows, t_out]) - a_in * (P[t_in] - p[rows, t_in])
        paid = f["gas"] + f["fee_paid"]
        led = self.ledger.groupby("agent_kind", observed=False)["value"].sum()
        traders = led.get("user", 0.0) + led.get("searcher", 0.0)
        lp_mtm = float(np.sum((self.reserves - self.reserves0) * P[self.pool_tokens]))
        resid = {
            "traders": float(np.sum(a_out * P[t_out] - a_in * P[t_in] - paid))
            - (traders + float(reval.sum())),
            "sequencer": float(paid.sum()) - led.get("sequencer", 0.0),
            "lp": lp_mtm - (led.get("lp", 0.0) - float(reval.sum())),
        }
        out["mtm_residual"] = float(max(abs(v) for v in resid.values()) / max(out["volume"], 1.0))
        return out

    @functools.cached_property
    def intents(self) -> pd.DataFrame:
        """One row per cross-rollup user intent (model.md §2) and what became of its legs.

        ``status_*`` is ``executed`` (in full), ``partial`` (a batch filled part of it),
        ``reverted``, ``dropped`` or ``not_included`` (the leg never reached a produced,
        decryptable slot, or was rejected). ``outcome`` is ``both`` (both legs executed in
        full), ``none`` or ``one_leg``; ``leg_gap`` (s) is the time between the legs'
        inclusions when both executed. A one-leg execution leaves the user holding what the
        executed leg returned, on that leg's rollup, instead of the intended position:
        ``stranded_value`` is that inventory in numeraire at the slot's external price,
        ``stranded_value_end`` the same inventory marked to market at the end of the run, and
        ``leg_pnl_end`` what the half-done trade is worth at the end (received less tendered,
        at the final external prices).
        """
        cols = ["intent", "rollup_0", "rollup_1", "status_0", "status_1", "outcome",
                "inclusion_0", "inclusion_1", "leg_gap", "stranded_value", "stranded_value_end",
                "leg_pnl_end"]
        if self.intent_legs is None or not len(self.intent_legs):
            return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        f = self.raw_fills[self.raw_fills["sender_kind"] == 0]
        legs = self.flow.iloc[f["tx"]][["intent", "leg"]].to_numpy()
        mine = legs[:, 0] >= 0
        f, legs = f[mine], legs[mine]
        asked = self.flow["amount_in"].to_numpy()[f["tx"]]
        status = np.where((f["status"] == 0) & (f["amount_in"] < asked * (1 - 1e-12)),
                          PARTIAL, f["status"]).astype(np.int64)
        t = pd.DataFrame({"intent": legs[:, 0], "leg": legs[:, 1], "status": status,
                          "rollup": f["rollup"], "inclusion": f["inclusion_time"],
                          "value_out": f["value_out"], "pool": f["pool"],
                          "amount_in": f["amount_in"], "amount_out": f["amount_out"],
                          "direction": f["direction"]})
        # every generated leg, executed or not: one never included has no fill row
        w = t.pivot(index="intent", columns="leg").reindex(
            np.unique(self.intent_legs[:, 0]))
        status = w["status"].fillna(NOT_INCLUDED).to_numpy(np.int64)
        ok = status == 0
        n_ok = ok.sum(axis=1)
        rnames = [r.name for r in self.scenario.rollups]
        out = pd.DataFrame({"intent": w.index.to_numpy(np.int64)})
        names = {**STATUS_NAMES, PARTIAL: "partial", NOT_INCLUDED: "not_included"}
        where = pd.DataFrame(self.intent_legs, columns=["intent", "leg", "rollup"]).pivot(
            index="intent", columns="leg", values="rollup").reindex(w.index)
        for leg in (0, 1):
            out[f"rollup_{leg}"] = pd.Categorical.from_codes(where[leg].to_numpy(np.int64),
                                                             categories=rnames)
            out[f"status_{leg}"] = _cat(status[:, leg], names)
            out[f"inclusion_{leg}"] = w[("inclusion", leg)].to_numpy()
        out["outcome"] = np.select([n_ok == 2, n_ok == 0], ["both", "none"], "one_leg")
        out["leg_gap"] = np.where(n_ok == 2,
                                  np.abs(out["inclusion_1"] - out["inclusion_0"]), np.nan)
        # the executed leg of a one-leg intent: what it returned and what it cost
        one = n_ok == 1
        rows = np.arange(len(out))
        leg_ok = np.where(ok[:, 1], 1, 0)
        pick = lambda col: np.column_stack([w[(col, 0)], w[(col, 1)]])[rows, leg_ok]
        pool = np.nan_to_num(pick("pool")).astype(np.int64)
        d = np.nan_to_num(pick("direction")).astype(np.int64)
        tok = self.pool_tokens[pool]
        end = self.slot_prices[-1]
        got = np.nan_to_num(pick("amount_out")) * end[tok[rows, 1 - d]]
        gave = np.nan_to_num(pick("amount_in")) * end[tok[rows, d]]
        out["stranded_value"] = np.where(one, np.nan_to_num(pick("value_out")), 0.0)
        out["stranded_value_end"] = np.where(one, got, 0.0)
        out["leg_pnl_end"] = np.where(one, got - gave, 0.0)
        return out[cols]

    def cross_rollup(self) -> dict:
        """Cross-rollup MEV and leg risk of this run (numeraire, over the run).

        - ``cross_mev``: gross profit of searcher bundles with legs on two or
          more rollups, plus what searchers took around the legs of users'
          cross-rollup intents;
        - ``bundles``: searcher cross-rollup bundles, ``bundles_partial``: those
          with a leg that did not execute (only possible under ``isolated``);
        - ``cross_intents``, ``one_leg_rate``: users' intents and the share executed
          on one rollup only;
        - leg risk, users' one-leg intents and searchers' partial bundles alike:
          ``leg_risk_*`` is the inventory their executed legs left (what they
          received) marked to market at the end of the run, ``leg_pnl_*`` what those
          half-done trades are worth then (received less tendered, signed).
        """
        arb, cross, partial = self._arb_bundles
        P = self.slot_prices[-1]
        sel = arb[np.isin(arb["bundle"], partial) & (arb["status"] == 0)]
        d = sel["direction"].astype(np.int64)
        tok = self.pool_tokens[sel["pool"].astype(np.int64)]
        rows = np.arange(len(sel))
        got = sel["amount_out"] * P[tok[rows, 1 - d]]
        gave = sel["amount_in"] * P[tok[rows, d]]
        it = self.intents
        return {"cross_mev": float(self.raw_extractions["gross"][self._cross_rows()].sum()),
                "bundles": int(len(cross)), "bundles_partial": int(len(partial)),
                "leg_risk_searchers": float(got.sum()),
                "leg_pnl_searchers": float((got - gave).sum()),
                "cross_intents": int(len(it)),
                "one_leg_rate": float((it["outcome"] == "one_leg").mean()) if len(it) else np.nan,
                "leg_risk_users": float(it["stranded_value_end"].sum()),
                "leg_pnl_users": float(it["leg_pnl_end"].sum())}

    def by_rollup(self) -> pd.DataFrame:
        """Extracted MEV per rollup (numeraire, gross, over the run): by strategy, the part
        from cross-rollup flow (searcher bundles spanning rollups and trades around legs of
        user intents, see :meth:`cross_rollup`), and the users' cost on that rollup."""
        e = self.extractions
        f = self.fills
        names = [r.name for r in self.scenario.rollups]
        out = e.pivot_table(index="rollup", columns="strategy", values="gross", aggfunc="sum",
                            observed=False).reindex(names).fillna(0.0)
        out = out.drop(columns=["user"], errors="ignore")   # users extract nothing
        out.columns = [f"mev_{c}" for c in out.columns]
        out.insert(0, "mev_total", e.groupby("rollup", observed=False)["gross"].sum()
                   .reindex(names).fillna(0.0))
        cross = self._cross_rows()
        out["cross_mev"] = pd.Series(e["gross"].to_numpy()[cross], dtype=float).groupby(
            e["rollup"].to_numpy()[cross]).sum().reindex(names).fillna(0.0).to_numpy()
        users = f[f["sender_kind"] == "user"]
        ex = users["status"] == "executed"
        cost = np.where(ex, users["value_in"] - users["value_out"], 0.0) + users["gas"] \
            + users["fee_paid"]
        out["user_cost"] = pd.Series(cost.to_numpy()).groupby(users["rollup"].to_numpy()).sum() \
            .reindex(names).fillna(0.0).to_numpy()
        out.index.name = "rollup"
        return out

    @functools.cached_property
    def _arb_bundles(self):
        """Searchers' arbitrage bundle legs (fill records), the ids of the bundles with legs
        on two or more rollups, and of those among them with a leg not executed."""
        f = self.raw_fills
        arb = f[(f["sender_kind"] == 1) & (f["bundle"] >= 0) & (f["strategy"] == 1)]
        spans = pd.DataFrame({"b": arb["bundle"], "r": arb["rollup"],
                              "ok": arb["status"] == 0}).groupby("b")
        cross = spans["r"].nunique()
        cross = cross[cross > 1].index.to_numpy()
        partial = spans["ok"].all()
        partial = partial[~partial].index.intersection(cross).to_numpy()
        return arb, cross, partial

    def _cross_rows(self) -> np.ndarray:
        """Extraction rows counted as cross-rollup MEV (see :meth:`cross_rollup`)."""
        e = self.raw_extractions
        cross = self._arb_bundles[1]
        legs = np.zeros(0, np.int64)
        if "intent" in self.flow:
            legs = np.flatnonzero(self.flow["intent"].to_numpy() >= 0)
        return (np.isin(e["bundle"], cross) & (e["strategy"] == 1)) | np.isin(e["victim"], legs)

    # ------------------------------------------------------------------ summary
    def _censored_share(self, users) -> float:
        """Share of user transactions included later than ``censorship_bound`` after
        submission, or never (their slot and every later one missed or undecryptable)."""
        never = (self.meta.get("sequencing", {}).get("never_included_tx", 0)
                 + self.meta.get("policy_info", {}).get("never_decrypted_tx", 0))
        late = int((users["inclusion_delay"] > self.scenario.censorship_bound).sum())
        total = len(users) + never
        return (late + never) / total if total else np.nan

    def _hhi_sequencers(self, f) -> float:
        """HHI of the sequencer set members' revenue (gas, fees, bids, bonds of the slots
        they led); NaN without a sequencer set."""
        if self.slot_leader is None or not (self.slot_leader >= 0).any():
            return np.nan
        paid = (f["gas"] + f["fee_paid"]).to_numpy()
        rev = np.bincount(self.slot_leader[f["slot"].to_numpy()], weights=paid,
                          minlength=len(self.scenario.sequencers))
        return hhi(rev)

    def summary(self) -> pd.DataFrame:
        """One row: MEV by strategy and recipient, user costs, LP outcome, distribution.

        All money in numeraire over the run; ``share_*`` are fractions of the
        extracted MEV (gross searcher profit); delays in s.
        """
        f = self.fills
        e = self.extractions
        users = f[f["sender_kind"] == "user"]
        ex = users["status"] == "executed"
        out_val = lambda amt: amt * users["out_price"]
        standalone = np.where(ex, users["value_in"] - out_val(users["standalone_out"]), 0.0)
        mev_loss = np.where(ex, out_val(users["mev_out"] - users["amount_out"]), 0.0)
        actual = np.where(ex, users["value_in"] - users["value_out"], 0.0)
        gross = e.groupby("strategy", observed=False)["gross"].sum()
        mev = float(e["gross"].sum())
        bids = float(e["bid"].sum())     # forfeited bonds included
        dropped = (f["sender_kind"] == "searcher") & (f["status"] == "dropped")
        bonds = float(f.loc[dropped, "fee_paid"].sum())
        s_gas = float(e["gas"].sum())
        s_net = float(e["net"].sum())
        per_searcher = e.groupby("searcher", observed=False)["net"].sum()
        lp_fees = float(f["lp_fee_value"].sum())
        lp_item, lp_value = lp_trading(f)
        lp = pd.Series(lp_value).groupby(lp_item).sum()
        lvr = float(-lp.get("lvr", 0.0))
        markout = float(lp.get("user_markout", 0.0))
        sw_markout = float(lp.get("sandwich_markout", 0.0))
        victims = mev_loss[mev_loss > 0]
        row = {
            "scenario": self.scenario.name, "policy": self.policy, "seed": self.seed,
            "topology": self.scenario.topology, "searcher": self.scenario.searcher,
            "router_failures": int(self.meta.get("router", {}).get("failures", 0)),
            "n_user_tx": int(len(users)),
            "mev_total": mev,
            "mev_arbitrage": float(gross.get("arbitrage", 0.0)),
            "mev_backrun": float(gross.get("backrun", 0.0)),
            "mev_sandwich": float(gross.get("sandwich", 0.0)),
            # attempts that traded (a speculative pair never revealed is not a sandwich)
            "n_sandwiches": int(((e["strategy"] == "sandwich") & (e["bundle"] >= 0)).sum()),
            "to_searchers": s_net, "to_sequencer_bids": bids - bonds,
            "to_sequencer_bonds": bonds, "to_sequencer_gas": s_gas,
            "share_searchers": s_net / mev if mev > 0 else np.nan,
            "share_sequencer": (bids + s_gas) / mev if mev > 0 else np.nan,
            "user_cost": float(actual.sum() + users["gas"].sum() + users["fee_paid"].sum()),
            "user_standalone_cost": float(standalone.sum()),
            "user_mev_loss": float(mev_loss.sum()),
            "user_other_flow_cost": float((actual - standalone - mev_loss).sum()),
            "user_gas_and_fees": float(users["gas"].sum() + users["fee_paid"].sum()),
            # not executed: reverted, or left unfilled by a batch
            "revert_rate": float(users["status"].isin(["reverted", "dropped"]).mean())
            if len(users) else np.nan,
            "delay_mean": float(users["inclusion_delay"].mean()),
            "delay_p50": float(users["inclusion_delay"].quantile(0.5)),
            "delay_p95": float(users["inclusion_delay"].quantile(0.95)),
            "delay_max": float(users["inclusion_delay"].max()),
            "undecryptable_slots": int(self.meta.get("policy_info", {})
                                       .get("undecryptable_slots", 0)),
            # not in the delay figures above: still encrypted when the run ends
            "never_decrypted_tx": int(self.meta.get("policy_info", {})
                                      .get("never_decrypted_tx", 0)),
            "missed_slots": int(self.meta.get("sequencing", {}).get("missed_slots", 0)),
            "never_included_tx": int(self.meta.get("sequencing", {})
                                     .get("never_included_tx", 0)),
            "censored_share": self._censored_share(users),
            "hhi_sequencers": self._hhi_sequencers(f),
            "lp_fees": lp_fees, "lp_lvr": lvr, "lp_user_markout": markout,
            "lp_sandwich_markout": sw_markout, "lp_net": lp_fees - lvr + markout + sw_markout,
            # Milionis et al.'s loss versus rebalancing of the pool as a whole: its trading
            # result against everyone, fees excluded (lp_lvr is the part against searchers)
            "lp_vs_rebalancing": lvr - markout - sw_markout,
            "sequencer_revenue": float(f["gas"].sum() + f["fee_paid"].sum()),
            "gini_user_mev_loss": gini(np.maximum(mev_loss, 0.0)),
            "gini_victims_mev_loss": gini(victims),
            "gini_searchers": gini(np.maximum(per_searcher.to_numpy(), 0.0)),
            "hhi_searchers": hhi(np.maximum(per_searcher.to_numpy(), 0.0)),
            **self.cross_rollup(),
        }
        return pd.DataFrame([row])


def _cat(codes, names: dict):
    cats = list(dict.fromkeys(names.values()))
    return pd.Categorical(pd.Series(codes).map(names), categories=cats)

"""The value ledger (model.md §5): who gained and lost what, in numeraire.

Every fill is valued at its slot's external price. A trade moves value between
the trader and the pool's LPs; gas, priority fees and bids move value from
traders to the sequencer. The ledger therefore sums to zero per fill: value is
moved, not created. Price moves between slots revalue holdings but are not
ledger entries.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

LEDGER_COLUMNS = ("slot", "rollup", "pool", "fill", "tx", "agent_kind", "agent", "strategy",
                  "item", "value")


def lp_trading(fills: pd.DataFrame):
    """The LPs' result of each fill at the external price, fees excluded, and its item.

    Returns ``(item, value)`` arrays: ``lvr`` against arbitrage and back-runs,
    ``sandwich_markout`` against sandwich legs, ``user_markout`` against users;
    ``value`` in numeraire, positive = the pool gained.
    """
    value = fills["lp_value"].to_numpy()
    item = np.where((fills["sender_kind"] == "user").to_numpy(), "user_markout",
                    np.where((fills["strategy"] == "sandwich").to_numpy(), "sandwich_markout",
                             "lvr"))
    return item, value


def build_ledger(fills: pd.DataFrame, searcher_names) -> pd.DataFrame:
    """Tidy ledger: one row per agent-and-transaction value entry.

    Items: users ``trade``, ``gas``, ``priority_fee``; searchers ``trade``
    (by strategy), ``gas``, ``bid``, ``bond`` (forfeited commitments);
    sequencer ``gas``, ``priority_fee``, ``bid``, ``bond``; LPs ``fees``, ``lvr``, ``sandwich_markout`` and ``user_markout``:
    the pool's trading result at the external price, fees excluded, against
    arbitrage and back-runs (loss-versus-rebalancing, Milionis et al. 2022),
    against sandwich legs, and against users.
    ``value`` is numeraire, positive = received.
    """
    f = fills
    is_user = (f["sender_kind"] == "user").to_numpy()
    trade = (f["value_out"] - f["value_in"]).to_numpy()
    lp_item, lp_value = lp_trading(f)
    agent = np.where(is_user, "user:" + f["tx"].astype(str),
                     np.asarray(searcher_names, dtype=object)[np.where(is_user, 0, f["sender"])]
                     if len(searcher_names) else "")
    kind = np.where(is_user, "user", "searcher")
    strategy = f["strategy"].astype(str).to_numpy()
    # a dropped searcher commitment pays only its forfeited bond
    fee_item = np.where(is_user, "priority_fee",
                        np.where((f["status"] == "dropped").to_numpy(), "bond", "bid"))
    base = {c: f[c].to_numpy() for c in ("slot", "rollup", "pool")}
    base["fill"] = f["id"].to_numpy()
    base["tx"] = f["tx"].to_numpy()
    lp_agent = "lp:" + f["pool"].astype(str).to_numpy().astype(object)
    parts = [
        (kind, agent, "trade", trade),
        (kind, agent, "gas", -f["gas"].to_numpy()),
        (kind, agent, fee_item, -f["fee_paid"].to_numpy()),
        ("sequencer", "sequencer", "gas", f["gas"].to_numpy()),
        ("sequencer", "sequencer", fee_item, f["fee_paid"].to_numpy()),
        ("lp", lp_agent, "fees", f["lp_fee_value"].to_numpy()),
        ("lp", lp_agent, lp_item, lp_value),
    ]
    frames = []
    n = len(f)
    for kd, ag, item, val in parts:
        d = dict(base)
        d["agent_kind"] = np.broadcast_to(np.asarray(kd, dtype=object), n)
        d["agent"] = np.broadcast_to(np.asarray(ag, dtype=object), n)
        d["strategy"] = strategy
        d["item"] = np.broadcast_to(np.asarray(item, dtype=object), n)
        d["value"] = val
        frames.append(pd.DataFrame(d))
    led = pd.concat(frames, ignore_index=True)
    led = led[led["value"] != 0.0].sort_values(["fill", "agent_kind"], kind="stable",
                                               ignore_index=True)
    for c in ("agent_kind", "item", "strategy"):
        led[c] = led[c].astype("category")
    return led[list(LEDGER_COLUMNS)]


def balance(ledger: pd.DataFrame) -> dict:
    """How far the ledger is from moving value without creating it.

    Returns the largest absolute per-slot sum and the total volume (sum of
    absolute entries), both numeraire, and whether every entry is finite; a
    balanced ledger has a per-slot imbalance at floating-point level relative
    to the volume. NaN and inf propagate instead of being skipped.
    """
    per_slot = ledger.groupby("slot", observed=True)["value"].sum(skipna=False)
    return {"max_slot_imbalance": float(per_slot.abs().max(skipna=False)) if len(per_slot)
            else 0.0,
            "volume": float(ledger["value"].abs().sum(skipna=False)),
            "all_finite": bool(np.isfinite(ledger["value"].to_numpy()).all())}

"""Small golden outputs. Update only with ``python -m tests.regression.golden --reason "..."``."""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path

import mevlab as ml

PATH = Path(__file__).with_name("golden.json")
POLICIES = ("fcfs", "fcfs-private", "priority")
FIELDS = ("n_user_tx", "n_sandwiches", "mev_total", "mev_arbitrage", "mev_backrun",
          "mev_sandwich", "to_searchers", "to_sequencer_bids", "user_cost", "user_mev_loss",
          "lp_fees", "lp_lvr", "revert_rate")


def compute() -> dict:
    scn = dataclasses.replace(ml.Scenario.preset("superchain"), duration=60.0)
    out = {}
    for pol in POLICIES:
        s = ml.simulate(scn, pol, 3).summary().iloc[0]
        out[pol] = {f: (int(s[f]) if f.startswith("n_") else float(s[f])) for f in FIELDS}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reason", required=True, help="why the golden numbers change")
    args = ap.parse_args()
    history = json.loads(PATH.read_text())["history"] if PATH.exists() else []
    history.append({"date": datetime.date.today().isoformat(), "reason": args.reason})
    PATH.write_text(json.dumps({"history": history, "values": compute()}, indent=2) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()

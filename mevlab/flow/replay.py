"""Replay of an order-flow table (CSV or Parquet) through the same engine."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .synthetic import FLOW_COLUMNS, draw_latencies

REQUIRED = ("submit_time", "pool", "direction", "amount_in", "tolerance")
DEFAULTS = {"priority_fee": 0.0, "informed": False}
#: longest accepted path latency of a replayed transaction (s)
MAX_LATENCY = 3600.0


def read_flow(source, scn, rng: np.random.Generator) -> pd.DataFrame:
    """Load and validate an order-flow table.

    Parameters
    ----------
    source : path or DataFrame
        CSV or Parquet with at least ``submit_time`` (s), ``pool`` (index into
        ``scn.pools``), ``direction`` (0 or ``"sell_x"``: tender the risky
        asset; 1 or ``"sell_y"``: tender the numeraire), ``amount_in`` (units of
        the tendered token) and ``tolerance`` (fraction). Optional:
        ``priority_fee`` (numeraire, default 0), ``informed`` (default False),
        ``min_out`` (units of the received token; default: quote at the
        pre-slot state times ``1 - tolerance``), ``t_seq`` and ``t_pub`` (s;
        default: drawn from ``scn.latency``; both or neither, at most
        :data:`MAX_LATENCY` after submission), ``rollup`` (checked against the
        pool's rollup), ``intent`` (an id shared by the two legs of a
        cross-rollup intent, on pools of two rollups, never ``informed``; -1
        for single transactions) with ``leg`` (0 or 1; default: the order of
        the rows). Numbers must be finite; ``informed`` is true/false or 0/1.
    scn : Scenario
    rng : Generator
        Used only to draw missing latencies.

    Raises
    ------
    ConfigError
        Missing column, NaN, or a value outside its range; names column and rows.
    """
    df = load_table(source)
    problems = []
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ConfigError([(f"flow.{c}", "required column is missing; required: "
                            f"{list(REQUIRED)}") for c in missing])
    df = df.copy()
    if not pd.api.types.is_numeric_dtype(df["direction"]):
        df["direction"] = df["direction"].map({"sell_x": 0, "sell_y": 1, 0: 0, 1: 1})
    if "informed" in df:
        if df["informed"].dtype == bool:
            df["informed"] = df["informed"].astype(float)
        else:
            df["informed"] = pd.to_numeric(df["informed"], errors="coerce")
            df.loc[~df["informed"].isin([0, 1]), "informed"] = np.nan
    if ("t_seq" in df) != ("t_pub" in df):
        problems.append(("flow.t_seq" if "t_pub" in df else "flow.t_pub",
                         "t_seq and t_pub come together (or neither: both are drawn)"))
    numeric = [c for c in df.columns
               if c in FLOW_COLUMNS + ("min_out", "intent", "leg") and c != "rollup"]
    for c in numeric:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        v = df[c].to_numpy()
        # an empty limit is the default limit (a table may give some and not others)
        bad = np.flatnonzero(~np.isfinite(v) & ~((c == "min_out") & np.isnan(v)))
        if len(bad):
            problems.append((f"flow.{c}", f"NaN, infinite or unreadable value in rows "
                             f"{bad[:5].tolist()}{' …' if len(bad) > 5 else ''}"
                             + (" (informed takes true/false or 0/1)" if c == "informed" else "")
                             + (" (direction takes 0, 1, 'sell_x', 'sell_y')"
                                if c == "direction" else "")))
    if problems:
        raise ConfigError(problems)

    def check(col, ok, accepted):
        bad = np.flatnonzero(~ok)
        if len(bad):
            problems.append((f"flow.{col}", f"rows {bad[:5].tolist()} outside {accepted}"))

    n_pools = len(scn.pools)
    check("submit_time", (df["submit_time"] >= 0) & (df["submit_time"] <= 1e8), "[0, 1e8] s")
    check("pool", df["pool"].isin(range(n_pools)), f"integers in [0, {n_pools - 1}]")
    check("direction", df["direction"].isin([0, 1]), "{0, 1, 'sell_x', 'sell_y'}")
    check("amount_in", df["amount_in"] > 0, "(0, inf)")
    check("tolerance", (df["tolerance"] >= 0) & (df["tolerance"] < 1), "[0, 1)")
    if "priority_fee" in df:
        check("priority_fee", df["priority_fee"] >= 0, "[0, inf)")
    if "min_out" in df:
        check("min_out", (df["min_out"] >= 0) | df["min_out"].isna(), "[0, inf) or empty")
    for c in ("t_seq", "t_pub"):
        if c in df:
            lag = df[c] - df["submit_time"]
            check(c, (lag >= 0) & (lag <= MAX_LATENCY), f"[submit_time, submit_time + {MAX_LATENCY:g}] s")
    if problems:
        raise ConfigError(problems)
    pool = df["pool"].astype(np.int64).to_numpy()
    rollup_of_pool = np.array([[r.name for r in scn.rollups].index(p.rollup) for p in scn.pools])
    if "leg" in df:
        check("leg", df["leg"].isin([0, 1]), "{0, 1}")
    if "intent" in df:
        iid = df["intent"].to_numpy()
        check("intent", (iid == np.floor(iid)) & (iid >= -1), "integers >= -1")
        legs = pd.DataFrame({"intent": iid, "rollup": rollup_of_pool[pool]})[iid >= 0]
        g = legs.groupby("intent")["rollup"]
        bad = (g.size() != 2) | (g.nunique() != 2)
        if bad.any():
            problems.append(("flow.intent", f"intents {bad[bad].index[:5].astype(int).tolist()}"
                             " need exactly two legs, on pools of two different rollups"))
        if "informed" in df:
            check("informed", ~((iid >= 0) & (df["informed"].to_numpy() == 1)),
                  "false on legs of cross-rollup intents (a leg keeps its side)")
        if problems:
            raise ConfigError(problems)
    if "rollup" in df:
        names = [r.name for r in scn.rollups]
        given = df["rollup"].map(lambda v: names.index(v) if v in names else v).to_numpy()
        check("rollup", given == rollup_of_pool[pool], "the rollup of each row's pool")
        if problems:
            raise ConfigError(problems)
    out = pd.DataFrame({"submit_time": df["submit_time"].astype(float).to_numpy()})
    if "t_seq" in df and "t_pub" in df:
        out["t_seq"] = df["t_seq"].astype(float).to_numpy()
        out["t_pub"] = df["t_pub"].astype(float).to_numpy()
    else:
        out["t_seq"], out["t_pub"] = draw_latencies(scn, out["submit_time"].to_numpy(), rng)
    out["rollup"] = rollup_of_pool[pool]
    out["pool"] = pool
    out["direction"] = df["direction"].astype(np.int8).to_numpy()
    out["amount_in"] = df["amount_in"].astype(float).to_numpy()
    out["tolerance"] = df["tolerance"].astype(float).to_numpy()
    for c, d in DEFAULTS.items():
        out[c] = df[c].to_numpy() if c in df else d
    out["informed"] = out["informed"].astype(bool)
    cols = list(FLOW_COLUMNS)
    if "intent" in df:
        out["intent"] = df["intent"].astype(np.int64).to_numpy()
        # legs numbered in the order the table gives them (a generated table keeps its own)
        out["leg"] = (df["leg"].astype(np.int64).to_numpy() if "leg" in df else
                      np.where(out["intent"] >= 0, out.groupby("intent").cumcount(), 0))
        cols += ["intent", "leg"]
    if "min_out" in df:
        out["min_out"] = df["min_out"].astype(float).to_numpy()
        cols.append("min_out")
    return out.sort_values("submit_time", kind="stable", ignore_index=True)[cols]


def load_table(source) -> pd.DataFrame:
    """Read an order-flow table (CSV or Parquet, or a DataFrame passed through) unvalidated."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError([("flow", f"no order-flow file at {str(path)!r}")])
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    raise ConfigError([("flow", f"got {path.suffix!r}; expected a .csv or .parquet file")])

import dataclasses

import numpy as np
import pandas as pd
import pytest

import mevlab as ml
from mevlab import ConfigError


def test_generated_flow_has_the_documented_columns(small):
    res = ml.simulate(small, "fcfs", 0)
    assert set(ml.flow.FLOW_COLUMNS) <= set(res.flow.columns)
    f = res.flow
    assert (f["t_seq"] > f["submit_time"]).all() and (f["t_pub"] > f["submit_time"]).all()
    assert f["tolerance"].isin(small.users.tolerances).all()
    assert (f["amount_in"] > 0).all()


def test_poisson_rate_per_rollup(preset):
    scn = dataclasses.replace(preset, duration=2000.0)
    f = ml.simulate(scn, "fcfs-private", 1).flow
    share = scn.users.cross_share
    assert share > 0
    first = f[f["leg"] == 0]
    for i, r in enumerate(scn.rollups):
        # single users, and cross-rollup intents starting on the rollup, take their shares
        for rows, part in ((first["intent"] < 0, 1.0 - share), (first["intent"] >= 0, share)):
            expected = scn.users.rate * r.activity * scn.duration * part
            n = int((rows & (first["rollup"] == i)).sum())
            assert abs(n - expected) < 5 * np.sqrt(expected), (r.name, n, expected)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_replaying_a_generated_flow_reproduces_the_run(small, tmp_path, fmt):
    res = ml.simulate(small, "priority", 5)
    path = tmp_path / f"flow.{fmt}"
    getattr(res.flow, f"to_{fmt}")(path, index=False)
    again = ml.simulate(small, "priority", 5, flow=path)
    assert again.raw_fills.tobytes() == res.raw_fills.tobytes()


def _flow(small):
    return ml.simulate(small, "fcfs", 0).flow[["submit_time", "pool", "direction", "amount_in",
                                                 "tolerance"]].copy()


def test_replay_missing_column(small):
    with pytest.raises(ConfigError, match="flow.tolerance.*required column"):
        ml.simulate(small, "fcfs", 0, flow=_flow(small).drop(columns="tolerance"))


def test_replay_nan_names_column_and_row(small):
    f = _flow(small)
    f.loc[3, "amount_in"] = np.nan
    with pytest.raises(ConfigError, match=r"flow.amount_in.*rows \[3\]"):
        ml.simulate(small, "fcfs", 0, flow=f)


def test_replay_out_of_range_values(small):
    f = _flow(small)
    f.loc[0, "pool"] = 99
    f.loc[1, "tolerance"] = 1.5
    with pytest.raises(ConfigError) as ei:
        ml.simulate(small, "fcfs", 0, flow=f)
    assert [p[0] for p in ei.value.problems] == ["flow.pool", "flow.tolerance"]


def test_replay_accepts_named_directions_and_explicit_limits(small):
    f = _flow(small).head(50)
    f["direction"] = np.where(f["direction"] == 0, "sell_x", "sell_y")
    f["min_out"] = 0.0
    res = ml.simulate(small, "fcfs-private", 0, flow=f)
    users = res.fills[res.fills["sender_kind"] == "user"]
    assert len(users) == 50 and (users["status"] == "executed").all()


def test_replay_bad_file(tmp_path, small):
    with pytest.raises(ConfigError, match="no order-flow file"):
        ml.simulate(small, "fcfs", 0, flow=tmp_path / "missing.csv")
    p = tmp_path / "f.json"
    p.write_text("{}")
    with pytest.raises(ConfigError, match="csv or .parquet"):
        ml.simulate(small, "fcfs", 0, flow=p)


def test_replay_direction_names(small):
    f = _flow(small)
    f["direction"] = f["direction"].map({0: "sell_x", 1: "bogus"})
    with pytest.raises(ConfigError, match="flow.direction"):
        ml.simulate(small, "fcfs", 0, flow=f)
    assert isinstance(f, pd.DataFrame)


@pytest.mark.parametrize("col, value, field", [
    ("priority_fee", np.inf, "flow.priority_fee"),
    ("amount_in", np.inf, "flow.amount_in"),
    ("amount_in", "lots", "flow.amount_in"),
    ("t_seq", np.inf, "flow.t_seq"),
    ("informed", "no", "flow.informed"),
])
def test_replay_rejects_non_finite_and_unreadable_values(small, col, value, field):
    f = ml.simulate(small, "fcfs", 0).flow.copy()
    f[col] = f[col].astype(object)
    f.loc[2, col] = value
    with pytest.raises(ConfigError, match=field):
        ml.simulate(small, "fcfs", 0, flow=f)


def test_replay_latency_columns_come_together_and_are_bounded(small):
    f = ml.simulate(small, "fcfs", 0).flow.copy()
    with pytest.raises(ConfigError, match="flow.t_pub.*together"):
        ml.simulate(small, "fcfs", 0, flow=f.drop(columns="t_pub"))
    f.loc[0, "t_seq"] = f.loc[0, "submit_time"] + 1e5
    with pytest.raises(ConfigError, match=r"flow.t_seq.*rows \[0\]"):
        ml.simulate(small, "fcfs", 0, flow=f)


def test_tolerance_weights_must_be_finite(preset):
    with pytest.raises(ConfigError, match="tolerance_weights"):
        dataclasses.replace(preset.users, tolerance_weights=(1.0, np.inf, 1.0, 1.0))
    with pytest.raises(ConfigError, match="tolerance_weights"):
        dataclasses.replace(preset.users, tolerance_weights=(1e308, 1e308, 1.0, 1.0))

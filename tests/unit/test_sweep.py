"""ml.sweep: the grid, the seeds, determinism across backends, the cache, the CLI (issue 7)."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

import mevlab as ml
from mevlab.experiments import sweeps as sw


@pytest.fixture(scope="module")
def tiny():
    return dataclasses.replace(ml.Scenario.preset("superchain"), duration=2.0)


GRID_200 = {"latency.user_to_sequencer": list(np.round(np.linspace(0.02, 0.5, 10), 3)),
            "users.size_median": [float(v) for v in np.linspace(200.0, 4000.0, 20)]}


@pytest.fixture(scope="module")
def serial(tiny):
    return ml.sweep(tiny, GRID_200, ["fcfs"], seeds=1, workers=1, cache=False, progress=False)


def test_the_grid_is_swept_with_one_seed_per_cell_and_seed(tiny):
    df = ml.sweep(tiny, {"users.cross_share": [0.0, 0.2], "rollups.1.block_time": [1.0, 4.0]},
                  ["fcfs", "priority"], seeds=2, workers=1, cache=False, progress=False)
    assert len(df) == 4 * 2 * 2
    assert list(df.columns[:7]) == ["cell", "policy", "seed", "entropy", "spawn_key",
                                    "users.cross_share", "rollups.1.block_time"]
    # the last grid key varies fastest; every cell and seed has its own spawn key, shared
    # by the policies (common random numbers)
    assert df.groupby("cell")[["users.cross_share", "rollups.1.block_time"]].nunique().max().max() == 1
    assert df["spawn_key"].nunique() == 4 * 2
    same = df.groupby("spawn_key")["n_user_tx"].nunique()
    assert (same == 1).all()
    # the swept values reached the runs
    assert df.loc[df["users.cross_share"] == 0.0, "cross_intents"].eq(0).all()
    assert df.loc[df["users.cross_share"] == 0.2, "cross_intents"].gt(0).all()


def test_any_row_reruns_alone_from_its_logged_seed(tiny):
    df = ml.sweep(tiny, {"users.tolerances": [[0.001], [0.03]],
                         "users.tolerance_weights": [[1.0]]}, ["priority"], seeds=[3, 7],
                  workers=1, cache=False, progress=False, entropy=11)
    for _, row in df.iterrows():
        res = sw.rerun(tiny, row, df.attrs["grid"])
        s = res.summary().iloc[0]
        for col in ("mev_total", "user_cost", "n_user_tx", "revert_rate"):
            assert s[col] == row[col]


def test_local_workers_give_the_serial_table_bit_for_bit(tiny, serial):
    two = ml.sweep(tiny, GRID_200, ["fcfs"], seeds=1, workers=2, cache=False, progress=False)
    pd.testing.assert_frame_equal(two, serial, check_exact=True)


def test_a_200_cell_sweep_on_a_dask_local_cluster_matches_the_local_one(tiny, serial):
    assert serial["cell"].nunique() == 200
    dask = ml.sweep(tiny, GRID_200, ["fcfs"], seeds=1, backend="dask", workers=2, cache=False,
                    progress=False)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)


def test_a_finished_sweep_is_read_from_the_cache_not_recomputed(tiny, tmp_path, monkeypatch):
    grid = {"users.cross_share": [0.0, 0.1]}
    first = ml.sweep(tiny, grid, ["fcfs", "fcfs-private"], seeds=2, workers=1, out=tmp_path,
                     progress=False)
    assert first.attrs["computed"] == 8 and first.attrs["cached"] == 0

    def boom(*args):
        raise AssertionError("a cached run was recomputed")
    monkeypatch.setattr(sw, "_run_one", boom)
    again = ml.sweep(tiny, grid, ["fcfs", "fcfs-private"], seeds=2, workers=1, out=tmp_path,
                     progress=False)
    assert again.attrs["computed"] == 0 and again.attrs["cached"] == 8
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    # the file carries scenario, grid, seeds and versions
    back = ml.read_sweep(tmp_path / "sweep.parquet")
    pd.testing.assert_frame_equal(back, first, check_exact=True)
    assert back.attrs["grid"] == {"users.cross_share": [0.0, 0.1]}
    assert back.attrs["seeds"] == [0, 1] and "numba" in back.attrs["versions"]
    assert ml.Scenario.from_toml(back.attrs["scenario_toml"]) == tiny
    # a new code version invalidates every cached run
    monkeypatch.setattr(sw, "code_version", lambda: "another version")
    with pytest.raises(AssertionError, match="recomputed"):
        ml.sweep(tiny, grid, ["fcfs"], seeds=1, workers=1, out=tmp_path, progress=False)


def test_bad_sweeps_name_the_field(tiny):
    with pytest.raises(ml.ConfigError, match=r"grid.users.nope.*no field 'nope'"):
        ml.sweep(tiny, {"users.nope": [1]}, progress=False)
    with pytest.raises(ml.ConfigError, match=r"users.cross_share=2.*expected a number in"):
        ml.sweep(tiny, {"users.cross_share": [0.1, 2]}, progress=False)
    with pytest.raises(ml.ConfigError, match=r"grid.rollups.9.*index"):
        ml.sweep(tiny, {"rollups.9.block_time": [1.0]}, progress=False)
    with pytest.raises(ml.ConfigError, match="backend"):
        ml.sweep(tiny, {}, backend="spark", progress=False)
    with pytest.raises(ml.ConfigError, match="grid.topology"):
        ml.sweep(tiny, {"topology": []}, progress=False)
    custom = dataclasses.replace(ml.policies.get_policy("fcfs"), visibility="private")
    with pytest.raises(ml.ConfigError, match=r"policies\[1\]"):
        ml.sweep(tiny, {}, ["fcfs", custom], progress=False)
    with pytest.raises(ml.ConfigError, match="seeds"):
        ml.sweep(tiny, {}, seeds=2.5, progress=False)


def test_the_command_line_sweep_writes_parquet_and_reuses_its_cache(tmp_path, capsys):
    from mevlab.cli import main
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('preset = "superchain"\npolicies = ["fcfs", "priority"]\nseeds = 2\n'
                   '[set]\nduration = 2.0\n[grid]\n"users.cross_share" = [0.0, 0.2]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(cfg), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert "8 runs (8 computed" in capsys.readouterr().out
    df = ml.read_sweep(out / "sweep.parquet")
    assert len(df) == 8 and set(df["users.cross_share"]) == {0.0, 0.2}
    assert main(["sweep", str(cfg), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert "8 runs (0 computed, 8 from the cache)" in capsys.readouterr().out
    cfg.write_text('preset = "superchain"\nseedz = 2\n')
    assert main(["sweep", str(cfg), "--out", str(out)]) == 2
    assert "config.seedz" in capsys.readouterr().err
    cfg.write_text('preset = "superchain"\n[set]\n"users.nope" = 1\n')
    assert main(["sweep", str(cfg), "--out", str(out)]) == 2
    assert "config.set.users.nope" in capsys.readouterr().err

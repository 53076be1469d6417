import json

import pandas as pd
import pytest

from mevlab import cli


def test_compare_writes_everything(tmp_path, capsys):
    out = tmp_path / "res"
    rc = cli.main(["compare", "--preset", "superchain", "--seeds", "2", "--quiet",
                   "--policies", "fcfs,priority", "--out", str(out)])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "meta.json", "scenario.toml", "summary.csv", "summary.parquet", "value_flow.png"]
    df = pd.read_parquet(out / "summary.parquet")
    assert len(df) == 4 and set(df["policy"]) == {"fcfs", "priority"}
    import pyarrow.parquet as pq
    meta = json.loads(pq.read_schema(out / "summary.parquet").metadata[b"mevlab"])
    assert meta["seeds"] == [0, 1] and "numba" in meta["versions"]
    text = capsys.readouterr().out
    assert "fcfs" in text and "priority" in text and "to sequencer" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_arguments_write_nothing(tmp_path, capsys):
    out = tmp_path / "res"
    rc = cli.main(["compare", "--preset", "nope", "--seeds", "0", "--policies", "fcfs,xyz",
                   "--out", str(out)])
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "--seeds" in err and "--policies" in err and "preset" in err


def test_compare_with_the_router_searcher(tmp_path, capsys):
    out = tmp_path / "res"
    rc = cli.main(["compare", "--preset", "superchain", "--seeds", "1", "--quiet",
                   "--policies", "fcfs-private", "--searcher", "dual", "--inventory", "0",
                   "--out", str(out)])
    assert rc == 0
    df = pd.read_parquet(out / "summary.parquet")
    assert df["searcher"].tolist() == ["dual"] and df["router_failures"].tolist() == [0]
    assert df["mev_arbitrage"].iloc[0] > 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["searcher"] == "dual" and meta["router_inventory"] == 0.0
    assert 'router_inventory = 0.0' in (out / "scenario.toml").read_text()
    assert "dual searcher (inventory 0)" in capsys.readouterr().out


def test_bad_router_options_name_the_flag(tmp_path, capsys):
    rc = cli.main(["compare", "--preset", "superchain", "--inventory", "-1",
                   "--out", str(tmp_path / "res")])
    assert rc == 2 and not (tmp_path / "res").exists()
    err = capsys.readouterr().err
    assert "--inventory: got -1.0; expected a number in [0.0, inf)" in err


def test_failure_while_writing_leaves_no_partial_output(tmp_path, monkeypatch):
    import mevlab

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mevlab, "plot_value_flow", boom)
    out = tmp_path / "res"
    with pytest.raises(RuntimeError):
        cli.main(["compare", "--seeds", "1", "--quiet", "--out", str(out)])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_replay_file_fails_before_any_work(tmp_path, capsys):
    flow = tmp_path / "flow.csv"
    flow.write_text("submit_time,pool\n0.1,0\n")
    out = tmp_path / "res"
    rc = cli.main(["compare", "--seeds", "1", "--flow", str(flow), "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert "flow.direction" in capsys.readouterr().err


def test_presets_command(capsys):
    assert cli.main(["presets"]) == 0
    assert "superchain" in capsys.readouterr().out


def test_sealed_command_writes_curves_and_rejects_bad_bonds(tmp_path, capsys):
    from mevlab.cli import main
    bad = tmp_path / "bad"
    assert main(["sealed", "--bonds", "0,-1", "--out", str(bad), "--quiet"]) == 2
    assert "--bonds" in capsys.readouterr().err and not bad.exists()
    scn = tmp_path / "short.toml"
    import dataclasses
    import mevlab as ml
    dataclasses.replace(ml.Scenario.preset("superchain"), duration=40.0).to_toml(scn)
    out = tmp_path / "out"
    assert main(["sealed", "--scenario", str(scn), "--bonds", "0,5", "--seeds", "1",
                 "--out", str(out), "--quiet"]) == 0
    import pandas as pd
    df = pd.read_parquet(out / "sealed_curves.parquet")
    assert set(df["knob"]) == {"reference", "bond", "colluding", "uptime"}
    assert (out / "sealed_curves.png").stat().st_size > 10_000


def test_batch_command_writes_the_competition_curves(tmp_path, capsys):
    import dataclasses
    import mevlab as ml
    import pandas as pd
    from mevlab.cli import main
    assert main(["batch", "--arbitrageurs", "0", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "--arbitrageurs" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    scn = tmp_path / "short.toml"
    dataclasses.replace(ml.Scenario.preset("superchain"), duration=40.0).to_toml(scn)
    out = tmp_path / "out"
    assert main(["batch", "--scenario", str(scn), "--arbitrageurs", "1,4", "--seeds", "1",
                 "--out", str(out), "--quiet"]) == 0
    df = pd.read_parquet(out / "batch_competition.parquet")
    assert sorted(df["n_arbitrageurs"].unique()) == [1, 4]
    assert set(df["policy"]) == {"batch_auction", "batch_auction-fm"}
    assert (out / "batch_competition.png").stat().st_size > 10_000

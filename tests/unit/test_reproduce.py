"""mevlab reproduce: every figure of the manifest at smoke size (issue 7)."""
import json

import pandas as pd

from mevlab.cli import main
from mevlab.reproduce import names


def test_reproduce_all_fast_writes_every_figure_and_the_manifest(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["reproduce", "--all", "--fast", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest) == sorted(names())
    for name in names():
        assert (out / f"{name}.png").stat().st_size > 10_000, name
        assert len(pd.read_csv(out / f"{name}.csv")) > 0, name
        assert manifest[name]["fast"] is True and "numba" in manifest[name]["versions"]
    # the published results carry their theory next to the engine's numbers
    lvr = pd.read_csv(out / "lvr.csv")
    assert (abs(lvr["simulated"] / lvr["theory"] - 1) < 0.1).all()
    sandwich = pd.read_csv(out / "sandwich.csv")
    assert ((sandwich["simulated"] - sandwich["theory"]).abs() < 1e-6 * sandwich["theory"]).all()


def test_reproduce_names_what_it_can_make(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path)]) == 2
    assert "lvr" in capsys.readouterr().err
    assert main(["reproduce", "nope", "--out", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err

import json

import pytest

from .golden import PATH, compute


def test_small_run_matches_golden_outputs():
    golden = json.loads(PATH.read_text())["values"]
    now = compute()
    for pol, vals in golden.items():
        for f, v in vals.items():
            assert now[pol][f] == pytest.approx(v, rel=1e-9, abs=1e-9), (pol, f)

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mevlab


def test_editing_a_callee_module_invalidates_the_engine_cache(tmp_path):
    # Numba alone would keep the engine's stale machine code when only amm/nb.py changes
    pkg = tmp_path / "mevlab"
    shutil.copytree(Path(mevlab.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    run = textwrap.dedent("""
        import dataclasses, mevlab as ml
        scn = dataclasses.replace(ml.Scenario.preset("superchain"), duration=20.0)
        print(ml.simulate(scn, "fcfs-private", 1).summary().loc[0, "user_cost"])
    """)

    def user_cost():
        out = subprocess.run([sys.executable, "-c", run], cwd=tmp_path, capture_output=True,
                             text=True, check=True,
                             env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
        return float(out.stdout.split()[-1])

    # presets are looked up next to the package
    shutil.copytree(Path(mevlab.__file__).parent.parent / "data", tmp_path / "data")
    before = user_cost()
    assert user_cost() == before                       # cached run, same answer
    amm = pkg / "amm" / "nb.py"
    amm.write_text(amm.read_text().replace("return ga * reserve_out / (reserve_in + ga)",
                                           "return 0.5 * ga * reserve_out / (reserve_in + ga)"))
    assert user_cost() != before

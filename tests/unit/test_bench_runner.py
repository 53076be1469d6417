"""The benchmark runner works (a smoke run; no timing is asserted in the test suite)."""
import json

from benchmarks import run as bench


def test_the_runner_measures_every_number_it_reports(tmp_path):
    res = bench.run(configs=bench.SMOKE, rounds=1, policies=("fcfs", "batch_auction"),
                    progress=lambda s: None)
    (row,) = res["configs"]
    assert set(row["policies"]) == {f"{p}|{s}" for p in ("fcfs", "batch_auction")
                                    for s in ("off", "on")}
    for r in row["policies"].values():
        assert r["orders"] > 1000 and r["orders_s"] > 0 and r["memory_mb"] > 0
    assert row["sort_keys_s"] > 0 and res["peak_rss_mb"] > 0
    assert set(res["twin"]) == set(row["policies"])      # parity checked for each
    assert all(t["speedup"] > 0 for t in res["twin"].values())
    text = bench.format_table(res)
    assert "np.sort" in text and "twin" in text
    json.dumps(res)


def test_mevlab_bench_runs_the_runner(tmp_path, capsys, monkeypatch):
    from mevlab.cli import main
    monkeypatch.setattr(bench, "QUICK", bench.SMOKE)
    monkeypatch.setattr(bench, "POLICIES", ("fcfs",))
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out)]) == 0
    assert "fcfs" in capsys.readouterr().out and json.loads(out.read_text())["quick"]

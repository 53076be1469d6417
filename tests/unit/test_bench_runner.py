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
    # the stream engine on its default threads and on one (batch auctions with arbitrageurs
    # are the record engine's alone)
    for tag in ("fcfs|off", "fcfs|on", "batch_auction|off"):
        r = row["policies"][tag]
        assert r["stream_orders_s"] > 0 and r["stream1_orders_s"] > 0
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


def test_targets_verdicts():
    """The runner's verdicts on a made-up result: ratios to np.sort, linearity, pools."""
    def row(orders, pools, per_block, fcfs, sort=100.0):
        return {"orders": orders, "pools": pools, "per_block": per_block, "sort_keys_s": sort,
                "threads": 2,
                "policies": {"fcfs|off": {"stream_orders_s": fcfs,
                                          "stream1_orders_s": fcfs / 1.6},
                             "fcfs|on": {"stream_orders_s": fcfs / 4}}}
    res = {"twin": {"fcfs|off": {"speedup": 25.0, "stream_speedup": 19.0}},
           "configs": [row(10**5, 64, 1000, 60.0), row(10**6, 64, 1000, 55.0),
                       row(10**7, 64, 1000, 45.0), row(10**6, 1, 1000, 30.0),
                       row(10**6, 256, 1000, 20.0)]}
    got = {name: (round(v, 4), ok) for name, v, ok in bench.targets(res)}
    assert got["fcfs: >= 0.5 x np.sort, searchers off (10,000,000 orders, 64 pools, "
               "1,000/block, 2 threads)"] == (0.45, False)
    assert got["fcfs: the same on one thread (for reference)"] == (round(0.45 / 1.6, 4), None)
    assert got["fcfs: searchers on >= 0.2 x off"] == (0.25, True)
    assert got["fcfs|off records: >= 20 x its twin"] == (25.0, True)
    assert got["fcfs|off stream: >= 20 x its twin"] == (19.0, False)
    assert got["fcfs: cost per order (off) 100,000 -> 10,000,000 within 1.5x of linear"] \
        == (round(60 / 45, 4), True)
    # pools sorted by count whatever the row order: 1 pool 30, 64 pools 55, 256 pools 20
    assert got["fcfs: cost per order (off) at 256 pools <= 1.5 x at 1"] == (1.5, True)
    assert got["fcfs: throughput (off) over 1-256 pools, max / min"] == (2.75, None)

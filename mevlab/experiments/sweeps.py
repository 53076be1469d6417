"""``sweep``: policies x a grid of scenario parameters x seeds, locally or on Dask, cached.

Every cell of the grid and every seed get one ``SeedSequence`` child,
``SeedSequence(entropy, spawn_key=(cell, seed))``, shared by the policies (common
random numbers: every policy sees the same prices and flow in a cell and seed). The
child is logged in the output, so any row re-runs alone::

    mevlab.experiments.sweeps.rerun(scn, row, df.attrs["grid"])   # its Result

Runs are independent, so the table is the same bit for bit whatever the backend
and the number of workers.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Scenario
from ..errors import ConfigError
from ..policies import get_policy
from .simulate import _check_scenario, simulate, versions

#: columns every sweep row starts with, before the swept parameters and the summary
KEY_COLUMNS = ("cell", "policy", "seed", "entropy", "spawn_key")


def set_path(d: dict, path: str, value, where: str = "grid"):
    """Set ``value`` at the dotted ``path`` of a scenario dict (list items by index),
    e.g. ``"users.cross_share"`` or ``"rollups.0.block_time"``; returns ``d``. Errors name
    the field as ``where.path``."""
    keys = path.split(".")
    node = d
    for i, k in enumerate(keys[:-1]):
        node = _child(node, k, path, keys[:i + 1], where)
    last = keys[-1]
    if isinstance(node, list):
        node[_index(node, last, path, where)] = value
    elif isinstance(node, dict):
        if last not in node:
            raise ConfigError([(f"{where}.{path}", f"no field {last!r} there; accepted: "
                                f"{sorted(node)}")])
        node[last] = value
    else:
        raise ConfigError([(f"{where}.{path}", "not a field of the scenario")])
    return d


def _child(node, k, path, upto, where):
    if isinstance(node, list):
        return node[_index(node, k, path, where)]
    if isinstance(node, dict) and k in node and isinstance(node[k], (dict, list)):
        return node[k]
    accepted = sorted(node) if isinstance(node, dict) else "list indices"
    raise ConfigError([(f"{where}.{path}", f"{'.'.join(upto)!r} is not a table or list of the "
                        f"scenario; accepted: {accepted}")])


def _index(node, k, path, where):
    if not k.isdigit() or int(k) >= len(node):
        raise ConfigError([(f"{where}.{path}", f"got index {k!r}; expected an integer in "
                            f"[0, {len(node) - 1}]")])
    return int(k)


def cell_scenarios(scn: Scenario, grid: dict) -> list[tuple[dict, Scenario]]:
    """The Cartesian product of ``grid`` applied to ``scn``: ``[(values, scenario), ...]`` in
    the order of the grid's keys (the last varies fastest). Every cell is validated."""
    if not isinstance(grid, dict):
        raise ConfigError([("grid", f"got {type(grid).__name__}; expected a dict of field "
                                    "path -> list of values")])
    keys = list(grid)
    problems = []
    for k in keys:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) == 0:
            problems.append((f"grid.{k}", f"got {v!r}; expected a non-empty list of values"))
    if problems:
        raise ConfigError(problems)
    base = scn.to_dict()
    out = []
    for values in itertools.product(*(list(grid[k]) for k in keys)):
        d = copy.deepcopy(base)
        for k, v in zip(keys, values):
            set_path(d, k, v.item() if isinstance(v, np.generic) else v)
        try:
            cell = Scenario.from_dict(d)
        except ConfigError as e:
            raise ConfigError([(f"grid ({', '.join(f'{k}={v!r}' for k, v in zip(keys, values))})"
                                f": {f}", m) for f, m in e.problems]) from None
        out.append((dict(zip(keys, values)), cell))
    return out


def _run_one(scn_dict: dict, policy: str, entropy: int, spawn_key: tuple) -> dict:
    """One run (picklable for worker processes): the summary row as plain Python values."""
    scn = Scenario.from_dict(scn_dict)
    res = simulate(scn, policy, np.random.SeedSequence(entropy, spawn_key=spawn_key))
    row = res.summary().iloc[0].to_dict()
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


def _key(scn: Scenario, policy: str, entropy: int, spawn_key, code: str) -> str:
    blob = json.dumps([scn.hash(), policy, int(entropy), list(spawn_key), code])
    return hashlib.sha256(blob.encode()).hexdigest()


def code_version() -> str:
    """What a cached run depends on besides its inputs: mevlab's sources and the versions
    of the numerical stack (a change of either invalidates the cache)."""
    from .._cache import sources_hash
    v = versions()
    return hashlib.sha256(json.dumps([sources_hash(), v], sort_keys=True).encode()).hexdigest()


def warm(scn: Scenario, policies) -> None:
    """Compile (or load) every kernel the policies need, once, in this process, so that
    worker processes load them from Numba's on-disk cache instead of compiling."""
    import dataclasses
    small = dataclasses.replace(scn, duration=min(scn.duration, 5.0))
    for p in policies:
        simulate(small, p, 0).summary()


def sweep(scn: Scenario, grid: dict | None = None, policies=("fcfs",), seeds=4, *,
          backend: str = "local", scheduler: str | None = None, workers: int | None = None,
          out=None, cache=None, entropy: int = 0, progress: bool | None = None) -> pd.DataFrame:
    """Run every policy on every cell of a parameter grid and every seed.

    Parameters
    ----------
    scn : Scenario
        The base scenario; each grid cell changes some of its fields.
    grid : dict, optional
        Dotted field path -> list of values, e.g. ``{"users.cross_share": [0, 0.1],
        "rollups.0.block_time": [1, 2]}``; the Cartesian product is swept.
    policies : sequence of str
    seeds : int or sequence of int
        Seed indices (an int ``n`` means ``0..n-1``); each cell and seed index gets the
        ``SeedSequence(entropy, spawn_key=(cell, seed))``.
    backend : {"local", "dask"}
        ``local``: ``workers`` processes on this machine (default all cores; 1 runs in this
        process). ``dask``: a ``dask.distributed`` client, on a ``LocalCluster`` of
        ``workers`` processes, or on the cluster at ``scheduler`` (``"tcp://host:port"``).
    out : path, optional
        Write ``sweep.parquet`` there (scenario, grid, seeds and versions in its metadata).
    cache : path or bool, optional
        Directory of finished runs, keyed by the cell's scenario hash, policy, seed and the
        code version (:func:`code_version`): a re-run of a finished sweep reads them back.
        Default ``out/cache`` when ``out`` is given; ``False`` disables it.
    entropy : int
        Root entropy of the seeds.
    progress : bool, optional
        Progress bar (default: on a terminal, for more than 4 runs).

    Returns
    -------
    DataFrame
        Tidy: one row per cell x policy x seed: ``cell``, ``policy``, ``seed``,
        ``entropy``, ``spawn_key``, one column per swept path, then the columns of
        :meth:`Result.summary`. ``attrs`` carry the scenario, grid, seeds and versions.
    """
    _check_scenario(scn)
    grid = dict(grid or {})
    problems = []
    if isinstance(policies, str):
        policies = [policies]
    pols = []
    for i, p in enumerate(policies):
        pol = get_policy(p)
        # workers run policies by name: a modified Policy object would silently become the
        # registered one (and be cached under its name)
        if not isinstance(p, str) and pol != get_policy(pol.name):
            problems.append((f"policies[{i}]", f"a Policy object differing from the registered "
                             f"{pol.name!r}; sweeps run registered policies by name (register "
                             "yours with mevlab.policies.register under a new name)"))
        pols.append(pol.name)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    elif isinstance(seeds, (str, bytes, float)) or not hasattr(seeds, "__iter__"):
        seeds = [seeds]
    else:
        seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0
                        for s in seeds):
        problems.append(("seeds", f"got {seeds!r}; expected a positive count or non-negative "
                                  "integers"))
    if backend not in ("local", "dask"):
        problems.append(("backend", f"got {backend!r}; expected 'local' or 'dask'"))
    if scheduler is not None and backend != "dask":
        problems.append(("scheduler", "only with backend='dask'"))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= 1024):
        problems.append(("workers", f"got {workers!r}; expected an integer in [1, 1024]"))
    if isinstance(entropy, bool) or not isinstance(entropy, (int, np.integer)) or entropy < 0:
        problems.append(("entropy", f"got {entropy!r}; expected a non-negative integer"))
    if problems:
        raise ConfigError(problems)
    cells = cell_scenarios(scn, grid)
    out = None if out is None else Path(out)
    cache_dir = (out / "cache" if out is not None else None) if cache in (None, True) else \
        (None if cache is False else Path(cache))
    code = code_version()
    jobs = [(c, p, s) for c in range(len(cells)) for p in pols for s in seeds]
    keys = [_key(cells[c][1], p, entropy, (c, s), code) for c, p, s in jobs]
    rows: dict[int, dict] = {}
    if cache_dir is not None:
        for i, k in enumerate(keys):
            f = cache_dir / f"{k}.json"
            if f.is_file():
                rows[i] = json.loads(f.read_text())
    todo = [i for i in range(len(jobs)) if i not in rows]
    t0 = time.perf_counter()
    if todo:
        args = [(cells[jobs[i][0]][1].to_dict(), jobs[i][1], int(entropy),
                 (jobs[i][0], int(jobs[i][2]))) for i in todo]

        def done(i, row):
            rows[i] = row
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = cache_dir / f".{keys[i]}.{os.getpid()}.tmp"
                tmp.write_text(json.dumps(row))
                tmp.replace(cache_dir / f"{keys[i]}.json")

        bar = _bar(len(todo), f"{scn.name} sweep", progress)
        try:
            _execute(todo, args, done, bar, backend, scheduler, workers,
                     cells[0][1], sorted({jobs[i][1] for i in todo}), keys)
        finally:
            if bar is not None:
                bar.close()
    elapsed = time.perf_counter() - t0
    table = []
    for i, (c, p, s) in enumerate(jobs):
        head = {"cell": c, "policy": p, "seed": int(s), "entropy": int(entropy),
                "spawn_key": f"{c},{s}", **{k: _cell_value(cells[c][0][k]) for k in grid}}
        body = {k: v for k, v in rows[i].items() if k not in ("policy", "seed")}
        table.append({**head, **body})
    df = pd.DataFrame(table)
    df.attrs.update({"scenario": scn.name, "scenario_hash": scn.hash(),
                     "scenario_toml": scn.to_toml(), "grid": {k: list(map(_plain, v))
                                                              for k, v in grid.items()},
                     "policies": pols, "seeds": [int(s) for s in seeds],
                     "entropy": int(entropy), "versions": versions(), "code": code,
                     "computed": len(todo), "cached": len(jobs) - len(todo),
                     "elapsed_s": round(elapsed, 3)})
    if out is not None:
        write_parquet(df, out / "sweep.parquet")
    return df


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _cell_value(v):
    """A swept value as a table cell: scalars as they are, lists as JSON text."""
    v = _plain(v)
    return json.dumps(v) if isinstance(v, (list, tuple, dict)) else v


def _bar(total, desc, progress):
    if progress is None:
        progress = total > 4 and sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="run")


def _execute(todo, args, done, bar, backend, scheduler, workers, scn0, policies, run_keys):
    tick = (lambda: bar.update(1)) if bar is not None else (lambda: None)
    if backend == "local" and (workers == 1 or len(todo) == 1):
        for i, a in zip(todo, args):
            done(i, _run_one(*a))
            tick()
        return
    warm(scn0, policies)      # compile once here; workers load the kernels from the cache
    if backend == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        n = workers or os.cpu_count() or 1
        # fork on Linux: workers inherit the warmed kernels and need no
        # ``if __name__ == "__main__"`` guard in the caller's script (elsewhere it is unsafe)
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                          else "spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as ex:
            futures = {ex.submit(_run_one, *a): i for i, a in zip(todo, args)}
            try:
                for f in as_completed(futures):
                    done(futures[f], f.result())     # finished runs are cached as they come
                    tick()
            except BaseException:
                ex.shutdown(wait=False, cancel_futures=True)
                raise
        return
    from dask.distributed import Client, LocalCluster, as_completed as dask_completed
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        # the workers must run the code the cache keys name
        theirs = set(client.run(code_version).values())
        if theirs - {code_version()}:
            raise ConfigError([("scheduler", "its workers run another mevlab or numerical "
                                "stack than this process (code versions differ); install the "
                                "same versions there")])
        # task keys name their inputs: a task of another sweep on a shared scheduler with the
        # same key is the same run
        futures = client.map(_run_one, *zip(*args),
                             key=[f"mevlab-run-{run_keys[i]}" for i in todo], pure=False)
        index = {f.key: i for f, i in zip(futures, todo)}
        for f in dask_completed(futures):
            done(index[f.key], f.result())
            tick()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_parquet(df: pd.DataFrame, path) -> None:
    """Write ``df`` to Parquet atomically, its ``attrs`` as JSON in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"mevlab"] = json.dumps(df.attrs, default=str).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table.replace_schema_metadata(md), tmp)
    tmp.replace(path)


def read_sweep(path) -> pd.DataFrame:
    """Read a ``sweep.parquet`` back, with its metadata in ``attrs``."""
    import pyarrow.parquet as pq
    t = pq.read_table(path)
    df = t.to_pandas()
    md = (t.schema.metadata or {}).get(b"mevlab")
    if md:
        df.attrs.update(json.loads(md))
    return df


def rerun(scn: Scenario, row, grid_keys) -> "Result":  # noqa: F821
    """Re-run one logged row of a sweep alone, from its swept values and its seed.

    Parameters
    ----------
    scn : Scenario
        The sweep's base scenario.
    row : mapping
        A row of the sweep's table.
    grid_keys : iterable of str
        The swept paths (``df.attrs["grid"]``).
    """
    d = scn.to_dict()
    for k in grid_keys:
        v = _plain(row[k])
        set_path(d, k, json.loads(v) if isinstance(v, str) and v.startswith(("[", "{")) else v)
    c, s = (int(x) for x in str(row["spawn_key"]).split(","))
    return simulate(Scenario.from_dict(d), row["policy"],
                    np.random.SeedSequence(int(row["entropy"]), spawn_key=(c, s)))

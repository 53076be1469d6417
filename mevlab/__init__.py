"""mevlab: MEV auctions and fair transaction ordering across rollups.

>>> import mevlab as ml
>>> scn = ml.Scenario.preset("superchain")
>>> res = ml.simulate(scn, policy="fcfs", seed=7)
>>> df = ml.compare(scn, policies=["fcfs", "priority"], seeds=range(4))
"""
from ._cache import ensure_fresh_cache

ensure_fresh_cache()   # before any kernel is loaded from the on-disk cache

from . import amm, enums, flow, metrics, policies, searcher  # noqa: E402
from .config import (AssetSpec, LatencySpec, PoolSpec, RollupSpec, Scenario,  # noqa: E402
                     SearcherSpec, UserFlowSpec, list_presets)
from .errors import ConfigError  # noqa: E402
from .experiments import (Result, atomic_vs_nonatomic, compare, leg_risk,  # noqa: E402
                          plot_cross_rollup, plot_sealed_curves, plot_topology, plot_value_flow,
                          read_sweep, sealed_curves, shapley_rollups, simulate, sweep)
from .policies import Policy, check_policy, list_policies  # noqa: E402

__version__ = "0.1.0"

__all__ = ["AssetSpec", "ConfigError", "LatencySpec", "Policy", "PoolSpec", "Result",
           "RollupSpec", "Scenario", "SearcherSpec", "UserFlowSpec", "amm",
           "atomic_vs_nonatomic", "check_policy", "compare", "enums", "flow", "leg_risk",
           "list_policies", "list_presets", "metrics", "plot_cross_rollup", "plot_sealed_curves",
           "plot_topology", "plot_value_flow", "policies", "read_sweep", "sealed_curves",
           "searcher", "shapley_rollups", "simulate", "sweep"]

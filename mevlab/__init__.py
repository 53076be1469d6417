"""mevlab: MEV auctions and fair transaction ordering across rollups.

>>> import mevlab as ml
>>> scn = ml.Scenario.preset("superchain")
>>> res = ml.simulate(scn, policy="fcfs", seed=7)
>>> df = ml.compare(scn, policies=["fcfs", "priority"], seeds=range(4))
"""
from . import amm, flow, metrics, policies, searcher
from .config import (AssetSpec, LatencySpec, PoolSpec, RollupSpec, Scenario, SearcherSpec,
                     UserFlowSpec, list_presets)
from .errors import ConfigError
from .experiments import Result, compare, plot_value_flow, simulate
from .policies import Policy, check_policy, list_policies

__version__ = "0.1.0"

__all__ = ["AssetSpec", "ConfigError", "LatencySpec", "Policy", "PoolSpec", "Result",
           "RollupSpec", "Scenario", "SearcherSpec", "UserFlowSpec", "amm", "check_policy",
           "compare", "flow", "list_policies", "list_presets", "metrics", "plot_value_flow",
           "policies", "searcher", "simulate"]

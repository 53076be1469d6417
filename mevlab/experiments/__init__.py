"""Experiments: simulate, compare, results and figures."""
from .cross import atomic_vs_nonatomic, leg_risk, shapley_rollups
from .figures import plot_cross_rollup, plot_sealed_curves, plot_topology, plot_value_flow
from .result import Result
from .simulate import compare, sealed_curves, simulate, versions
from .sweeps import read_sweep, sweep

__all__ = ["Result", "atomic_vs_nonatomic", "compare", "leg_risk", "plot_cross_rollup",
           "plot_sealed_curves", "plot_topology", "plot_value_flow", "sealed_curves",
           "read_sweep", "shapley_rollups", "simulate", "sweep", "versions"]

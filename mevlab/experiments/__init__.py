"""Experiments: simulate, compare, results and figures."""
from .figures import plot_sealed_curves, plot_value_flow
from .result import Result
from .simulate import compare, sealed_curves, simulate, versions

__all__ = ["Result", "compare", "plot_sealed_curves", "plot_value_flow", "sealed_curves",
           "simulate", "versions"]

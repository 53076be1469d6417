"""Experiments: simulate, compare, results and figures."""
from .figures import plot_value_flow
from .result import Result
from .simulate import compare, simulate, versions

__all__ = ["Result", "compare", "plot_value_flow", "simulate", "versions"]

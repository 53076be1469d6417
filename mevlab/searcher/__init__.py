"""Searchers: closed-form strategies (Numba) used inside the slot loop."""
from .closed_form import Arbitrage, max_frontrun, optimal_arbitrage

__all__ = ["Arbitrage", "max_frontrun", "optimal_arbitrage"]

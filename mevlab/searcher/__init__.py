"""Searchers: closed-form strategies (Numba) used inside the slot loop."""
from .closed_form import Arbitrage, Sandwich, max_frontrun, optimal_arbitrage, optimal_sandwich

__all__ = ["Arbitrage", "Sandwich", "max_frontrun", "optimal_arbitrage", "optimal_sandwich"]

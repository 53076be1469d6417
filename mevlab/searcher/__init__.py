"""Searchers: closed-form strategies (Numba) used inside the slot loop."""
from .closed_form import Arbitrage, Sandwich, max_frontrun, optimal_arbitrage, optimal_sandwich
from .routing import (ConvexRouter, DualRouter, RouteResult, check_certificate,
                      two_pool_arbitrage)

__all__ = ["Arbitrage", "ConvexRouter", "DualRouter", "RouteResult", "Sandwich",
           "check_certificate", "max_frontrun", "optimal_arbitrage", "optimal_sandwich",
           "two_pool_arbitrage"]

"""Constant-product AMM: float swaps, the exact-integer Uniswap v2 twin, closed-form arbitrage."""
from __future__ import annotations

import math

from .exact import get_amount_out_exact
from .nb import amount_out_nb
from ..searcher.closed_form import optimal_arbitrage

__all__ = ["get_amount_out", "get_amount_out_exact", "optimal_arbitrage"]


def get_amount_out(amount_in: float, reserve_in: float, reserve_out: float,
                   fee: float = 0.003) -> float:
    """Float64 swap output, ``g*a*R_out/(R_in + g*a)``, ``g = 1 - fee``.

    Parameters
    ----------
    amount_in : float
        Tendered amount, units of the input token (>= 0).
    reserve_in, reserve_out : float
        Pool reserves, token units (> 0).
    fee : float
        Fee on the input, fraction in [0, 1).
    """
    _check_swap_args(amount_in, reserve_in, reserve_out, fee)
    return float(amount_out_nb(float(amount_in), float(reserve_in), float(reserve_out), float(fee)))


def _check_swap_args(amount_in, reserve_in, reserve_out, fee):
    problems = []
    if not (math.isfinite(amount_in) and amount_in >= 0):
        problems.append(f"amount_in={amount_in!r} must be finite and >= 0")
    for name, v in (("reserve_in", reserve_in), ("reserve_out", reserve_out)):
        if not (math.isfinite(v) and v > 0):
            problems.append(f"{name}={v!r} must be finite and > 0")
    if not (math.isfinite(fee) and 0 <= fee < 1):
        problems.append(f"fee={fee!r} must be in [0, 1)")
    if problems:
        raise ValueError("; ".join(problems))

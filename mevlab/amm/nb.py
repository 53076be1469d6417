"""Float64 constant-product AMM kernels (Uniswap v2 convention: fee on input, kept in pool)."""
import math

from numba import njit


@njit(cache=True)
def amount_out_nb(amount_in, reserve_in, reserve_out, fee):
    """Output of a swap, ``g*a*R_out / (R_in + g*a)`` with ``g = 1 - fee``.

    Units: ``amount_in`` and ``reserve_in`` in the tendered token, result and
    ``reserve_out`` in the received token.
    """
    if amount_in <= 0.0:
        return 0.0
    ga = (1.0 - fee) * amount_in
    return ga * reserve_out / (reserve_in + ga)


@njit(cache=True)
def amount_in_for_out_nb(amount_out, reserve_in, reserve_out, fee):
    """Input needed to receive ``amount_out`` (inverse of :func:`amount_out_nb`); inf if impossible."""
    if amount_out <= 0.0:
        return 0.0
    if amount_out >= reserve_out:
        return math.inf
    return amount_out * reserve_in / ((1.0 - fee) * (reserve_out - amount_out))


@njit(cache=True)
def swap_nb(reserves, pool, direction, amount_in, fee):
    """Execute a swap on ``reserves[pool]`` in place and return the output.

    ``direction`` 0 tenders x (column 0) for y, 1 tenders y for x. The full
    input, fee included, is added to the input reserve.
    """
    i = direction
    o = 1 - direction
    out = amount_out_nb(amount_in, reserves[pool, i], reserves[pool, o], fee)
    reserves[pool, i] += amount_in
    reserves[pool, o] -= out
    return out

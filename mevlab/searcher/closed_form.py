"""Public wrappers around the closed-form searcher kernels."""
from __future__ import annotations

import math
from typing import NamedTuple

from ..enums import Direction
from .nb import best_frontrun_nb, max_frontrun_nb, optimal_arb_nb


class Arbitrage(NamedTuple):
    """Optimal CEX-DEX trade on one pool.

    ``direction`` is a :class:`~mevlab.enums.Direction` (NONE when no trade
    pays); ``amount_in``/``amount_out`` in token units of the tendered and
    received side; ``profit`` in numeraire at the external price.
    """
    direction: Direction
    amount_in: float
    amount_out: float
    profit: float


def _require(cond_by_name):
    bad = [msg for ok, msg in cond_by_name if not ok]
    if bad:
        raise ValueError("; ".join(bad))


def _finite_pos(name, v):
    return (math.isfinite(v) and v > 0, f"{name}={v!r} must be finite and > 0")


def _fee_ok(fee):
    return (math.isfinite(fee) and 0 <= fee < 1, f"fee={fee!r} must be in [0, 1)")


def optimal_arbitrage(reserve_x: float, reserve_y: float, price: float,
                      fee: float = 0.003) -> Arbitrage:
    """Profit-maximising trade that brings a CPMM pool back to an external price.

    Parameters
    ----------
    reserve_x : float
        Reserve of the risky asset ``x`` (token units).
    reserve_y : float
        Reserve of the numeraire ``y`` (token units).
    price : float
        External price of ``x`` in ``y``.
    fee : float
        Fee on the input, fraction in [0, 1).

    Notes
    -----
    After the trade the marginal rate of the trade equals ``price`` and the
    pool's fee-exclusive price ``(y + g*dy)/x'`` equals ``g*price`` (buying x)
    or ``price/g`` (selling x).
    """
    _require([_finite_pos("reserve_x", reserve_x), _finite_pos("reserve_y", reserve_y),
              _finite_pos("price", price), _fee_ok(fee)])
    d, a, o, p = optimal_arb_nb(float(reserve_x), float(reserve_y), float(price), float(fee))
    return Arbitrage(Direction(int(d)), float(a), float(o), float(p))


def max_frontrun(reserve_in: float, reserve_out: float, victim_amount_in: float,
                 victim_min_out: float, fee: float = 0.003) -> float:
    """Largest sandwich front-run that keeps the victim at ``victim_min_out``.

    Parameters
    ----------
    reserve_in, reserve_out : float
        Pool reserves on the victim's input and output side (token units).
    victim_amount_in : float
        Victim's input (units of the input token).
    victim_min_out : float
        Victim's limit (units of the output token).
    fee : float
        Fee on the input, fraction.

    Returns
    -------
    float
        Front-run size in units of the input token; 0 if the victim's limit
        cannot be met even without a front-run.
    """
    _require([_finite_pos("reserve_in", reserve_in), _finite_pos("reserve_out", reserve_out),
              _finite_pos("victim_amount_in", victim_amount_in),
              _finite_pos("victim_min_out", victim_min_out), _fee_ok(fee)])
    return float(max_frontrun_nb(float(reserve_in), float(reserve_out), float(victim_amount_in),
                                 float(victim_min_out), float(fee)))


class Sandwich(NamedTuple):
    """Optimal sandwich: front-run size and profit, both in units of the victim's input token."""
    frontrun: float
    profit: float


def optimal_sandwich(reserve_in: float, reserve_out: float, victim_amount_in: float,
                     victim_min_out: float, fee: float = 0.003) -> Sandwich:
    """Profit-maximising sandwich whose front-run keeps the victim at or above its limit.

    The front-run is searched in ``[0, max_frontrun(...)]``; the back-run sells
    everything the front-run bought. Returns a zero sandwich when none pays
    (before gas). Arguments as in :func:`max_frontrun`.
    """
    a_max = max_frontrun(reserve_in, reserve_out, victim_amount_in, victim_min_out, fee)
    a, p = best_frontrun_nb(float(reserve_in), float(reserve_out), float(victim_amount_in),
                            float(victim_min_out), float(fee), a_max)
    return Sandwich(float(a), float(p))

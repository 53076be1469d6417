"""Float64 constant-product AMM kernels (Uniswap v2 convention: fee on input, kept in pool)."""
import math

import numpy as np

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


# --------------------------------------------------------------------------- batch clearing

@njit(cache=True)
def amm_intake_nb(p, x, y, fee, fm):
    """Net amount of x a pool takes in when it trades at average price ``p`` (y per x).

    Negative: the pool gives x out. Constant product (``fm`` false): the pool
    buys x at average price ``g*y/(x + g*dx)`` and sells it at
    ``(y + g*dy)/(g*x)``, so between ``g*y/x`` and ``y/(g*x)`` it does not
    trade. Function-maximising AMM (``fm`` true; Canidio and Fritsch): a net
    sell of ``dx`` clears at ``y/(x + 2*dx)``, so ``dx = (y/p - x)/2``.
    """
    if fm:
        return 0.5 * (y / p - x)
    g = 1.0 - fee
    if p < g * y / x:
        return y / p - x / g
    if p > y / (g * x):
        return y / (g * p) - x
    return 0.0


@njit(cache=True)
def _band_nb(x, y, fee, fm):
    """``(g, g*y/x, y/(g*x), x/g)``: :func:`amm_intake_nb`'s constants for a constant-product
    pool at ``(x, y)``, the same expressions, so that :func:`_excess_band_nb` gives its bits
    with two or three divisions fewer per price tried (zeros for ``fm``, which uses none of
    them: it divides by neither ``x`` nor ``g``)."""
    if fm:
        return 0.0, 0.0, 0.0, 0.0
    g = 1.0 - fee
    return g, g * y / x, y / (g * x), x / g


@njit(cache=True)
def _excess_band_nb(p, xs, yb, x, y, g, lo, hi, xg, fm):
    """Net x supplied by the orders (``xs`` of x, ``yb`` of y) minus what the pool absorbs
    at ``p`` (:func:`amm_intake_nb`, its constants from :func:`_band_nb`); increasing in
    ``p``."""
    if fm:
        intake = 0.5 * (y / p - x)
    elif p < lo:
        intake = y / p - xg
    elif p > hi:
        intake = y / (g * p) - x
    else:
        intake = 0.0
    return xs - yb / p - intake


@njit(cache=True)
def _solve_nb(xs, yb, x, y, fee, fm):
    """Price at which ``xs`` of x sold and ``yb`` of y sold clear against the pool."""
    if fm:
        return (2.0 * yb + y) / (2.0 * xs + x)
    g = 1.0 - fee
    lo = g * y / x
    hi = y / (g * x)
    if xs - yb / lo >= 0.0:
        return g * (y + yb) / (g * xs + x)     # the pool buys x
    if xs - yb / hi <= 0.0:
        return (yb + y / g) / (xs + x)         # the pool sells x
    return yb / xs                             # orders net out inside the fee band


@njit(cache=True)
def _root_in_nb(xs, yb, x, y, fee, fm, left, right):
    """The clearing price in ``[left, right]`` when the active orders are fixed there.

    Called once the sweep knows the root lies in this interval (the excess is
    negative just right of ``left`` and positive just left of ``right``); the
    closed form is clamped into it against rounding. With no active order every
    price the pool would not trade at clears; the one closest to the pool's own
    price is taken.
    """
    if xs == 0.0 and yb == 0.0:
        if fm:
            lo = y / x
            hi = lo
        else:
            lo = (1.0 - fee) * y / x
            hi = y / ((1.0 - fee) * x)
        return min(max(y / x, max(lo, left)), min(hi, right))
    return min(max(_solve_nb(xs, yb, x, y, fee, fm), left), right)


@njit(cache=True)
def batch_sort_nb(side, amount, min_out, lim, s_idx, b_idx):
    """Price limits and the sellers' and buyers' indices in canonical order, once per batch.

    ``lim[i]`` is the least price (y per x) seller ``i`` accepts or the most buyer ``i``
    pays (0 and inf without a limit). Indices are sorted by (limit, amount), so sums
    over them, and the price, do not depend on how the batch was listed. Writes into
    ``lim``, ``s_idx``, ``b_idx``; returns ``(n_sellers, n_buyers)``.
    """
    n = side.shape[0]
    n_s = 0
    n_b = 0
    for i in range(n):
        if side[i] == 0:
            lim[i] = min_out[i] / amount[i] if min_out[i] > 0.0 else 0.0
            s_idx[n_s] = i
            n_s += 1
        else:
            lim[i] = amount[i] / min_out[i] if min_out[i] > 0.0 else np.inf
            b_idx[n_b] = i
            n_b += 1
    s = s_idx[:n_s]
    s = s[np.argsort(amount[s], kind="mergesort")]
    s_idx[:n_s] = s[np.argsort(lim[s], kind="mergesort")]
    b = b_idx[:n_b]
    b = b[np.argsort(amount[b], kind="mergesort")]
    b_idx[:n_b] = b[np.argsort(lim[b], kind="mergesort")]
    return n_s, n_b


@njit(cache=True)
def batch_sweep_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, xs_extra, yb_extra, fill):
    """The clearing price of sorted orders plus unlimited extra x sold and y sold.

    ``s_idx``/``b_idx`` come from :func:`batch_sort_nb`; ``xs_extra`` (x) and
    ``yb_extra`` (y) are orders without a limit, always filled in full (the
    arbitrageurs'). The orders' fills go to ``fill``; see :func:`clear_batch_nb`.
    Returns NaN if there is nothing to clear.
    """
    n_s = s_idx.shape[0]
    n_b = b_idx.shape[0]
    for q in range(n_s):
        fill[s_idx[q]] = 0.0
    for q in range(n_b):
        fill[b_idx[q]] = 0.0
    if n_s + n_b == 0 and xs_extra == 0.0 and yb_extra == 0.0:
        return np.nan
    # active just right of ``left``: sellers s_idx[:i_s] (limit <= left) and buyers
    # b_idx[i_b:] (limit > left)
    xs = xs_extra
    i_s = 0
    while i_s < n_s and lim[s_idx[i_s]] <= 0.0:
        xs += amount[s_idx[i_s]]
        i_s += 1
    yb = yb_extra
    for q in range(n_b):
        yb += amount[b_idx[q]]
    i_b = 0
    left = 0.0
    theta_s = 1.0
    theta_b = 1.0
    j = i_s
    m = i_b
    # the pool's constants once, not at every price tried (the sweep's divisions were most
    # of its time)
    g, lo, hi, xg = _band_nb(x, y, fee, fm)
    while True:
        nxt = np.inf
        if i_s < n_s:
            nxt = lim[s_idx[i_s]]
        if i_b < n_b and lim[b_idx[i_b]] < nxt:
            nxt = lim[b_idx[i_b]]
        if nxt == np.inf or _excess_band_nb(nxt, xs, yb, x, y, g, lo, hi, xg, fm) > 0.0:
            # the excess turns positive inside (left, nxt): no order is marginal
            p = _root_in_nb(xs, yb, x, y, fee, fm, left, nxt)
            j = i_s
            m = i_b
            break
        # at nxt itself the orders with exactly that limit may fill in part
        s_b = 0.0
        j = i_s
        while j < n_s and lim[s_idx[j]] == nxt:
            s_b += amount[s_idx[j]]
            j += 1
        b_b = 0.0
        m = i_b
        while m < n_b and lim[b_idx[m]] == nxt:
            b_b += amount[b_idx[m]]
            m += 1
        if _excess_band_nb(nxt, xs + s_b, yb - b_b, x, y, g, lo, hi, xg, fm) >= 0.0:
            p = nxt
            need = max(-_excess_band_nb(nxt, xs, yb, x, y, g, lo, hi, xg, fm), 0.0)
            theta_s = 0.0
            if s_b > 0.0:
                theta_s = min(1.0, need / s_b)
                need = max(need - theta_s * s_b, 0.0)
            theta_b = 1.0
            if b_b > 0.0:
                theta_b = min(1.0, max(0.0, 1.0 - need * nxt / b_b))
            break
        xs += s_b
        yb -= b_b
        i_s = j
        i_b = m
        left = nxt
    # fills follow the sets the price was computed from, not a comparison with it
    for q in range(i_s):
        fill[s_idx[q]] = 1.0
    for q in range(i_s, j):
        fill[s_idx[q]] = theta_s
    for q in range(i_b, m):
        fill[b_idx[q]] = theta_b
    for q in range(m, n_b):
        fill[b_idx[q]] = 1.0
    return p


@njit(cache=True)
def clear_batch_nb(x, y, fee, fm, side, amount, min_out, fill):
    """Uniform-price clearing of one pool's batch of limit orders.

    Orders selling x (``side == 0``) need a price of at least
    ``min_out/amount`` (y per x); orders selling y need at most
    ``amount/min_out``. The clearing price ``p`` solves
    ``X(p) - Y(p)/p = D(p)``: the x sold by orders whose limit ``p`` meets,
    minus the x bought by the y sold likewise, equals what the pool absorbs
    trading at average price ``p`` (:func:`amm_intake_nb`). Opposite flows net
    first; only the residual trades against the pool. The left side is
    increasing in ``p`` (and tends to minus infinity as ``p`` goes to 0), so the
    root is unique: limits are sorted once (:func:`batch_sort_nb`) and swept in
    increasing order (:func:`batch_sweep_nb`) until the excess turns positive,
    either inside an interval between two limits (closed form there) or across
    one limit, whose orders are then filled in part, pro rata (sellers first).
    That is what makes the set stable: every filled order's limit holds, and no
    unfilled order would accept ``p``. The result depends on the orders, not on
    how they are listed.

    Parameters
    ----------
    x, y : float
        Pool reserves (token units).
    fee : float
        Pool fee on input, fraction (ignored by the FM-AMM).
    fm : bool
        Function-maximising AMM instead of constant product.
    side, amount, min_out : arrays (n,)
        Order side (0: sells x), amount tendered and least amount accepted
        (token units; ``min_out <= 0``: no limit).
    fill : float64[:]
        Receives each order's filled fraction in [0, 1].

    Returns
    -------
    float
        Clearing price, y per x (NaN for an empty batch).
    """
    n = side.shape[0]
    lim = np.empty(n)
    s_idx = np.empty(n, np.int64)
    b_idx = np.empty(n, np.int64)
    n_s, n_b = batch_sort_nb(side, amount, min_out, lim, s_idx, b_idx)
    return batch_sweep_nb(x, y, fee, fm, amount, lim, s_idx[:n_s], b_idx[:n_b], 0.0, 0.0, fill)

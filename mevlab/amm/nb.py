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
def _excess_nb(p, xs, yb, x, y, fee, fm):
    """Net x supplied by the orders minus what the pool absorbs at ``p``; increasing in ``p``."""
    return xs - yb / p - amm_intake_nb(p, x, y, fee, fm)


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
    """A clearing price in the open interval ``(left, right)``, or -1 if none."""
    if xs == 0.0 and yb == 0.0:
        # nothing trades: every price the pool would not trade at clears; take the
        # one closest to the pool's own price
        if fm:
            lo = y / x
            hi = lo
        else:
            lo = (1.0 - fee) * y / x
            hi = y / ((1.0 - fee) * x)
        a = max(lo, left)
        b = min(hi, right)
        if a > b or (a == left and a == b) or (b == right and a == b):
            return -1.0
        mid = min(max(y / x, a), b)
        if mid == left:
            mid = b if b < right else 0.5 * (a + b)
        return mid
    p = _solve_nb(xs, yb, x, y, fee, fm)
    if left < p < right:
        return p
    return -1.0


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
    increasing in ``p``, so the root is unique: limits are sorted once and
    swept in increasing order. If the root falls on a limit, the orders at
    exactly that limit are filled in part, pro rata (sellers first), which is
    what makes the set stable: every filled order's limit holds, and no
    unfilled order would accept ``p``. The result depends on the orders, not
    on how they are listed.

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
    fill[:n] = 0.0
    if n == 0:
        return np.nan
    lim = np.empty(n)
    n_s = 0
    for i in range(n):
        if side[i] == 0:
            lim[i] = min_out[i] / amount[i] if min_out[i] > 0.0 else 0.0
            n_s += 1
        else:
            lim[i] = amount[i] / min_out[i] if min_out[i] > 0.0 else np.inf
    s_idx = np.empty(n_s, np.int64)
    b_idx = np.empty(n - n_s, np.int64)
    i_s = 0
    i_b = 0
    for i in range(n):
        if side[i] == 0:
            s_idx[i_s] = i
            i_s += 1
        else:
            b_idx[i_b] = i
            i_b += 1
    # canonical order (limit, then amount): sums, and so the price, do not depend
    # on how the batch was listed
    s_idx = s_idx[np.argsort(amount[s_idx], kind="mergesort")]
    s_idx = s_idx[np.argsort(lim[s_idx], kind="mergesort")]
    b_idx = b_idx[np.argsort(amount[b_idx], kind="mergesort")]
    b_idx = b_idx[np.argsort(lim[b_idx], kind="mergesort")]
    n_b = n - n_s
    # x sold by sellers whose limit is met at prices up to the current point; y of
    # buyers whose limit is met from the current point up
    xs = 0.0
    i_s = 0
    while i_s < n_s and lim[s_idx[i_s]] <= 0.0:
        xs += amount[s_idx[i_s]]
        i_s += 1
    yb = 0.0
    for q in range(n_b):
        yb += amount[b_idx[q]]
    i_b = 0
    left = 0.0
    p = -1.0
    theta_s = 1.0
    theta_b = 1.0
    while True:
        nxt = np.inf
        if i_s < n_s:
            nxt = lim[s_idx[i_s]]
        if i_b < n_b and lim[b_idx[i_b]] < nxt:
            nxt = lim[b_idx[i_b]]
        p = _root_in_nb(xs, yb, x, y, fee, fm, left, nxt)
        if p > 0.0 or nxt == np.inf:
            break
        # the point nxt: orders with exactly this limit are the marginal ones
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
        z_min = _excess_nb(nxt, xs, yb, x, y, fee, fm)
        z_max = _excess_nb(nxt, xs + s_b, yb - b_b, x, y, fee, fm)
        if z_min <= 0.0 <= z_max:
            p = nxt
            need = -z_min
            theta_s = 0.0
            if s_b > 0.0:
                theta_s = min(1.0, need / s_b)
                need -= theta_s * s_b
            theta_b = 1.0
            if b_b > 0.0:
                theta_b = max(0.0, 1.0 - need * nxt / b_b)
            for q in range(i_s, j):
                fill[s_idx[q]] = theta_s
            for q in range(i_b, m):
                fill[b_idx[q]] = theta_b
            i_b = m       # the marginal buyers are already written
            break
        xs += s_b
        yb -= b_b
        i_s = j
        i_b = m
        left = nxt
    for q in range(n_s):
        i = s_idx[q]
        if lim[i] < p:
            fill[i] = 1.0
    for q in range(i_b, n_b):
        i = b_idx[q]
        if lim[i] > p:
            fill[i] = 1.0
    return p

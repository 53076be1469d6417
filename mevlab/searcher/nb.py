"""Closed-form searcher kernels: CEX-DEX arbitrage, backrun and sandwich sizing."""
import math

import numpy as np
from numba import njit

from ..amm.nb import amount_out_nb, batch_sweep_nb


@njit(cache=True)
def optimal_arb_nb(x, y, p, fee):
    """Profit-maximising single-pool trade against an external price.

    .. math::
        \\max_{\\Delta} \\; p\\,\\mathrm{out}_x(\\Delta) - \\Delta
        \\;\\Rightarrow\\; \\Delta^* = (\\sqrt{g p k} - y)/g

    (Angeris et al., "An analysis of Uniswap markets", App. A), and the mirror
    image when the pool price is above ``p/g``.

    Parameters
    ----------
    x, y : float
        Reserves of the risky asset and of the numeraire (token units).
    p : float
        External price, numeraire per unit of x.
    fee : float
        Pool fee on the input, fraction.

    Returns
    -------
    direction : int
        -1 no profitable trade, 0 tender x, 1 tender y.
    amount_in, amount_out : float
        Token units of the tendered and received side.
    profit : float
        Numeraire, valued at ``p``.
    """
    g = 1.0 - fee
    if y < g * p * x:
        # pool underprices x: tender y; sqrt(g p k) - y = y (sqrt(r) - 1), r = g p x / y
        r = g * p * x / y
        dy = y * (r - 1.0) / (math.sqrt(r) + 1.0) / g
        out = amount_out_nb(dy, y, x, fee)
        prof = p * out - dy
        if prof > 0.0:
            return 1, dy, out, prof
    elif g * y > p * x:
        r = g * y / (p * x)
        dx = x * (r - 1.0) / (math.sqrt(r) + 1.0) / g
        out = amount_out_nb(dx, x, y, fee)
        prof = out - p * dx
        if prof > 0.0:
            return 0, dx, out, prof
    return -1, 0.0, 0.0, 0.0


@njit(cache=True)
def max_frontrun_nb(rin, rout, v, m, fee):
    """Largest front-run that still leaves the victim exactly ``m`` out.

    Front-run ``a`` (same direction as the victim) moves the pool to
    ``(rin + a, rin*rout/(rin + g a))``; the victim then receives ``m`` when

    .. math::
        g a^2 + \\big(r_{in}(1+g) + g^2 v\\big) a
        + r_{in}(r_{in} + g v) - g v r_{out} r_{in}/m = 0

    (Zhou et al., "High-Frequency Trading on Decentralized On-Chain
    Exchanges", §4). Solved in the cancellation-free form
    ``a = 2c / (B + sqrt(B^2 + 4 g c))`` with ``c`` the constant's negative.

    Returns 0 when the victim cannot get ``m`` even without a front-run and
    ``inf`` when ``m <= 0`` (no slippage protection).
    """
    if m <= 0.0:
        return math.inf
    g = 1.0 - fee
    c = g * v * rout * rin / m - rin * (rin + g * v)
    if c <= 0.0:
        return 0.0
    b = rin * (1.0 + g) + g * g * v
    return 2.0 * c / (b + math.sqrt(b * b + 4.0 * g * c))


@njit(cache=True)
def sandwich_nb(rin, rout, v, a, fee):
    """Outcome of front-run ``a``, victim ``v``, back-run selling all the front-run received.

    Returns ``(front_out, victim_out, back_out)``; the searcher's profit in
    units of the victim's input token is ``back_out - a``.
    """
    o1 = amount_out_nb(a, rin, rout, fee)
    rin1 = rin + a
    rout1 = rout - o1
    ov = amount_out_nb(v, rin1, rout1, fee)
    rin2 = rin1 + v
    rout2 = rout1 - ov
    b = amount_out_nb(o1, rout2, rin2, fee)
    return o1, ov, b


@njit(cache=True)
def _sandwich_profit_nb(rin, rout, v, a, fee):
    o1, ov, b = sandwich_nb(rin, rout, v, a, fee)
    return b - a


@njit(cache=True)
def sandwich_bound_nb(rin, rout, v, fee, a_max, pieces):
    """Upper bound on the profit ``b(a) - a`` of every front-run ``a`` in ``[0, a_max]``
    (victim input token units), for skipping :func:`best_frontrun_nb` when even the bound
    cannot pay.

    The back-run receives ``b(a) = g o_1 (R + a + v) / (S - o_v - f o_1)`` (``R, S`` the
    input and output reserves, ``o_1(a) = g a S / (R + g a)`` the front-run's output,
    ``o_v(a)`` the victim's, decreasing in ``a``). On a piece ``[a_l, a_h]`` of
    ``[0, a_max]``, ``o_1 <= a g S / (R + g a_l)``, ``o_1 <= o_1(a_h)``,
    ``o_v <= o_v(a_l)`` and ``a <= a_h``, so

    .. math::
        b(a) - a \\le a_h \\max(\\beta - 1, 0), \\qquad
        \\beta = \\frac{g^2 S (R + a_h + v)}{(R + g a_l)\\,(S - o_v(a_l) - f o_1(a_h))}.

    The bound is the largest over ``pieces`` equal pieces (``inf`` if a denominator is not
    positive); more pieces, tighter and dearer.
    """
    if not (a_max > 0.0):
        return 0.0
    g = 1.0 - fee
    best = 0.0
    a_lo = 0.0
    o_lo = 0.0
    for k in range(1, pieces + 1):
        a_hi = a_max * k / pieces
        o_hi = amount_out_nb(a_hi, rin, rout, fee)
        ov_lo = amount_out_nb(v, rin + a_lo, rout - o_lo, fee)
        den = (rin + g * a_lo) * (rout - ov_lo - fee * o_hi)
        if not den > 0.0:
            return math.inf
        best = max(best, a_hi * (g * g * rout * (rin + a_hi + v) / den - 1.0))
        a_lo = a_hi
        o_lo = o_hi
    return best


@njit(cache=True)
def best_frontrun_nb(rin, rout, v, m, fee, a_max):
    """Profit-maximising front-run in ``[0, a_max]`` (``a_max`` from :func:`max_frontrun_nb`).

    Without fees the profit ``b(a) - a`` increases up to ``a_max`` (Zhou et
    al.); with fees it can fall first and peak inside the interval, so the
    optimum is searched: a 32-point grid, a golden-section refinement around
    the best grid point, and the endpoint ``a_max``.

    Returns ``(a, profit)``, profit in units of the victim's input token.
    """
    if not (a_max > 0.0) or not math.isfinite(a_max):
        return 0.0, 0.0
    n = 32
    best_a = a_max
    best_p = _sandwich_profit_nb(rin, rout, v, a_max, fee)
    best_i = n
    for i in range(1, n):
        a = a_max * i / n
        pr = _sandwich_profit_nb(rin, rout, v, a, fee)
        if pr > best_p:
            best_p = pr
            best_a = a
            best_i = i
    lo = a_max * (best_i - 1) / n
    hi = a_max * min(best_i + 1, n) / n
    invphi = 0.6180339887498949
    c = hi - invphi * (hi - lo)
    d = lo + invphi * (hi - lo)
    fc = _sandwich_profit_nb(rin, rout, v, c, fee)
    fd = _sandwich_profit_nb(rin, rout, v, d, fee)
    for _ in range(60):
        if fc > fd:
            hi = d
            d = c
            fd = fc
            c = hi - invphi * (hi - lo)
            fc = _sandwich_profit_nb(rin, rout, v, c, fee)
        else:
            lo = c
            c = d
            fc = fd
            d = lo + invphi * (hi - lo)
            fd = _sandwich_profit_nb(rin, rout, v, d, fee)
    a = 0.5 * (lo + hi)
    pr = _sandwich_profit_nb(rin, rout, v, a, fee)
    if pr > best_p:
        best_p = pr
        best_a = a
    if best_p <= 0.0:
        return 0.0, 0.0
    return best_a, best_p


@njit(cache=True)
def two_pool_arb_nb(xa, ya, xb, yb, fee_a, fee_b):
    """Optimal inventory-free arbitrage between two pools of one pair.

    Tender ``dy`` of y into pool A, receive x, sell it all into pool B. The
    composition of two CPMMs is ``K dy / (L + M dy)`` with
    ``K = g_a g_b x_a y_b``, ``L = x_b y_a``, ``M = g_a (x_b + g_b x_a)``, so

    .. math:: dy^* = (\\sqrt{K L} - L) / M, \\qquad \\text{profitable iff } K > L.

    Returns ``(dy, x_mid, y_out, profit)`` in token units (profit in y); zeros
    if buying in A and selling in B does not pay (try the pools swapped).
    """
    ga = 1.0 - fee_a
    gb = 1.0 - fee_b
    k = ga * gb * xa * yb
    ll = xb * ya
    if k <= ll:
        return 0.0, 0.0, 0.0, 0.0
    m = ga * (xb + gb * xa)
    dy = (math.sqrt(k * ll) - ll) / m
    xm = amount_out_nb(dy, ya, xa, fee_a)
    yo = amount_out_nb(xm, xb, yb, fee_b)
    return dy, xm, yo, yo - dy


@njit(cache=True)
def arb_at_prices_nb(reserves, fees, tok, nu, tendered, received):
    """Per-pool closed-form arbitrage at token prices ``nu``; the dual oracle.

    For each pool, the trade that maximises the value at ``nu`` of what it
    receives minus what it tenders (Diamandis et al. 2023, §3: the
    arbitrage problem, in closed form for a CPMM). Writes the trades into
    ``tendered``/``received`` (n_pools, 2, pool token order).

    Returns
    -------
    value : float
        Sum of the pools' arbitrage values at ``nu``.
    """
    total = 0.0
    for i in range(reserves.shape[0]):
        a = tok[i, 0]
        b = tok[i, 1]
        d, amt_in, amt_out, prof = optimal_arb_nb(reserves[i, 0], reserves[i, 1],
                                                  nu[a] / nu[b], fees[i])
        tendered[i, 0] = 0.0
        tendered[i, 1] = 0.0
        received[i, 0] = 0.0
        received[i, 1] = 0.0
        if d >= 0:
            tendered[i, d] = amt_in
            received[i, 1 - d] = amt_out
            total += prof * nu[b]
    return total


@njit(cache=True)
def dual_eval_nb(r, fees, tok, b, nu, tendered, received, grad):
    """Routing dual ``g(nu) = sum_i arb_i(nu) + b^T (nu - 1)`` and its gradient.

    Normalised units (every external price 1). By Danskin's theorem the
    gradient is the pools' net trade plus the inventory bound, ``Psi + b``.
    Writes the oracle's trades into ``tendered``/``received`` and the
    gradient into ``grad``; returns ``g(nu)``.
    """
    val = arb_at_prices_nb(r, fees, tok, nu, tendered, received)
    for j in range(nu.shape[0]):
        grad[j] = b[j]
        val += b[j] * (nu[j] - 1.0)
    for i in range(r.shape[0]):
        grad[tok[i, 0]] += received[i, 0] - tendered[i, 0]
        grad[tok[i, 1]] += received[i, 1] - tendered[i, 1]
    return val


@njit(cache=True)
def dual_hessian_nb(r, fees, tok, nu, tendered, hess):
    """Hessian of the routing dual where the oracle trades.

    A trading CPMM's arbitrage value at prices ``(nu_a, nu_b)`` is
    ``nu_a R_a / g + nu_b R_b - 2 sqrt(k/g) sqrt(nu_a nu_b)`` (tendering a;
    the mirror image otherwise), a rank-one Hessian
    ``(s/2) (nu_a nu_b)^(-1/2) [[nu_b/nu_a, -1], [-1, nu_a/nu_b]]`` with
    ``s = sqrt(k/g)``. Pools inside their no-trade band contribute nothing.
    """
    hess[:, :] = 0.0
    for i in range(r.shape[0]):
        if tendered[i, 0] <= 0.0 and tendered[i, 1] <= 0.0:
            continue
        a = tok[i, 0]
        c = tok[i, 1]
        s = math.sqrt(r[i, 0] * r[i, 1] / (1.0 - fees[i]))
        h = 0.5 * s / math.sqrt(nu[a] * nu[c])
        hess[a, a] += h * nu[c] / nu[a]
        hess[c, c] += h * nu[a] / nu[c]
        hess[a, c] -= h
        hess[c, a] -= h


@njit(cache=True)
def _kkt_nb(nu, grad):
    """KKT residual of ``min g(nu) s.t. nu >= 1``: |grad| inside, max(-grad, 0) at the bound."""
    k = 0.0
    for j in range(nu.shape[0]):
        e = abs(grad[j]) if nu[j] > 1.0 + 1e-12 else max(-grad[j], 0.0)
        k = max(k, e)
    return k


@njit(cache=True)
def dual_newton_nb(r, fees, tok, b, nu0, tol, maxiter, tendered, received):
    """Minimise the routing dual over ``nu >= 1`` by projected Newton.

    Bertsekas' projected Newton (1982) with Levenberg-Marquardt damping: the
    Newton step on the prices off the bound, a scaled gradient step on those
    held at it, and a backtracking search along the projection arc. The dual
    is C1 with a Hessian that jumps where a pool enters or leaves its
    no-trade band, and is positively homogeneous (singular along ``nu``);
    the damping ``mu ~ |grad|`` covers both and vanishes at the optimum, so
    the last steps are pure Newton and converge quadratically.

    Parameters
    ----------
    r : ndarray (n_pools, 2)
        Value-normalised reserves.
    fees : ndarray (n_pools,)
    tok : ndarray of int64 (n_pools, 2)
    b : ndarray (n_tokens,)
        Normalised inventory bound (0: atomic arbitrage).
    nu0 : ndarray (n_tokens,)
        Starting prices, normalised (clipped to >= 1).
    tol : float
        KKT residual to stop at (net-trade units of the mean pool value).
    maxiter : int
    tendered, received : ndarray (n_pools, 2)
        Work arrays; hold the oracle's trade at the returned prices.

    Returns
    -------
    nu : ndarray (n_tokens,)
    kkt : float
        KKT residual at ``nu``.
    iterations : int
    """
    n = nu0.shape[0]
    nu = np.maximum(nu0, 1.0)
    grad = np.empty(n)
    g_try = np.empty(n)
    hess = np.empty((n, n))
    trial = np.empty(n)
    step = np.empty(n)
    val = dual_eval_nb(r, fees, tok, b, nu, tendered, received, grad)
    kkt = _kkt_nb(nu, grad)
    it = 0
    best = kkt
    best_it = 0
    while it < maxiter and kkt > tol:
        it += 1
        if kkt < 0.5 * best:
            best = kkt
            best_it = it
        elif it - best_it > 20:
            break      # stalled at round-off above tol: no halving of the residual in 20 steps
        dual_hessian_nb(r, fees, tok, nu, tendered, hess)
        # epsilon-active set: prices at (or within the projected-gradient distance of) the
        # bound whose gradient pushes them further down stay there this step
        w = 0.0
        for j in range(n):
            w += (nu[j] - max(nu[j] - grad[j], 1.0)) ** 2
        eps = min(1e-3, math.sqrt(w))
        free = np.empty(n, np.bool_)
        nf = 0
        for j in range(n):
            free[j] = not (nu[j] <= 1.0 + eps and grad[j] > 0.0)
            if free[j]:
                nf += 1
        mu = kkt
        idx = np.empty(nf, np.int64)
        q = 0
        for j in range(n):
            if free[j]:
                idx[q] = j
                q += 1
        for j in range(n):
            if not free[j]:
                step[j] = -grad[j] / (hess[j, j] + mu)
        if nf > 0:
            hf = np.empty((nf, nf))
            gf = np.empty(nf)
            for p in range(nf):
                gf[p] = -grad[idx[p]]
                for s_ in range(nf):
                    hf[p, s_] = hess[idx[p], idx[s_]]
                hf[p, p] += mu
            df = np.linalg.solve(hf, gf)
            for p in range(nf):
                step[idx[p]] = df[p]
        alpha = 1.0
        accepted = False
        while alpha > 1e-12:
            slope = 0.0
            for j in range(n):
                trial[j] = max(nu[j] + alpha * step[j], 1.0)
                slope += grad[j] * (trial[j] - nu[j])
            v_try = dual_eval_nb(r, fees, tok, b, trial, tendered, received, g_try)
            k_try = _kkt_nb(trial, g_try)
            # Armijo on g; near the optimum g is flat to round-off, where a step that halves
            # the KKT residual without raising g beyond round-off is taken instead
            if (slope < 0.0 and v_try <= val + 1e-4 * slope) or \
                    (k_try < 0.5 * kkt and v_try <= val + 1e-14 * (abs(val) + 1e-300)):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            break
        for j in range(n):
            nu[j] = trial[j]
            grad[j] = g_try[j]
        val = v_try
        kkt = k_try
    # leave the oracle's trade at the returned prices in the work arrays
    dual_eval_nb(r, fees, tok, b, nu, tendered, received, grad)
    return nu, _kkt_nb(nu, grad), it


# --------------------------------------------------------------------------- batch arbitrage

#: batches with at most this many limit orders also search the ends of the price's
#: plateaus exactly (see :func:`_best_response_nb`)
PLATEAU_SEARCH_MAX = 64


@njit(cache=True)
def _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, q_total, fill):
    """Clearing price of the sorted orders plus ``q_total`` of arbitrage (no limit) on side ``d``."""
    return batch_sweep_nb(x, y, fee, fm, amount, lim, s_idx, b_idx,
                          q_total if d == 0 else 0.0, q_total if d == 1 else 0.0, fill)


@njit(cache=True)
def _unit_gain(d, p, P):
    """Profit per unit tendered at clearing price ``p`` and external price ``P`` (y per x), in y."""
    return P / p - 1.0 if d == 1 else p - P


@njit(cache=True)
def _batch_foc_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, q, P, eps, fill):
    """Marginal profit of one of ``n_arb`` arbitrageurs at the symmetric total ``q`` (y units)."""
    h = max(1e-7 * q, eps)
    p = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, q, fill)
    pp = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, q + h, fill)
    pm = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, max(q - h, 0.0), fill)
    dp = (pp - pm) / (q + h - max(q - h, 0.0))
    if d == 1:
        return P / p - 1.0 - (q / n_arb) * P * dp / (p * p)
    return p - P + (q / n_arb) * dp


@njit(cache=True)
def _best_response_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, others, P, hi, fill):
    """One arbitrageur's profit-maximising size given the others' total, and its profit (y).

    Users' limits make the price a step function of the arbitrage total, so the
    profit is searched on a dense log grid up to twice the price-taking quantity
    and refined by golden section around the best point.
    """
    n_grid = 121
    best_own = 0.0
    best = 0.0
    k_best = -1
    for k in range(n_grid):
        own = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * k / (n_grid - 1))
        p = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, others + own, fill)
        v = own * _unit_gain(d, p, P)
        if v > best:
            best = v
            best_own = own
            k_best = k
    if k_best < 0:
        return 0.0, 0.0
    lo = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * max(k_best - 1, 0) / (n_grid - 1))
    up = 2.0 * hi * 10.0 ** (-7.0 + 7.0 * min(k_best + 1, n_grid - 1) / (n_grid - 1))
    r = 0.5 * (math.sqrt(5.0) - 1.0)
    for _ in range(40):
        a = up - r * (up - lo)
        b = lo + r * (up - lo)
        va = a * _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d,
                                               others + a, fill), P)
        vb = b * _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d,
                                               others + b, fill), P)
        if va > best:
            best = va
            best_own = a
        if vb > best:
            best = vb
            best_own = b
        if va >= vb:
            up = b
        else:
            lo = a
    # on a plateau of the price (orders filled in part at their limit) the profit grows
    # with the size, so its best point is where the plateau ends: for each limit, the
    # largest size at which the price is still on its good side (small batches only)
    # (the pool's fee band has edges of the same kind: inside it the price is set by the
    # orders alone and moves fast)
    n_lim = s_idx.shape[0] + b_idx.shape[0]
    if n_lim <= PLATEAU_SEARCH_MAX:
        for t in range(n_lim + 2):
            if t < s_idx.shape[0]:
                L = lim[s_idx[t]]
            elif t < n_lim:
                L = lim[b_idx[t - s_idx.shape[0]]]
            elif fm:
                continue
            elif t == n_lim:
                L = (1.0 - fee) * y / x
            else:
                L = y / ((1.0 - fee) * x)
            if not (L > 0.0 and L < np.inf) or _unit_gain(d, L, P) <= 0.0:
                continue
            lo = 0.0
            up = 2.0 * hi
            for _ in range(60):
                mid = 0.5 * (lo + up)
                pm = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, others + mid,
                                     fill)
                # selling x lowers the price, buying raises it: still on the good side of L?
                if (pm >= L) if d == 0 else (pm <= L):
                    lo = mid
                else:
                    up = mid
            if lo > 0.0:
                v = lo * _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx,
                                                       d, others + lo, fill), P)
                if v > best:
                    best = v
                    best_own = lo
    return best_own, best


@njit(cache=True)
def _deviation_gain_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, q, P, hi, fill):
    """How much one arbitrageur gains by leaving the symmetric profile ``q`` (y units).

    The clearing depends on the arbitrage total only (its orders carry no limit),
    so a deviation to ``own`` gives the price of ``q (N-1)/N + own``.
    """
    others = q * (n_arb - 1) / n_arb
    mine = q / n_arb
    base = mine * _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d,
                                                others + mine, fill), P)
    _, best = _best_response_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, others, P, hi,
                                fill)
    return max(best - base, 0.0)


@njit(cache=True)
def batch_arb_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, P, fill):
    r"""Symmetric Cournot equilibrium of ``n_arb`` arbitrageurs trading through one batch.

    Each arbitrageur tenders ``q`` (y if buying x, ``d = 1``; x if selling it,
    ``d = 0``) with no limit, knowing the batch's other orders (sorted once by
    :func:`~mevlab.amm.nb.batch_sort_nb`), and all get the uniform clearing
    price ``p(Q)`` of the total ``Q``. Arbitrageur ``i`` earns
    ``q_i (P/p(Q) - 1)`` (buying) or ``q_i (p(Q) - P)`` (selling), in y, at
    external price ``P``. A symmetric equilibrium solves the first-order
    condition

    .. math:: g(p) - \frac{Q}{N}\, g'(p)\, p'(Q) = 0,

    with ``g`` the gain per unit; as ``N`` grows it tends to the price-taking
    ``p(Q) = P`` (Canidio and Fritsch 2023, sec. 4; the Cournot limit). Without
    other orders the price is smooth and the first crossing of the condition is
    the equilibrium. Users' limits and the pool's fee band make ``p(Q)`` a step
    function in places, and the condition can cross zero more than once: every
    crossing on a log grid up to the price-taking quantity is refined by
    bisection, a further candidate comes from damped symmetric best responses
    (for one arbitrageur, the global optimum on a dense grid refined by golden
    section), and the candidate from which one arbitrageur gains least by
    deviating is taken. A pure symmetric equilibrium need not exist then.

    Returns
    -------
    d : int
        Side of the arbitrage orders, -1 if no trade pays.
    q_total : float
        Total tendered by the arbitrageurs (token units of side ``d``).
    """
    if n_arb <= 0:
        return -1, 0.0
    p0 = _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, 0, 0.0, fill)
    if not p0 > 0.0:
        p0 = y / x
    d = 1 if P > p0 else 0
    scale = y if d == 1 else x
    eps = 1e-9 * scale
    if _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, eps, fill),
                  P) <= 0.0:
        return -1, 0.0
    # the price-taking quantity: the arbitrage alone brings the batch price to P
    hi = 1e-6 * scale
    for _ in range(200):
        if _unit_gain(d, _batch_price_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d, hi, fill),
                      P) <= 0.0:
            break
        hi *= 2.0
    smooth = s_idx.shape[0] + b_idx.shape[0] == 0
    n_grid = 41
    best_q = 0.0
    best_dev = np.inf
    prev = 0.0
    prev_f = 1.0        # at 0+ the first unit pays
    for k in range(n_grid):
        q_k = hi * 10.0 ** (-6.0 + 6.0 * k / (n_grid - 1))
        f = _batch_foc_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, q_k, P, eps, fill)
        if prev_f > 0.0 and f <= 0.0:
            lo = prev
            up = q_k
            for _ in range(60):
                mid = 0.5 * (lo + up)
                if _batch_foc_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, mid, P,
                                 eps, fill) > 0.0:
                    lo = mid
                else:
                    up = mid
                if up - lo <= 1e-12 * up:
                    break
            if lo > 0.0:
                if smooth:
                    best_q = lo
                    best_dev = 0.0
                    break
                dev = _deviation_gain_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, lo,
                                         P, hi, fill)
                if dev < best_dev:
                    best_dev = dev
                    best_q = lo
        prev = q_k
        prev_f = f
    if not smooth and best_dev > 0.0:
        # damped symmetric best responses (one step for a single arbitrageur: its optimum)
        q = best_q if best_q > 0.0 else hi / n_arb
        for _ in range(1 if n_arb == 1 else 6):
            own, _ = _best_response_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, d,
                                       q * (n_arb - 1) / n_arb, P, hi, fill)
            q_new = own if n_arb == 1 else 0.5 * (q + own * n_arb)
            done = abs(q_new - q) <= 1e-9 * max(q, eps)
            q = q_new
            if done:
                break
        if q > 0.0:
            dev = _deviation_gain_nb(x, y, fee, fm, amount, lim, s_idx, b_idx, n_arb, d, q, P,
                                     hi, fill)
            if dev < best_dev:
                best_q = q
    if best_q <= 0.0:
        return -1, 0.0
    return d, best_q

"""Optimal multi-pool routing: a cvxpy router built once, and a fast dual-decomposition router.

Both solve the routing problem of Angeris, Chitra, Evans and Boyd ("Optimal
Routing for Constant Function Market Makers", 2022, §3) for constant-product
pools with fees:

.. math::
    \\max_{\\Delta_i, \\Lambda_i \\ge 0} \\; c^T \\Psi, \\qquad
    \\Psi = \\sum_i A_i (\\Lambda_i - \\Delta_i), \\qquad
    (R_{i0} + \\gamma_i \\Delta_{i0} - \\Lambda_{i0})(R_{i1} + \\gamma_i \\Delta_{i1} - \\Lambda_{i1})
    \\ge R_{i0} R_{i1}, \\qquad \\Psi \\ge -b

where ``c`` are external prices (numeraire per unit), ``Delta`` tendered and
``Lambda`` received amounts, ``A_i`` maps pool ``i``'s two tokens into the
global token vector and ``b`` is the inventory the searcher may go short
(``b = 0``: atomic, inventory-free arbitrage; ``b = inf``: the problem
separates into per-pool CEX-DEX arbitrage).

Everything is solved in value-normalised units: token ``j`` amounts are
multiplied by ``c_j / V`` with ``V`` the mean pool value, so reserves are
O(1) whatever their base units (1e6 or 1e27) and every price is 1.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SolverError
from .nb import arb_at_prices_nb, dual_eval_nb, dual_newton_nb, optimal_arb_nb

#: largest KKT residual of the dual accepted as optimal: net-trade error in units of the
#: mean pool value
KKT_TOL = 1e-8
#: profits below this fraction of the mean pool value are round-off (float reserves resolve
#: ~1e-16 of a pool; a trade is a difference of such numbers) and reported as a zero trade
PROFIT_FLOOR = 1e-12


@dataclass
class RouteResult:
    """A routing solution.

    Attributes
    ----------
    profit : float
        Value of the net trade, numeraire: what it receives at the external
        prices, less any residual short position (round-off of the dual,
        ~1e-9 of a pool) at the dual prices. Computed from the executable
        trade: ``received`` is recomputed from ``tendered`` with the exact
        CPMM formula.
    tendered, received : ndarray (n_pools, 2)
        Token units, each pool's own token order.
    net : ndarray (n_tokens,)
        Net trade ``Psi`` in token units.
    prices : ndarray (n_tokens,)
        Optimal dual prices (numeraire per unit): where the net trade of a
        token is zero its price may exceed the external price.
    status : str
        ``"optimal"`` or the last solver status.
    solver : str
    solve_time : float
        Seconds, all attempts included.
    objective : float
        The method's own optimal value, numeraire: the interior-point
        objective (convex) or the dual objective, an upper bound (dual).
    """
    profit: float
    tendered: np.ndarray
    received: np.ndarray
    net: np.ndarray
    prices: np.ndarray
    status: str
    solver: str
    solve_time: float
    attempts: list = field(default_factory=list)
    objective: float = float("nan")

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


class _Router:
    """Shared input handling: pairs, validation, normalisation, the executable trade."""

    def __init__(self, pairs, n_tokens: int):
        tok = np.asarray(pairs, dtype=np.int64)
        if tok.ndim != 2 or tok.shape[1] != 2 or len(tok) == 0:
            raise ValueError(f"pairs: expected a non-empty list of (token_i, token_j), got {pairs!r}")
        if not (isinstance(n_tokens, (int, np.integer)) and n_tokens >= 2):
            raise ValueError(f"n_tokens: expected an integer >= 2, got {n_tokens!r}")
        if tok.min() < 0 or tok.max() >= n_tokens or np.any(tok[:, 0] == tok[:, 1]):
            raise ValueError(f"pairs: token indices must be distinct and in [0, {n_tokens - 1}]")
        self.tok = tok
        self.n_pools = len(tok)
        self.n_tokens = int(n_tokens)
        self.stats: list[dict] = []
        self._tend = np.zeros((self.n_pools, 2))
        self._recv = np.zeros((self.n_pools, 2))

    # ------------------------------------------------------------ the dual
    def _dual(self, nu, r, f, b):
        """Dual objective and gradient in normalised units (gradient = net trade + b)."""
        grad = np.empty(self.n_tokens)
        val = dual_eval_nb(r, f, self.tok, np.asarray(b, float), np.asarray(nu, float),
                           self._tend, self._recv, grad)
        return val, grad

    def _minimise_dual(self, nu0, r, f, b, gtol, maxiter, attempts, label):
        """Minimise the dual over ``nu >= 1``; returns (nu, converged).

        Projected Newton in Numba first (a few iterations, tens of microseconds);
        should it stall above :data:`KKT_TOL`, L-BFGS-B with restarts and a root-find
        on the free prices, a slower method with different failure modes.
        """
        t0 = time.perf_counter()
        bb = np.zeros(self.n_tokens) if b is None else np.asarray(b, float)
        nu, kkt, nit = dual_newton_nb(r, f, self.tok, bb, np.asarray(nu0, float), 1e-12, 200,
                                      self._tend, self._recv)
        ok = kkt <= KKT_TOL
        attempts.append({"solver": f"{label}:newton", "status": "optimal" if ok else "not_converged",
                         "iterations": int(nit), "kkt": float(kkt), "time": time.perf_counter() - t0})
        if ok:
            return nu, True
        return self._lbfgsb(nu0, r, f, b, gtol, maxiter, attempts, f"{label}:L-BFGS-B")

    def _lbfgsb(self, nu0, r, f, b, gtol, maxiter, attempts, label):
        """L-BFGS-B on the dual over ``nu >= 1``, then :meth:`_refine`; returns (nu, converged)."""
        from scipy.optimize import minimize
        t0 = time.perf_counter()
        nu = np.asarray(nu0, float)
        nit = 0
        # the dual is C1 but its curvature jumps where a pool enters or leaves its no-trade
        # band; L-BFGS-B can stall there with stale curvature pairs, and a restart clears them
        for _ in range(4):
            res = minimize(self._dual, nu, args=(r, f, b), jac=True, method="L-BFGS-B",
                           bounds=[(1.0, None)] * self.n_tokens,
                           options=dict(gtol=gtol, ftol=0.0, maxiter=maxiter, maxcor=20, maxls=50))
            nu = res.x
            nit += int(res.nit)
            _, grad = self._dual(nu, r, f, b)
            # KKT of min g s.t. nu >= 1: gradient >= 0 at the bound, = 0 inside
            kkt = float(np.where(nu > 1.0 + 1e-12, np.abs(grad), np.maximum(-grad, 0.0)).max())
            if kkt <= KKT_TOL:
                break
        nu, kkt = self._refine(nu, kkt, r, f, b)
        ok = kkt <= KKT_TOL
        attempts.append({"solver": label, "status": "optimal" if ok else "not_converged",
                         "iterations": nit, "kkt": kkt, "time": time.perf_counter() - t0})
        return nu, ok

    def _refine(self, nu, kkt, r, f, b):
        """Solve ``grad = 0`` on the tokens priced above their bound (Powell's hybrid method).

        L-BFGS-B stops with a net-trade residual around 1e-10 of a pool; the
        residual leftover is then valued at the wrong price. A root-find on
        the free prices drives it to round-off. Kept only if the KKT residual falls.
        """
        from scipy.optimize import root
        free = nu > 1.0 + 1e-12
        if not free.any():
            return nu, kkt

        def grad_free(z):
            trial = nu.copy()
            trial[free] = np.maximum(z, 1.0)
            return self._dual(trial, r, f, b)[1][free]

        sol = root(grad_free, nu[free], method="hybr", options=dict(xtol=1e-15))
        trial = nu.copy()
        trial[free] = np.maximum(sol.x, 1.0)
        _, grad = self._dual(trial, r, f, b)
        k2 = float(np.where(trial > 1.0 + 1e-12, np.abs(grad), np.maximum(-grad, 0.0)).max())
        return (trial, k2) if k2 < kkt else (nu, kkt)

    # ------------------------------------------------------------ inputs
    def _inputs(self, reserves, fees, prices, reachable, inventory):
        R = np.asarray(reserves, float)
        f = np.asarray(fees, float)
        c = np.asarray(prices, float)
        m, n = self.n_pools, self.n_tokens
        problems = []
        if R.shape != (m, 2) or not np.all(np.isfinite(R)) or np.any(R <= 0):
            problems.append(f"reserves: expected shape ({m}, 2), finite and > 0")
        if f.shape != (m,) or not np.all((f >= 0) & (f < 1)):
            problems.append(f"fees: expected shape ({m},) with values in [0, 1)")
        if c.shape != (n,) or not np.all(np.isfinite(c)) or np.any(c <= 0):
            problems.append(f"prices: expected shape ({n},), finite and > 0")
        mask = np.ones(m, bool) if reachable is None else np.asarray(reachable, bool)
        if mask.shape != (m,):
            problems.append(f"reachable: expected shape ({m},)")
        if inventory is None:
            inventory = math.inf
        inv = np.broadcast_to(np.asarray(inventory, float), (n,)).copy() \
            if np.ndim(inventory) in (0, 1) else None
        if inv is None or inv.shape != (n,) or np.any(inv < 0) or np.any(np.isnan(inv)):
            problems.append("inventory: expected a number or one per token, >= 0 (inf allowed)")
        if problems:
            raise ValueError("; ".join(problems))
        value = R * c[self.tok]
        V = float(value[mask].sum(axis=1).mean()) if mask.any() else 1.0
        return R, f, c, mask, inv, value / V, V

    def _prepare(self, reserves, fees, prices, reachable, inventory, min_profit, t0):
        """Inputs, the fee mask for unreachable pools, and the early zero trade if nothing pays.

        Returns ``(R, f, c, mask, b, r, V, fm, early, ub)``: ``b`` is the normalised
        inventory bound (None when unbounded; an infinite entry among finite ones
        becomes 1e3 pool values), ``fm`` the fees with unreachable pools at ~1
        (their arbitrage never pays), ``early`` a zero :class:`RouteResult` when the
        exact per-pool bound ``ub`` (normalised) shows no trade can earn
        ``min_profit``, else None.
        """
        R, f, c, mask, inv, r, V = self._inputs(reserves, fees, prices, reachable, inventory)
        b = None if np.all(np.isinf(inv)) else np.where(np.isfinite(inv), inv / V, 1e3)
        fm = np.where(mask, f, 1.0 - 1e-300)
        # upper bound on any trade's profit: per-pool arbitrage with unbounded inventory
        ub = arb_at_prices_nb(r, fm, self.tok, np.ones(self.n_tokens), self._tend, self._recv)
        early = None
        if ub * V <= min_profit:
            early = self._finish(R, f, c, mask, np.zeros((self.n_pools, 2)),
                                 np.ones(self.n_tokens), V, "optimal", "bound", t0, [])
        return R, f, c, mask, b, r, V, fm, early, ub

    def _finish(self, R, f, c, mask, tendered_n, nu_n, V, status, solver, t0, attempts):
        """Back to token units; recompute what each pool pays out exactly.

        ``tendered_n`` is the net amount tendered per pool side in normalised
        units; only the side of larger value is kept (the other is solver noise).
        """
        scale = V / c[self.tok]                      # normalised -> token units, per pool side
        tend = np.where(mask[:, None], tendered_n * scale, 0.0)
        side = np.argmax(tendered_n, axis=1)
        clean = np.zeros_like(tend)
        rows = np.arange(self.n_pools)
        clean[rows, side] = tend[rows, side]
        clean[clean < 1e-12 * R] = 0.0
        g = 1.0 - f
        rin = R[rows, side]
        rout = R[rows, 1 - side]
        a = clean[rows, side]
        out = g * a * rout / (rin + g * a)
        recv = np.zeros_like(clean)
        recv[rows, 1 - side] = out
        net = np.zeros(self.n_tokens)
        np.add.at(net, self.tok.ravel(), (recv - clean).ravel())
        # A residual short position (net < 0 by round-off of the dual, ~1e-9 of a pool) is
        # valued at the dual price, the marginal cost of closing it through the pools; at
        # the exact optimum the two prices agree wherever the net trade is not zero.
        nu = nu_n * c
        profit = float(c @ np.maximum(net, 0.0) + nu @ np.minimum(net, 0.0))
        if status == "optimal" and profit <= PROFIT_FLOOR * V:
            # nothing pays: a clean zero trade rather than round-off dressed up as a trade
            clean[:] = 0.0
            recv[:] = 0.0
            net[:] = 0.0
            profit = 0.0
        res = RouteResult(profit, clean, recv, net, nu, status, solver,
                          time.perf_counter() - t0, attempts)
        self.stats.append({"status": status, "solver": solver, "solve_time": res.solve_time,
                           "attempts": len(attempts), "profit": profit})
        return res

    # ------------------------------------------------------------ reporting
    def report(self) -> pd.DataFrame:
        """One row per solve: status, solver, time (s), attempts, profit (numeraire)."""
        return pd.DataFrame(self.stats, columns=["status", "solver", "solve_time", "attempts",
                                                 "profit"])

    @property
    def failures(self) -> int:
        """Solves that did not end optimal after every retry."""
        return sum(1 for s in self.stats if s["status"] != "optimal")


class ConvexRouter(_Router):
    """cvxpy router built once with Parameters; solved per slot by updating values.

    Parameters
    ----------
    pairs : list of (int, int)
        Token indices of each pool, in the pool's own reserve order.
    n_tokens : int
        Number of tokens; token 0 is the numeraire.
    solvers : sequence of str
        Tried in order after a non-optimal answer (default Clarabel, then SCS).

    Notes
    -----
    The CPMM trading set is written as a second-order cone: with
    ``u = R0 + g D0 - L0``, ``v = R1 + g D1 - L1`` and ``w = sqrt(R0 R1)``,
    ``u v >= w^2, u, v >= 0`` iff ``||(2w, u - v)||_2 <= u + v``. External
    prices enter through the value normalisation of the reserves parameter.
    """

    def __init__(self, pairs, n_tokens: int, solvers=("CLARABEL", "SCS")):
        super().__init__(pairs, n_tokens)
        import cvxpy as cp
        self._cp = cp
        self.solvers = tuple(solvers)
        installed = set(cp.installed_solvers())
        missing = [s for s in self.solvers if s not in installed]
        if missing:
            raise SolverError(f"solvers {missing} are not installed; installed: {sorted(installed)}")
        self._problems = {}
        for bounded in (True, False):
            self._problems[bounded] = self._build(bounded)

    def _build(self, bounded: bool):
        cp = self._cp
        m, n = self.n_pools, self.n_tokens
        D = cp.Variable((m, 2), nonneg=True)
        L = cp.Variable((m, 2), nonneg=True)
        # one Parameter per pool row (reserves r0, r1, sqrt(r0 r1), gamma): each .value
        # update costs a validation pass, ~40 us, a sizeable share of a 2 ms solve
        pool = cp.Parameter((m, 4), nonneg=True, name="pool_state")
        gam = pool[:, 3]
        u = pool[:, 0] + cp.multiply(gam, D[:, 0]) - L[:, 0]
        v = pool[:, 1] + cp.multiply(gam, D[:, 1]) - L[:, 1]
        Ma = np.zeros((n, m))
        Mb = np.zeros((n, m))
        Ma[self.tok[:, 0], np.arange(m)] = 1.0
        Mb[self.tok[:, 1], np.arange(m)] = 1.0
        psi = Ma @ (L[:, 0] - D[:, 0]) + Mb @ (L[:, 1] - D[:, 1])
        cons = [cp.SOC(u + v, cp.vstack([2 * pool[:, 2], u - v]), axis=0)]
        inv = None
        if bounded:
            inv = cp.Parameter(n, nonneg=True, name="inventory")
            cons.append(psi >= -inv)
        # the objective is rescaled so that the best profit is O(1) (interior-point
        # tolerances are partly absolute; an arbitrage worth 1e-7 of the pools would be noise)
        scale = cp.Parameter(nonneg=True, name="objective_scale")
        prob = cp.Problem(cp.Maximize(scale * cp.sum(psi)), cons)
        if not prob.is_dcp(dpp=True):
            raise AssertionError("routing problem is not DPP: it would be re-canonicalised every solve")
        return dict(prob=prob, D=D, L=L, pool=pool, inv=inv,
                    psi_con=cons[-1] if bounded else None, scale=scale)

    def solve(self, reserves, fees, prices, reachable=None, inventory=0.0,
              min_profit=0.0) -> RouteResult:
        """Best trade at the given state.

        Parameters
        ----------
        reserves : array (n_pools, 2)
            Token units, each pool's own order.
        fees : array (n_pools,)
            Fractions in [0, 1).
        prices : array (n_tokens,)
            External prices, numeraire per unit.
        reachable : array of bool (n_pools,), optional
            Pools the searcher may trade on (default all).
        inventory : float or array (n_tokens,)
            How much of each token's value (numeraire) the net trade may be
            short: 0 (default) is atomic arbitrage, ``inf`` CEX-DEX arbitrage.
        min_profit : float
            Numeraire. When the per-pool arbitrage at external prices (an upper
            bound on any trade's profit, computed exactly) is at most this, the
            zero trade is returned without calling the solver (solver
            ``"bound"``): no trade can earn ``min_profit``.
        """
        t0 = time.perf_counter()
        R, f, c, mask, b, r, V, fm, early, ub = self._prepare(reserves, fees, prices, reachable,
                                                             inventory, min_profit, t0)
        if early is not None:
            return early
        bounded = b is not None
        P = self._problems[bounded]
        # an unreachable pool gets gamma = 0: what it is tendered adds nothing to its
        # reserves, so the trading set leaves only the zero trade
        P["pool"].value = np.column_stack([r, np.sqrt(r[:, 0] * r[:, 1]),
                                           np.where(mask, 1.0 - f, 0.0)])
        if bounded:
            P["inv"].value = b
        attempts = []
        # below 1e-4 of the mean pool value the rescaling stops: a larger scale makes
        # Clarabel report this bounded problem as unbounded
        P["scale"].value = 1.0 / max(ub, 1e-4)
        status, solver = "not_solved", ""
        objective = math.nan
        for solver, opts in self._attempts():
            ta = time.perf_counter()
            try:
                P["prob"].solve(solver=solver, **opts)
                status = P["prob"].status
            except self._cp.error.SolverError as e:
                status = f"solver_error: {e}"
            attempts.append({"solver": solver, "status": status,
                             "time": time.perf_counter() - ta})
            if status not in ("optimal", "optimal_inaccurate"):
                continue
            nu = np.ones(self.n_tokens)
            if bounded and P["psi_con"].dual_value is not None:
                nu = 1.0 + (np.maximum(np.asarray(P["psi_con"].dual_value, float), 0.0)
                            / P["scale"].value)
            objective = float(P["prob"].value) / P["scale"].value * V
            attempts[-1]["objective"] = objective
            # a wash trade (tender and receive the same token) is free at fee 0: keep the net
            raw = np.maximum(P["D"].value - P["L"].value, 0.0)
            if bounded:
                # The objective is flat at the optimum: an interior-point trade optimal to
                # 1e-10 in value can be off by ~1e-4 in size. Polish: from the solver's dual
                # prices, a few dual steps, then each pool's closed-form trade (complementary
                # slackness). Its KKT residual certifies the pair, so an "almost solved"
                # interior-point answer that polishes to a certified optimum is accepted.
                nu, ok = self._minimise_dual(np.maximum(nu, 1.0), r, fm, b, 1e-13, 2000,
                                             attempts, "polish")
            else:
                ok = True   # nu = c: each pool's closed form is the exact optimum
            if status == "optimal" or ok:
                break
        if status not in ("optimal", "optimal_inaccurate") or not (status == "optimal" or ok):
            return self._finish(R, f, c, mask, np.zeros((self.n_pools, 2)),
                                np.ones(self.n_tokens), V, status, solver, t0, attempts)
        if ok:
            arb_at_prices_nb(r, fm, self.tok, nu, self._tend, self._recv)
            raw = self._tend.copy()
            status = "optimal"
        res = self._finish(R, f, c, mask, raw, nu, V, status, solver, t0, attempts)
        res.objective = objective
        return res

    def _attempts(self):
        for s in self.solvers:
            if s == "CLARABEL":
                # The objective is scaled to O(1), so Clarabel's default 1e-8 tolerances give
                # ~1e-7 relative accuracy in profit. About 7 % of random instances stall just
                # above them ("almost solved"); on 30 such instances 1e-7 tolerances solved
                # 24, turning equilibration off 4 of the rest, turning presolve off 1.
                yield s, {}
                yield s, dict(tol_gap_abs=1e-7, tol_gap_rel=1e-7, tol_feas=1e-7)
                yield s, dict(equilibrate_enable=False)
                yield s, dict(presolve_enable=False, max_step_fraction=0.8)
            elif s == "SCS":
                yield s, dict(eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)
            else:
                yield s, {}


class DualRouter(_Router):
    """Dual decomposition (Diamandis, Resnick, Chitra, Angeris 2023).

    Minimises the smooth dual over token prices ``nu >= c``,

    .. math:: g(\\nu) = \\sum_i \\mathrm{arb}_i(A_i^T \\nu) + b^T(\\nu - c),

    where ``arb_i`` is pool ``i``'s closed-form arbitrage value at prices
    ``nu`` (the Numba oracle :func:`~mevlab.searcher.nb.arb_at_prices_nb`),
    whose gradient is the pools' net trade (Danskin). A projected Newton
    method in Numba (:func:`~mevlab.searcher.nb.dual_newton_nb`, closed-form
    Hessian) handles the bounds in a handful of iterations; L-BFGS-B is the
    retry should it stall. The primal trade is the oracle's at the optimal
    prices. With unbounded inventory ``nu = c`` and no iteration is needed.

    Parameters
    ----------
    pairs, n_tokens
        As :class:`ConvexRouter`.
    method : {"newton", "lbfgsb"}
        ``"newton"`` (default): projected Newton, L-BFGS-B only as retry.
        ``"lbfgsb"``: scipy's L-BFGS-B alone, ~30x slower; kept as an
        independent cross-check and as the benchmark's reference.
    gtol, maxiter : float, int
        Gradient tolerance and iteration cap of L-BFGS-B.
    """

    def __init__(self, pairs, n_tokens: int, method: str = "newton", gtol: float = 1e-13,
                 maxiter: int = 20_000):
        super().__init__(pairs, n_tokens)
        if method not in ("newton", "lbfgsb"):
            raise ValueError(f"method: expected 'newton' or 'lbfgsb', got {method!r}")
        self.method = method
        self.gtol = gtol
        self.maxiter = maxiter

    def solve(self, reserves, fees, prices, reachable=None, inventory=0.0,
              min_profit=0.0) -> RouteResult:
        """Same inputs and result as :meth:`ConvexRouter.solve`."""
        t0 = time.perf_counter()
        R, f, c, mask, b, r, V, fm, early, _ = self._prepare(reserves, fees, prices, reachable,
                                                            inventory, min_profit, t0)
        if early is not None:
            return early
        attempts = []
        if b is None:
            nu, ok = np.ones(self.n_tokens), True      # nu = c: per-pool closed forms
        else:
            minimise = self._minimise_dual if self.method == "newton" else self._lbfgsb
            nu, ok = minimise(np.ones(self.n_tokens), r, fm, b, self.gtol, self.maxiter,
                              attempts, "dual" if self.method == "newton" else "dual:L-BFGS-B")
        val = arb_at_prices_nb(r, fm, self.tok, nu, self._tend, self._recv)
        res = self._finish(R, f, c, mask, self._tend.copy(), nu, V,
                           "optimal" if ok else "not_converged", "dual", t0, attempts)
        res.objective = (val + (0.0 if b is None else float(b @ (nu - 1.0)))) * V
        return res


def two_pool_arbitrage(pool_a, pool_b, fee_a=0.003, fee_b=0.003):
    """Closed-form inventory-free arbitrage between two pools of one pair.

    Parameters
    ----------
    pool_a, pool_b : (float, float)
        Reserves ``(x, y)`` of each pool, token units.

    Returns
    -------
    dict
        ``buy_in`` ("a" or "b": where x is bought with y), ``y_in``, ``x_mid``,
        ``y_out`` and ``profit`` (units of y); profit 0 if prices sit within
        the fee bands.
    """
    from .nb import two_pool_arb_nb
    xa, ya = map(float, pool_a)
    xb, yb = map(float, pool_b)
    dy, xm, yo, p = two_pool_arb_nb(xa, ya, xb, yb, fee_a, fee_b)
    if p > 0:
        return dict(buy_in="a", y_in=dy, x_mid=xm, y_out=yo, profit=p)
    dy, xm, yo, p = two_pool_arb_nb(xb, yb, xa, ya, fee_b, fee_a)
    if p > 0:
        return dict(buy_in="b", y_in=dy, x_mid=xm, y_out=yo, profit=p)
    return dict(buy_in="", y_in=0.0, x_mid=0.0, y_out=0.0, profit=0.0)


def check_certificate(result: RouteResult, reserves, fees, pairs, rtol: float = 1e-6) -> list[str]:
    """Optimality certificate of a routing result at its dual prices.

    - every traded pool ends with its fee-exclusive price inside the fee band
      ``[g p*, p*/g]`` of the dual prices (``p* = nu_x / nu_y``);
    - no untraded pool has a profitable closed-form trade at those prices.

    Returns the list of violations (empty: the certificate holds).
    """
    R = np.asarray(reserves, float)
    f = np.asarray(fees, float)
    tok = np.asarray(pairs, np.int64)
    nu = result.prices
    bad = []
    for i in range(len(R)):
        g = 1.0 - f[i]
        p_star = nu[tok[i, 0]] / nu[tok[i, 1]]
        traded = result.tendered[i].max() > 0
        if traded:
            d = int(np.argmax(result.tendered[i]))
            x = R[i, 0] + (g * result.tendered[i, 0] if d == 0 else -result.received[i, 0])
            y = R[i, 1] + (g * result.tendered[i, 1] if d == 1 else -result.received[i, 1])
            price = y / x
            if not (g * p_star * (1 - rtol) <= price <= p_star / g * (1 + rtol)):
                bad.append(f"pool {i}: ends at price {price:.9g}, outside the fee band "
                           f"[{g * p_star:.9g}, {p_star / g:.9g}]")
        else:
            d, a, o, prof = optimal_arb_nb(R[i, 0], R[i, 1], p_star, f[i])
            value = prof * nu[tok[i, 1]]
            atol = 1e-15 * R[i, 1] * nu[tok[i, 1]]     # round-off of the pool's own value
            if d >= 0 and value > rtol * abs(result.profit) + atol:
                bad.append(f"pool {i}: untouched but a trade worth {value:.3g} pays at the dual prices")
    return bad

"""Shapley values of a cooperative game given by its characteristic function.

Generic: knows nothing of the engine. A player is any hashable name and the game is
a callable ``value(frozenset_of_players) -> float`` (for example the profit of a
simulation run with only those players active). Units are whatever ``value`` returns.

References
----------
Shapley, L. S. (1953). A value for n-person games. In *Contributions to the Theory
of Games II*, Annals of Mathematics Studies 28, 307-317.

Castro, J., Gomez, D. & Tejada, J. (2009). Polynomial calculation of the Shapley
value based on sampling. *Computers & Operations Research* 36(5), 1726-1730.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from numbers import Integral

import numpy as np
import pandas as pd

__all__ = ["shapley"]

_EXACT_MAX_RANGE = (1, 20)


def shapley(players: Sequence[Hashable], value: Callable[[frozenset], float], *,
            exact_max: int = 8, samples: int = 2000, seed=0,
            progress: Callable[[int, int], object] | None = None) -> pd.DataFrame:
    """Shapley value of each player, exact for small games and sampled otherwise.

    With ``n = len(players) <= exact_max`` the subset formula of Shapley (1953),

        phi_i = sum_{S subset N \\ {i}} |S|! (n - |S| - 1)! / n! * (v(S | {i}) - v(S)),

    is evaluated on all ``2**n`` coalitions. Otherwise phi_i is the mean marginal
    contribution of i along random orderings of the players (Castro, Gomez & Tejada,
    2009), drawn as ``samples // 2`` antithetic pairs (an ordering and its reverse).
    Along every ordering the marginal contributions telescope to v(N) - v(empty), so
    the estimates are efficient (sum to the total) up to rounding, whatever the sample.

    Parameters
    ----------
    players : sequence of hashable
        Distinct player names, at least one.
    value : callable
        Characteristic function: takes a ``frozenset`` of players and returns a
        finite float. Each distinct coalition is evaluated once per call (memoised).
    exact_max : int, default 8
        Largest number of players solved exactly, in [1, 20].
    samples : int, default 2000
        Number of orderings drawn in sampled mode, >= 2 (an odd count is rounded
        down to whole antithetic pairs).
    seed : int, optional
        Seed of the ``numpy.random.Generator`` that draws the orderings.
    progress : callable, optional
        ``progress(done, total)`` is called after each evaluation of ``value``;
        ``total`` is the number of distinct coalitions this call will evaluate.

    Returns
    -------
    pandas.DataFrame
        Indexed by player (in the given order) with columns ``shapley`` (phi_i),
        ``stderr`` (standard error of phi_i over the antithetic pairs; 0 in exact
        mode, NaN with a single pair) and ``share`` (phi_i / (v(N) - v(empty)), NaN
        if that total is 0). ``attrs`` holds ``total`` (v(N) - v(empty)), ``method``
        (``"exact"`` or ``"sampled"``) and ``evaluations`` (distinct coalitions
        evaluated).

    Raises
    ------
    ValueError
        For no players or duplicate players, ``exact_max`` outside [1, 20],
        ``samples`` < 2, or ``value`` returning a non-finite number (the coalition
        is named in the message).
    """
    players = list(players)
    n = len(players)
    if n < 1:
        raise ValueError("players must contain at least 1 player; got an empty sequence")
    if len(set(players)) != n:
        seen, dups = set(), []
        for p in players:
            if p in seen and p not in dups:
                dups.append(p)
            seen.add(p)
        raise ValueError(f"players must be distinct; duplicated: {dups!r}")
    lo, hi = _EXACT_MAX_RANGE
    if not _is_int(exact_max) or not lo <= exact_max <= hi:
        raise ValueError(f"exact_max must be an integer in [{lo}, {hi}]; got {exact_max!r}")
    if not _is_int(samples) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2; got {samples!r}")
    if not callable(value):
        raise TypeError(f"value must be callable (frozenset -> float); got {type(value).__name__}")

    def evaluate(masks: list[int]) -> np.ndarray:
        # masks are distinct bitmasks over `players`; one call of `value` each
        out = np.empty(len(masks))
        for k, mask in enumerate(masks):
            coalition = frozenset(players[i] for i in range(n) if mask >> i & 1)
            raw = value(coalition)
            try:
                x = float(raw)
            except (TypeError, ValueError):
                raise TypeError(f"value({_show(coalition)}) returned {raw!r}, "
                                "which is not a real number") from None
            if not math.isfinite(x):
                raise ValueError(f"value({_show(coalition)}) returned {x!r}; "
                                 "the characteristic function must be finite")
            out[k] = x
            if progress is not None:
                progress(k + 1, len(masks))
        return out

    if n <= exact_max:
        phi, stderr, total, evaluations = _exact(n, evaluate)
        method = "exact"
    else:
        phi, stderr, total, evaluations = _sampled(n, samples // 2, seed, evaluate)
        method = "sampled"

    share = phi / total if total != 0 else np.full(n, np.nan)
    index = pd.Index(players, dtype=object, tupleize_cols=False, name="player")
    df = pd.DataFrame({"shapley": phi, "stderr": stderr, "share": share}, index=index)
    df.attrs = {"total": float(total), "method": method, "evaluations": int(evaluations)}
    return df


def _exact(n, evaluate):
    size = 1 << n
    v = evaluate(list(range(size)))          # v[mask], all 2**n coalitions
    masks = np.arange(size, dtype=np.int64)
    card = np.zeros(size, dtype=np.int64)
    for b in range(n):
        card += (masks >> b) & 1
    # weight of a coalition S not containing i: |S|! (n-|S|-1)! / n! = 1 / (n C(n-1, |S|))
    weight = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    phi = np.empty(n)
    for i in range(n):
        without = masks[((masks >> i) & 1) == 0]
        phi[i] = np.sum(weight[card[without]] * (v[without | (1 << i)] - v[without]))
    return phi, np.zeros(n), v[size - 1] - v[0], size


def _sampled(n, pairs, seed, evaluate):
    rng = np.random.default_rng(seed)
    base = rng.permuted(np.tile(np.arange(n), (pairs, 1)), axis=1)
    perms = np.empty((2 * pairs, n), dtype=np.int64)
    perms[0::2] = base                        # each ordering followed by its reverse
    perms[1::2] = base[:, ::-1]

    # prefix coalitions of every ordering as bitmasks (Python ints: any n)
    slot: dict[int, int] = {}
    prefix = np.empty((2 * pairs, n + 1), dtype=np.int64)
    for j, perm in enumerate(perms.tolist()):
        mask = 0
        prefix[j, 0] = slot.setdefault(mask, len(slot))
        for k, i in enumerate(perm, 1):
            mask |= 1 << i
            prefix[j, k] = slot.setdefault(mask, len(slot))
    v = evaluate(list(slot))                 # dicts keep first-seen order

    gains = np.diff(v[prefix], axis=1)        # marginal contribution of perms[j, k]
    marginal = np.empty_like(gains)
    np.put_along_axis(marginal, perms, gains, axis=1)
    per_pair = 0.5 * (marginal[0::2] + marginal[1::2])
    phi = per_pair.mean(axis=0)
    if pairs > 1:
        stderr = per_pair.std(axis=0, ddof=1) / math.sqrt(pairs)
    else:
        stderr = np.full(n, np.nan)
    total = v[slot[(1 << n) - 1]] - v[slot[0]]
    return phi, stderr, total, len(slot)


def _is_int(x) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _show(coalition: frozenset) -> str:
    try:
        items = sorted(coalition)
    except TypeError:
        items = list(coalition)
    return "{" + ", ".join(repr(p) for p in items) + "}"

"""``check_policy``: the conformance suite every policy, built-in or user-written, must pass."""
from __future__ import annotations

import dataclasses

import numpy as np

from .base import Policy, get_policy


class PolicyCheckError(AssertionError):
    """A policy broke a property of the policy contract."""


def _fail(policy, what):
    raise PolicyCheckError(f"policy {policy.name!r}: {what}")


def _random_slot(rng, n):
    # coarse arrival grid and few fee levels so that ties are common
    t_seq = rng.integers(0, max(1, n // 3), n).astype(float) * 0.01
    fee = rng.choice([0.0, 0.01, 0.02, 0.05], n)
    tie_u = rng.uniform(size=n)
    return t_seq, fee, tie_u


def check_ordering(policy, n_cases: int = 200, seed: int = 0) -> int:
    """Ordering properties on random slots with many ties.

    - the output is a permutation of the slot and the inclusion count is in ``[0, n]``;
    - the same input gives the same output;
    - the order follows ``policy.sorted_by``;
    - the order depends on the transactions, not on how the slot lists them.

    Returns the number of slots checked.
    """
    policy = get_policy(policy)
    rng = np.random.default_rng(seed)
    for case in range(n_cases):
        n = int(rng.integers(0, 120))
        t_seq, fee, tie_u = _random_slot(rng, n)
        perm, k = policy.order(t_seq, fee, tie_u)
        if not 0 <= k <= n:
            _fail(policy, f"inclusion count {k} outside [0, {n}]")
        if sorted(perm[:n].tolist()) != list(range(n)):
            _fail(policy, f"case {case}: ordering is not a permutation of the slot")
        perm2, k2 = policy.order(t_seq, fee, tie_u)
        if k2 != k or not np.array_equal(perm2[:n], perm[:n]):
            _fail(policy, f"case {case}: same input gave a different order")
        cols = {"t_seq": t_seq, "priority_fee": fee}
        for a, b in zip(perm[:k - 1], perm[1:k]):
            for key in policy.sorted_by:
                sign = -1.0 if key.startswith("-") else 1.0
                col = cols[key.lstrip("-")]
                va, vb = sign * col[a], sign * col[b]
                if va < vb:
                    break
                if va > vb:
                    _fail(policy, f"case {case}: order breaks its key {policy.sorted_by}")
        shuffle = rng.permutation(n)
        perm3, k3 = policy.order(t_seq[shuffle], fee[shuffle], tie_u[shuffle])
        if k3 != k or not np.array_equal(shuffle[perm3[:k3]], perm[:k]):
            _fail(policy, f"case {case}: order depends on how the slot was listed")
    return n_cases


def check_engine(policy, scenario=None, seeds=(0, 1)) -> dict:
    """Engine properties of a policy on a small scenario.

    - the ledger balances: value is moved, not created (per slot, to 1e-9 of volume);
    - tokens are conserved in every pool;
    - holdings marked to market agree with the ledger plus price revaluation;
    - no pool's ``k`` decreases over any executed swap;
    - the same seed gives identical fills and ledgers.
    """
    from ..config import Scenario
    from ..experiments import simulate
    policy = get_policy(policy)
    if scenario is None:
        scenario = dataclasses.replace(Scenario.preset("superchain"), duration=60.0)
    report = {}
    for seed in seeds:
        res = simulate(scenario, policy, seed)
        chk = res.checks()
        if not chk["all_finite"]:
            _fail(policy, f"seed {seed}: ledger has NaN or infinite entries")
        if chk["max_slot_imbalance"] > 1e-9 * max(chk["volume"], 1.0):
            _fail(policy, f"seed {seed}: ledger does not balance ({chk})")
        if chk["token_imbalance"] > 1e-12:
            _fail(policy, f"seed {seed}: tokens not conserved ({chk['token_imbalance']})")
        if chk["mtm_residual"] > 1e-9:
            _fail(policy, f"seed {seed}: holdings marked to market disagree with the ledger "
                          f"({chk['mtm_residual']})")
        _check_k(policy, res)
        again = simulate(scenario, policy, seed)
        if again.raw_fills.tobytes() != res.raw_fills.tobytes() \
                or not again.ledger.equals(res.ledger):
            _fail(policy, f"seed {seed}: same seed gave different results")
        report[seed] = chk
    return report


def _check_k(policy, res):
    """``k`` never decreases: over every fill, or over every batch (slot and pool) when
    the policy settles at a uniform price (the pool then trades only the batch's net)."""
    r = res.reserves0.copy()
    f = res.raw_fills
    ex = f[f["status"] == 0]
    batch = policy.settlement == "uniform"
    key = (ex["slot"] * (len(r) + 1) + ex["pool"]) if batch else np.arange(len(ex))
    k0 = None
    for i, row in enumerate(ex):
        pl, d = row["pool"], row["direction"]
        if i == 0 or key[i] != key[i - 1]:
            k0 = r[pl, 0] * r[pl, 1]
        r[pl, d] += row["amount_in"]
        r[pl, 1 - d] -= row["amount_out"]
        if (i + 1 == len(ex) or key[i + 1] != key[i]) and r[pl, 0] * r[pl, 1] < k0 * (1 - 1e-12):
            _fail(policy, f"fill {row['id']}: pool {pl} k decreased")


def check_policy(policy: Policy | str, n_cases: int = 200, scenario=None) -> dict:
    """Run the whole conformance suite on ``policy``; raises :class:`PolicyCheckError`.

    Returns
    -------
    dict
        ``{"ordering_cases": int, "engine": {seed: checks}}``.
    """
    policy = get_policy(policy)
    # the ordering the scenario selects (threshold may order by fee)
    ordering = policy if scenario is None else policy.for_scenario(scenario)
    return {"ordering_cases": check_ordering(ordering, n_cases),
            "engine": check_engine(policy, scenario)}

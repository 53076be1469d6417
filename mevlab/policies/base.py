"""The policy contract: visibility, an ordering kernel and a settlement mode."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .nb import N_PARAMS, P_PUBLIC, P_RACE, order_slot_nb


@dataclass(frozen=True)
class Policy:
    """An ordering policy.

    Attributes
    ----------
    name : str
        Registry name, as it appears in results.
    policy_id : int
        Integer the dispatch kernel switches on.
    visibility : {"public", "private", "scenario", "sealed"}
        What searchers see before the order is fixed; ``"scenario"`` takes the
        scenario's ``mempool`` setting; ``"sealed"``: commitments or
        ciphertexts only, contents known once the order is fixed.
    competition : {"latency", "bid"}
        How searchers compete for one opportunity: first arrival wins, or the
        highest bid wins and pays it.
    settlement : {"sequential", "uniform"}
        How the ordered slot is settled: one swap after another, or every
        swap on a pool at one clearing price (batch auction).
    sorted_by : tuple of str
        Lexicographic key the executed order must follow (``"-x"`` means
        descending), checked by :func:`check_policy`.
    """
    name: str
    policy_id: int
    visibility: str
    competition: str
    settlement: str = "sequential"
    sorted_by: tuple = ()
    description: str = field(default="", compare=False)

    def params(self, scn) -> np.ndarray:
        """The float64 parameter vector for the engine under scenario ``scn``."""
        vis = scn.mempool if self.visibility == "scenario" else self.visibility
        p = np.zeros(N_PARAMS)
        p[P_PUBLIC] = 1.0 if vis == "public" else 0.0
        p[P_RACE] = 1.0 if self.competition == "latency" else 0.0
        return p

    def for_scenario(self, scn) -> "Policy":
        """The policy as it orders under ``scn`` (a scenario may choose the ordering key)."""
        return self

    def setup(self, scn, world):
        """Policy-specific preparation of one run.

        Returns ``(world, params, policy_id, info)``: the world the kernel runs
        on (a policy may delay or drop transactions, or restrict what searchers
        see), the parameter vector, the ordering kernel to use and a dict of
        facts about the run (stored in ``Result.meta["policy_info"]``).
        """
        return world, self.params(scn), self.policy_id, {}

    def audit(self, scn, world, fills) -> dict:
        """Checks a policy runs on the kernel's output; facts for ``policy_info``."""
        return {}

    def order(self, t_seq, fee, tie_u):
        """Order one slot: returns ``(permutation, n_included)``."""
        t_seq = np.ascontiguousarray(t_seq, np.float64)
        out = np.empty(len(t_seq), np.int64)
        n = order_slot_nb(self.policy_id, np.zeros(N_PARAMS), t_seq,
                          np.ascontiguousarray(fee, np.float64),
                          np.ascontiguousarray(tie_u, np.float64), out)
        return out, int(n)


REGISTRY: dict[str, Policy] = {}


def register(policy: Policy) -> Policy:
    REGISTRY[policy.name] = policy
    return policy


def get_policy(policy) -> Policy:
    """Resolve a policy name (or pass a :class:`Policy` through)."""
    if isinstance(policy, Policy):
        return policy
    if policy not in REGISTRY:
        raise ConfigError([("policy", f"got {policy!r}; expected one of {sorted(REGISTRY)}")])
    return REGISTRY[policy]


def list_policies() -> list[str]:
    return sorted(REGISTRY)

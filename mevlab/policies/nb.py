"""Ordering kernels behind one integer dispatch, so the engine compiles once."""
import numpy as np
from numba import njit

FCFS = 0
PRIORITY = 1

#: Entries of the policy parameter vector the engine receives (``Policy.params``).
P_PUBLIC = 0        # 1: searchers read transactions before ordering (public mempool)
P_RACE = 1          # 1: searchers compete by latency; 0: by bids (open auction)
P_NEXT_BACKRUN = 2  # 1: contents are known only once the order is fixed; back-runs go to the
#                     next slot
P_SPEC = 3          # speculative strategy, one of SPEC_*
P_BOND = 4          # bond per commitment, numeraire, forfeited if not revealed
P_BATCH = 5         # 1: settle each pool's slot at one uniform clearing price (batch auction)
P_FM = 6            # 1: the batch clears against a function-maximising AMM
N_PARAMS = 7
SPEC_NONE = 0
SPEC_COMMIT = 1     # commit-reveal: speculative commitments with the option not to reveal
SPEC_LEAK = 2       # threshold with leaked pool and direction: a blind sandwich that must execute


@njit(cache=True)
def order_fcfs_nb(t_seq, tie_u, out):
    """Arrival order at the sequencer; exact ties broken by the drawn uniforms.

    Writes the permutation into ``out[:n]`` and returns the number included (all).
    """
    n = t_seq.shape[0]
    # two stable passes = lexicographic (t_seq, tie_u)
    idx = np.argsort(tie_u, kind="mergesort")
    idx = idx[np.argsort(t_seq[idx], kind="mergesort")]
    out[:n] = idx
    return n


@njit(cache=True)
def order_priority_nb(t_seq, fee, tie_u, out):
    """Priority fee descending, then arrival, then the drawn uniforms."""
    n = t_seq.shape[0]
    idx = np.argsort(tie_u, kind="mergesort")
    idx = idx[np.argsort(t_seq[idx], kind="mergesort")]
    idx = idx[np.argsort(-fee[idx], kind="mergesort")]
    out[:n] = idx
    return n


@njit(cache=True)
def order_slot_nb(policy_id, params, t_seq, fee, tie_u, out):
    """Dispatch: order one slot's transactions; returns the inclusion count.

    Parameters
    ----------
    policy_id : int
        :data:`FCFS` or :data:`PRIORITY`.
    params : float64[:]
        Per-policy parameters (unused by the ordering of these two policies).
    t_seq : float64[:]
        Arrival at the sequencer (s).
    fee : float64[:]
        Priority fee (numeraire).
    tie_u : float64[:]
        Uniforms drawn per transaction for tie-breaking.
    out : int64[:]
        Receives the permutation (indices into the slot) in ``out[:n]``.
    """
    if policy_id == FCFS:
        return order_fcfs_nb(t_seq, tie_u, out)
    elif policy_id == PRIORITY:
        return order_priority_nb(t_seq, fee, tie_u, out)
    return -1

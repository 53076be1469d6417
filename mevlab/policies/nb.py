"""Ordering kernels behind one integer dispatch, so the engine compiles once."""
import numpy as np
from numba import njit

FCFS = 0
PRIORITY = 1


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

"""Who leads each slot, and whether it shows up (model.md §1, "Sequencing topology").

Each slot's leader comes from the scenario's sequencer set, round-robin or by
stake-weighted random selection. Under ``shared`` one rotation leads the common
slots; under ``isolated`` every rollup's clock has its own rotation over the same
set (its own sequencer from that set in turn). A leader misses the slot it leads
with its ``offline_prob``; a missed slot executes nothing and its transactions
wait for the next slot of their clock whose leader is online.
"""
from __future__ import annotations

import numpy as np


def draw_leaders(scn, clocks, rng: np.random.Generator):
    """Leader and liveness of every slot.

    Parameters
    ----------
    scn : Scenario
        With a non-empty ``sequencers`` set.
    clocks : Clocks
    rng : numpy.random.Generator
        The run's leader stream.

    Returns
    -------
    leader : int64 (n_slots,)
        Index into ``scn.sequencers``.
    online : bool (n_slots,)
        Whether the leader produced the slot.
    """
    m = len(scn.sequencers)
    n = len(clocks.slot_clock)
    stake = np.array([s.stake for s in scn.sequencers])
    offline = np.array([s.offline_prob for s in scn.sequencers])
    leader = np.empty(n, np.int64)
    for c in range(len(clocks.period)):
        idx = np.flatnonzero(clocks.slot_clock == c)     # the clock's slots in time order
        if scn.leader_selection == "round_robin":
            # every clock starts its rotation at a drawn member, then goes in order
            leader[idx] = (rng.integers(m) + np.arange(len(idx))) % m
        else:
            leader[idx] = rng.choice(m, size=len(idx), p=stake / stake.sum())
    online = rng.uniform(size=n) >= offline[leader]
    return leader, online


def next_live_slot(clock: np.ndarray, live: np.ndarray) -> np.ndarray:
    """For every slot, the first live slot of the same clock at or after it (-1: none)."""
    out = np.full(len(clock), -1, np.int64)
    for c in np.unique(clock):
        idx = np.flatnonzero(clock == c)
        nxt = -1
        for s in idx[::-1]:
            if live[s]:
                nxt = s
            out[s] = nxt
    return out

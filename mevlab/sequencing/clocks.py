"""Slot clocks: one shared clock, or one clock per rollup (isolated sequencers).

Slot ``k`` of a clock with period ``T`` collects the transactions that reach the
sequencer in ``[k*T, (k+1)*T)`` and closes at ``(k+1)*T``. Slots of all clocks
are processed in order of closing time (ties by clock index), which gives every
slot one global id.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Clocks(NamedTuple):
    period: np.ndarray        # (n_clocks,) s
    rollup_clock: np.ndarray  # (n_rollups,) clock index of each rollup
    n_slots: np.ndarray       # (n_clocks,) slots per clock
    offset: np.ndarray        # (n_clocks + 1,) start of each clock's block in ``gid_of``
    gid_of: np.ndarray        # (sum n_slots,) global slot id of (clock, k)
    slot_clock: np.ndarray    # (n_global,) int32
    slot_t_open: np.ndarray   # (n_global,) s
    slot_t_close: np.ndarray  # (n_global,) s


def build_clocks(scn, horizon: float) -> Clocks:
    """Build the slot grid covering ``[0, horizon]`` seconds.

    ``shared``: one clock ticking at the fastest rollup's block time;
    ``isolated``: each rollup ticks at its own block time.
    """
    if scn.topology == "shared":
        period = np.array([scn.slot_time])
        rollup_clock = np.zeros(len(scn.rollups), np.int32)
    else:
        period = np.array([r.block_time for r in scn.rollups])
        rollup_clock = np.arange(len(scn.rollups), dtype=np.int32)
    n_slots = (np.floor(horizon / period) + 1).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n_slots)])
    clock = np.repeat(np.arange(len(period), dtype=np.int32), n_slots)
    k = np.arange(offset[-1]) - offset[clock]
    t_open = k * period[clock]
    t_close = (k + 1) * period[clock]
    order = np.lexsort((clock, t_close))
    gid_of = np.empty(offset[-1], np.int64)
    gid_of[order] = np.arange(offset[-1])
    return Clocks(period, rollup_clock, n_slots, offset, gid_of,
                  clock[order], t_open[order], t_close[order])


def price_grid(scn, horizon: float) -> np.ndarray:
    """Sorted times (s) at which the external price is drawn, whatever the topology.

    The union of the slot openings of the shared clock and of every rollup's
    own clock, so that ``shared`` and ``isolated`` runs of one scenario and
    seed see the same price path.
    """
    periods = {scn.slot_time, *(r.block_time for r in scn.rollups)}
    return np.unique(np.concatenate([np.arange(np.floor(horizon / T) + 1) * T
                                     for T in sorted(periods)]))


def assign_slots(clocks: Clocks, tx_clock: np.ndarray, t_seq: np.ndarray) -> np.ndarray:
    """Global slot id of each transaction from its clock and sequencer arrival time (s)."""
    k = np.floor(t_seq / clocks.period[tx_clock]).astype(np.int64)
    return clocks.gid_of[clocks.offset[tx_clock] + k]

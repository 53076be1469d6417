"""Batch auctions with a uniform clearing price (Budish, Cramton and Shim; CoW Protocol).

Nothing is visible until the batch closes, and there is no order inside a batch: per slot
and per pool every swap, users' and searchers' alike, clears at one price
(:func:`mevlab.amm.nb.clear_batch_nb`). Opposite flows net first; only the residual trades
against the pool. Arbitrageurs trade through the batch; a sandwich would be two opposite
orders at the same price and earns nothing, so none is placed. ``amm = "fm"`` clears against
the function-maximising AMM of Canidio and Fritsch instead of the constant product.
"""
from __future__ import annotations

import numpy as np

from .base import Policy, register
from .nb import FCFS, P_BATCH, P_FM


class BatchAuction(Policy):
    """Uniform-price batch per slot and pool; ``amm`` None takes the scenario's ``batch.amm``."""

    amm: str | None = None

    def params(self, scn) -> np.ndarray:
        p = super().params(scn)
        p[P_BATCH] = 1.0
        p[P_FM] = 1.0 if (self.amm or scn.batch.amm) == "fm" else 0.0
        return p


def _batch(name, amm, description):
    pol = BatchAuction(name, FCFS, visibility="private", competition="latency",
                       settlement="uniform", sorted_by=(), description=description)
    object.__setattr__(pol, "amm", amm)
    return register(pol)


BATCH_AUCTION = _batch("batch_auction", None,
                       "one uniform clearing price per slot and pool, against the scenario's "
                       "batch.amm (constant product by default)")
BATCH_AUCTION_FM = _batch("batch_auction-fm", "fm",
                          "batch auction against the function-maximising AMM "
                          "(Canidio and Fritsch)")

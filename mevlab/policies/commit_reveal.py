"""Commit-reveal: order fixed by commitment arrival, contents checked at reveal.

Users and searchers commit ``keccak256(abi.encode(sender, nonce, slot,
payload..., salt))``; the order is fixed by commit arrival; each reveal is
checked against its commitment; unrevealed commitments are dropped and their
bond goes to the sequencer. Nobody reads a transaction before the order is
fixed, so back-runs move to the next slot; what survives is the *option not
to reveal* (model.md §4), sized in :mod:`mevlab.searcher.speculative`.
"""
from __future__ import annotations

import numpy as np

from ..crypto import RevealBook, commitment, decode_tx, encode_tx
from ..crypto.payload import TX_FIELDS, TX_TYPES, tx_fields
from .base import Policy, register
from .nb import FCFS, N_PARAMS, P_BOND, P_NEXT_BACKRUN, P_SPEC, SPEC_COMMIT

#: Reveal phase length after a slot's commit phase closes, s. Users reveal at its start.
REVEAL_WINDOW = 0.5


class CommitReveal(Policy):
    """Commit-reveal with bonds; see the module docstring."""

    def params(self, scn) -> np.ndarray:
        p = super().params(scn)
        p[P_NEXT_BACKRUN] = 1.0
        p[P_SPEC] = SPEC_COMMIT if scn.commit_reveal.speculative else 0.0
        p[P_BOND] = scn.commit_reveal.bond
        return p

    def setup(self, scn, world):
        from ..searcher.speculative import speculative_sizes
        cr = scn.commit_reveal
        info = {"bond": cr.bond, "speculative": cr.speculative, "crypto": scn.crypto}
        if scn.crypto == "full":
            world, checked = commit_and_reveal(world)
            info.update(checked)
        params = self.params(scn)
        if cr.speculative:
            frac, value = speculative_sizes(scn, world, "commit", cr.bond,
                                            np.random.default_rng(world.policy_seed))
            params = np.concatenate([params, frac.ravel(), value.ravel()])
            info["speculative_pools"] = int((frac > 0).any(axis=1).sum())
        assert len(params) >= N_PARAMS
        return world, params, self.policy_id, info


def commit_and_reveal(world):
    """Every user transaction committed, revealed and checked with real keccak-256.

    Each payload is ABI-encoded, committed with a fresh 32-byte salt at its
    arrival in its slot's commit phase, and revealed at the start of the
    reveal phase; the flow the engine runs on is rebuilt from the revealed,
    decoded payloads, and a transaction whose reveal is rejected is dropped.

    Returns
    -------
    world : World
    info : dict
        ``commitments`` and ``rejected_reveals`` counts.
    """
    from ..engine import reslot
    fl, sl = world.flow, world.slots
    n = len(fl.t_seq)
    rng = np.random.default_rng(world.crypto_seed)
    salts = rng.bytes(32 * n)
    cols = {c: getattr(fl, c).copy() for c in TX_FIELDS}
    keep = np.zeros(n, bool)
    n_rejected = 0
    types = ["uint256", *TX_TYPES]
    for s in np.flatnonzero(np.diff(sl.ptr)):
        book = RevealBook(int(s), float(sl.t_open[s]), float(sl.t_close[s]),
                          float(sl.t_close[s]) + REVEAL_WINDOW)
        blobs = {}
        for j in range(sl.ptr[s], sl.ptr[s + 1]):
            sender = j + 1
            blob = encode_tx(sender, 0, fl.pool[j], fl.direction[j], fl.amount_in[j],
                             fl.tolerance[j], fl.min_out[j], fl.priority_fee[j], fl.informed[j])
            fields = tx_fields(*(decode_tx(blob)[c] for c in TX_FIELDS))
            salt = salts[32 * j:32 * j + 32]
            book.commit(commitment(sender, 0, types, [int(s), *fields], salt), sender,
                        float(fl.t_seq[j]))
            blobs[j] = (blob, fields, salt)
        for j, (blob, fields, salt) in blobs.items():
            _, why = book.reveal(j + 1, 0, TX_TYPES, fields, salt, int(s), float(sl.t_close[s]))
            if why is not None:
                n_rejected += 1
                continue
            keep[j] = True
            tx = decode_tx(blob)
            for c in cols:
                cols[c][j] = tx[c]
    flow = fl._replace(**cols)
    world = world._replace(flow=flow)
    if not keep.all():
        slot = world.flow_table["slot"].to_numpy()
        world = reslot(world, slot, keep, world.slots.live)
    return world, {"commitments": n, "rejected_reveals": n_rejected}


COMMIT_REVEAL = register(CommitReveal(
    "commit_reveal", FCFS, visibility="sealed", competition="latency", sorted_by=("t_seq",),
    description="commitments ordered by arrival, reveals checked with keccak-256; "
                "speculative commitments and bonds from the scenario"))

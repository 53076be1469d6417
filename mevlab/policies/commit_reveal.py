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
from ..crypto.payload import TX_FIELDS, TX_TYPES, float_bits, tx_fields
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

    def audit(self, scn, world, fills) -> dict:
        """``crypto = "full"``: the speculative searcher's legs through keccak and the reveal book.

        The legs are sized and the reveal decided inside the kernel, so they are
        committed here after the run, each with a fresh salt at its recorded
        arrival, and the executed ones revealed. This runs the hashing and the
        reveal rules on every searcher commitment and checks the accounting
        around them (every executed leg has an accepted reveal; the unrevealed
        commitments are exactly the dropped legs, with the bonds the ledger
        gives the sequencer); it does not re-derive the reveal decision, which
        the reference twin checks instead.
        """
        if scn.crypto != "full":
            return {}
        from ..engine.nb import DROPPED, SEARCHER, ST_BACK, ST_FRONT
        legs = fills[(fills["sender_kind"] == SEARCHER)
                     & np.isin(fills["strategy"], (ST_FRONT, ST_BACK))]
        rng = np.random.default_rng(np.random.SeedSequence(
            world.crypto_seed.entropy, spawn_key=world.crypto_seed.spawn_key + (1,)))
        types = ["uint256", "uint256", "uint8", "uint8", "uint64"]
        sl = world.slots
        n_rev = n_forfeit = 0
        forfeited = 0.0
        for s in np.unique(legs["slot"]):
            book = RevealBook(int(s), float(sl.t_open[s]), float(sl.t_close[s]),
                              float(sl.t_close[s]) + REVEAL_WINDOW)
            mine = legs[legs["slot"] == s]
            opened = []
            for leg in mine:
                # payload: pool, side, front or back, amount (a back sells all it bought)
                fields = [int(leg["pool"]), int(leg["direction"]), int(leg["strategy"]),
                          float_bits(leg["amount_in"] if leg["strategy"] == ST_FRONT else 0.0)]
                salt = rng.bytes(32)
                sender = int(leg["sender"]) + 1 + 2**32    # searchers' addresses
                book.commit(commitment(sender, int(leg["id"]), types, [int(s), *fields], salt),
                            sender, float(leg["submit_time"]), bond=float(leg["fee_paid"]))
                opened.append((leg, sender, fields, salt))
            for leg, sender, fields, salt in opened:
                if leg["status"] == DROPPED:
                    continue
                _, why = book.reveal(sender, int(leg["id"]), types[1:], fields, salt, int(s),
                                     float(sl.t_close[s]))
                if why is not None:
                    raise RuntimeError(f"slot {s}: a revealed speculative leg was rejected "
                                       f"({why})")
                n_rev += 1
            left = book.unrevealed()
            dropped = mine[mine["status"] == DROPPED]
            if len(left) != len(dropped) or not np.isclose(sum(c.bond for c in left),
                                                           dropped["fee_paid"].sum()):
                raise RuntimeError(f"slot {s}: unrevealed commitments and dropped legs differ")
            n_forfeit += len(left)
            forfeited += sum(c.bond for c in left)
        return {"searcher_commitments": int(len(legs)), "searcher_reveals_checked": n_rev,
                "searcher_commitments_dropped": n_forfeit, "bonds_forfeited": forfeited}


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
        txs = range(sl.ptr[s], sl.ptr[s + 1])
        for j in txs:
            # each user commits to its own transaction at its arrival
            fields = tx_fields(*(getattr(fl, c)[j] for c in TX_FIELDS))
            # a transaction that waited through missed slots commits again when its slot opens
            book.commit(commitment(j + 1, 0, types, [int(s), *fields], salts[32 * j:32 * j + 32]),
                        j + 1, max(float(fl.t_seq[j]), float(sl.t_open[s])))
        for j in txs:
            # ... and reveals it as an ABI-encoded message, which the sequencer decodes
            # and checks against the commitment
            tx = decode_tx(encode_tx(j + 1, 0, *(getattr(fl, c)[j] for c in TX_FIELDS)))
            _, why = book.reveal(tx["sender"], tx["nonce"], TX_TYPES,
                                 tx_fields(*(tx[c] for c in TX_FIELDS)),
                                 salts[32 * j:32 * j + 32], int(s), float(sl.t_close[s]))
            if why is not None:
                n_rejected += 1
                continue
            keep[j] = True
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

"""Threshold-encrypted mempool: order on ciphertexts, decrypt once t of n keypers release.

Each slot's AES-GCM key is Shamir-shared among ``n`` keypers; transactions
are encrypted to it, ordered on ciphertexts (arrival, or fee), and decrypted
after the order is fixed if at least ``t`` keypers are online. A slot with
fewer than ``t`` online keypers executes nothing, and its transactions wait
for the next slot of their rollup that can decrypt. If at least ``t`` keypers
collude with a searcher, that searcher reads plaintext before ordering and
can sandwich; fewer colluders learn nothing. With ``metadata =
"pool_direction"`` every searcher sees where a transaction trades, and can
place a blind sandwich around it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..crypto import combine_key, deal_key, decode_tx, decrypt, encode_tx, encrypt
from ..crypto.payload import TX_FIELDS
from ..crypto.threshold import DecryptionError
from ..sequencing.leaders import next_live_slot
from .base import Policy, register
from .nb import FCFS, P_NEXT_BACKRUN, P_PUBLIC, P_RACE, P_SPEC, PRIORITY, SPEC_LEAK

#: Plaintext every slot key encrypts, so that a slot with no transactions can
#: still tell whether its key was recovered.
KEY_CHECK = b"mevlab slot key"


class Threshold(Policy):
    """Threshold encryption with liveness and collusion; see the module docstring."""

    def for_scenario(self, scn) -> Policy:
        if scn.threshold.order_by == "fee":
            return dataclasses.replace(self, policy_id=PRIORITY, competition="bid",
                                       sorted_by=("-priority_fee", "t_seq"))
        return self

    def params(self, scn) -> np.ndarray:
        th = scn.threshold
        p = super().params(scn)
        p[P_PUBLIC] = 1.0 if th.colluding >= th.threshold else 0.0
        p[P_RACE] = 1.0 if th.order_by == "arrival" else 0.0
        p[P_NEXT_BACKRUN] = 1.0
        p[P_SPEC] = SPEC_LEAK if th.metadata == "pool_direction" else 0.0
        return p

    def setup(self, scn, world):
        from ..engine import reslot
        from ..searcher.speculative import speculative_sizes
        th = scn.threshold
        rng = np.random.default_rng(world.policy_seed)
        n_slots = len(world.slots.t_close)
        online = rng.uniform(size=(n_slots, th.keypers)) < th.uptime
        if scn.crypto == "full":
            world, live, sees = encrypt_and_decrypt(world, online, th)
        else:
            live = online.sum(axis=1) >= th.threshold
            sees = th.colluding >= th.threshold
        keyper_live = live
        # a slot whose leader missed it executes nothing either
        live = live & world.slots.live
        slot = world.flow_table["slot"].to_numpy()
        # a transaction whose slot can decrypt stays; the others wait for the next slot that
        # can and that a sequencer produces (not one carrying only forced transactions)
        new_slot = np.where(live[slot], slot,
                            next_live_slot(world.slots.clock, live & ~world.slots.forced)[slot])
        keep = new_slot >= 0
        world = reslot(world, np.where(keep, new_slot, slot), keep, live)
        # in-slot back-runs and sandwiches need plaintext before ordering: only a
        # searcher that at least t keypers leak to has it
        enabled = world.searchers.enabled.copy()
        colluder = scn.first_sandwicher()
        for col in (1, 2):
            enabled[:, col] &= sees & (np.arange(len(enabled)) == colluder)
        world = world._replace(searchers=world.searchers._replace(enabled=enabled))
        params = self.params(scn)
        params[P_PUBLIC] = 1.0 if sees else 0.0
        info = {"keypers": th.keypers, "threshold": th.threshold, "uptime": th.uptime,
                "colluding": th.colluding, "colluder_reads_plaintext": bool(sees),
                # keyper downtime only; slots whose leader missed them are missed_slots
                "undecryptable_slots": int((~keyper_live).sum()),
                "undecryptable": np.flatnonzero(~keyper_live).tolist(),
                "delayed_tx": int(np.sum(keep & (new_slot != slot))),
                "never_decrypted_tx": int((~keep).sum()), "crypto": scn.crypto}
        if th.metadata == "pool_direction":
            frac, value = speculative_sizes(scn, world, "leak", 0.0, rng)
            params = np.concatenate([params, frac.ravel(), value.ravel()])
        return world, params, self.for_scenario(scn).policy_id, info


def encrypt_and_decrypt(world, online, th):
    """Every payload encrypted to its slot's key and decrypted with real shares.

    A slot's key is recovered at the first slot of its clock, from that one
    on, whose online keypers' shares authenticate (``KEY_CHECK`` decrypts);
    fewer than ``t`` shares interpolate a wrong key, which the AES-GCM tag
    rejects. The flow is rebuilt from the decrypted payloads.

    Returns
    -------
    world : World
    live : bool (n_slots,)
        Slots whose own key could be recovered from their online keypers.
    sees : bool
        Whether the colluding keypers' shares decrypt (in every slot).
    """
    fl, sl = world.flow, world.slots
    n_slots = len(sl.t_close)
    rng = np.random.default_rng(world.crypto_seed)
    keys = [deal_key(s, rng.bytes(16), th.threshold, th.keypers) for s in range(n_slots)]
    check = [encrypt(k.key, s, 2**63, KEY_CHECK) for s, k in enumerate(keys)]
    header = lambda j: b"" if th.metadata == "hidden" else \
        bytes([int(fl.pool[j]) % 256, int(fl.direction[j])])
    sealed = {}
    for s in range(n_slots):
        for j in range(sl.ptr[s], sl.ptr[s + 1]):
            blob = encode_tx(j + 1, 0, *(getattr(fl, c)[j] for c in TX_FIELDS))
            sealed[j] = encrypt(keys[s].key, s, j, blob, header(j))

    def recovers(key_slot, holders):
        k = combine_key([keys[key_slot].shares[i] for i in holders], th.threshold)
        try:
            return decrypt(k, key_slot, 2**63, *check[key_slot]) == KEY_CHECK, k
        except DecryptionError:
            return False, None

    live = np.array([recovers(s, np.flatnonzero(online[s]))[0] for s in range(n_slots)])
    sees = th.colluding > 0 and all(recovers(s, range(th.colluding))[0]
                                    for s in range(n_slots))
    cols = {c: getattr(fl, c).copy() for c in TX_FIELDS}
    nxt = next_live_slot(sl.clock, live)
    for s in range(n_slots):
        at = nxt[s]
        if at < 0 or sl.ptr[s] == sl.ptr[s + 1]:
            continue
        ok, k = recovers(s, np.flatnonzero(online[at]))   # the keypers online then release it
        assert ok, "a live slot's keypers failed to recover an earlier slot's key"
        for j in range(sl.ptr[s], sl.ptr[s + 1]):
            tx = decode_tx(decrypt(k, s, j, *sealed[j], header(j)))
            for c in TX_FIELDS:
                cols[c][j] = tx[c]
    return world._replace(flow=fl._replace(**cols)), live, bool(sees)


THRESHOLD = register(Threshold(
    "threshold", FCFS, visibility="sealed", competition="latency", sorted_by=("t_seq",),
    description="ciphertexts ordered by arrival (or fee), decrypted by t of n keypers; "
                "collusion, uptime and metadata leaks from the scenario"))

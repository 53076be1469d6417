"""Per-slot threshold keys: AES-GCM keys Shamir-shared in GF(2^128).

pycryptodome's ``Shamir.combine`` interpolates whatever shares it is given:
fewer than ``t`` shares, or a tampered share, give a *wrong* 16-byte key with
no error. The AES-GCM tag check in :func:`decrypt` is what rejects it.
"""
from __future__ import annotations

from dataclasses import dataclass

from Crypto.Cipher import AES
from Crypto.Protocol.SecretSharing import Shamir


class DecryptionError(ValueError):
    """A payload could not be authenticated with the key at hand."""


@dataclass(frozen=True)
class SlotKey:
    """One slot's key and its shares, ``shares[i] = (keyper index 1..n, 16 bytes)``."""
    slot: int
    key: bytes
    shares: tuple
    t: int


def deal_key(slot: int, key: bytes, t: int, n: int) -> SlotKey:
    """Shamir-share a 16-byte AES key among ``n`` keypers with threshold ``t``."""
    if len(key) != 16:
        raise ValueError(f"key: got {len(key)} bytes; expected 16 (AES-128, GF(2^128))")
    if not 1 <= t <= n:
        raise ValueError(f"threshold: got t={t}, n={n}; expected 1 <= t <= n")
    # pycryptodome wants k >= 2 for a polynomial; t = 1 means every share is the key
    shares = (tuple((i, key) for i in range(1, n + 1)) if t == 1
              else tuple(Shamir.split(t, n, key)))
    return SlotKey(slot, key, shares, t)


def combine_key(shares, t: int) -> bytes | None:
    """The key interpolated from ``shares``; None if they cannot be combined.

    Fewer than ``t`` shares are still interpolated (the result is a wrong key,
    as with pycryptodome): it is the tag check in :func:`decrypt` that fails.
    Duplicate keyper indices cannot be combined.
    """
    shares = list(shares)
    if not shares:
        return None
    if len({i for i, _ in shares}) != len(shares):
        return None
    if t == 1:
        return shares[0][1]
    if len(shares) == 1:
        return shares[0][1]
    try:
        # more than t consistent shares interpolate the same polynomial at 0, so
        # passing every online keyper's share is fine (ssss=False)
        return Shamir.combine(shares)
    except ValueError:
        return None


def _nonce(slot: int, index: int) -> bytes:
    # unique per (key, message): the key is per slot, the index per transaction
    return slot.to_bytes(4, "big", signed=False) + index.to_bytes(8, "big", signed=False)


def encrypt(key: bytes, slot: int, index: int, payload: bytes, header: bytes = b""):
    """AES-GCM encrypt ``payload``; ``header`` (e.g. leaked metadata) is authenticated.

    Returns ``(ciphertext, tag)``.
    """
    c = AES.new(key, AES.MODE_GCM, nonce=_nonce(slot, index))
    c.update(header)
    return c.encrypt_and_digest(payload)


def decrypt(key: bytes | None, slot: int, index: int, ciphertext: bytes, tag: bytes,
            header: bytes = b"") -> bytes:
    """Decrypt and authenticate; raises :class:`DecryptionError` on a wrong key or data."""
    if key is None or len(key) != 16:
        raise DecryptionError("no key")
    c = AES.new(key, AES.MODE_GCM, nonce=_nonce(slot, index))
    c.update(header)
    try:
        return c.decrypt_and_verify(ciphertext, tag)
    except ValueError:
        raise DecryptionError("AES-GCM tag check failed: wrong key or tampered data") from None

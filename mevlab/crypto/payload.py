"""A user transaction's fields as an ABI-encoded payload, bit-exact both ways.

Floats travel as the 64-bit pattern of their IEEE-754 value in a ``uint64``
word, so decrypting or revealing a payload gives back exactly the number that
was sent, and the crypto mode's ledger equals the fast mode's bit for bit.
"""
from __future__ import annotations

import math
import struct

from .commit import abi_encode

#: ABI types of the payload fields, in order (after sender and nonce).
TX_FIELDS = ("pool", "direction", "amount_in", "tolerance", "min_out", "priority_fee",
             "informed")
TX_TYPES = ("uint256", "uint8", "uint64", "uint64", "uint64", "uint64", "bool")


def float_bits(x: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", float(x)))[0]


def bits_float(u: int) -> float:
    return struct.unpack(">d", struct.pack(">Q", u))[0]


def tx_fields(pool, direction, amount_in, tolerance, min_out, priority_fee, informed) -> list:
    """The payload fields as ABI values (floats as their IEEE-754 bit patterns)."""
    return [int(pool), int(direction), float_bits(amount_in), float_bits(tolerance),
            float_bits(math.nan if min_out is None else min_out), float_bits(priority_fee), bool(informed)]


def encode_tx(sender: int, nonce: int, *fields) -> bytes:
    """``abi.encode(sender, nonce, pool, direction, amount_in, ...)`` as bytes."""
    return abi_encode(["address", "uint256", *TX_TYPES], [sender, nonce, *tx_fields(*fields)])


def decode_tx(blob: bytes) -> dict:
    """Inverse of :func:`encode_tx`."""
    n = 2 + len(TX_TYPES)
    if len(blob) != 32 * n:
        raise ValueError(f"payload: got {len(blob)} bytes; expected {32 * n}")
    w = [int.from_bytes(blob[32 * i:32 * i + 32], "big") for i in range(n)]
    out = {"sender": w[0], "nonce": w[1], "pool": w[2], "direction": w[3]}
    for name, v in zip(TX_FIELDS[2:6], w[4:8]):
        out[name] = bits_float(v)
    out["informed"] = bool(w[8])
    return out

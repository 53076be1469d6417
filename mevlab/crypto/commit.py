"""Commitments: ``keccak256(abi.encode(sender, nonce, payload_fields..., salt))``.

Ethereum's keccak-256 is the original Keccak submission (padding byte 0x01),
not NIST SHA3-256 (padding 0x06); pycryptodome's ``Crypto.Hash.keccak``
implements the former. ``abi.encode`` of static types is one 32-byte
big-endian word per value (Solidity ABI specification, "Formal Specification
of the Encoding"); only static types are needed here, and any other type is
refused rather than encoded wrongly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from Crypto.Hash import keccak

_WORD = 32


def keccak256(data: bytes) -> bytes:
    """Ethereum keccak-256 digest (32 bytes) of ``data``."""
    return keccak.new(data=bytes(data), digest_bits=256).digest()


def _word(typ: str, v) -> bytes:
    if typ == "bool":
        if not isinstance(v, bool):
            raise TypeError(f"abi bool: got {v!r}")
        return int(v).to_bytes(_WORD, "big")
    if typ == "bytes32":
        v = bytes(v)
        if len(v) != 32:
            raise ValueError(f"abi bytes32: got {len(v)} bytes")
        return v
    if typ == "address":
        if isinstance(v, (bytes, bytearray)):
            if len(v) != 20:
                raise ValueError(f"abi address: got {len(v)} bytes, expected 20")
            v = int.from_bytes(v, "big")
        bits, signed = 160, False
    elif typ.startswith("uint"):
        bits, signed = int(typ[4:] or 256), False
    elif typ.startswith("int"):
        bits, signed = int(typ[3:] or 256), True
    else:
        raise ValueError(f"abi type {typ!r} is not a supported static type "
                         "(address, bool, bytes32, uintN, intN)")
    if bits % 8 or not 8 <= bits <= 256:
        raise ValueError(f"abi type {typ!r}: width must be a multiple of 8 in [8, 256]")
    v = int(v)
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    if not lo <= v < hi:
        raise ValueError(f"abi {typ}: {v} outside [{lo}, {hi})")
    return (v % (1 << 256)).to_bytes(_WORD, "big")   # two's complement for negatives


def abi_encode(types, values) -> bytes:
    """Solidity ``abi.encode`` of static values: one 32-byte word each."""
    types, values = list(types), list(values)
    if len(types) != len(values):
        raise ValueError(f"abi_encode: {len(types)} types for {len(values)} values")
    return b"".join(_word(t, v) for t, v in zip(types, values))


def commitment(sender: int, nonce: int, types, fields, salt: bytes) -> bytes:
    """``keccak256(abi.encode(sender, nonce, *fields, salt))`` with a 32-byte salt."""
    return keccak256(abi_encode(["address", "uint256", *types, "bytes32"],
                                [sender, nonce, *fields, salt]))


@dataclass(frozen=True)
class Commitment:
    """A commitment as the sequencer records it."""
    digest: bytes
    sender: int
    slot: int
    t: float      # arrival at the sequencer, s
    bond: float = 0.0


@dataclass
class RevealBook:
    """The commit and reveal phases of one slot.

    Commitments are accepted during ``[t_open, t_commit_close)``; reveals during
    ``[t_commit_close, t_reveal_close)``. A reveal is accepted only if it comes
    from the committing sender, in this slot, in the reveal window, matches an
    unrevealed commitment of that sender and has not been revealed before.
    """
    slot: int
    t_open: float
    t_commit_close: float
    t_reveal_close: float
    commitments: list = field(default_factory=list)
    _open: dict = field(default_factory=dict)     # digest -> index, not yet revealed
    _done: set = field(default_factory=set)

    def commit(self, digest: bytes, sender: int, t: float, bond: float = 0.0) -> int:
        """Record a commitment; returns its position in commit-arrival order."""
        if not self.t_open <= t < self.t_commit_close:
            raise ValueError(f"commitment at t={t} outside the commit phase "
                             f"[{self.t_open}, {self.t_commit_close})")
        if digest in self._open or digest in self._done:
            raise ValueError("duplicate commitment")
        self.commitments.append(Commitment(bytes(digest), sender, self.slot, t, bond))
        self._open[bytes(digest)] = len(self.commitments) - 1
        return len(self.commitments) - 1

    def reveal(self, sender: int, nonce: int, types, fields, salt: bytes, slot: int,
               t: float):
        """Check a reveal; returns ``(index of the commitment, None)`` or ``(None, reason)``.

        Reasons: ``"wrong_slot"``, ``"early"``, ``"late"``, ``"duplicate"``,
        ``"mismatch"`` (no commitment of this sender has this digest: wrong
        salt, wrong sender or altered fields).
        """
        if slot != self.slot:
            return None, "wrong_slot"
        if t < self.t_commit_close:
            return None, "early"
        if t >= self.t_reveal_close:
            return None, "late"
        # the slot is part of the committed payload, so a reveal of another slot's
        # commitment cannot match here either
        d = commitment(sender, nonce, ["uint256", *types], [slot, *fields], salt)
        if d in self._done:
            return None, "duplicate"
        i = self._open.get(d)
        if i is None or self.commitments[i].sender != sender:
            return None, "mismatch"
        del self._open[d]
        self._done.add(d)
        return i, None

    def unrevealed(self) -> list:
        """Commitments never revealed (dropped; their bond goes to the sequencer)."""
        return [self.commitments[i] for i in sorted(self._open.values())]

"""Real cryptography behind the sealed-content policies (model.md §4).

- :mod:`.commit`: Ethereum ``keccak256`` over the Solidity ABI encoding, and
  the reveal book that checks reveals against commitments;
- :mod:`.threshold`: per-slot AES-GCM keys Shamir-shared in GF(2^128) among a
  keyper committee;
- :mod:`.payload`: a transaction's fields as bytes, bit-exact both ways.
"""
from .commit import Commitment, RevealBook, abi_encode, commitment, keccak256
from .payload import TX_TYPES, decode_tx, encode_tx
from .threshold import SlotKey, combine_key, deal_key, decrypt, encrypt

__all__ = ["Commitment", "RevealBook", "SlotKey", "TX_TYPES", "abi_encode", "combine_key",
           "commitment", "deal_key", "decode_tx", "decrypt", "encode_tx", "encrypt",
           "keccak256"]

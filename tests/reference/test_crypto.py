"""Cryptography against published vectors, and the threshold and reveal rules."""
import itertools
import math

import numpy as np
import pytest

from mevlab.crypto import (RevealBook, abi_encode, combine_key, commitment, deal_key, decode_tx,
                           decrypt, encode_tx, encrypt, keccak256)
from mevlab.crypto.payload import TX_TYPES, tx_fields
from mevlab.crypto.threshold import DecryptionError


def test_keccak256_is_ethereum_keccak_not_sha3():
    # Ethereum's empty-input hash (Yellow Paper, KEC(()) of the empty trie/code hash)
    assert keccak256(b"").hex() == \
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == \
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    # NIST SHA3-256("") differs: the two must not be confused
    assert keccak256(b"").hex() != \
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"


@pytest.mark.parametrize("signature, selector", [
    # Solidity ABI specification, "Examples"; and ERC-20's transfer
    ("baz(uint32,bool)", "cdcd77c0"),
    ("bar(bytes3[2])", "fce353f6"),
    ("sam(bytes,bool,uint256[])", "a5643bf2"),
    ("transfer(address,uint256)", "a9059cbb"),
])
def test_function_selectors(signature, selector):
    assert keccak256(signature.encode())[:4].hex() == selector


def test_abi_encode_matches_the_specification_example():
    # Solidity ABI specification: baz(69, true) encodes its arguments as two words
    assert abi_encode(["uint32", "bool"], [69, True]).hex() == "45".rjust(64, "0") + \
        "1".rjust(64, "0")
    assert abi_encode(["int256"], [-1]).hex() == "f" * 64
    assert abi_encode(["address"], [bytes.fromhex("11" * 20)]).hex() == "0" * 24 + "11" * 20
    for bad in ([["uint8"], [256]], [["int8"], [-129]], [["string"], ["x"]],
                [["bytes32"], [b"short"]], [["uint256"], [-1]]):
        with pytest.raises((ValueError, TypeError)):
            abi_encode(*bad)


def test_payload_round_trip_is_bit_exact():
    rng = np.random.default_rng(0)
    for _ in range(200):
        vals = (int(rng.integers(0, 50)), int(rng.integers(0, 2)), float(rng.lognormal(3, 4)),
                float(rng.uniform()), math.nan if rng.uniform() < 0.5 else float(rng.uniform()),
                float(rng.exponential()), bool(rng.uniform() < 0.3))
        d = decode_tx(encode_tx(12345, 7, *vals))
        got = (d["pool"], d["direction"], d["amount_in"], d["tolerance"], d["min_out"],
               d["priority_fee"], d["informed"])
        assert np.array_equal(np.array(got, float), np.array(vals, float), equal_nan=True)
        assert d["sender"] == 12345 and d["nonce"] == 7


def _book():
    return RevealBook(slot=5, t_open=10.0, t_commit_close=12.0, t_reveal_close=13.0)


def test_reveals_are_checked_against_commitments():
    salt = bytes(range(32))
    fields = tx_fields(1, 0, 2.5, 0.005, math.nan, 0.01, False)
    types = ["uint256", *TX_TYPES]
    book = _book()
    book.commit(commitment(0xAA, 3, types, [5, *fields], salt), sender=0xAA, t=10.5, bond=1.0)
    other = fields.copy()
    other[2] += 1
    cases = {
        "wrong salt": ((0xAA, 3, TX_TYPES, fields, bytes(32), 5, 12.5), "mismatch"),
        "wrong sender": ((0xBB, 3, TX_TYPES, fields, salt, 5, 12.5), "mismatch"),
        "altered payload": ((0xAA, 3, TX_TYPES, other, salt, 5, 12.5), "mismatch"),
        "another slot": ((0xAA, 3, TX_TYPES, fields, salt, 6, 12.5), "wrong_slot"),
        "early": ((0xAA, 3, TX_TYPES, fields, salt, 5, 11.9), "early"),
        "late": ((0xAA, 3, TX_TYPES, fields, salt, 5, 13.0), "late"),
    }
    for what, (args, reason) in cases.items():
        assert book.reveal(*args) == (None, reason), what
    assert book.reveal(0xAA, 3, TX_TYPES, fields, salt, 5, 12.5) == (0, None)
    assert book.reveal(0xAA, 3, TX_TYPES, fields, salt, 5, 12.6) == (None, "duplicate")
    assert book.unrevealed() == []


def test_unrevealed_commitments_are_dropped_with_their_bond():
    book = _book()
    salts = [bytes([i]) * 32 for i in range(3)]
    for i, s in enumerate(salts):
        book.commit(commitment(0xC0 + i, 0, ["uint256"], [5], s), sender=0xC0 + i,
                    t=10.0 + i * 0.1, bond=2.0)
    assert book.reveal(0xC1, 0, [], [], salts[1], 5, 12.0)[1] is None
    left = book.unrevealed()
    assert [c.sender for c in left] == [0xC0, 0xC2] and sum(c.bond for c in left) == 4.0
    with pytest.raises(ValueError):
        book.commit(b"\0" * 32, sender=1, t=12.0)     # commit phase is over


@pytest.mark.parametrize("t, n", [(1, 1), (2, 3), (3, 5), (4, 7)])
def test_every_t_subset_decrypts_and_every_smaller_one_fails(t, n):
    rng = np.random.default_rng(t * 100 + n)
    key = rng.bytes(16)
    sk = deal_key(9, key, t, n)
    ct, tag = encrypt(key, 9, 4, b"swap 1.5 ETH for USDC", header=b"pool 2")
    for size in range(1, n + 1):
        for sub in itertools.combinations(sk.shares, size):
            k = combine_key(sub, t)
            if size >= t:
                assert decrypt(k, 9, 4, ct, tag, header=b"pool 2") == b"swap 1.5 ETH for USDC"
            else:
                # Shamir.combine returns a wrong key silently: the tag check must catch it
                assert k != key
                with pytest.raises(DecryptionError):
                    decrypt(k, 9, 4, ct, tag, header=b"pool 2")


def test_duplicate_and_tampered_shares_fail():
    key = bytes(range(16))
    sk = deal_key(1, key, 3, 5)
    ct, tag = encrypt(key, 1, 0, b"payload")
    a, b, c = sk.shares[:3]
    assert combine_key([a, b, a], 3) is None                      # duplicate keyper
    with pytest.raises(DecryptionError):
        decrypt(combine_key([a, b, a], 3), 1, 0, ct, tag)
    bad = (c[0], bytes([c[1][0] ^ 1]) + c[1][1:])                 # one flipped bit
    with pytest.raises(DecryptionError):
        decrypt(combine_key([a, b, bad], 3), 1, 0, ct, tag)
    with pytest.raises(DecryptionError):                           # tampered ciphertext
        decrypt(combine_key([a, b, c], 3), 1, 0, bytes([ct[0] ^ 1]) + ct[1:], tag)
    with pytest.raises(DecryptionError):                           # another slot's nonce
        decrypt(combine_key([a, b, c], 3), 2, 0, ct, tag)

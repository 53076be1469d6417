"""Exact-integer Uniswap v2 swap math (Python ints, no overflow).

Used to validate the float64 kernels; mirrors ``UniswapV2Library.getAmountOut``
with the fee expressed in basis points (30 bp reproduces the 997/1000 rule).
"""
from __future__ import annotations


def get_amount_out_exact(amount_in: int, reserve_in: int, reserve_out: int,
                         fee_bps: int = 30) -> int:
    """Uniswap v2 ``getAmountOut`` in integer base units (wei).

    ``amountInWithFee = a*(10000-fee_bps)``;
    ``out = amountInWithFee*R_out // (R_in*10000 + amountInWithFee)``.

    Raises
    ------
    ValueError
        ``amount_in <= 0`` (INSUFFICIENT_INPUT_AMOUNT), a reserve ``<= 0``
        (INSUFFICIENT_LIQUIDITY), or ``fee_bps`` outside ``[0, 10000)``.
    """
    for name, v in (("amount_in", amount_in), ("reserve_in", reserve_in),
                    ("reserve_out", reserve_out), ("fee_bps", fee_bps)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be a Python int (base units), got {type(v).__name__}")
    if amount_in <= 0:
        raise ValueError(f"amount_in must be > 0 (INSUFFICIENT_INPUT_AMOUNT), got {amount_in}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("reserve_in and reserve_out must be > 0 (INSUFFICIENT_LIQUIDITY)")
    if not 0 <= fee_bps < 10000:
        raise ValueError(f"fee_bps must be in [0, 10000), got {fee_bps}")
    amount_in_with_fee = amount_in * (10000 - fee_bps)
    return amount_in_with_fee * reserve_out // (reserve_in * 10000 + amount_in_with_fee)

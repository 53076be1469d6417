"""The exact-integer twin against Uniswap v2's own published swap test cases."""
import numpy as np
import pytest

from mevlab.amm import get_amount_out, get_amount_out_exact

E18 = 10**18

# Uniswap/v2-core test/UniswapV2Pair.spec.ts, `swapTestCases`:
# [swapAmount, token0Amount, token1Amount] in whole tokens (x 1e18), expected output in wei.
V2_CORE_SWAP_CASES = [
    (1, 5, 10, 1662497915624478906),
    (1, 10, 5, 453305446940074565),
    (2, 5, 10, 2851015155847869602),
    (2, 10, 5, 831248957812239453),
    (1, 10, 10, 906610893880149131),
    (1, 100, 100, 987158034397061298),
    (1, 1000, 1000, 996006981039903216),
]


@pytest.mark.parametrize("swap, r0, r1, expected", V2_CORE_SWAP_CASES)
def test_v2_core_swap_cases_to_the_wei(swap, r0, r1, expected):
    assert get_amount_out_exact(swap * E18, r0 * E18, r1 * E18) == expected


@pytest.mark.parametrize("swap, r0, r1, expected", V2_CORE_SWAP_CASES)
def test_expected_output_is_the_largest_the_pair_allows(swap, r0, r1, expected):
    # UniswapV2Pair.swap's K check: (b0*1000 - in*3) * (b1*1000) >= r0*r1*1000^2.
    # The published test swaps `expected` and sees `expected + 1` revert with 'UniswapV2: K'.
    a, x, y = swap * E18, r0 * E18, r1 * E18

    def k_ok(out):
        b0, b1 = x + a, y - out
        return (b0 * 1000 - a * 3) * (b1 * 1000) >= x * y * 1000**2

    assert k_ok(expected)
    assert not k_ok(expected + 1)


def test_v2_periphery_router_case():
    # Uniswap/v2-periphery test/UniswapV2Router01.spec.ts: getAmountOut(2, 100, 100) == 1
    assert get_amount_out_exact(2, 100, 100) == 1


@pytest.mark.parametrize("args, field", [((0, 10, 10), "amount_in"), ((1, 0, 10), "reserve"),
                                         ((1, 10, -1), "reserve"), ((1, 10, 10, 10000), "fee_bps"),
                                         ((1.5, 10, 10), "amount_in")])
def test_exact_rejects_bad_input(args, field):
    with pytest.raises(ValueError, match=field):
        get_amount_out_exact(*args)


def test_float_kernel_matches_exact_twin_at_realistic_magnitudes():
    rng = np.random.default_rng(2024)
    n = 10_000
    worst = 0.0
    for i in range(n):
        rin = int(10 ** rng.uniform(21, 27))
        rout = int(10 ** rng.uniform(21, 27))
        a = int(rin * 10 ** rng.uniform(-6, 0))
        exact = get_amount_out_exact(a, rin, rout, 30)
        approx = get_amount_out(float(a), float(rin), float(rout), 0.003)
        worst = max(worst, abs(approx - exact) / exact)
    assert worst < 1e-12, worst

import pytest

from mevlab.amm import get_amount_out


def test_get_amount_out_formula():
    assert get_amount_out(10.0, 100.0, 200.0, 0.003) == pytest.approx(
        0.997 * 10 * 200 / (100 + 0.997 * 10))
    assert get_amount_out(0.0, 100.0, 200.0) == 0.0


@pytest.mark.parametrize("args, field", [((1, -1, 1, 0.003), "reserve_in"),
                                         ((1, 1, 0, 0.003), "reserve_out"),
                                         ((1, 1, 1, 1.0), "fee"),
                                         ((-1, 1, 1, 0.003), "amount_in")])
def test_bad_input_names_the_argument(args, field):
    with pytest.raises(ValueError, match=field):
        get_amount_out(*args)

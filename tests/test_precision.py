"""``Precision.quantize_one`` (plain Python, for a search's handful of constants) against ``Precision.quantize``
(numpy, the reference): the same float for every value, rounding and overflow mode."""

from __future__ import annotations

import numpy as np
import pytest

from hls_gen.precision import OVERFLOW_MODES, ROUNDING_MODES, Precision

PRECISIONS = ['ap_fixed<16,6>', 'ap_fixed<8,3>', 'ap_ufixed<10,4>', 'ap_ufixed<1,1>', 'ap_fixed<2,1>', 'ap_fixed<28,0>', 'ap_fixed<64,64>',
              'ap_ufixed<64,64>', 'ap_fixed<18,0>', 'ap_fixed<40,30>']


def _values(p: Precision, rng: np.random.Generator) -> np.ndarray:
    step, lo, hi = p.step, p.min_value, p.max_value
    ties = (rng.integers(-2000, 2000, 400) + 0.5) * step  # halfway between two steps
    grid = rng.integers(-4000, 4000, 400) * step
    near = np.array([np.nextafter(v, d) for v in (lo, hi, 0.0, step) for d in (-np.inf, np.inf)])
    wide = rng.normal(0, 1, 400) * np.exp2(rng.uniform(-40, 80, 400))
    special = np.array([0.0, -0.0, lo, hi, -lo, 2 * hi, -2 * hi, 1e300, -1e300, 1e-300, np.inf, -np.inf, np.nan, 2.0**53, -(2.0**64)])
    return np.concatenate([ties, grid, near, wide, special, rng.uniform(2 * lo - 1, 2 * hi + 1, 400)])


@pytest.mark.parametrize('text', PRECISIONS)
def test_quantize_one_equals_quantize(text):
    rng = np.random.default_rng(sum(map(ord, text)))
    for rounding in ROUNDING_MODES:
        for overflow in OVERFLOW_MODES:
            base = Precision.parse(text)
            p = Precision(base.width, base.integer, base.signed, rounding, overflow)
            x = _values(p, rng)
            ref = p.quantize(x)
            one = np.array([p.quantize_one(v) for v in x])
            same = (ref == one) | (np.isnan(ref) & np.isnan(one))
            assert same.all(), (str(p), x[~same][:5], ref[~same][:5], one[~same][:5])
            assert not np.signbit(one[one == 0]).any()  # no negative zeros, as the reference

"""Words wider than 127 bits (hls_gen.da4ml_compat): da4ml's compiled cost_add computes in 32-bit floats."""

import math
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip('da4ml')


def test_the_wide_cost_add_equals_the_compiled_one_where_that_is_finite():
    from da4ml._binary.cmvm_bin import cost_add as compiled

    from hls_gen.da4ml_compat import cost_add

    rng = np.random.default_rng(0)
    n = 0
    for _ in range(2000):
        (b0, b1), (f0, f1) = rng.integers(1, 100, 2), rng.integers(-10, 20, 2)
        q0 = (float(-(2.0 ** b0) * rng.integers(0, 2)), 2.0**b0 - 2.0**-f0, 2.0**-f0)
        q1 = (float(-(2.0 ** b1) * rng.integers(0, 2)), 2.0**b1 - 2.0**-f1, 2.0**-f1)
        args = (int(rng.integers(-4, 5)), bool(rng.integers(0, 2)), int(rng.choice([1, 4, -1])), int(rng.choice([1, 8, -1])))
        want = compiled(q0, q1, *args)
        if all(map(math.isfinite, want)):
            assert cost_add(q0, q1, *args) == want, (q0, q1, args)
            n += 1
    assert n > 1000


def test_a_design_with_a_200_bit_word_can_be_timed():
    from hls_gen import Design
    from hls_gen.tracing import latency_cutoff, max_word_bits, trace

    d = Design.build(['-0.33*x0**12 + 8.0*x0**2'], 'ap_fixed<16,6>')
    comb = trace(d).comb
    assert max_word_bits(comb) > 127
    assert math.isfinite(latency_cutoff(comb, d.clock_period_ns))


def _exact(x: float) -> float:
    """``x0**9 - x0`` cast to ap_fixed<16,6> (truncated, wrapped), in exact rationals."""
    v = Fraction(x) ** 9 - Fraction(x)
    q = math.floor(v * 2**10)  # 10 fraction bits, truncation
    q = (q + 2**15) % 2**16 - 2**15  # 16 bits, wrap
    return q / 2**10


@pytest.mark.synth
def test_the_rtl_of_a_144_bit_word_equals_exact_arithmetic(tmp_path):
    from hls_gen import Design
    from hls_gen.backends import get_backend
    from hls_gen.tracing import max_word_bits, trace

    d = Design.build(['x0**9 - x0'], 'ap_fixed<16,6>')
    assert max_word_bits(trace(d).comb) > 127
    X = d.precision.quantize(np.random.default_rng(1).uniform(-32, 32, (300, 1)))
    got = get_backend('open').emulate(d, X, tmp_path).ravel()
    assert got.tolist() == [_exact(float(x)) for x in X.ravel()]

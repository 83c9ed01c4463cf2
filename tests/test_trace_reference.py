"""The traced logic's reference outputs (``hls_gen.tracing.predict``) where da4ml 0.6.0's C++ interpreter is wrong."""

import numpy as np
import pytest

pytest.importorskip('da4ml')


def _one_quantize(width: int):
    """y = quantize(x) for a signed ``width``-bit integer input x, y of the same type: the identity."""
    from da4ml.types import CombLogic, Op, QInterval

    q = QInterval(-(2.0 ** (width - 1)), 2.0 ** (width - 1) - 1, 1.0)
    ops = [Op(0, -1, -1, 0, q, 0.0, 0.0), Op(0, -1, 3, 0, q, 0.0, 0.0)]
    return CombLogic((1, 1), [0], [1], [0], [False], ops, -1, -1, None)


@pytest.mark.parametrize('width', [16, 32, 33, 36, 48])
def test_wide_signed_words_keep_their_value(width):
    from hls_gen.tracing import predict

    x = np.array([[-3.0], [-1.0], [5.0], [-(2.0 ** (width - 1))], [2.0 ** (width - 1) - 1]])
    assert predict(_one_quantize(width), x).ravel().tolist() == x.ravel().tolist()


def test_an_unsigned_multiplexer_key_switches_at_its_top_bit():
    from da4ml.types import CombLogic, Op, QInterval

    from hls_gen.tracing import predict

    qk, qa = QInterval(0.0, 15.0, 1.0), QInterval(0.0, 1.0, 1.0)
    ops = [Op(0, -1, -1, 0, qk, 0, 0), Op(-1, -1, 5, 1, qa, 0, 0), Op(-1, -1, 5, 0, qa, 0, 0), Op(1, 2, 6, 0, qa, 0, 0)]
    comb = CombLogic((1, 1), [0], [3], [0], [False], ops, -1, -1, None)  # key's top bit (key >= 8) ? 1 : 0
    got = predict(comb, np.arange(16.0).reshape(-1, 1)).ravel()
    assert got.tolist() == [0.0] * 8 + [1.0] * 8


def test_the_trace_emulation_of_a_wide_design_equals_da4ml_python_interpreter():
    from hls_gen import Design
    from hls_gen.emulate import emulate
    from hls_gen.tracing import max_word_bits, trace

    d = Design.build(['x0*x1*x2*1.37 - x0'], 'ap_fixed<18,6>')
    comb = trace(d).comb
    assert max_word_bits(comb) > 32  # a product of three 18-bit words
    X = np.random.default_rng(3).uniform(-30, 30, (200, 3))
    Xq = d.precision.quantize(X)
    ref = np.array([np.asarray(comb(x), dtype=np.float64) for x in Xq]).reshape(200, 1)
    assert np.array_equal(emulate(d, X, 'trace'), ref)

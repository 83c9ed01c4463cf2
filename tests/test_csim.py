"""hls4ml C simulation (g++, no Xilinx tools) against a numpy model of the exact ap_fixed semantics.

The numpy model below is the specification the open backend's emulation must also meet bit for bit:

* ``T(double)`` and every implicit conversion to ``T = ap_fixed<W,I>``: floor to the LSB (AP_TRN), then
  two's-complement wrap (AP_WRAP). Sums, differences and products of ap_fixed values are exact.
* ``nnet::lookup_table<T, N, func>(from, to)`` (hls4ml templates/vivado/nnet_utils/nnet_types.h):
  ``start, end = T(from), T(to)``;
  ``base_div = ap_fixed<20,16>(ap_uint<16>(N) / T(end - start))``: the quotient is an integer
  (type ap_fixed<27,27>), truncated toward zero, then wrapped into ap_fixed<20,16>'s 16 integer bits;
  ``step = T((end - start) / ap_uint<16>(N))``: quotient truncated toward zero at T's LSB;
  ``sample[i] = T(func(T(start + i * step)))`` where func is srcost's shim: NaN -> 0, saturate, floor;
  lookup: ``index = int((T(arg) - start) * base_div)`` (int() truncates toward zero), clamped to [0, N-1].
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hls_gen import Design
from hls_gen.csim import _check_inputs, check_luts, csim_model, csim_predict, has_native_division, shim_functions
from hls_gen.errors import LutSpecError, SynthesisError

W, I = 16, 6  # noqa: E741 - ap_fixed<W,I>'s own names
F = W - I

needs_gxx = pytest.mark.skipif(shutil.which('g++') is None, reason='g++ is not installed (it compiles the C model)')


def to_t(v, w: int = W, i: int = I) -> np.ndarray:
    """Assignment to ap_fixed<w,i>: floor to the LSB, then wrap."""
    f = w - i
    k = np.floor(np.asarray(v, dtype=np.float64) * 2.0**f)
    k = np.mod(k + 2.0 ** (w - 1), 2.0**w) - 2.0 ** (w - 1)
    return k / 2.0**f


def saturate_t(v) -> np.ndarray:
    """srcost's hls_math shim: NaN -> 0, saturate to the range, floor."""
    v = np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    lo, hi = -(2.0 ** (I - 1)), 2.0 ** (I - 1) - 2.0**-F
    return np.floor(np.clip(v, lo, hi) * 2.0**F) / 2.0**F


class LookupTable:
    """nnet::lookup_table<ap_fixed<16,6>, N, func>(range_start, range_end), bit for bit."""

    def __init__(self, func, n: int, range_start: float, range_end: float):
        self.n = n
        self.start = float(to_t(range_start))
        end = float(to_t(range_end))
        span = float(to_t(end - self.start))
        quotient = np.trunc(n / span)  # ap_uint<16>(N) / T(span): an integer, truncated toward zero
        self.base_div = float(np.mod(quotient + 2.0**15, 2.0**16) - 2.0**15)  # into ap_fixed<20,16> (wrap)
        step = float(to_t(np.trunc((end - self.start) * 2.0**F / n) / 2.0**F))
        nums = to_t(self.start + np.arange(n) * step)
        with np.errstate(all='ignore'):
            self.samples = saturate_t(func(nums))

    def __call__(self, arg) -> np.ndarray:
        index = np.trunc((to_t(arg) - self.start) * self.base_div)
        index = np.clip(index, 0, self.n - 1).astype(np.int64)
        return self.samples[index]


def test_lookup_table_model_constants() -> None:
    """The table parameters the C++ computes (checked against a C++ program built on the ap_types headers)."""
    t = LookupTable(np.sin, 1024, -4, 4)
    assert (t.start, t.base_div) == (-4.0, 128.0)
    t = LookupTable(np.exp, 1000, 0, 6)
    assert t.base_div == 166.0  # 1000/6 = 166.67, truncated
    t = LookupTable(np.sin, 100, -3.3, 3.3)
    assert t.base_div == 15.0  # 100 / T(T(3.3) - T(-3.3)) = 100 / 6.6005859375
    t = LookupTable(np.sin, 1024, -16, 16)
    assert t.base_div == -32.0  # T(32) wraps to -32 at ap_fixed<16,6>: every lookup clamps to index 0


def test_check_inputs() -> None:
    d = Design.build('x0 + x1')
    assert _check_inputs(d, [1.0, 2.0]).shape == (1, 2)
    with pytest.raises(ValueError, match=r'\(n_samples, 2\)'):
        _check_inputs(d, np.zeros((3, 3)))
    with pytest.raises(ValueError, match='NaN'):
        _check_inputs(d, [[np.nan, 1.0]])


def test_shim_functions_read_from_firmware(tmp_path: Path) -> None:
    fw = tmp_path / 'firmware'
    fw.mkdir()
    (fw / 'jets.cpp').write_text('y[0] = hls::sin<16, 6>((result_t)(x[0])) + sin_lut(x[1]) + hls::recip<16, 6>(x[2]);')
    assert shim_functions(tmp_path, 'jets') == ('recip', 'sin')
    assert not has_native_division(tmp_path, 'jets')
    (fw / 'jets.cpp').write_text('y[0] = result_t(1.0/3.0)*x[0] + hls::pow(x[1], result_t(-2)); // a/b\n')
    assert shim_functions(tmp_path, 'jets') == ('pow',) and not has_native_division(tmp_path, 'jets')
    (fw / 'jets.cpp').write_text('y[0] = x[0]/x[1]; // expr1\n')
    assert has_native_division(tmp_path, 'jets')


def test_luts_that_would_crash_the_c_model_are_refused() -> None:
    check_luts(Design.build('sin_lut(x0)', luts=['sin:1024:-4:4']))
    with pytest.raises(LutSpecError, match='span 0'):  # T(32) wraps to -32 at ap_fixed<16,6>
        check_luts(Design.build('sin_lut(x0)', luts=['sin:1024:-32:32']))
    with pytest.raises(LutSpecError, match='65535'):
        check_luts(Design.build('sin_lut(x0)', luts=['sin:65536:-4:4']))


@pytest.mark.synth
@needs_gxx
def test_csim_matches_exact_fixed_point_model() -> None:
    design = Design.build(['2.1*x0*x1 + sin_lut(x2) - x3**2'], 'ap_fixed<16,6>', luts=['sin:1024:-4:4'])
    X = np.random.default_rng(2305).uniform(-5.0, 5.0, size=(1000, 4))  # beyond the LUT range and the type's range
    y = csim_predict(design, X)
    assert y.shape == (1000, 1)

    x = to_t(X)
    sin_lut = LookupTable(np.sin, 1024, -4.0, 4.0)
    expected = to_t(to_t(2.1) * x[:, 0] * x[:, 1] - x[:, 3] * x[:, 3] + sin_lut(x[:, 2]))
    np.testing.assert_array_equal(y[:, 0], expected)
    assert np.any(np.abs(to_t(2.1) * x[:, 0] * x[:, 1]) >= 32)  # the wrap of the result was exercised

    model = csim_model(design)
    assert csim_model(design) is model  # cached by digest
    assert model.bit_accurate and model.shim_functions == ()
    np.testing.assert_array_equal(model.predict(X[:1]), expected[:1, None])


@pytest.mark.synth
@needs_gxx
def test_csim_table_edges_saturation_and_argument_wrap() -> None:
    # 1000 entries over [0, 6]: base_div 166 (truncated), step truncated to 6/1024, exp saturates at 32;
    # the argument x0*x1*x3 is converted to ap_fixed<16,6> at the call (floor + wrap)
    luts = ['exp:1000:0:6', 'sin:100:-3.3:3.3']
    design = Design.build(['exp_lut(x0*x1*x3) - 0.3', 'sin_lut(x2)'], 'ap_fixed<16,6>', luts=luts)
    X = np.random.default_rng(7).uniform(-5.0, 5.0, size=(1000, 4))
    y = csim_predict(design, X)
    x = to_t(X)
    exp_lut = LookupTable(np.exp, 1000, 0.0, 6.0)
    sin_lut = LookupTable(np.sin, 100, -3.3, 3.3)
    # hls4ml prints the constant term as result_t(-0.29999999999999999): the negative value is floored
    np.testing.assert_array_equal(y[:, 0], to_t(exp_lut(x[:, 0] * x[:, 1] * x[:, 3]) + to_t(-0.3)))
    np.testing.assert_array_equal(y[:, 1], sin_lut(x[:, 2]))
    assert np.any(exp_lut.samples == 2.0 ** (I - 1) - 2.0**-F)  # saturated samples were exercised


@pytest.mark.synth
@needs_gxx
def test_csim_non_lut_function_goes_through_the_shim() -> None:
    design = Design.build(['sin(x0) + x1'], 'ap_fixed<16,6>')
    model = csim_model(design)
    assert model.shim_functions == ('sin',) and not model.bit_accurate
    X = np.random.default_rng(1).uniform(-3, 3, size=(200, 2))
    x = to_t(X)
    np.testing.assert_array_equal(model.predict(X)[:, 0], to_t(saturate_t(np.sin(x[:, 0])) + x[:, 1]))


@pytest.mark.synth
@needs_gxx
def test_csim_native_division_and_division_by_zero() -> None:
    # x0/x1 is printed as a native ap_fixed division: the quotient keeps the dividend's fractional bits and
    # is truncated toward zero; dividing by a value that quantized to 0 must not kill this process
    design = Design.build(['x0/x1'], 'ap_fixed<16,6>')
    rng = np.random.default_rng(3)
    X = rng.uniform(-5.0, 5.0, size=(300, 2))
    X[:100, 1] = rng.uniform(-0.05, 0.05, size=100)  # small divisors: large quotients that wrap
    X = X[to_t(X[:, 1]) != 0]
    x = np.round(to_t(X) * 2**F).astype(np.int64)  # raw integers
    q = np.sign(x[:, 0]) * np.sign(x[:, 1]) * ((np.abs(x[:, 0]) << F) // np.abs(x[:, 1]))
    model = csim_model(design)
    assert model.divides
    np.testing.assert_array_equal(model.predict(X)[:, 0], to_t(q / 2.0**F))
    with pytest.raises(SynthesisError, match='divided by zero'):
        model.predict([[1.0, 0.0005]])  # 0.0005 floors to 0 at 10 fractional bits

"""The compiled fixed-point evaluator (costmodel.fxeval) computes what the open backend's firmware computes."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.fxeval import FixedPointEvaluator, evaluate_expressions
from costmodel.generator import GeneratorConfig, generate_designs
from costmodel.postfix import Postfix
from hls_gen import Design, ExpressionError
from hls_gen.emulate import emulate
from hls_gen.tracing import trace

PRECISIONS = ('ap_fixed<10,5>', 'ap_fixed<16,6>', 'ap_fixed<18,8,AP_RND,AP_SAT>')


def _interpreted(design: Design, X: np.ndarray, rows: int) -> np.ndarray:
    """da4ml's Python interpreter of the traced logic (row by row; slow), the first ``rows`` rows."""
    comb = trace(design).comb
    Xq = design.precision.quantize(X[:rows])
    return np.array([np.asarray(comb(r), dtype=float) for r in Xq]).reshape(rows, -1)


def test_evaluator_equals_the_trace_emulation_bit_for_bit_on_random_expressions():
    # 170 SR-shaped expressions (LUT functions, native functions, powers, constants) x 3 precisions x 1,000 rows
    designs = generate_designs(170, seed=5, config=GeneratorConfig(max_nodes=20, max_inputs=6, max_outputs=1))
    rng = np.random.default_rng(0)
    counts = {'equal': 0, 'interpreter': 0, 'refused': 0, 'no trace': 0, 'constant out of range': 0}
    for d in designs:
        for prec in PRECISIONS:
            dd = Design.build(d.outputs, prec, d.luts, n_inputs=d.n_inputs)
            X = rng.uniform(-8, 8, (1000, dd.n_inputs))
            try:
                ref = emulate(dd, X, 'trace')
            except Exception:  # noqa: BLE001 - designs the tracer itself refuses (too wide for da4ml)
                counts['no trace'] += 1
                continue
            ev = FixedPointEvaluator(dd.precision, dd.luts)
            programs = ev.compile(Postfix.from_expressions(dd.outputs))
            if programs.errors:
                counts['refused'] += 1
                continue
            out = ev.run(programs, ev.input_mantissas(X)).T
            if np.array_equal(out, ref):
                counts['equal'] += 1
                continue
            p = dd.precision
            if np.ptp(ref) == 0 and not (p.min_value <= ref[0, 0] <= p.max_value):
                # da4ml leaves a constant output unwrapped; the C++ cast (and ours) wraps it
                counts['constant out of range'] += 1
                continue
            # da4ml's compiled interpreter (what emulate 'trace' runs) is not exact on some wide datapaths; its
            # Python interpreter of the same logic is, as the RTL is (test below)
            py = _interpreted(dd, X, 60)
            assert np.array_equal(out[:60], py), f'{dd.outputs[0]} at {prec}: differs from the trace and from da4ml'
            counts['interpreter'] += 1
    compared = counts['equal'] + counts['interpreter'] + counts['constant out of range']
    assert compared >= 450, counts
    assert counts['equal'] >= 0.9 * compared, counts


@pytest.mark.synth
def test_evaluator_equals_the_rtl_where_the_trace_interpreter_does_not():
    d = Design.build(['6.76*x0'], 'ap_fixed<22,5>')
    X = np.array([[7.97087236], [-3.25], [15.5]])
    rtl = emulate(d, X, 'open')
    ours = evaluate_expressions(d.outputs, X, d.precision)
    assert np.array_equal(ours, rtl)
    assert np.array_equal(emulate(d, X, 'trace'), rtl)  # hls_gen.tracing.predict runs da4ml's Python interpreter here
    from hls_gen.tracing import trace

    comb = trace(d).comb
    compiled = np.asarray(comb.predict(d.precision.quantize(X)), dtype=np.float64).reshape(rtl.shape)
    assert not np.array_equal(compiled, rtl)  # the reason for tracing.predict: if this fails, da4ml fixed its interpreter


def test_evaluator_refuses_a_datapath_it_cannot_compute_exactly():
    with pytest.raises(ExpressionError, match='fractional bits'):
        evaluate_expressions(['x0*x1*x2*x3*x4*x5*x0*x1'], np.ones((4, 6)), 'ap_fixed<16,6>')


def test_evaluator_reads_the_same_rows_as_emulate_and_rejects_nan():
    ev = FixedPointEvaluator('ap_fixed<16,6>')
    batch = Postfix.from_expressions([Design.build(['x0 + x1'], 'ap_fixed<16,6>').outputs[0]])
    with pytest.raises(ValueError, match='NaN'):
        ev.evaluate(batch, np.array([[1.0, np.nan]]))
    with pytest.raises(ExpressionError, match='x1 is used'):
        ev.evaluate(batch, np.ones((3, 1)))

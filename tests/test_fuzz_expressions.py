"""Fuzzed expression text, precisions and LUT specs through the library: each one parses and builds a design
that works end to end (printed form, float evaluation, table contents, cost prediction), or is refused with
srcost's error type. No traceback, no code run (the canary stays absent), no hang."""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_corpus import (
    NESTING,
    assert_no_canary,
    canary_payloads,
    expression_text,
    fuzz_settings,
    lut_text,
    nested,
    precision_text,
    refused_or_ok,
)
from hypothesis import given
from hypothesis import strategies as st

from hls_gen import Design, Expression, LutSpec, Precision
from hls_gen.design import MAX_OUTPUTS
from hls_gen.expression import MAX_CONSTANT, MAX_INPUTS
from hls_gen.ir import count_nodes
from hls_gen.tables import lut_layout

_X = np.random.default_rng(23).uniform(-3, 3, size=(8, MAX_INPUTS))


def _works(expr: Expression) -> None:
    """What a parsed expression must allow: print and parse back to the same tree, walk the operator table,
    evaluate in floats, and keep every constant within what a fixed-point type holds."""
    again = Expression.parse(expr.text)
    assert again.canonical == expr.canonical
    assert count_nodes(expr.sympy_expr) >= 1
    assert expr.n_inputs <= MAX_INPUTS
    out = expr.evaluate(_X)
    assert out.shape == (8,)
    for c in expr.sympy_expr.atoms(__import__('sympy').Number):
        assert abs(float(c)) < MAX_CONSTANT


@fuzz_settings(600)
@given(expression_text())
def test_expression_text_parses_or_is_refused(text):
    expr = refused_or_ok(Expression.parse, text)
    if expr is not None:
        refused_or_ok(_works, expr)
    assert_no_canary()


@fuzz_settings(150)
@given(canary_payloads(), st.sampled_from(('', 'x0 + ', 'sin(', '2*')), st.sampled_from(('', ')', ' + x1')))
def test_python_payloads_are_never_run(payload, before, after):
    assert refused_or_ok(Expression.parse, before + payload + after) is None
    assert_no_canary()


@fuzz_settings(80)
@given(st.sampled_from(NESTING), st.integers(1, 20_000))
def test_deep_nesting_is_refused_or_built(kind, n):
    expr = refused_or_ok(Expression.parse, nested(kind, n))
    if expr is not None:
        refused_or_ok(_works, expr)


@fuzz_settings(250)
@given(precision_text())
def test_precision_text_parses_or_is_refused(text):
    p = refused_or_ok(Precision.parse, text)
    if p is not None:
        assert Precision.parse(str(p)) == p
        q = p.quantize(np.array([0.0, 1.5, -1e300, 1e300, np.pi]))
        assert np.all(np.isfinite(q)) and np.all(q >= p.min_value) and np.all(q <= p.max_value)


@fuzz_settings(250)
@given(lut_text(), precision_text() | st.sampled_from(('ap_fixed<16,6>', 'ap_fixed<8,3>', 'ap_ufixed<12,4>')))
def test_lut_specs_parse_and_lay_out_or_are_refused(text, precision):
    spec = refused_or_ok(LutSpec.parse, text)
    p = refused_or_ok(Precision.parse, precision)
    if spec is None or p is None:
        return
    assert LutSpec.parse(str(spec)).table_size == spec.table_size
    layout = refused_or_ok(lut_layout, spec, p)
    if layout is not None:
        assert len(layout.samples) == spec.table_size and np.all(np.isfinite(layout.samples))
    design = refused_or_ok(Design.build, f'{spec.name}(x0)', p, [spec])
    if design is not None:
        assert design.lut_for(spec.name) == spec


@fuzz_settings(200)
@given(st.lists(expression_text(), min_size=0, max_size=4), st.one_of(st.none(), st.integers(-2, MAX_INPUTS + 2),
       st.sampled_from((10**6, 2**63))), st.sampled_from((5.0, 0.0, -1.0, float('nan'), float('inf'), 1e-300)),
       st.sampled_from(('xcvu9p-flga2577-2-e', 'x; rm -rf /', '', 'a' * 100, 'xc7a35t-cpg236-1')))
def test_designs_build_or_are_refused(outputs, n_inputs, clock, part):
    d = refused_or_ok(Design.build, outputs, 'ap_fixed<16,6>', (), n_inputs, part, clock)
    if d is not None:
        assert 1 <= d.n_inputs <= MAX_INPUTS and 1 <= len(d.outputs) <= MAX_OUTPUTS
        assert Design.from_dict(d.to_dict()).digest() == d.digest()
    assert_no_canary()


def test_limits_are_refused_at_their_edge():
    assert Expression.parse(f'x{MAX_INPUTS - 1}').n_inputs == MAX_INPUTS
    for text in (f'x{MAX_INPUTS}', 'x1000000', 'exp(exp(exp(exp(1000))))', '1e300*x0', '1e18*x0*1e18'):
        assert refused_or_ok(Expression.parse, text) is None
    assert refused_or_ok(Design.build, ['x0'] * MAX_OUTPUTS).n_inputs == 1
    assert refused_or_ok(Design.build, ['x0'] * (MAX_OUTPUTS + 1)) is None
    assert refused_or_ok(Design.build, 'x0', n_inputs=MAX_INPUTS + 1) is None


@pytest.fixture(scope='module')
def model():
    from costmodel.api import get_model

    return get_model('auto', 'open', 'xcvu9p-flga2577-2-e', None, None)


def _predict(model, design):
    row = model.predict([design]).iloc[0]
    errors = getattr(model.extractor, 'errors', {})
    return row, errors


@fuzz_settings(200)
@given(expression_text(), st.sampled_from(('ap_fixed<16,6>', 'ap_fixed<8,3>', 'ap_ufixed<64,64>', 'ap_fixed<2,2>',
                                           'ap_fixed<64,0>', 'ap_fixed<18,8,AP_RND,AP_SAT>')))
def test_predictions_answer_or_refuse(model, text, precision):
    design = refused_or_ok(Design.build, [text], precision)
    if design is None:
        return
    row, errors = refused_or_ok(_predict, model, design)
    if not errors:
        assert row['latency_cycles'] >= 0 and row['lut'] >= 0
    assert_no_canary()

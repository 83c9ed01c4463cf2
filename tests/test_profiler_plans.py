"""Micro-benchmark plans and their numeric-error measurement."""

from __future__ import annotations

import numpy as np
import pytest

from hls_gen.ir import decompose
from hls_gen.operators import OPERATORS
from hls_gen.precision import Precision
from profiler.errors import ProfilerError
from profiler.numerics import METHOD_EMULATION, METHOD_MODEL, find_emulator, input_grid, measure_error
from profiler.plans import DEFAULT_PRECISIONS, benchmark_expression, make_plans, parse_lut_ranges, parse_precisions, split_list

N_LUT_OPS = sum(op.lut_range is not None for op in OPERATORS)


def test_default_grid_covers_every_operator_and_implementation():
    plans = make_plans('open', 'v1')
    per_precision = len(OPERATORS) + 3 * N_LUT_OPS
    assert len(plans) == 4 * per_precision
    assert len(OPERATORS) >= 20
    assert {p.precision for p in plans} == set(DEFAULT_PRECISIONS)
    assert {p.implementation for p in plans} == {'native', 'lut256', 'lut1024', 'lut4096'}
    assert len({p.digest for p in plans}) == len(plans)
    assert len({p.key for p in plans}) == len(plans)
    assert make_plans('open', 'v1')[7].digest == plans[7].digest  # stable
    assert make_plans('open', 'v2')[7].digest != plans[7].digest  # the tool version is part of the key


def test_benchmark_designs():
    for op in OPERATORS:
        expr = benchmark_expression(op)
        if op.name not in ('-', '/'):  # sympy writes x0 - x1 as x0 + (-x1), x0 / x1 as x0 * x1**-1
            assert decompose(expr.sympy_expr).op == op.name, op.name
    sin = list(make_plans('open', 'v', ['sin'], ['ap_fixed<16,6>']))
    assert [p.implementation for p in sin] == ['native', 'lut256', 'lut1024', 'lut4096']
    assert 'ROM' in sin[0].notes  # the open backend's native function is a table: recorded
    assert str(sin[2].design.outputs[0]) == 'sin_lut(x0)'
    assert (sin[2].lut.table_size, sin[2].lut.range_start, sin[2].lut.range_end) == (1024, -4.0, 4.0)
    div = make_plans('open', 'v', ['/'], ['ap_fixed<16,6>'])
    assert len(div) == 1 and div[0].design.n_inputs == 2


def test_user_lut_ranges_get_their_own_label():
    plans = make_plans('open', 'v', ['sin'], ['ap_fixed<16,6>'], lut_sizes=[1024], lut_ranges=parse_lut_ranges(['sin:-8:8']))
    assert [p.implementation for p in plans] == ['native', 'lut1024@-8:8']
    assert plans[1].lut.range_start == -8.0
    with pytest.raises(ProfilerError):
        parse_lut_ranges(['sin:8:-8'])
    with pytest.raises(ProfilerError):
        parse_lut_ranges(['abs:0:1'])


def test_option_lists():
    assert split_list(['ap_fixed<16,6>,ap_fixed<18,8>', 'ap_fixed<24,12>']) == ['ap_fixed<16,6>', 'ap_fixed<18,8>', 'ap_fixed<24,12>']
    assert [str(p) for p in parse_precisions(None)] == list(DEFAULT_PRECISIONS)
    assert [str(p) for p in parse_precisions('ap_fixed<8,3>')] == ['ap_fixed<8,3>']
    assert [p.operator for p in make_plans('open', 'v', ['log_abs', 'sqrt_abs'], ['ap_fixed<8,3>'])] == ['log_abs', 'sqrt_abs']
    with pytest.raises(ProfilerError, match='unknown operator'):
        make_plans('open', 'v', ['frobnicate'])
    only = make_plans('open', 'v', ['sin', '+'], ['ap_fixed<8,3>'], implementations=['lut256'])
    assert [p.implementation for p in only] == ['lut256']


def test_error_grid_and_model():
    prec = Precision.parse('ap_fixed<16,6>')
    add, = make_plans('fake', 'v', ['+'], [str(prec)])
    X = input_grid(add)
    assert X.shape == (65 * 65, 2) and np.array_equal(prec.quantize(X), X)
    e = measure_error(add)
    assert e.method == METHOD_MODEL and e.max_abs == 0.0 and 0 < e.points <= len(X)

    native, lut256, lut1024, lut4096 = make_plans('fake', 'v', ['sin'], [str(prec)])
    assert input_grid(lut1024).min() >= -4 and input_grid(lut1024).max() <= 4
    errs = [measure_error(p).max_abs for p in (lut256, lut1024, lut4096)]
    assert errs[0] > errs[1] > errs[2] > 0  # bigger tables are more accurate
    assert measure_error(native).max_abs <= 2 * prec.step


def test_error_uses_the_backends_emulation_when_it_has_one():
    plan, = make_plans('fake', 'v', ['square'], ['ap_fixed<16,6>'])
    calls = []

    def emulate(design, X, workdir, timeout_s=600):
        calls.append(workdir)
        return design.outputs[0].evaluate(X) + 0.5

    e = measure_error(plan, emulate, workdir='somewhere')
    assert e.method == METHOD_EMULATION and calls == ['somewhere'] and e.max_abs == pytest.approx(0.5)

    def broken(design, X):
        raise RuntimeError('no simulator')

    e = measure_error(plan, broken)
    assert e.method.startswith(METHOD_MODEL) and 'no simulator' in e.method


def test_the_numpy_model_agrees_with_the_open_backends_bit_accurate_trace_where_the_arithmetic_is_the_same():
    pytest.importorskip('da4ml')

    class Open:  # without a simulation model built at synthesis, find_emulator picks da4ml's interpreter
        name = 'open'
        verify_latency = False

    emulator = find_emulator(Open())
    assert emulator is not None and 'da4ml' in emulator[1]
    plans = make_plans('open', 'v', ['+', '*', 'square', 'sin', 'exp'], ['ap_fixed<16,6>'], lut_sizes=[256])
    for plan in plans:
        exact = measure_error(plan, emulator)
        assert exact.method.startswith(METHOD_EMULATION), exact.method
        if plan.implementation == 'native' and plan.operator in ('sin', 'exp'):
            continue  # the open backend's native functions truncate their inputs: the model does not
        model = measure_error(plan)
        assert (exact.max_abs, exact.mean_abs, exact.points) == (model.max_abs, model.mean_abs, model.points), plan.label
    assert find_emulator(type('Fake', (), {'name': 'fake'})()) is None

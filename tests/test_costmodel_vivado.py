"""The Vivado HLS model: the scheduling model's semantics, its batch engine against the readable schedule, the
LUT implementations, the fitted model file, and predictions of the real shared reports."""

import json
import random

import numpy as np
import pytest

from costmodel import hls_schedule as H
from costmodel.features import FeatureExtractor
from costmodel.models import ModelError
from hls_gen import Design, SrcostError

# physical parameters fixed here (not the fitted file), so the semantics tests do not move with a refit
SIN = H.FunctionLatency(3.36, 0.26, 0.0, 10)
P = H.ScheduleParams(functions={'sin': SIN, 'cos': SIN, 'exp': H.FunctionLatency(2.0)})

SYNTHETIC = [
    (['x0 + x1'], 'ap_fixed<8,4>', ()),
    (['x0*x1*x2*x3', '2.5*x0 - x1'], 'ap_fixed<16,6>', ()),
    (['0.3*x0**3 - 1.7*x0*x1 + x2', 'x1*x1 + 0.25*x0'], 'ap_fixed<6,3>', ()),
    (['sin(x0*x1 + 0.3)*cos(x2) - exp(x3)', 'x1*sin(x0)'], 'ap_fixed<12,6>', ()),
    (['sin_lut(x0 - x1)*x2 + 1.5', 'cos_lut(x2)**2'], 'ap_fixed<16,6>', ('sin:1024:-8:8', 'cos:1024:-8:8')),
    (['sin_lut(x0)*x1 - cos_lut(2.0*x1)'], 'ap_fixed<14,6>', ()),  # default specs: the built-in LUT
    (['abs(x0 - x1)*x2', 'x0*x1*x2*x3*x4'], 'ap_fixed<20,8,AP_RND,AP_SAT>', ()),
]


@pytest.fixture(scope='module')
def fx():
    return FeatureExtractor(engine='python')


def _program(fx, outputs, precision='ap_fixed<16,6>', luts=(), lut_impl='auto', clock=5.0):
    return H.compile_program(Design.build(outputs, precision, list(luts), clock_period_ns=clock), fx, lut_impl)


def test_narrow_operations_chain_in_one_cycle_and_dsp_multipliers_register(fx):
    assert H.schedule(_program(fx, ['x0 + x1'], 'ap_fixed<8,4>'), P).latency == 0
    assert H.schedule(_program(fx, ['x0*x1'], 'ap_fixed<6,3>'), P).latency == 0  # fabric: chained
    assert H.schedule(_program(fx, ['x0*x1'], 'ap_fixed<16,6>'), P).latency == 1  # a DSP with its output register
    # products are evaluated as written, one DSP after the other; their widths grow (16, 32, 48 bits)
    assert H.schedule(_program(fx, ['x0*x1*x2*x3'], 'ap_fixed<16,6>'), P).latency == 3
    # a long chain of adders that fits in 5 ns does not at 2 ns
    many = [' + '.join(f'x{i}*x{i + 1}' for i in range(0, 8, 2))]
    slow, fast = _program(fx, many, 'ap_fixed<6,3>', clock=2.0), _program(fx, many, 'ap_fixed<6,3>')
    assert H.schedule(slow, P).latency > H.schedule(fast, P).latency


def test_a_function_costs_its_fitted_latency_and_the_uncertainty_shrinks_the_cycle(fx):
    prog = _program(fx, ['sin(x0)'], 'ap_fixed<16,6>')
    assert H.schedule(prog, P).latency == SIN.cycles(16, 6) == 8  # what the published table says for hls::sin<16,6>
    prog = _program(fx, ['sin(x0*x1 + x2)*x3 + x1'], 'ap_fixed<16,6>')
    vivado, vitis = H.schedule(prog, P).latency, H.schedule(prog, P.replace(uncertainty=0.27)).latency
    assert vivado > SIN.cycles(16, 6) and vitis >= vivado


def test_constants_that_quantize_away_cost_nothing(fx):
    prog = _program(fx, ['0.01*x0 + 0.02*x1', 'x2 + 0.01*x0'], 'ap_fixed<8,6>')
    assert prog.outputs[0] == -1 and H.schedule(prog, P).latency == 0  # both products are 0 at 2 fractional bits
    assert [op.kind for op in prog.ops] == [H.IN]  # the second output is x2 itself


def test_lut_functions_are_builtin_or_tables_as_asked(fx):
    luts = ('sin:1024:-8:8',)
    calls = {impl: _program(fx, ['sin_lut(x0)*x1'], 'ap_fixed<16,6>', luts, impl) for impl in H.LUT_IMPLS}
    assert [o.kind for o in calls['auto'].ops].count(H.TABLE) == 1  # an explicit spec: nnet::lookup_table
    assert [o.impl for o in calls['builtin'].ops].count('builtin') == 1
    default = _program(fx, ['sin_lut(x0)*x1'], 'ap_fixed<16,6>')
    assert [o.impl for o in default.ops].count('builtin') == 1  # srcost's default spec: hls4ml's built-in LUT
    c = H.program_counts(default, P)
    assert c.builtin_calls == 1 and c.builtin_bram == 2  # its sin and cos columns, 512 x 11 bits each
    t = H.program_counts(calls['table'], P)
    assert t.table_calls == 1 and t.table_bram == 1  # 1024 x 16 bits: one BRAM_18K
    # the user table of a precision whose samples are all equal is a constant (hls4ml computes it in T)
    assert _program(fx, ['sin_lut(x0)'], 'ap_fixed<9,6>', luts, 'table').outputs == (-1,)
    with pytest.raises(H.ScheduleError, match='lut_impl'):
        _program(fx, ['sin_lut(x0)'], lut_impl='bogus')


def test_the_batch_engine_equals_the_readable_schedule(fx):
    from costmodel.vivado_fit import BINDING_GRID, GRID

    rng = random.Random(7)
    params = [P.replace(**{k: rng.choice(v) for k, v in {**GRID, **BINDING_GRID}.items()}) for _ in range(60)]
    for outputs, prec, luts in SYNTHETIC:
        for impl in ('auto', 'table'):
            prog = _program(fx, outputs, prec, luts, impl)
            batch = H.latencies(prog, params)
            assert batch.tolist() == [H.schedule(prog, q).latency for q in params], (outputs, prec, impl)


def test_function_latency_fit_recovers_a_rounded_linear_rule():
    rule = H.FunctionLatency(2.3, 0.5, -0.25)
    rows = [(w, i, rule.cycles(w, i)) for w in range(10, 19) for i in (6, 8, 10) if i < w]
    fit = H.FunctionLatency.fit(rows)
    assert [fit.cycles(w, i) for w, i, _ in rows] == [y for _, _, y in rows] and fit.w_min == 10
    assert fit.cycles(4, 2) == fit.cycles(10, 2)  # no extrapolation below the narrowest measured width


def test_the_shipped_model_predicts_every_metric_with_bands():
    from costmodel.api import get_model
    from costmodel.postfix import Postfix
    from costmodel.vivado import BAND_COLUMNS, VivadoModel

    m = get_model('auto', 'vivado_hls')
    assert isinstance(m, VivadoModel) and get_model('analytic', 'vivado_hls') is m and not m.latency_only
    d = Design.build(['sin(x0*x1 + 0.3)*cos(x2) - exp(x3)', 'x1*x1*x4 - 0.7', '2.5*x0 + x3*x4', 'sin(x4)**2', 'x0 - x1'])
    row = m.predict([d]).iloc[0]
    assert row['ii'] == 1 and row['latency_cycles'] >= 9 and row['dsp'] > 0 and row['lut'] > 1000 and row['bram_18k'] == 0
    for t in ('latency_cycles', 'lut', 'ff', 'dsp'):
        assert row[f'{t}_low'] <= row[t] <= row[f'{t}_high']
    assert set(BAND_COLUMNS) <= set(row.index)
    again = m.predict([d])
    assert again.iloc[0].equals(row)
    exprs = list(d.outputs)
    direct = m.predict_expressions_matrix(exprs)
    assert np.array_equal(direct, m.predict_postfix(Postfix.from_expressions(exprs)), equal_nan=True)
    vitis = get_model('auto', 'vitis_hls').predict([d]).iloc[0]
    assert vitis['latency_cycles'] >= row['latency_cycles']  # 27% of the clock lost to the uncertainty
    with pytest.raises(ModelError, match='feature rows'):
        m.predict_matrix(np.zeros((1, 3)))


def test_a_missing_or_broken_model_file_is_one_clear_error(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from costmodel import vivado
    from costmodel.vivado_fit import VivadoFitted
    from srcost.cli import app

    monkeypatch.setattr(vivado, 'model_path', lambda part='': tmp_path / 'none.json')
    with pytest.raises(ModelError, match='srcost fit --backend vivado_hls'):
        vivado.VivadoModel()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"kind": "something else"}')
    with pytest.raises(SrcostError, match='not an srcost Vivado model'):
        VivadoFitted.load(bad)
    r = CliRunner().invoke(app, ['predict', 'x0*x1', '--backend', 'vivado_hls', '--model-path', str(bad), '--json'])
    assert r.exit_code == 2 and 'not an srcost Vivado model' in r.output and len(r.output.strip().splitlines()) == 1


def test_the_shipped_model_is_within_a_cycle_of_every_shared_report(shared_dir):
    from costmodel.vivado import VivadoModel
    from costmodel.vivado_reports import shared_reports

    m = VivadoModel()
    reports = shared_reports(shared_dir / 'fixtures')
    assert len(reports) == 24
    off = {r.name: m.predict_design(r.design, r.lut_impl or 'auto')['latency_cycles'] - r.latency for r in reports}
    assert max(map(abs, off.values())) <= 1, off


def test_a_fit_saved_and_loaded_predicts_the_same_and_holds_no_report_content(shared_dir, tmp_path):
    from costmodel.vivado import VivadoModel
    from costmodel.vivado_fit import VivadoFitted, fit_vivado_model
    from costmodel.vivado_reports import shared_reports

    fitted, cv = fit_vivado_model(cv=False)
    assert cv is None and fitted.provenance['designs'] == 24
    path = fitted.save(tmp_path / 'model.json')
    text = path.read_text()
    assert 'x14' not in text and 'sin(' not in text and '0.18323733' not in text  # parameters only
    assert json.loads(text)['schedule']['functions']['sin']['w_min'] == 10
    designs = [r.design for r in shared_reports(shared_dir / 'fixtures')[:6]]
    a = VivadoModel(fitted=fitted).predict(designs)
    b = VivadoModel(fitted=VivadoFitted.load(path)).predict(designs)
    assert a.equals(b)


def test_fitting_without_the_reports_says_what_is_missing(monkeypatch):
    from costmodel import vivado_fit

    monkeypatch.setattr(vivado_fit, 'published_latency_rows', lambda: [])
    with pytest.raises(SrcostError, match='../shared/calibration'):
        vivado_fit.fit_vivado_model(cv=False)

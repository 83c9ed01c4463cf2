"""srcost validate: metrics, LUT errors, the run and its JSON, the command line; real synthesis under `synth`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hls_gen import Design, SynthesisError, SynthResult
from srcost.cli import app
from srcost.commands.validate import split_precisions, spread
from srcost.report import prediction_errors
from srcost.validation import ValidationError, ValidationRun, accuracy_metrics, lut_errors, normalize_predictions, synth_command, validate


# -- metrics ----------------------------------------------------------------------------------------------
def test_regression_metrics_and_fixed_against_float():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    fl = y + np.array([0.0, 0.5, 0.0, -0.5])
    fx = fl + 0.25
    a = accuracy_metrics(fl, fx, y)
    assert a.task == 'regression' and a.n_samples == 4
    assert a.float.rmse == pytest.approx(np.sqrt(0.125)) and a.float.max_abs_error == 0.5
    assert a.float.r2 == pytest.approx(1 - 0.5 / 5)
    assert a.fixed.mae == pytest.approx((0.25 + 0.75 + 0.25 + 0.25) / 4)
    assert a.fixed_vs_float.max_abs_error == 0.25 and a.fixed_vs_float.rmse == pytest.approx(0.25)
    none = accuracy_metrics(fl, fx)
    assert none.task == 'none' and none.float is None and none.fixed is None and none.fixed_vs_float.mae == 0.25


def test_classification_accuracy_and_auc():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = y * 0.3 + rng.normal(0.35, 0.3, 300)
    sq = np.floor(s * 8) / 8  # ties, as fixed point has
    a = accuracy_metrics(s, sq, y)
    assert a.task == 'classification' and a.threshold == 0.5
    assert a.float.auc == pytest.approx(roc_auc_score(y, s))
    assert a.fixed.auc == pytest.approx(roc_auc_score(y, sq))
    assert a.fixed.accuracy == pytest.approx(np.mean((sq > 0.5) == y))
    # several outputs: class indices and one-hot rows give the same figures
    scores = rng.normal(size=(200, 3))
    labels = scores.argmax(1)
    labels[:20] = (labels[:20] + 1) % 3
    a1 = accuracy_metrics(scores, scores, labels)
    a2 = accuracy_metrics(scores, scores, np.eye(3)[labels])
    assert a1.fixed.accuracy == a2.fixed.accuracy == pytest.approx(0.9)
    assert a1.fixed.auc == pytest.approx(np.mean([roc_auc_score(labels == c, scores[:, c]) for c in range(3)]))
    assert a1.fixed.auc_per_output == a2.fixed.auc_per_output
    with pytest.raises(ValidationError):
        accuracy_metrics(s, sq, y + 0.5, task='classification')
    assert accuracy_metrics(s, sq, y, task='regression').task == 'regression'


def test_nonfinite_float_outputs_are_counted_not_propagated():
    fl = np.array([1.0, np.nan, np.inf, 2.0])
    a = accuracy_metrics(fl, np.array([1.0, 0.0, 0.0, 2.0]), np.array([1.0, 0.0, 0.0, 2.0]))
    assert a.float.n_nonfinite == 2 and a.float.rmse == 0 and a.fixed.n_nonfinite == 0
    assert a.fixed_vs_float.n_nonfinite == 2


def test_lut_errors_cover_the_range_at_the_precision():
    d = Design.build(['sin_lut(x0) + exp_lut(x1)'], 'ap_fixed<16,6>', ['sin:1024:-4:4', 'exp:256:0:4'])
    errs = {e.name: e for e in lut_errors(d)}
    s = errs['sin_lut']
    assert s.n_points == 8 * 2**10 + 1  # every ap_fixed<16,6> value in [-4, 4]
    assert s.sample_max_abs_error < 2**-10  # entries are f truncated to the LSB
    assert 2**-10 < s.max_abs_error < 8 / 1024 + 2**-10  # plus the table step times max |sin'|
    e = errs['exp_lut']
    assert e.n_saturated > 0  # exp(4) > 31.99, the largest ap_fixed<16,6>
    assert lut_errors(Design.build(['x0*x1'])) == []


def test_normalize_predictions():
    rows = normalize_predictions(pd.DataFrame({'latency': [3, 4], 'lut': [10.5, np.nan], 'other': [1, 2]}), 2)
    assert rows == [{'latency_cycles': 3.0, 'lut': 10.5}, {'latency_cycles': 4.0}]
    assert normalize_predictions([{}, {}], 2) == [{}, {}]
    with pytest.raises(ValidationError):
        normalize_predictions(pd.DataFrame({'lut': [1]}), 2)
    with pytest.raises(ValidationError):
        normalize_predictions(pd.DataFrame({'foo': [1, 2]}), 2)


def test_synth_command_reproduces_the_design():
    d = Design.build(['2.5*x0*x1 + sin_lut(x2)'], 'ap_fixed<18,8>', ['sin:512:-4:4'], clock_period_ns=4.0)
    args = shlex.split(synth_command(d, 'open'))
    assert args[:3] == ['srcost', 'synth', str(d.outputs[0])]
    assert args[args.index('--precision') + 1] == 'ap_fixed<18,8>'
    assert args[args.index('--lut') + 1] == 'sin:512:-4:4' and '--clock-period' in args and args[-1] == '--json'
    rebuilt = Design.build([args[2]], args[4], [args[6]], clock_period_ns=float(args[args.index('--clock-period') + 1]))
    assert rebuilt.digest() == d.digest()


def test_synth_command_of_a_negative_expression_parses(monkeypatch):
    """'-0.97*x0*exp(x1)' first on a command line would be read as an option: the command puts `--` before it."""
    from typer.testing import CliRunner

    from srcost.cli import app

    d = Design.build(['-0.976*x0*exp(-0.53*x1) + 0.885', 'x1 - x0'], 'ap_fixed<16,6>', n_inputs=3)
    args = shlex.split(synth_command(d, 'open'))
    assert args[-3] == '--' and args[-2:] == [e.text for e in d.outputs]
    seen = {}
    import srcost.commands.synth as synth_mod

    def fake_design(exprs, precision, lut, part, clock, n_inputs):
        seen.update(exprs=list(exprs), precision=precision, n_inputs=n_inputs)
        raise SystemExit(0)

    monkeypatch.setattr(synth_mod, 'design_from_options', fake_design)
    CliRunner().invoke(app, args[1:])
    assert seen == {'exprs': [e.text for e in d.outputs], 'precision': 'ap_fixed<16,6>', 'n_inputs': 3}
    # constants are printed exactly: the command rebuilds the very same design
    exact = Design.build(['0.0076041221618652344*x0 - 0.29376861453056335*x1'], 'ap_fixed<16,6>')
    again = shlex.split(synth_command(exact, 'open'))
    assert Design.build([again[2]], 'ap_fixed<16,6>').digest() == exact.digest()


def test_option_helpers():
    assert split_precisions(['ap_fixed<16,6>,ap_fixed<18,8, AP_RND,AP_SAT>', 'ap_ufixed<8,3>']) == [
        'ap_fixed<16,6>', 'ap_fixed<18,8, AP_RND,AP_SAT>', 'ap_ufixed<8,3>']
    assert spread(10, 3) == [0, 4, 9]
    assert spread(10, None) == list(range(10)) and spread(3, 10) == [0, 1, 2] and spread(5, 1) == [0]


# -- the run, on a stand-in backend (fast); the real backend is below -----------------------------------------
class FakeBackend:
    """Deterministic counts from the expression text; fails any batch that holds a design in ``fail``."""

    name = 'fake'

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.batches: list[int] = []

    def tool_version(self) -> str:
        return 'fake 1.0'

    def synthesize(self, designs, workdir, timeout_s=600):
        self.batches.append(len(designs))
        Path(workdir).mkdir(parents=True, exist_ok=True)
        if any(d.digest() in self.fail for d in designs):
            raise SynthesisError('fake tool failed (exit 1)', str(Path(workdir) / 'fake.log'))
        out = []
        for d in designs:
            n = len(str(d.outputs[0]))
            out.append(SynthResult('fake', 'fake', '1.0', d.part, str(d.precision), d.clock_period_ns, n % 5 + 1,
                                   n % 5 + 1, 1, lut=10 * n, ff=5 * n, dsp=str(d.outputs[0]).count('*'), bram_18k=0,
                                   design_digest=d.digest()))
        return out


@pytest.fixture
def fake(monkeypatch):
    be = FakeBackend()
    monkeypatch.setattr('hls_gen.backends.get_backend', lambda name, **kw: be)
    return be


def test_validate_run_records_everything_and_round_trips(fake, tmp_path):
    designs = [Design.build(['x0*x1 + 0.75'], 'ap_fixed<12,4>'),
               Design.build(['sin_lut(x0) - x1'], 'ap_fixed<16,6>', ['sin:256:-4:4'])]
    X = np.random.default_rng(2).uniform(-3, 3, (400, 2))
    y = X[:, 0] * X[:, 1] + 0.75
    calls = []

    def model(ds):
        calls.append(len(ds))
        return pd.DataFrame({'latency_cycles': [1, 2], 'lut': [100, 150], 'ff': [50, 80], 'dsp': [1, 0]})

    run = validate(designs, X, y, backend='fake', predictor=model, workdir=tmp_path / 'w')
    # one batch per core (each one tool run), one model call
    assert sorted(fake.batches) == ([2] if (os.cpu_count() or 1) == 1 else [1, 1]) and calls == [2]
    assert run.predictor == 'model' and run.backend == 'fake' and run.emulation == 'trace'
    assert run.tool_versions['backend:fake'] == 'fake 1.0' and 'da4ml' in run.tool_versions
    r0, r1 = run.records
    assert r0.ok and r0.actual['lut'] == 10 * len(str(designs[0].outputs[0])) and r0.predicted['lut'] == 100
    assert r0.accuracy.task == 'regression' and r0.accuracy.float.rmse == pytest.approx(0, abs=1e-12)
    assert r0.accuracy.fixed.rmse > 0 and r0.lut_errors == []
    assert r1.lut_errors[0].name == 'sin_lut' and r1.lut_errors[0].n_points == 8 * 2**10 + 1
    for r in run.records:
        assert (Path(r.hls4ml_project) / 'firmware' / 'myproject.cpp').is_file(), r.hls4ml_error
        assert list((Path(r.verilog_dir) / 'src').glob('myproject_*.v')), r.verilog_error
        assert json.loads((Path(r.verilog_dir) / 'metadata.json').read_text())
    assert 'sin_lut' in (Path(r1.hls4ml_project) / 'firmware' / 'myproject.cpp').read_text() or \
        'lookup_table' in (Path(r1.hls4ml_project) / 'firmware' / 'parameters.h').read_text()
    # fixed point is the bit-accurate emulation: the same numbers as emulate() on the same inputs
    from hls_gen.emulate import emulate

    fx = emulate(designs[0], X, 'trace')[:, 0]
    assert r0.accuracy.fixed.max_abs_error == pytest.approx(np.max(np.abs(fx - y)))
    # JSON round trip
    path = run.save(tmp_path / 'run.json')
    back = ValidationRun.load(path)
    assert back.to_dict() == run.to_dict()
    assert back.records[1].lut_errors == r1.lut_errors and back.records[0].synth_result.lut == r0.actual['lut']
    assert len(run.training_records()) == 2 and run.training_records()[0]['source'] == 'srcost validate'
    # the report's error figures are these records' numbers
    e = prediction_errors(back.records, 'lut')
    assert e['mae'] == pytest.approx(np.mean([abs(100 - r0.actual['lut']), abs(150 - r1.actual['lut'])]), rel=1e-5)


def test_a_failing_design_is_recorded_and_the_others_kept(monkeypatch, tmp_path):
    good = Design.build(['x0 + x1'])
    bad = Design.build(['x0 - x1'])
    be = FakeBackend(fail={bad.digest()})
    monkeypatch.setattr('hls_gen.backends.get_backend', lambda name, **kw: be)
    run = validate([good, bad, good], n_samples=64, backend='fake', workdir=tmp_path, write_hls4ml=False)
    # duplicates synthesized once; with one batch per core each design is alone already; a failed batch of
    # several would be retried design by design
    assert sorted(be.batches) == ([1, 1, 2] if (os.cpu_count() or 1) == 1 else [1, 1])
    assert [r.status for r in run.records] == ['ok', 'failed', 'ok']
    assert 'fake tool failed' in run.records[1].error and run.records[1].log_path.endswith('fake.log')
    assert run.records[1].actual is None and run.records[1].accuracy.task == 'none'
    assert any('failed synthesis' in n for n in run.notes)
    assert run.records[0].hls4ml_project is None and run.records[0].verilog_dir


def test_validate_rejects_bad_inputs(fake, tmp_path):
    d = Design.build(['x0*x2'])
    with pytest.raises(ValidationError, match='X_test must have shape'):
        validate([d], np.zeros((5, 2)), workdir=tmp_path)
    with pytest.raises(ValidationError, match='nothing to validate'):
        validate([], workdir=tmp_path)
    with pytest.raises(ValidationError, match='rows'):
        validate([d], np.zeros((5, 3)), np.zeros(4), workdir=tmp_path)
    with pytest.raises(ValidationError, match='emulation'):
        validate([d], emulation='spice', workdir=tmp_path)


# -- the command line (stand-in backend) --------------------------------------------------------------------
def _front(tmp_path) -> Path:
    from sr_search.front import FrontMember, ParetoFront

    members = [FrontMember(e, loss, c, cost={'latency': lat, 'lut': lut})
               for e, loss, c, lat, lut in [('x0', 1.0, 1, 1, 0), ('x0*x1', 0.5, 3, 2, 30), ('x0*x1 + sin_lut(x0)', 0.2, 6, 4, 200),
                                            ('x0*x1 + sin_lut(x0) - 0.5*x1', 0.1, 9, 5, 260)]]
    return ParetoFront(members, {'precision': 'ap_fixed<16,6>'}).save(tmp_path / 'front.csv')


def test_cli_validates_a_front_with_data_and_report(fake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    front = _front(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 2))
    pd.DataFrame({'x0': X[:, 0], 'x1': X[:, 1], 'label': (X[:, 0] * X[:, 1] > 0).astype(int)}).to_csv('data.csv', index=False)
    r = CliRunner().invoke(app, ['validate', str(front), '--max-designs', '3', '--data', 'data.csv', '--target', 'label',
                                 '--predict', 'front', '--report', 'out/report.html', '--workdir', 'work', '--json'])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out['run']['n_designs'] == 3 and out['run']['n_ok'] == 3
    assert spread(4, 3) == [0, 2, 3]  # evenly over the front, both ends kept
    assert [s['expressions'] for s in out['summary']] == ['x0', 'x0*x1 + sin_lut(x0)', 'x0*x1 - 0.5*x1 + sin_lut(x0)']
    assert out['accuracy']['task'] == 'classification' and out['accuracy']['metric'] == 'auc'
    assert out['summary'][1]['predicted_lut'] == 200 and out['prediction']['targets']['lut']['n'] == 3
    assert out['run']['predictor'].startswith('front')
    assert out['commands'][0].startswith('srcost validate ') and '--max-designs 3' in out['commands'][0]
    report_json = json.loads(Path('out/report.json').read_text())
    out.pop('files')
    out.pop('generated_at'), report_json.pop('generated_at')
    assert out == report_json
    run = ValidationRun.load('work/validation.json')
    assert [r.label.split()[0] for r in run.records] == ['front[0]', 'front[2]', 'front[3]']


def test_cli_expressions_precisions_and_errors(fake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ['validate', 'x0*x1', 'sin_lut(x0)', '--precisions', 'ap_fixed<16,6>,ap_fixed<10,5>',
                            '--n-samples', '64', '--no-hls4ml', '--predict', 'none', '--workdir', 'w'])
    assert r.exit_code == 0, r.output
    run = ValidationRun.load('w/validation.json')
    assert len(run.records) == 2 and [r.precision for r in run.records] == ['ap_fixed<16,6>', 'ap_fixed<10,5>']
    assert run.records[0].expressions == ['x0*x1', 'sin_lut(x0)']  # several EXPRs: the outputs of one design
    assert run.records[0].accuracy.task == 'none' and run.data['n_samples'] == 64
    assert 'report:' not in r.stdout and 'run: ' in r.stdout
    r = runner.invoke(app, ['validate', 'x0', 'x1', '--separate', '--max-designs', '1', '--workdir', 'w2', '--json',
                            '--predict', 'none', '--no-hls4ml', '--n-samples', '16'])
    assert r.exit_code == 0 and json.loads(r.stdout)['run']['n_designs'] == 1
    # a design whose LUT cannot exist at its precision (span 8 overflows 4 integer bits) is recorded, not fatal
    r = runner.invoke(app, ['validate', 'sin_lut(x0)', '--precisions', 'ap_fixed<16,6>,ap_fixed<10,4>', '--n-samples', '16',
                            '--no-hls4ml', '--workdir', 'w4', '--json'])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out['summary'][0]['fixed_metric'] is not None and out['summary'][1]['fixed_metric'] is None
    assert 'empty range' in out['designs'][1]['error'] and any('could not be emulated' in n for n in out['run']['notes'])
    # --record puts the synthesized designs into the calibration store, with provenance
    r = runner.invoke(app, ['validate', 'x0 - x1', '--n-samples', '16', '--no-hls4ml', '--workdir', 'w5', '--record',
                            '--db', 'cal.db', '--json'])
    assert r.exit_code == 0, r.output
    from profiler.store import CalibrationStore

    with CalibrationStore('cal.db') as store:
        recs = store.designs(backend='fake')
    assert len(recs) == 1 and recs[0].design['outputs'] == ['x0 - x1'] and recs[0].provenance['source'] == 'srcost validate'
    assert json.loads(r.stdout)['calibration']['available'] is False  # the store holds no operator records yet
    r = runner.invoke(app, ['validate', 'x0', '--task', 'ranking', '--workdir', 'w6'])
    assert r.exit_code == 2 and 'task must be one of' in r.output
    r = runner.invoke(app, ['validate', 'x0 +', '--workdir', 'w3'])
    assert r.exit_code == 2 and 'malformed expression' in r.output
    r = runner.invoke(app, ['validate', 'missing.csv'])
    assert r.exit_code == 2 and 'no front file' in r.output
    r = runner.invoke(app, ['validate', 'x0', '--target', 'y'])
    assert r.exit_code == 2 and '--target needs --data' in r.output


# -- real synthesis -----------------------------------------------------------------------------------------
@pytest.mark.synth
def test_validate_on_the_open_backend_matches_srcost_synth(tmp_path):
    designs = [Design.build(['x0 + x1'], 'ap_fixed<12,4>'),
               Design.build(['sin_lut(x0)*x1'], 'ap_fixed<12,5>', ['sin:256:-4:4'])]
    X = np.random.default_rng(1).uniform(-3, 3, (256, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    run = validate(designs, X, y, backend='open', workdir=tmp_path / 'w',
                   predictor=lambda ds: pd.DataFrame({'latency_cycles': [1, 2], 'lut': [16, 90]}))
    assert all(r.ok for r in run.records), [r.error for r in run.records]
    r0, r1 = run.records
    assert r1.actual['dsp'] >= 1 and r1.actual['lut'] > r0.actual['lut']
    assert 'confirmed by Verilator simulation' in r1.actual['latency_method']
    assert list((Path(r1.verilog_dir) / 'src').glob('myproject_*.v')) and not list(Path(r1.verilog_dir).rglob('*.so'))
    assert (Path(r1.hls4ml_project) / 'firmware' / 'parameters.h').is_file()
    assert r1.accuracy.fixed.rmse < 0.1 and r1.lut_errors[0].max_abs_error < 0.05
    # the recorded command reproduces the numbers when run on its own
    args = shlex.split(r0.synth_command)
    assert args[:2] == ['srcost', 'synth']
    p = subprocess.run([sys.executable, '-m', 'srcost', *args[1:]], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    alone = json.loads(p.stdout)
    for k in ('latency_cycles', 'ii', 'lut', 'ff', 'dsp', 'bram_18k', 'carry', 'cells'):
        assert alone[k] == r0.actual[k], k
    from srcost.report import write_report

    html_path, json_path = write_report(run, tmp_path / 'report.html')
    data = json.loads(json_path.read_text())
    assert data['summary'][1]['lut'] == r1.actual['lut']
    assert data['prediction']['targets']['lut']['mae'] == pytest.approx(
        (abs(16 - r0.actual['lut']) + abs(90 - r1.actual['lut'])) / 2, rel=1e-5)


@pytest.mark.synth
def test_fixed_point_accuracy_equals_hls4ml_csim(fake, tmp_path):
    """The accuracy of a LUT design is the same number whether the firmware is emulated by da4ml's trace or by
    hls4ml's C simulation (g++): the outputs agree bit for bit."""
    d = Design.build(['sin_lut(x0)*x1 + 0.5*x0', 'cos_lut(x1) - x0'], 'ap_fixed<14,5>', ['sin:512:-4:4', 'cos:512:-4:4'])
    X = np.random.default_rng(5).uniform(-3.5, 3.5, (300, 2))
    y = np.stack([np.sin(X[:, 0]) * X[:, 1] + 0.5 * X[:, 0], np.cos(X[:, 1]) - X[:, 0]], 1)
    runs = [validate([d], X, y, backend='fake', emulation=em, workdir=tmp_path / em, write_hls4ml=False,
                     write_verilog=False) for em in ('trace', 'hls4ml')]
    a, b = (r.records[0].accuracy for r in runs)
    assert (a.emulation, b.emulation) == ('trace', 'hls4ml')
    assert a.fixed == b.fixed and a.fixed_vs_float == b.fixed_vs_float and a.fixed.rmse > 0

"""`srcost predict` and `srcost fit` from the command line; the Vivado path on the shared real designs."""

import json

from typer.testing import CliRunner

from srcost.cli import app

runner = CliRunner()


def test_predict_json_open_analytic():
    r = runner.invoke(app, ['predict', '2.1*x0*x1 + sin_lut(x2) - x3**2', '--precision', 'ap_fixed<16,6>',
                            '--lut', 'sin:1024:-4:4', '--model', 'analytic', '--json'])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d['latency_cycles'] >= 1 and d['ii'] == 1 and d['dsp'] >= 1 and d['lut'] > 100 and d['model'] == 'analytic'
    assert d['luts'] == ['sin:1024:-4:4']


def test_predict_errors_are_one_line():
    r = runner.invoke(app, ['predict', 'x0*', '--model', 'analytic'])
    assert r.exit_code == 2 and 'malformed' in r.output
    r = runner.invoke(app, ['predict', 'x0', '--model', 'learned', '--model-path', '/nonexistent/model.json'])
    assert r.exit_code == 2 and 'srcost fit' in r.output


def test_vivado_predict_within_one_cycle_of_the_reports(shared_dir):
    from costmodel.vivado import fixture_designs

    fixtures = fixture_designs(shared_dir / 'fixtures' / 'vivado_hls')
    assert len(fixtures) == 3
    for variant, design, reported in fixtures:
        args = ['predict', '--precision', str(design.precision), '--backend', 'vivado_hls', '--n-inputs', str(design.n_inputs), '--json']
        for s in design.luts:
            args += ['--lut', str(s)]
        args += ['--', *[e.text for e in design.outputs]]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        assert abs(d['latency_cycles'] - reported) <= 1, (variant, d['latency_cycles'], reported)
        for k in ('lut', 'ff', 'dsp', 'bram_18k'):
            assert d[f'{k}_low'] <= d[k] <= d[f'{k}_high'], (variant, k, d)
        assert d['lut'] > 1000 and d['dsp'] > 10 and 'note' not in d


def test_fit_vivado_cross_validates_within_the_acceptance(shared_dir):
    """Leave-one-precision-out on the shared reports (refitted here, not read from the shipped file)."""
    r = runner.invoke(app, ['fit', '--backend', 'vivado_hls', '--no-save', '--json'])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    cv = d['cross_validation']
    assert cv['n_designs'] == 24 and d['model_path'] is None
    assert cv['latency_within_1'] >= 0.9 and cv['latency_mae'] <= 1.0, cv
    assert max(cv['lut_mape_unfolded'], cv['ff_mape_unfolded'], cv['dsp_mape_unfolded']) <= 0.25, cv
    rows = {(m['model'], m['target']): m for m in d['metrics']}
    assert rows[('analytic', 'latency_cycles')]['mae'] <= 1 and rows[('additive', 'latency_cycles')]['mae'] > 10


def test_predict_reads_the_calibration_store(shared_dir, tmp_path):
    from profiler.calibration_io import read_calibration
    from profiler.store import CalibrationStore

    db = tmp_path / 'cal.db'
    _, records = read_calibration(shared_dir / 'calibration' / 'vu9p_vivado_hls_2020.1_op_latency.csv')
    with CalibrationStore(db) as store:
        store.put_many(records)
    outs = []
    for extra in ([], ['--db', str(db)]):
        r = runner.invoke(app, ['predict', 'x0*sin(x1) + x2', '--backend', 'vivado_hls', '--json', *extra])
        assert r.exit_code == 0, r.output
        outs.append(json.loads(r.stdout)['latency_cycles'])
    assert outs[0] == outs[1] and outs[0] >= 8  # hls::sin is 8 cycles at ap_fixed<16,6>
    r = runner.invoke(app, ['predict', 'x0', '--db', str(tmp_path / 'none.db'), '--model', 'analytic'])
    assert r.exit_code == 2 and 'does not exist' in r.output

"""Importing published calibrations and exporting the store (CSV, JSON, PySR complexity)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from profiler.calibration_io import import_calibration, ops_records, to_pysr_complexity
from profiler.errors import CalibrationFormatError, ProfilerError
from profiler.store import CalibrationStore
from srcost.cli import app


@pytest.fixture
def published_csv(shared_dir) -> Path:  # shared_dir (conftest.py) skips where ../shared is absent
    path = shared_dir / 'calibration' / 'vu9p_vivado_hls_2020.1_op_latency.csv'
    if not path.is_file():
        pytest.skip(f'the published calibration CSV is absent from ../shared ({path})')
    return path


def test_import_the_shared_csv_then_pysr_export_is_the_published_numbers(tmp_path, published_csv):
    db = tmp_path / 'cal.db'
    runner = CliRunner()
    res = runner.invoke(app, ['import-calibration', str(published_csv), '--db', str(db)])
    assert res.exit_code == 0, res.output
    with open(published_csv, newline='') as fh:  # the expected numbers come from the CSV itself
        expected = {r['operator']: int(r['latency_cycles']) for r in csv.DictReader(fh) if r['precision'] == 'ap_fixed<16,6>'}
    assert expected['sin'] == 8 and expected['tan'] == 48 and expected['/'] == 29  # the paper's numbers
    res = runner.invoke(app, ['ops', '--format', 'pysr', '--precision', 'ap_fixed<16,6>', '--backend', 'vivado_hls', '--db', str(db)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == expected
    assert list(json.loads(res.stdout)) == list(expected)  # in the published order too
    with open(published_csv, newline='') as fh:
        n_rows = sum(1 for _ in csv.DictReader(fh))
    with CalibrationStore(db) as store:
        recs = store.records(backend='vivado_hls')
        assert len(recs) == n_rows
        assert {(r.tool_version, r.implementation) for r in recs} == {('2020.1', 'published')}
        assert all(r.lut is None and r.ff is None and r.dsp is None for r in recs)  # latency only
    # importing again replaces, never duplicates
    assert runner.invoke(app, ['import-calibration', str(published_csv), '--db', str(db)]).exit_code == 0
    with CalibrationStore(db) as store:
        assert store.count() == n_rows


def test_import_hls4sr_configs_json_and_other_formats(tmp_path):
    cfg = tmp_path / 'cfg.json'
    cfg.write_text(json.dumps({'part': 'xcvu9p-flga2577-2-e', 'precision': 'ap_fixed<18,8>',
                               'complexity_of_operators': {'+': 1, '*': 1, 'sin': 9, 'exp': 0}}))
    with CalibrationStore(tmp_path / 'cal.db') as store:
        s = import_calibration(cfg, store)
        assert (s.format, s.records, s.precisions) == ('json', 4, ('ap_fixed<18,8>',))
        recs = ops_records(store, 'ap_fixed<18, 8>', 'vivado_hls')
        assert to_pysr_complexity(recs) == {'+': 1, '*': 1, 'sin': 9, 'exp': 1}  # floored at 1 for PySR
        csv_out = CliRunner().invoke(app, ['ops', '--format', 'csv', '--db', str(store.path)]).stdout
        assert csv_out.splitlines()[0].startswith('backend,tool_version,part') and len(csv_out.splitlines()) == 5
        js = json.loads(CliRunner().invoke(app, ['ops', '--format', 'json', '--db', str(store.path)]).stdout)
        assert {r['operator'] for r in js} == {'+', '*', 'sin', 'exp'}
        table = CliRunner().invoke(app, ['ops', '--db', str(store.path)])
        assert table.exit_code == 0 and 'published' in table.stdout


@pytest.mark.parametrize('content, match', [
    ('part,precision,operator\nx,ap_fixed<16,6>,sin\n', 'latency_cycles'),
    ('part,precision,operator,latency_cycles\nx,"ap_fixed<16,6>",frobnicate,3\n', 'unknown operator'),
    ('part,precision,operator,latency_cycles\nx,"ap_fixed<16,6>",sin,three\n', 'not a number'),
    ('part,precision,operator,latency_cycles\nx,ap_fixed<16,6>,sin,3\n', 'quote'),
    ('{"precision": "ap_fixed<16,6>"}', 'complexity_of_operators'),
])
def test_malformed_calibrations_are_clear_errors(tmp_path, content, match):
    f = tmp_path / ('bad.json' if content.startswith('{') else 'bad.csv')
    f.write_text(content)
    with CalibrationStore(tmp_path / 'cal.db') as store:
        with pytest.raises(CalibrationFormatError, match=match):
            import_calibration(f, store)
        assert store.count() == 0
    res = CliRunner().invoke(app, ['import-calibration', str(f), '--db', str(tmp_path / 'cal.db')])
    assert res.exit_code == 2 and 'error:' in res.stderr


def test_pysr_export_needs_one_precision(tmp_path):
    cfgs = [{'precision': p, 'complexity_of_operators': {'sin': n}} for p, n in (('ap_fixed<16,6>', 8), ('ap_fixed<18,8>', 9))]
    f = tmp_path / 'two.json'
    f.write_text(json.dumps(cfgs))
    with CalibrationStore(tmp_path / 'cal.db') as store:
        import_calibration(f, store)
        with pytest.raises(ProfilerError, match='precision'):
            to_pysr_complexity(store.records())
    res = CliRunner().invoke(app, ['ops', '--format', 'pysr', '--db', str(tmp_path / 'cal.db')])
    assert res.exit_code == 2 and '--precision' in res.stderr
    res = CliRunner().invoke(app, ['ops', '--format', 'pysr', '--backend', 'open', '--db', str(tmp_path / 'cal.db')])
    assert res.exit_code == 2 and 'profile-ops' in res.stderr

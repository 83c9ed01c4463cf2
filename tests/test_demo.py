"""`srcost demo`, the main job, end to end on the embedded defaults (small: 2 s of search per class, one
classifier design). The full-size run is timed in the README."""

import json
import re
import sqlite3

import pytest
from typer.testing import CliRunner

from srcost.cli import app
from srcost.report import fmt

pytestmark = pytest.mark.synth


def test_demo_writes_a_report_whose_numbers_match_its_json(tmp_path, monkeypatch):
    pytest.importorskip('da4ml')
    pytest.importorskip('pyoperon')
    out = tmp_path / 'demo'
    store = tmp_path / 'new' / 'cal.sqlite'  # $SRCOST_DB naming a store that does not exist yet: every step uses it
    monkeypatch.setenv('SRCOST_DB', str(store))
    r = CliRunner().invoke(app, ['demo', '--out', str(out), '--budget-seconds', '2', '--n-designs', '1'])
    assert r.exit_code == 0, r.output
    assert 'RunSummary(' not in r.output and re.search(r'\d+ micro-benchmarks: \d+ ran OK', r.output)  # a readable line
    report = out / 'report.html'
    assert r.stdout.strip().splitlines()[-1] == str(report) and report.is_file()
    data = json.loads(report.with_suffix('.json').read_text())
    assert data['run']['n_ok'] == 1 and data['run']['predictor'].startswith('learned cost model')
    row = data['summary'][0]
    html = report.read_text()
    for key in ('lut', 'ff', 'latency_cycles', 'predicted_lut', 'fixed_metric'):
        assert f'data-path="summary/0/{key}">{fmt(row[key])}<' in html, key  # the page shows the JSON's numbers
    assert html.count('data:image/png;base64,') >= 3  # scatter, accuracy, heatmap
    # the profile and the validated design went into the calibration store
    assert not (out / 'calibration.db').exists()
    with sqlite3.connect(store) as db:
        assert db.execute("select count(*) from operator_costs where status = 'ok'").fetchone()[0] >= 6
        assert db.execute('select count(*) from designs').fetchone()[0] == 1

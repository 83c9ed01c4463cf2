"""profile-ops with the real open backend (Yosys + Verilator): slow, marked ``synth``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hls_gen.errors import ToolNotFound
from profiler.store import STATUS_OK, CalibrationStore
from srcost.cli import app


@pytest.mark.synth
def test_profile_ops_on_the_open_backend(tmp_path):
    from profiler.backends import load_backend

    try:
        load_backend('open').tool_version()
    except ToolNotFound as e:
        pytest.skip(f'the open backend tools are missing: {e}')
    db = tmp_path / 'cal.db'
    args = ['profile-ops', '--ops', '+,sin', '--precisions', 'ap_fixed<10,5>', '--implementations', 'native,lut256',
            '--jobs', '1', '--batch-size', '3', '--db', str(db), '--workdir', str(tmp_path / 'work'), '--json']
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary['ok'], summary['failed'], summary['batches']) == (3, 0, 1)  # one Yosys process for all three
    with CalibrationStore(db) as store:
        recs = {r.implementation + ':' + r.operator: r for r in store.records(backend='open')}
    assert set(recs) == {'native:+', 'native:sin', 'lut256:sin'}
    for r in recs.values():
        assert r.status == STATUS_OK and r.latency_worst >= 0 and r.ii == 1 and r.lut is not None
        assert r.error_method.startswith('bit-accurate emulation: ') and r.error_points > 0
        assert 'estimate' in r.clock_estimate_method
    assert recs['native:+'].error_max == 0.0  # exact in range
    assert 0 < recs['lut256:sin'].error_max < 0.1
    assert 'ROM' in recs['native:sin'].notes
    res = CliRunner().invoke(app, args)  # warm: everything cached
    assert res.exit_code == 0 and json.loads(res.stdout)['skipped'] == 3
    res = CliRunner().invoke(app, ['ops', '--format', 'pysr', '--backend', 'open', '--precision', 'ap_fixed<10,5>', '--db', str(db)])
    assert res.exit_code == 0 and set(json.loads(res.stdout)) == {'+', 'sin'}

"""Training sets (generated, synthesized through an injected runner, stored with provenance) and `fit`."""

import json

import pytest
from test_costmodel_fakes import FakeRunner

from costmodel.api import get_model, predict
from costmodel.fit import fit
from costmodel.training import TrainingSetSpec, extend_training_set, load_training_set, read_provenance


def test_training_set_is_resumable_with_provenance(tmp_path):
    path = tmp_path / 'ts.csv'
    runner = FakeRunner(fail_every=7)
    df = extend_training_set(path, 15, TrainingSetSpec('open', seed=3), runner, chunk=4)
    assert len(df) == 15 and runner.calls == 15
    assert (df['status'] == 'failed').sum() == 2 and df.loc[df['status'] == 'failed', 'error'].str.contains('crashed').all()
    prov = read_provenance(path)
    assert prov['schema_version'] == 1 and prov['seed'] == 3 and prov['n_ok'] == 13 and prov['tool_versions'] == ['fake 1.0']
    assert prov['rows_digest'] and prov['backend_code_digests'] and 'srcost fit' in prov['regenerate']
    df2 = extend_training_set(path, 18, TrainingSetSpec('open', seed=3), runner, chunk=4)
    assert runner.calls == 18 and len(df2) == 18  # only the 3 new designs were synthesized
    assert list(load_training_set(path)['index'])[:3] == [0, 1, 2]
    with pytest.raises(Exception, match='another generator stream'):
        extend_training_set(path, 20, TrainingSetSpec('open', seed=4), runner)


def test_fit_trains_evaluates_and_saves(tmp_path):
    ts, out = tmp_path / 'ts.csv', tmp_path / 'open_model.json'
    report = fit('open', n_expressions=120, training_path=ts, model_path=out, runner=FakeRunner(), test_fraction=0.25)
    assert report.n_test == 120 and 80 <= report.n_train < 120
    m = report.metrics.set_index(['model', 'target'])
    for model in ('additive', 'analytic', 'learned'):
        assert (model, 'latency_cycles') in m.index
    assert m.loc[('learned', 'latency_cycles'), 'exact'] >= 0.85
    assert json.loads((tmp_path / 'open_metrics.json').read_text())['n_test'] == report.n_test
    p = predict(['x0*x1 + sin_lut(x2)', '2.5*x0'], precision='ap_fixed<16,6>', model='learned', model_path=out)
    assert list(p.columns) == ['latency_cycles', 'ii', 'lut', 'ff', 'dsp', 'bram_18k'] and len(p) == 2
    assert get_model('learned', 'open', model_path=out).provenance.training_set == 'ts.csv'

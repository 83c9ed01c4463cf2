"""Additive, analytic and learned models on synthetic targets; evaluation metrics; persistence."""

import json

import numpy as np
import pandas as pd
import pytest
from test_costmodel_fakes import fake_results

from costmodel.calibration import CalibrationSet, OpCost, OperatorCosts
from costmodel.evaluation import compare, error_ratio, evaluate, spearman
from costmodel.features import FeatureExtractor
from costmodel.generator import generate_designs
from costmodel.models import AdditiveModel, AnalyticModel, LearnedModel, ModelError
from costmodel.training import TARGETS


@pytest.fixture(scope='module')
def data():
    designs = generate_designs(160, seed=9)
    results = fake_results(designs)
    actual = pd.DataFrame([{t: float(getattr(r, 'latency_cycles' if t == 'latency_cycles' else t)) for t in TARGETS} for r in results])
    fx = FeatureExtractor()
    model = AnalyticModel('open', extractor=fx)
    X = model.features(designs)
    return designs, X, actual, fx


def test_metrics():
    a = pd.DataFrame({'latency_cycles': [1, 2, 3, 4.0], 'lut': [100, 200, 300, 400.0]})
    p = pd.DataFrame({'latency_cycles': [1, 2, 3, 5.0], 'lut': [110, 180, 300, 400.0]})
    m = evaluate(p, a)
    assert m.loc['latency_cycles', 'exact'] == 0.75 and m.loc['latency_cycles', 'mae'] == 0.25
    assert m.loc['lut', 'mape'] == pytest.approx((0.1 + 0.1) / 4) and np.isnan(m.loc['lut', 'exact'])
    assert m.loc['lut', 'spearman'] == pytest.approx(1.0)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))
    long = compare({'a': p, 'b': a}, a)
    assert set(long['model']) == {'a', 'b'}
    r = error_ratio(long, 'b', 'a')
    assert r.loc['lut', 'mae_ratio'] == 0


def test_analytic_and_additive_shapes(data):
    designs, X, actual, fx = data
    an = AnalyticModel('open', extractor=fx).predict_features(X)
    ad = AdditiveModel('open', extractor=fx).predict_features(X)
    assert list(an.columns) == list(TARGETS) and len(an) == len(designs)
    assert (an['latency_cycles'] == actual['latency_cycles'] - (X['n_outputs'] > 2)).all()  # exact stage count
    assert (an['dsp'] == actual['dsp']).all()
    assert (ad['latency_cycles'] >= an['latency_cycles']).mean() > 0.9  # summing per node over-counts
    assert np.isfinite(ad.to_numpy()).all()


def test_latency_only_calibration_predicts_latency_only(data):
    designs, X, actual, fx = data
    costs = {(op, ''): OpCost(latency=1.0) for op in ('+', '*', 'sin', 'exp', 'log', 'inv')}
    cal = CalibrationSet('vivado_hls', tables={'ap_fixed<16,6>': OperatorCosts.build('vivado_hls', 'ap_fixed<16,6>', costs)})
    for M in (AdditiveModel, AnalyticModel):
        p = M('vivado_hls', calibration=cal, extractor=fx).predict(designs[:5])
        assert p['latency_cycles'].notna().all()
        assert p[['lut', 'ff', 'dsp', 'bram_18k']].isna().all().all()


def test_learned_model_learns_and_round_trips(data, tmp_path):
    designs, X, actual, fx = data
    tr, te = slice(0, 120), slice(120, None)
    m = LearnedModel('open', extractor=fx, n_rounds=300).fit(X[tr].reset_index(drop=True), actual[tr].reset_index(drop=True))
    pred = m.predict_features(X[te].reset_index(drop=True))
    Xte = X[te].reset_index(drop=True)
    met = compare({'learned': pred, 'additive': AdditiveModel('open', extractor=fx).predict_features(Xte),
                   'analytic': m.analytic.predict_features(Xte)}, actual[te].reset_index(drop=True)).set_index(['model', 'target'])
    assert met.loc[('learned', 'latency_cycles'), 'exact'] >= 0.9
    assert met.loc[('learned', 'dsp'), 'exact'] >= 0.9
    for t in ('lut', 'ff'):
        assert met.loc[('learned', t), 'mape'] < 0.2
        assert met.loc[('learned', t), 'mae'] <= 1.05 * met.loc[('analytic', t), 'mae']
    assert met.loc[('learned', 'lut'), 'mae'] < 0.5 * met.loc[('additive', 'lut'), 'mae']
    path = m.save(tmp_path / 'm.json')
    d = json.loads(path.read_text())
    assert d['schema_version'] == 1 and d['backend'] == 'open' and d['provenance']['n_train'] == 120
    m2 = LearnedModel.load(path, fx)
    pd.testing.assert_frame_equal(m2.predict(designs[120:130]), m.predict(designs[120:130]))
    d['schema_version'] = 99
    (tmp_path / 'bad.json').write_text(json.dumps(d))
    with pytest.raises(ModelError, match='schema'):
        LearnedModel.load(tmp_path / 'bad.json')
    with pytest.raises(ModelError, match='srcost fit'):
        LearnedModel.load(tmp_path / 'missing.json')


def test_predict_front_door_takes_expressions_strings_and_designs():
    from costmodel.api import predict
    from hls_gen import Design, Expression

    e = Expression.parse('x0*x1 + sin_lut(x2)')
    a = predict([e, 'x0 + x1'], precision='ap_fixed<16,6>', model='analytic')
    b = predict([Design.build([e], 'ap_fixed<16,6>'), Design.build(['x0 + x1'], 'ap_fixed<16,6>')], model='analytic')
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[1, 'latency_cycles'] == 1 and a.loc[1, 'dsp'] == 0 and a.loc[0, 'dsp'] == 1


def test_predict_expressions_takes_text_and_refuses_bad_text_in_one_line():
    from costmodel.api import get_model
    from hls_gen import Expression
    from hls_gen.errors import ExpressionError

    m = get_model('analytic', 'open')
    texts = ['x0*x1 + sin_lut(x2)', 'x0 + x1']
    pd.testing.assert_frame_equal(m.predict_expressions(texts), m.predict_expressions([Expression.parse(t) for t in texts]))
    with pytest.raises(ExpressionError) as e:
        m.predict_expressions(['x0 +* x1'])
    assert '\n' not in str(e.value)
    with pytest.raises(TypeError, match='wrap one in a list'):
        m.predict_expressions('x0 + x1')
    with pytest.raises(TypeError, match='wrap one in a list'):
        m.predict_expressions('')


def test_vivado_additive_is_latency_only(shared_dir):
    from costmodel.api import predict

    v = predict(['x0*sin(x1)'], backend='vivado_hls', model='additive')
    assert v['lut'].isna().all() and v.loc[0, 'latency_cycles'] >= 9

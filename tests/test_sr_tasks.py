"""Classification by one-vs-rest SR, its metrics and the MLP baseline (on the shipped generated jets)."""

import numpy as np
import pytest

from sr_search.data import load_jets_sample
from sr_search.estimator import CostAwareRegressor
from sr_search.tasks import OneVsRestSR, classification_metrics, run_classification, run_regression


def test_classification_metrics():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 1.0, 0.5], [1.0, 0.0, 2.0]])
    y = np.array([0, 1, 2, 2])
    m = classification_metrics(scores, y, ['a', 'b', 'c'])
    assert m['accuracy'] == 0.75
    assert m['auc_a'] == 1.0 and m['auc_c'] == 0.75
    assert m['auc_macro'] == pytest.approx(np.mean([m['auc_a'], m['auc_b'], m['auc_c']]))


def test_one_vs_rest_on_the_jet_sample():
    data = load_jets_sample(max_rows=600)
    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], generations=4, population_size=30, maxsize=10,
                             random_state=0)
    result = run_classification(data, reg, max_train_rows=240)
    assert result['classes'] == ['g', 'q', 't', 'w', 'z']
    assert len(result['expressions']) == 5 and len(result['fronts']) == 5
    sr, mlp = result['sr'], result['mlp']
    assert 0.2 < sr['accuracy'] <= 1.0  # better than chance (0.2)
    assert {f'auc_{c}' for c in 'gqtwz'} <= set(sr) and {f'auc_{c}' for c in 'gqtwz'} <= set(mlp)
    assert mlp['hidden_layer_sizes'] == [64, 32, 32] and mlp['accuracy'] > 0.2
    for name, front in zip('gqtwz', result['fronts']):
        assert front.metadata['class'] == name
        assert all(f'auc_{name}' in m.metrics for m in front)
    model = result['model']
    assert isinstance(model, OneVsRestSR)
    assert set(model.predict(data.X_test)) <= set(range(5))


def test_regression_task_records_test_metrics():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (150, 2))
    y = 3.0 * X[:, 0] - X[:, 1]
    r = run_regression(X, y, CostAwareRegressor(binary_operators=['+', '-', '*'], generations=8,
                                                population_size=40, random_state=0))
    assert r['test_r2'] > 0.99
    assert all('test_mse' in m.metrics for m in r['front'])

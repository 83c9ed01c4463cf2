"""costmodel/trees.py walks XGBoost's trees with numpy: its outputs must be XGBoost's, bit for bit."""

import numpy as np
import pytest

from costmodel.trees import TreeEnsemble


def _rows(M: np.ndarray, seed: int) -> np.ndarray:
    """M, M with values nudged across split points, and M with missing values."""
    rng = np.random.default_rng(seed)
    nudged = M * rng.choice([0.5, 1.0, 1.0 + 1e-7, 1.0 - 1e-7, 2.0], size=M.shape)
    missing = M.copy()
    missing[rng.random(M.shape) < 0.15] = np.nan
    return np.vstack([M, nudged, missing])


def test_a_deep_booster_with_missing_values_and_a_base_score():
    xgb = pytest.importorskip('xgboost')
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 7))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) * 3 + np.sin(np.nan_to_num(X[:, 1])) + rng.normal(scale=0.1, size=400)
    params = {'max_depth': 6, 'eta': 0.3, 'objective': 'reg:squarederror', 'base_score': 0.7, 'nthread': 1, 'seed': 0}
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=40)
    te = TreeEnsemble.from_booster(booster)
    assert te.depth == 6 and te.feature.shape[0] == 40
    R = _rows(X, 2)
    assert np.array_equal(te.predict(R), booster.inplace_predict(R).astype(np.float64))
    with pytest.raises(ValueError, match='7'):
        te.predict(R[:, :3])


def test_the_shipped_model_on_the_training_set_matches_xgboost():
    from costmodel.api import default_model_path
    from costmodel.models import LearnedModel
    from costmodel.training import data_dir, designs_of, load_training_set, spec_of

    path = default_model_path('open')
    if not path.exists():
        pytest.skip(f'no shipped open-backend model at {path}')
    m = LearnedModel.load(path)
    csv = data_dir() / 'open_xcvu9p-flga2577-2-e_training.csv'
    designs = designs_of(load_training_set(csv), spec_of(csv))
    M, _ = m._design_matrix(m.extractor.matrix(designs, m.calibration))
    R = _rows(M, 3)
    boosted = [t for t in m.targets.values() if t.kind == 'xgb']
    assert boosted, 'the shipped model has no boosters to compare'
    for tm in boosted:
        te = TreeEnsemble.from_booster(tm.booster)
        assert np.array_equal(te.predict(R), tm.booster.inplace_predict(R).astype(np.float64))
    # the model takes the numpy path for small batches and XGBoost's for large ones: the same predictions
    whole = m.predict_matrix(m.extractor.matrix(designs, m.calibration))
    one_by_one = np.vstack([m.predict_matrix(m.extractor.matrix([d], m.calibration)) for d in designs[:40]])
    assert np.array_equal(whole[:40], one_by_one, equal_nan=True)

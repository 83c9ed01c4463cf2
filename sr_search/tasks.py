"""Tasks: multi-class classification by one-vs-rest symbolic regression (the jet-tagging setup of
arXiv 2305.04099), its metrics, and the MLP baseline.

One expression per class is fitted to targets +1 (this class) / -1 (the others); a jet is assigned
the class whose expression is largest. Metrics: accuracy and, per class, the one-vs-rest ROC AUC of
that class's expression. The baseline is scikit-learn's ``MLPClassifier(hidden_layer_sizes=(64, 32,
32))`` on the same split.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from .estimator import CostAwareRegressor
from .front import ParetoFront


def _auc(y_true_binary: np.ndarray, score: np.ndarray) -> float:
    if np.unique(y_true_binary).size < 2 or not np.all(np.isfinite(score)):
        return float('nan')
    return float(roc_auc_score(y_true_binary, score))


def classification_metrics(scores: np.ndarray, y_true: np.ndarray, class_names: Sequence[str]) -> dict:
    """``accuracy``, ``auc_<class>`` per class and ``auc_macro`` from a (n, k) score matrix and
    integer labels (index into ``class_names``)."""
    scores = np.asarray(scores, dtype=np.float64)
    y_true = np.asarray(y_true)
    safe = np.where(np.isfinite(scores), scores, -np.inf)
    pred = np.argmax(safe, axis=1)
    out = {'accuracy': float(accuracy_score(y_true, pred))}
    aucs = []
    for k, name in enumerate(class_names):
        a = _auc((y_true == k).astype(int), scores[:, k])
        out[f'auc_{name}'] = a
        if np.isfinite(a):
            aucs.append(a)
    out['auc_macro'] = float(np.mean(aucs)) if aucs else float('nan')
    return out


class OneVsRestSR(ClassifierMixin, BaseEstimator):
    """One :class:`CostAwareRegressor` per class on +1/-1 targets; ``predict`` is the argmax.

    ``regressor`` is a template (cloned per class); None uses ``CostAwareRegressor()`` defaults.
    """

    def __init__(self, regressor: CostAwareRegressor | None = None):
        self.regressor = regressor

    def fit(self, X, y):
        X, y = check_X_y(X, y, dtype=np.float64)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError('need at least two classes')
        template = self.regressor if self.regressor is not None else CostAwareRegressor()
        self.estimators_ = []
        for c in self.classes_:
            est = clone(template)
            est.fit(X, np.where(y == c, 1.0, -1.0))
            self.estimators_.append(est)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, 'estimators_')
        X = check_array(X, dtype=np.float64)
        return np.column_stack([est.predict(X) for est in self.estimators_])

    def predict(self, X) -> np.ndarray:
        s = self.decision_function(X)
        return self.classes_[np.argmax(np.where(np.isfinite(s), s, -np.inf), axis=1)]

    @property
    def expressions_(self) -> list[str]:
        check_is_fitted(self, 'estimators_')
        return [est.best_.expression for est in self.estimators_]

    @property
    def fronts_(self) -> list[ParetoFront]:
        check_is_fitted(self, 'estimators_')
        return [est.front_ for est in self.estimators_]


def baseline_mlp(
    X_train, y_train, X_test, y_test, class_names: Sequence[str], *, random_state: int = 42, max_iter: int = 200,
    hidden_layer_sizes: tuple[int, ...] = (64, 32, 32),
) -> dict:
    """The MLP baseline on the same split: metrics as :func:`classification_metrics` plus
    ``fit_seconds``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    t0 = time.perf_counter()
    mlp = MLPClassifier(hidden_layer_sizes=hidden_layer_sizes, max_iter=max_iter, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        mlp.fit(X_train, y_train)
    proba = np.zeros((len(X_test), len(class_names)))
    proba[:, mlp.classes_.astype(int)] = mlp.predict_proba(X_test)
    out = classification_metrics(proba, y_test, class_names)
    out['fit_seconds'] = time.perf_counter() - t0
    out['hidden_layer_sizes'] = list(hidden_layer_sizes)
    return out


def _firmware_scores(ovr: OneVsRestSR, X: np.ndarray, regressor: CostAwareRegressor) -> np.ndarray | None:
    """(n, classes) outputs of the selected expressions as firmware, where every one has a precision."""
    from costmodel.fxeval import evaluate_expressions

    best = [est.best_ for est in ovr.estimators_]
    if any(m.precision is None for m in best):
        return None
    return np.column_stack([evaluate_expressions([m.expr], X, m.precision, regressor.luts or ())[:, 0] for m in best])


def run_classification(data, regressor: CostAwareRegressor, *, baseline: bool = True, max_train_rows: int | None = None,
                       random_state: int = 42) -> dict:
    """Fit one-vs-rest SR on ``data`` (a :class:`~sr_search.data.JetData`), evaluate on its test
    split, fill each front member's ``metrics`` with its test AUC, and optionally run the MLP.

    Returns ``{'classes', 'expressions', 'fronts', 'sr': metrics, 'mlp': metrics or None, ...}``.
    """
    X_train, y_train = data.X_train, data.y_train
    if max_train_rows is not None and max_train_rows < len(y_train):
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(len(y_train), size=int(max_train_rows), replace=False))
        X_train, y_train = X_train[idx], y_train[idx]
    t0 = time.perf_counter()
    ovr = OneVsRestSR(regressor).fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    # columns in class-index order (a class absent from the training subset scores -inf)
    scores = np.full((len(data.X_test), len(data.classes)), -np.inf)
    scores[:, ovr.classes_.astype(int)] = ovr.decision_function(data.X_test)
    sr = classification_metrics(scores, data.y_test, data.classes)
    sr['fit_seconds'] = fit_s
    firmware = _firmware_scores(ovr, data.X_test, regressor)
    if firmware is not None:  # what the firmware classifier computes (each class's expression, bit-accurate)
        fscores = np.full((len(data.X_test), len(data.classes)), -np.inf)
        fscores[:, ovr.classes_.astype(int)] = firmware
        sr.update({f'firmware_{k}': v for k, v in classification_metrics(fscores, data.y_test, data.classes).items()})
    fronts = []
    for c, est in zip(ovr.classes_.astype(int), ovr.estimators_):
        name = data.classes[c]
        truth = (data.y_test == c).astype(int)
        for m in est.front_:
            m.metrics[f'auc_{name}'] = _auc(truth, m.expr.evaluate(data.X_test))
            if m.precision is not None:
                from costmodel.fxeval import evaluate_expressions

                q = evaluate_expressions([m.expr], data.X_test, m.precision, regressor.luts or ())[:, 0]
                m.metrics[f'firmware_auc_{name}'] = _auc(truth, q)
                # the member's own one-vs-rest decision (this class where its output is positive)
                m.metrics['firmware_accuracy'] = float(np.mean((q > 0) == (truth == 1)))
        est.front_.metadata['class'] = name
        fronts.append(est.front_)
    return {
        'task': 'classification',
        'source': getattr(data, 'source', ''),
        'classes': [data.classes[c] for c in ovr.classes_.astype(int)],
        'expressions': ovr.expressions_,
        'selected': [est.best_ for est in ovr.estimators_],
        'fronts': fronts,
        'sr': sr,
        'mlp': baseline_mlp(X_train, y_train, data.X_test, data.y_test, data.classes, random_state=random_state)
        if baseline else None,
        'train_rows': int(len(y_train)),
        'test_rows': int(len(data.y_test)),
        'model': ovr,
    }


def run_regression(X, y, regressor: CostAwareRegressor, *, test_size: float = 0.2, random_state: int = 42) -> dict:
    """Fit on a train split of (X, y) and report test MSE and R^2 for the selected expression and
    for every front member (stored in its ``metrics``)."""
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=random_state)
    reg = clone(regressor).fit(X_train, y_train)
    for m in reg.front_:
        p = m.expr.evaluate(X_test)
        ok = np.all(np.isfinite(p))
        m.metrics['test_mse'] = float(mean_squared_error(y_test, p)) if ok else float('nan')
        m.metrics['test_r2'] = float(r2_score(y_test, p)) if ok else float('nan')
        if m.precision is not None:  # what the firmware computes on the held-out rows
            from costmodel.fxeval import evaluate_expressions

            q = evaluate_expressions([m.expr], X_test, m.precision, regressor.luts or ())[:, 0]
            m.metrics['test_firmware_mse'] = float(mean_squared_error(y_test, q))
            m.metrics['test_firmware_r2'] = float(r2_score(y_test, q))
    return {
        'task': 'regression',
        'expression': reg.best_.expression,
        'selected': reg.best_,
        'front': reg.front_,
        'test_mse': reg.best_.metrics['test_mse'],
        'test_r2': reg.best_.metrics['test_r2'],
        'test_firmware_r2': reg.best_.metrics.get('test_firmware_r2'),
        'model': reg,
    }

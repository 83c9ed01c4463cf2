"""Metrics of predicted against actual costs: per target and per model, on held-out designs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .targets import INTEGER_TARGETS, TARGETS

METRICS = ('n', 'mae', 'mape', 'r2', 'spearman', 'exact')


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (``scipy.stats.spearmanr``, ties ranked by their mean); NaN when either
    side is constant (no ranking to agree on)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float('nan')
    return float(spearmanr(a, b).statistic)


def mae(pred: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error (``sklearn.metrics.mean_absolute_error``); NaN when either side holds a value that
    is not finite (sklearn would raise)."""
    from sklearn.metrics import mean_absolute_error

    p, a = np.asarray(pred, float), np.asarray(actual, float)
    if not (np.isfinite(p).all() and np.isfinite(a).all()):
        return float('nan')
    return float(mean_absolute_error(a, p))


def mape(pred: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute percentage error as a fraction, mean(|p - a| / max(|a|, 1)): defined where the actual is
    0, which ``sklearn.metrics.mean_absolute_percentage_error`` is not (it divides by machine epsilon there)."""
    p, a = np.asarray(pred, float), np.asarray(actual, float)
    return float(np.mean(np.abs(p - a) / np.maximum(np.abs(a), 1.0)))


def target_metrics(pred: np.ndarray, actual: np.ndarray, integer: bool) -> dict[str, float]:
    """MAE (``mae``) and R2 (``sklearn.metrics``), Spearman (``scipy.stats``), MAPE (``mape``), and the
    exact-match rate of the rounded prediction (integer targets), over the designs where both are finite. R2
    is 1 when the actual is constant and matched, NaN when it is constant and missed (sklearn would say 0)."""
    from sklearn.metrics import r2_score

    p, a = np.asarray(pred, float), np.asarray(actual, float)
    ok = np.isfinite(p) & np.isfinite(a)
    p, a = p[ok], a[ok]
    n = len(a)
    if n == 0:
        return {m: float('nan') for m in METRICS} | {'n': 0}
    err = p - a
    if np.ptp(a) > 0:
        r2 = float(r2_score(a, p))
    else:
        r2 = 1.0 if np.allclose(err, 0) else float('nan')
    return {
        'n': n,
        'mae': mae(p, a),
        'mape': mape(p, a),
        'r2': r2,
        'spearman': spearman(p, a),
        'exact': float(np.mean(np.round(p) == a)) if integer else float('nan'),
    }


def evaluate(pred: pd.DataFrame, actual: pd.DataFrame, targets=TARGETS) -> pd.DataFrame:
    """One row per target (index), one column per metric. Targets the prediction leaves NaN are skipped."""
    rows = {}
    for t in targets:
        if t not in pred or t not in actual or not np.isfinite(pred[t].to_numpy(float)).any():
            continue
        rows[t] = target_metrics(pred[t].to_numpy(), actual[t].to_numpy(), t in INTEGER_TARGETS)
    return pd.DataFrame.from_dict(rows, orient='index', columns=list(METRICS))


def compare(preds: Mapping[str, pd.DataFrame], actual: pd.DataFrame, targets=TARGETS) -> pd.DataFrame:
    """Long table (model, target, metric columns) for several models' predictions of the same designs."""
    parts = []
    for name, p in preds.items():
        m = evaluate(p, actual, targets)
        m.insert(0, 'model', name)
        parts.append(m.rename_axis('target').reset_index())
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=['model', 'target', *METRICS])


def error_ratio(metrics: pd.DataFrame, model: str, baseline: str = 'additive') -> pd.DataFrame:
    """Per target, ``model``'s MAE and MAPE as a fraction of ``baseline``'s (the acceptance asks <= 0.5)."""
    m = metrics.set_index(['model', 'target'])
    out = {}
    for t in sorted(set(metrics.loc[metrics['model'] == model, 'target'])):
        if (baseline, t) not in m.index:
            continue
        a, b = m.loc[(model, t)], m.loc[(baseline, t)]
        out[t] = {'mae_ratio': _ratio(a['mae'], b['mae']), 'mape_ratio': _ratio(a['mape'], b['mape'])}
    return pd.DataFrame.from_dict(out, orient='index')


def _ratio(a: float, b: float) -> float:
    if not np.isfinite(a) or not np.isfinite(b):
        return float('nan')
    if b == 0:
        return 0.0 if a == 0 else float('inf')
    return float(a / b)


__all__ = ['INTEGER_TARGETS', 'METRICS', 'TARGETS', 'compare', 'error_ratio', 'evaluate', 'mae', 'mape', 'spearman', 'target_metrics']

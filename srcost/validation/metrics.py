"""Accuracy of a design's outputs: float reference and bit-accurate fixed point, against labels and each other.

The figures are scikit-learn's (``sklearn.metrics``: RMSE, MAE, R2, accuracy, ROC AUC); this module decides
what the task is (regression, or classification from 0/1 labels, class indices or one-hot rows), leaves out
samples with a non-finite output and counts them, and records the result as ``Metrics``.
"""

from __future__ import annotations

import numpy as np

from .records import Accuracy, Metrics, ValidationError, finite_or_none

TASKS = ('auto', 'regression', 'classification')


def regression_metrics(pred: np.ndarray, ref: np.ndarray, with_r2: bool = True) -> Metrics:
    """pred, ref: (n, k). Rows with a non-finite value are left out; R2 is the mean over the outputs whose
    reference is not constant (None when all are)."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    finite = np.isfinite(pred).all(axis=1) & np.isfinite(ref).all(axis=1)
    n_bad = int((~finite).sum())
    p, r = pred[finite], ref[finite]
    if len(p) == 0:
        return Metrics(n_nonfinite=n_bad)
    r2 = None
    if with_r2:
        scores = [r2_score(r[:, j], p[:, j]) for j in range(r.shape[1]) if np.ptp(r[:, j]) > 0]
        r2 = float(np.mean(scores)) if scores else None
    return Metrics(rmse=finite_or_none(np.sqrt(mean_squared_error(r, p))), mae=finite_or_none(mean_absolute_error(r, p)),
                   max_abs_error=finite_or_none(np.max(np.abs(p - r))), r2=r2, n_nonfinite=n_bad)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve of boolean ``labels``; None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def class_labels(y: np.ndarray, k: int) -> np.ndarray | None:
    """Integer class labels if ``y`` looks like classification labels for ``k`` outputs, else None."""
    if y.ndim == 2 and y.shape[1] == k and k > 1:
        if np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all():
            return y.argmax(axis=1)
        return None
    flat = y.reshape(-1)
    if not np.all(np.isfinite(flat)) or not np.all(flat == np.round(flat)):
        return None
    if k == 1:
        return flat.astype(int) if np.isin(flat, (0, 1)).all() else None
    return flat.astype(int) if (flat.min() >= 0 and flat.max() < k) else None


def classification_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Metrics:
    """One output: score > threshold is class 1; several: the largest score's index is the class. AUC is
    one-vs-rest per output, averaged over the outputs whose class occurs."""
    from sklearn.metrics import accuracy_score

    finite = np.isfinite(scores).all(axis=1)
    n_bad = int((~finite).sum())
    s, y = scores[finite], labels[finite]
    if len(s) == 0:
        return Metrics(n_nonfinite=n_bad)
    if s.shape[1] == 1:
        acc = float(accuracy_score(y, (s[:, 0] > threshold).astype(int)))
        auc = roc_auc(y == 1, s[:, 0])
        per = [auc] if auc is not None else None
    else:
        acc = float(accuracy_score(y, s.argmax(axis=1)))
        per = [roc_auc(y == c, s[:, c]) for c in range(s.shape[1])]
        valid = [a for a in per if a is not None]
        auc = float(np.mean(valid)) if valid else None
    return Metrics(accuracy=acc, auc=auc, auc_per_output=per, n_nonfinite=n_bad)


def accuracy_metrics(
    y_float: np.ndarray, y_fixed: np.ndarray, y_true: np.ndarray | None = None, task: str = 'auto',
    threshold: float = 0.5, emulation: str = 'trace',
) -> Accuracy:
    """Float and fixed-point outputs ``(n, k)`` against labels; ``task`` 'auto' picks classification when
    ``y_true`` holds 0/1 labels (one output), class indices or one-hot rows (several outputs)."""
    if task not in TASKS:
        raise ValidationError(f'task must be one of {", ".join(TASKS)}, got {task!r}')
    y_float = np.asarray(y_float, dtype=np.float64)
    y_fixed = np.asarray(y_fixed, dtype=np.float64)
    y_float = y_float.reshape(len(y_float), -1)
    y_fixed = y_fixed.reshape(len(y_fixed), -1)
    n, k = y_fixed.shape
    fvf = regression_metrics(y_fixed, y_float, with_r2=False)
    if y_true is None:
        return Accuracy('none', n, None, None, fvf, emulation)
    y = np.asarray(y_true, dtype=np.float64)
    if len(y) != n:
        raise ValidationError(f'y_test has {len(y)} rows but X_test has {n}')
    labels = class_labels(y, k) if task in ('auto', 'classification') else None
    if task == 'classification' and labels is None:
        raise ValidationError(f'classification needs 0/1 labels (one output) or class indices / one-hot rows for {k} outputs')
    if labels is not None:
        thr = threshold if k == 1 else None
        return Accuracy('classification', n, classification_metrics(y_float, labels, threshold),
                        classification_metrics(y_fixed, labels, threshold), fvf, emulation, thr)
    y2 = y.reshape(n, -1)
    if y2.shape[1] != k:
        raise ValidationError(f'y_test has {y2.shape[1]} column(s) but the design has {k} output(s)')
    return Accuracy('regression', n, regression_metrics(y_float, y2), regression_metrics(y_fixed, y2), fvf, emulation)

"""Precision as a search dimension: one search per precision, one front across them.

A physicist's question is "the cheapest precision and formula that keep my accuracy". Each precision is searched
with the same settings in a process of its own (at most one per core; they run at once, each with the whole
time budget), and the members of all fronts are merged into the front of (firmware loss, cost) over them all:
a member of a narrow precision that is as accurate as a wide one and cheaper dominates it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from .front import ParetoFront


def _fit_one(params: dict, X: np.ndarray, y: np.ndarray) -> tuple[list, dict]:
    from .estimator import CostAwareRegressor

    reg = CostAwareRegressor(**params).fit(X, y)
    return reg.front_.members, reg.stats_


def fit_precisions(regressor, X: np.ndarray, y: np.ndarray, precisions: Sequence[str],
                   n_jobs: int | None = None) -> tuple[ParetoFront, dict]:
    """The merged front of ``regressor``'s search at each precision, and per-precision stats."""
    params = dict(regressor.get_params())
    jobs = []
    for p in precisions:
        q = dict(params, precision=p)
        jobs.append(q)
    picklable = params.get('cost_fn') is None and params.get('progress') is None
    n_jobs = n_jobs or min(len(jobs), os.cpu_count() or 1)
    results = []
    if picklable and n_jobs > 1:
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=get_context('spawn')) as pool:
            futures = [pool.submit(_fit_one, q, X, y) for q in jobs]
            results = [f.result() for f in futures]
    else:  # a callable that cannot cross a process boundary: one after the other
        results = [_fit_one(q, X, y) for q in jobs]
    members = [m for ms, _ in results for m in ms]
    stats = {'engine': params.get('engine'), 'precisions': list(precisions),
             'per_precision': {p: st for p, (_, st) in zip(precisions, results)}}
    stats['evaluations'] = sum(st.get('evaluations', 0) for _, st in results)
    front = ParetoFront(members, {'precisions': list(precisions)}).nondominated()
    return front, stats


__all__ = ['fit_precisions']

"""sr_search: cost-aware symbolic regression engines, datasets and Pareto fronts.

- :class:`CostAwareRegressor` (``sr_search.estimator``): scikit-learn estimator over (loss, hardware cost);
  engines ``operon`` (embedded pyoperon 0.6.2 NSGA2) and ``pysr`` (needs Julia).
- :class:`ParetoFront`, :class:`FrontMember` (``sr_search.front``): fronts, selection rules, CSV/JSON.
- :func:`load_jets`, :func:`load_jets_sample`, :func:`load_table` (``sr_search.data``).
- :class:`OneVsRestSR`, :func:`run_classification`, :func:`baseline_mlp` (``sr_search.tasks``).
- :func:`build_pysr_kwargs`, :func:`import_hall_of_fame` (``sr_search.pysr_engine``).

Names are imported lazily so that ``import sr_search`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    'CostAwareRegressor': 'estimator',
    'ParetoFront': 'front',
    'FrontMember': 'front',
    'CostEvaluator': 'cost',
    'load_jets': 'data',
    'load_jets_sample': 'data',
    'load_table': 'data',
    'JetData': 'data',
    'OneVsRestSR': 'tasks',
    'run_classification': 'tasks',
    'run_regression': 'tasks',
    'baseline_mlp': 'tasks',
    'build_pysr_kwargs': 'pysr_engine',
    'import_hall_of_fame': 'pysr_engine',
    'run_pysr': 'pysr_engine',
    'run_operon': 'operon_engine',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

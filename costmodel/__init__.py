"""costmodel: features of expressions, analytic and learned cost models, evaluation.

``predict(items, precision=..., backend=..., model=...)`` is the front door (see ``costmodel.api``);
``AdditiveModel``, ``AnalyticModel`` and ``LearnedModel`` share ``predict(designs) -> DataFrame``.
Submodules are imported lazily so that ``import costmodel`` stays cheap.
"""

from __future__ import annotations

from .targets import TARGETS

_LAZY = {
    'predict': 'api', 'get_model': 'api', 'as_designs': 'api', 'calibration_from_store': 'api',
    'AdditiveModel': 'models', 'AnalyticModel': 'models', 'LearnedModel': 'models', 'CostModel': 'models',
    'ModelError': 'models', 'FeatureExtractor': 'features', 'FEATURES': 'features',
    'OperatorCosts': 'calibration', 'OpCost': 'calibration', 'CalibrationSet': 'calibration',
    'costs_from_records': 'calibration', 'evaluate': 'evaluation', 'compare': 'evaluation',
    'generate_designs': 'generator', 'GeneratorConfig': 'generator', 'fit': 'fit',
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib

    return getattr(importlib.import_module(f'{__name__}.{mod}'), name)


__all__ = ['TARGETS', *_LAZY]

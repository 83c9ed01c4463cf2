"""The cost model's front door: ``predict(items, precision=..., backend=..., model=...)``.

Items are ``Design`` objects, ``Expression`` objects, sympy expressions or expression strings (each of the
last three is one single-output design at ``precision``). Models are loaded once per process and kept:

- ``learned``: the saved model of the backend and part (``data/costmodel/<backend>_<part>_model.json``
  unless ``model_path`` names another), trained by ``srcost fit``;
- ``analytic`` and ``additive``: need only a calibration (``--db`` / ``$SRCOST_DB`` store, else the
  published Vivado table for Vivado/Vitis HLS, else the open backend's datapath model);
- ``auto`` (default): ``learned`` when a saved model exists, else ``analytic``.

For ``vivado_hls`` / ``vitis_hls``, ``auto`` and ``analytic`` are the scheduling model (``costmodel.vivado``:
latency by scheduling, resources by transfer from the open datapath), fitted by ``srcost fit --backend
vivado_hls`` into ``data/costmodel/vivado_hls_<part>_schedule.json`` (``model_path`` names another fit).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import sympy

from hls_gen import Design, Expression, LutSpec, Precision, SrcostError
from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

from .calibration import OPEN_MODEL, CalibrationSet, default_calibration
from .features import FeatureExtractor
from .models import MODELS, AdditiveModel, AnalyticModel, CostModel, LearnedModel, ModelError
from .targets import TARGETS
from .training import _slug, data_dir
from .vivado import VivadoModel
from .vivado_fit import VivadoFitted

_LOCK = threading.Lock()
_MODELS: dict[tuple, CostModel] = {}
_EXTRACTOR: FeatureExtractor | None = None


def default_model_path(backend: str, part: str = DEFAULT_PART) -> Path:
    return data_dir() / f'{backend}_{_slug(part)}_model.json'


def shared_extractor() -> FeatureExtractor:
    """One feature extractor per process: its caches are shared by every model."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        _EXTRACTOR = FeatureExtractor()
    return _EXTRACTOR


def calibration_from_store(db: str | os.PathLike | None, backend: str, part: str = DEFAULT_PART) -> CalibrationSet | None:
    """The calibration of ``backend`` on ``part`` from the profiler's store at ``db`` (else ``$SRCOST_DB``);
    None when no store is named or it holds nothing for that backend. With several tool versions, the one
    with the most records is used."""
    if db is None and not os.environ.get('SRCOST_DB'):
        return None
    from profiler.store import CalibrationStore

    path = db or os.environ['SRCOST_DB']
    if not Path(path).exists():
        raise SrcostError(f'calibration store {path} does not exist; run `srcost profile-ops` or `srcost import-calibration`')
    with CalibrationStore(path) as store:
        recs = store.records(backend=backend, part=part, status='ok')
    if not recs:
        return None
    by_version: dict[str, list] = {}
    for r in recs:
        by_version.setdefault(r.tool_version, []).append(r)
    best = max(by_version.values(), key=len)
    cal = CalibrationSet.from_records(best, backend, part)
    if backend == 'open':
        cal.fallback = OPEN_MODEL  # precisions the store lacks come from the datapath model
    return cal


def get_model(kind: str = 'auto', backend: str = 'open', part: str = DEFAULT_PART, db: str | os.PathLike | None = None,
              model_path: str | os.PathLike | None = None) -> CostModel:
    """A cached model instance (see the module docstring for ``kind``)."""
    if backend in ('vivado_hls', 'vitis_hls') and kind == 'auto':
        kind = 'analytic'  # the scheduling model: one instance for both names
    key = (kind, backend, part, str(db) if db else os.environ.get('SRCOST_DB'), str(model_path) if model_path else None)
    with _LOCK:
        hit = _MODELS.get(key)
        if hit is not None:
            return hit
        fx = shared_extractor()
        if backend in ('vivado_hls', 'vitis_hls') and kind == 'analytic':
            fitted = VivadoFitted.load(Path(model_path)) if model_path else None
            m = _MODELS[key] = VivadoModel(backend, part, fitted)
            return m
        if kind in ('auto', 'learned'):
            path = Path(model_path) if model_path else default_model_path(backend, part)
            m: CostModel | None = None
            if path.exists():
                try:
                    m = LearnedModel.load(path, fx)
                except ModelError as e:
                    if kind == 'learned':
                        raise
                    warnings.warn(f'{e}; using the analytic model', stacklevel=2)
            if m is not None:
                if m.backend != backend:
                    raise ModelError(f'{path} is a model of the {m.backend} backend, not {backend}')
                cal = calibration_from_store(db, backend, part)
                if cal is not None:
                    m._calibration = cal
                _MODELS[key] = m
                return m
            if kind == 'learned' and m is None:
                raise ModelError(f'no learned model for backend {backend} on {part} at {path}; '
                                 f'train one with `srcost fit --backend {backend}` or use --model analytic')
            kind = 'analytic'
        if kind not in MODELS:
            raise ModelError(f'unknown model {kind!r}; choose additive, analytic, learned or auto')
        cal = calibration_from_store(db, backend, part)
        if cal is None:
            try:
                cal = default_calibration(backend, part)
            except FileNotFoundError as e:
                raise ModelError(f'no calibration for {backend}: {e}; give a store with --db') from None
            except LookupError as e:
                raise ModelError(str(e)) from None
        m = AnalyticModel(backend, part, cal, fx) if kind == 'analytic' else AdditiveModel(backend, part, cal, fx)
        _MODELS[key] = m
        return m


def as_designs(items: Sequence[Design | Expression | sympy.Basic | str] | Design | Expression | str,
               precision: str | Precision = 'ap_fixed<16,6>', luts: Sequence[str | LutSpec] = (),
               part: str = DEFAULT_PART, clock_period_ns: float = DEFAULT_CLOCK_NS) -> list[Design]:
    """Designs from mixed items: a ``Design`` is kept as it is, anything else is one single-output design."""
    if isinstance(items, (Design, Expression, str, sympy.Basic)):
        items = [items]
    prec = Precision.parse(precision)
    specs = tuple(LutSpec.parse(s) for s in luts)
    out = []
    for it in items:
        if isinstance(it, Design):
            out.append(it)
        else:
            out.append(Design.build([it], prec, specs, part=part, clock_period_ns=clock_period_ns))
    return out


def predict(items, precision: str | Precision = 'ap_fixed<16,6>', backend: str = 'open', model: str = 'auto',
            luts: Sequence[str | LutSpec] = (), part: str = DEFAULT_PART, clock_period_ns: float = DEFAULT_CLOCK_NS,
            db: str | os.PathLike | None = None, model_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Predicted costs, one row per item, columns latency_cycles, ii, lut, ff, dsp, bram_18k (NaN where the
    model cannot say, e.g. resources from a latency-only calibration)."""
    m = get_model(model, backend, part, db, model_path)
    if isinstance(items, (Design, Expression, str, sympy.Basic)):
        items = [items]
    if any(isinstance(it, Design) for it in items):
        return m.predict(as_designs(items, precision, luts, part, clock_period_ns))
    exprs = [it if isinstance(it, (Expression, sympy.Basic)) else Expression.parse(it) for it in items]
    exprs = [Expression.from_sympy(e) if isinstance(e, sympy.Basic) and not _validated(e) else e for e in exprs]
    return m.predict_expressions(exprs, precision, luts, clock_period_ns)


def predict_columns(exprs: Sequence[Expression], precision: str | Precision = 'ap_fixed<16,6>', backend: str = 'open',
                    model: str = 'auto', luts: Sequence[str | LutSpec] = (), part: str = DEFAULT_PART,
                    clock_period_ns: float = DEFAULT_CLOCK_NS, db: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """``predict`` of parsed single-output expressions as ``{target: array}``: the search loop's fast path
    (no DataFrame; a search asks about one new expression at a time)."""
    m = get_model(model, backend, part, db)
    P = m.predict_expressions_matrix(list(exprs), precision, luts, clock_period_ns)
    return {t: P[:, j] for j, t in enumerate(TARGETS)}


def _validated(e: sympy.Basic) -> bool:
    """A sympy tree over real ``x<i>`` symbols only (what ``Expression.parse`` makes) needs no re-parsing."""
    return all(s.is_real and s.name[:1] == 'x' and s.name[1:].isdigit() for s in e.free_symbols)


def clear_cache() -> None:
    global _EXTRACTOR
    with _LOCK:
        _MODELS.clear()
        _EXTRACTOR = None


__all__ = ['as_designs', 'calibration_from_store', 'clear_cache', 'default_model_path', 'get_model', 'predict', 'predict_columns']

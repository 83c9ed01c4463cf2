"""Cost models: ``predict(designs) -> DataFrame`` of latency_cycles, ii, lut, ff, dsp, bram_18k.

- ``AdditiveModel``: the sum of per-node costs over the expression tree, no sharing -- what PySR's
  ``complexity_of_operators`` computes (the paper's latency-aware training). The baseline.
- ``AnalyticModel``: latency as the critical path through the pipeline, resources summed over distinct
  nodes (shared subexpressions once). On the open backend it reads the datapath model (exact widths,
  da4ml latency units, the pipeline cutoff; see ``fixedpoint``) through ``open_analytic``'s formulas;
  elsewhere the per-operator calibration (critical path over per-operator latencies plus a fitted I/O
  offset).
- ``LearnedModel``: gradient-boosted trees (XGBoost), one per target, on the features and the analytic
  prediction; trained per backend and part; saved as JSON (the boosters embedded as UBJSON) with a schema
  version and provenance.

A calibration with latency only (the published Vivado table) gives latency only: the resource columns
are NaN. Every model keeps the order of the designs it is given.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hls_gen import Design, Expression, LutSpec, Precision, SrcostError
from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

from .calibration import OPEN_MODEL, CalibrationSet, default_calibration
from .features import FEATURES, FeatureExtractor, open_default_costs
from .open_analytic import OpenParams, feature_column, feature_matrix, open_analytic_estimates, open_analytic_matrix, target_frame
from .targets import INTEGER_TARGETS, RESOURCE_TARGETS, TARGETS
from .trees import TreeEnsemble

MODEL_SCHEMA_VERSION = 1
MODEL_KIND = 'srcost learned cost model'
ANALYTIC_PREFIX = 'an_'


class ModelError(SrcostError, ValueError):
    """A cost model file is missing, of another schema, or does not fit the request."""


def _frame(values: Mapping[str, np.ndarray], n: int) -> pd.DataFrame:
    return pd.DataFrame({t: np.asarray(values.get(t, np.full(n, np.nan)), dtype=np.float64) for t in TARGETS})


def _nnls_relative_l1(A: np.ndarray, y: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Non-negative coefficients minimizing the mean relative absolute error sum|A x - y| / max(y, 10)
    (iteratively reweighted least squares): what MAPE measures, robust to a few odd designs."""
    from scipy.optimize import nnls

    scale = 1.0 / np.maximum(y, 10.0)
    w = scale**2
    coef = np.zeros(A.shape[1])
    for _ in range(iterations):
        coef, _ = nnls(A * np.sqrt(w)[:, None], y * np.sqrt(w))
        r = np.abs(A @ coef - y) * scale  # relative residuals
        w = scale**2 / np.maximum(r, 1e-3)  # sum w (Ax - y)^2 = sum |Ax - y| / max(y, 10)
    return coef


# -- models ---------------------------------------------------------------------------------------------

class CostModel(ABC):
    """One interface for every model: ``predict(designs) -> DataFrame`` (columns ``TARGETS``)."""

    name = 'model'

    def __init__(self, backend: str = 'open', part: str = DEFAULT_PART, calibration: CalibrationSet | None = None,
                 extractor: FeatureExtractor | None = None):
        self.backend = backend
        self.part = part
        self._calibration = calibration
        self.extractor = extractor if extractor is not None else FeatureExtractor()

    @property
    def calibration(self) -> CalibrationSet | None:
        if self._calibration is None:
            try:
                self._calibration = default_calibration(self.backend, self.part)
            except (LookupError, FileNotFoundError):
                return None
        cal = self._calibration
        if cal.fallback == OPEN_MODEL and cal.model is None:
            cal.model = open_default_costs  # a precision it lacks comes from the datapath model (see ``calibration``)
        return cal

    def features(self, designs: Sequence[Design]) -> pd.DataFrame:
        return self.extractor.features(designs, self.calibration)

    def predict(self, designs: Sequence[Design]) -> pd.DataFrame:
        if not designs:
            return _frame({}, 0)
        return self.predict_features(self.features(designs))

    def predict_expressions(self, exprs: Sequence, precision: str | Precision = 'ap_fixed<16,6>',
                            luts: Sequence[str | LutSpec] = (), clock_period_ns: float = DEFAULT_CLOCK_NS) -> pd.DataFrame:
        """``predict`` of single-output designs given as ``Expression`` objects, validated sympy objects or
        text (parsed by ``Expression.parse``, never evaluated), without building ``Design`` objects (the fast
        path of a search loop)."""
        if not isinstance(exprs, str) and not len(exprs):
            return _frame({}, 0)
        return target_frame(self.predict_expressions_matrix(exprs, precision, luts, clock_period_ns))

    def predict_expressions_matrix(self, exprs: Sequence, precision: str | Precision = 'ap_fixed<16,6>',
                                   luts: Sequence[str | LutSpec] = (), clock_period_ns: float = DEFAULT_CLOCK_NS) -> np.ndarray:
        """``predict_expressions`` as a plain matrix (columns ``TARGETS``): what a search loop asks one
        expression at a time, without a DataFrame's overhead."""
        if isinstance(exprs, str):
            raise TypeError('predict_expressions takes a sequence of expressions; wrap one in a list: [text]')
        if not len(exprs):
            return np.empty((0, len(TARGETS)))
        exprs = [Expression.parse(e) if isinstance(e, str) else e for e in exprs]
        F = self.extractor.expression_matrix(exprs, Precision.parse(precision), tuple(LutSpec.parse(s) for s in luts),
                                             float(clock_period_ns), self._feature_calibration, self._datapath_only)
        return self.predict_matrix(F)

    def predict_postfix(self, batch, precision: str | Precision = 'ap_fixed<16,6>', luts: Sequence[str | LutSpec] = (),
                        clock_period_ns: float = DEFAULT_CLOCK_NS, targets: Sequence[str] | None = None) -> np.ndarray:
        """``predict_expressions_matrix`` of a ``costmodel.postfix.Postfix`` batch: the same predictions for the
        same expressions, with no sympy object in the way (the form for a search loop's own trees). A
        malformed expression gets a NaN row; ``self.extractor.errors`` says why."""
        if not len(batch):
            return np.empty((0, len(TARGETS)))
        F = self.extractor.postfix_matrix(batch, Precision.parse(precision), tuple(LutSpec.parse(s) for s in luts),
                                          float(clock_period_ns), self._feature_calibration, self._datapath_only)
        if targets is not None and isinstance(self, LearnedModel):
            return self.predict_matrix(F, targets)  # a search loop asks for the targets of its objective only
        return self.predict_matrix(F)

    @property
    def _feature_calibration(self) -> CalibrationSet | None:
        """The calibration the prediction paths compute features with (None skips the ``cal`` group)."""
        return self.calibration

    @property
    def _datapath_only(self) -> bool:
        """The model reads only the datapath (``dp_``) features: the fast paths may skip the DAG columns."""
        return False

    @abstractmethod
    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def predict_matrix(self, F: np.ndarray) -> np.ndarray:
        """``predict_features`` on a matrix whose columns are ``FEATURES``; a matrix with columns ``TARGETS``.
        Models with a vectorized form override it."""
        return self.predict_features(pd.DataFrame(F, columns=list(FEATURES)))[list(TARGETS)].to_numpy(np.float64)

    @property
    def latency_only(self) -> bool:
        cal = self.calibration
        return cal is not None and cal.latency_only


class AdditiveModel(CostModel):
    """Sum of per-operator costs over every tree node (PySR's ``complexity_of_operators``)."""

    name = 'additive'

    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame:
        n = len(X)
        out = {'latency_cycles': X['cal_latency_tree'].to_numpy(), 'ii': np.ones(n)}
        if not self.latency_only:
            for t in RESOURCE_TARGETS:
                out[t] = X[f'cal_{t}_tree'].to_numpy()
        return _frame(out, n)


class AnalyticModel(CostModel):
    """Critical path through the pipeline; resources over distinct nodes (see the module docstring)."""

    name = 'analytic'

    def __init__(self, backend: str = 'open', part: str = DEFAULT_PART, calibration: CalibrationSet | None = None,
                 extractor: FeatureExtractor | None = None, params: OpenParams | None = None,
                 latency_offset: float = 0.0, latency_scale: float = 1.0):
        super().__init__(backend, part, calibration, extractor)
        self.params = params or OpenParams()
        self.latency_offset = latency_offset
        self.latency_scale = latency_scale

    def predict_matrix(self, F: np.ndarray) -> np.ndarray:
        if self.backend == 'open':
            return open_analytic_matrix(F, self.params)
        return super().predict_matrix(F)

    @property
    def _feature_calibration(self) -> CalibrationSet | None:
        # the open backend's formulas read only the datapath features: the calibration sums are not computed
        return None if self.backend == 'open' else self.calibration

    @property
    def _datapath_only(self) -> bool:
        return self.backend == 'open'

    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.backend == 'open':
            return open_analytic_estimates(X, self.params)
        n = len(X)
        lat = np.maximum(np.round(self.latency_scale * X['cal_latency_cp'].to_numpy() + self.latency_offset), 1)
        out = {'latency_cycles': lat, 'ii': np.ones(n)}
        if not self.latency_only:
            for t in RESOURCE_TARGETS:
                out[t] = X[f'cal_{t}'].to_numpy()
        return _frame(out, n)

    def fit(self, X: pd.DataFrame, actual: pd.DataFrame) -> AnalyticModel:
        """Fit the backend-level parameters (a handful of unit costs) by non-negative, relative-L1 regression."""
        if self.backend == 'open':
            p = self.params
            F = feature_matrix(X)
            for terms, const, target in ((p.LUT_TERMS, 'lut_const', 'lut'), (p.FF_TERMS, 'ff_const', 'ff')):
                y = actual[target].to_numpy(float)
                ok = np.isfinite(y) & np.isfinite(X['dp_stages'].to_numpy(float))
                A = np.column_stack([feature_column(F, c) for _, c in terms] + [np.ones(len(X))])[ok]
                coef = _nnls_relative_l1(A, y[ok])
                for (k, _), v in zip(terms, coef):
                    setattr(p, k, float(v))
                setattr(p, const, float(coef[-1]))
        else:
            cp = X['cal_latency_cp'].to_numpy(float)
            y = actual['latency_cycles'].to_numpy(float)
            ok = np.isfinite(cp) & np.isfinite(y)
            if ok.sum() >= 2 and np.ptp(cp[ok]) > 0:
                self.latency_scale, self.latency_offset = map(float, np.polyfit(cp[ok], y[ok], 1))
            elif ok.any():
                self.latency_offset = float(np.median(y[ok] - cp[ok]))
        return self


# -- the learned model ----------------------------------------------------------------------------------

# integer targets (INTEGER_TARGETS) are learned as a residual on the analytic prediction, rounded; the others
# (LUTs and FFs) as a log-ratio to it
_LOG = tuple(t for t in TARGETS if t not in INTEGER_TARGETS)


# Up to this many rows, the boosters' trees are walked with numpy (costmodel/trees.py, the same numbers):
# XGBoost's inplace_predict costs ~0.2 ms a call, whatever the rows, and a search asks for one at a time.
SMALL_BATCH = 8


@dataclass
class TargetModel:
    kind: str  # 'xgb' or 'const'
    transform: str  # 'residual' or 'logratio'
    value: float = 0.0
    booster: object = None  # xgboost.Booster
    _ensemble: object = field(default=None, repr=False, compare=False)  # TreeEnsemble of the booster, when used

    def predict(self, M: np.ndarray) -> np.ndarray:
        """The booster's output (the residual or log-ratio) for each row of the design matrix ``M``."""
        if self.kind != 'xgb':
            return np.full(len(M), self.value)
        if len(M) > SMALL_BATCH:
            return self.booster.inplace_predict(M)
        if self._ensemble is None:
            self._ensemble = TreeEnsemble.from_booster(self.booster)
        return self._ensemble.predict(M)

    def to_dict(self) -> dict:
        d = {'kind': self.kind, 'transform': self.transform, 'value': self.value}
        if self.booster is not None:
            d['booster_ubj_base64'] = base64.b64encode(bytes(self.booster.save_raw('ubj'))).decode()
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> TargetModel:
        booster = None
        if d.get('booster_ubj_base64'):
            import xgboost as xgb

            booster = xgb.Booster()
            booster.load_model(bytearray(base64.b64decode(d['booster_ubj_base64'])))
            booster.set_param({'nthread': 1})
        return cls(d['kind'], d['transform'], float(d.get('value', 0.0)), booster)


DEFAULT_XGB = {
    'max_depth': 3, 'eta': 0.05, 'subsample': 0.8, 'colsample_bytree': 0.7, 'min_child_weight': 3.0, 'lambda': 2.0,
    'objective': 'reg:squarederror', 'nthread': 1, 'seed': 0, 'tree_method': 'hist', 'base_score': 0.0,
}


@dataclass
class Provenance:
    training_set: str = ''
    training_set_digest: str = ''
    n_train: int = 0
    tool_versions: list = field(default_factory=list)
    created: str = ''
    xgboost: str = ''
    notes: str = ''

    def to_dict(self) -> dict:
        return dict(vars(self))


class LearnedModel(CostModel):
    """XGBoost per target on the features and the analytic model's prediction."""

    name = 'learned'

    def __init__(self, backend: str = 'open', part: str = DEFAULT_PART, calibration: CalibrationSet | None = None,
                 extractor: FeatureExtractor | None = None, analytic: AnalyticModel | None = None,
                 xgb_params: Mapping | None = None, n_rounds: int = 600, cv_folds: int = 5):
        super().__init__(backend, part, calibration, extractor)
        self.analytic = analytic or AnalyticModel(backend, part, calibration, self.extractor)
        self.analytic.extractor = self.extractor
        self.analytic._calibration = self._calibration
        self.xgb_params = dict(DEFAULT_XGB, **(xgb_params or {}))
        self.n_rounds = n_rounds
        self.cv_folds = cv_folds
        self.rounds: dict[str, int] = {}
        self.targets: dict[str, TargetModel] = {}
        self.provenance = Provenance()
        self.feature_names: list[str] = []

    @property
    def calibration(self) -> CalibrationSet | None:
        cal = super().calibration
        self.analytic._calibration = cal
        return cal

    def _design_matrix(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the boosters' input: features then the analytic prediction, the analytic prediction ``A``) of a
        feature matrix; the same in training and prediction."""
        A = self.analytic.predict_matrix(F)
        return np.ascontiguousarray(np.hstack([F, A])), A

    def fit(self, X: pd.DataFrame, actual: pd.DataFrame, fit_analytic: bool = True, provenance: Provenance | None = None,
            weights: np.ndarray | None = None) -> LearnedModel:
        """Train on a feature frame ``X`` (from ``features(designs)``) and the measured ``actual`` targets."""
        import xgboost as xgb

        if fit_analytic:
            self.analytic.fit(X, actual)
        M, A = self._design_matrix(feature_matrix(X))
        self.feature_names = [*FEATURES, *(ANALYTIC_PREFIX + t for t in TARGETS)]
        for j, t in enumerate(TARGETS):
            y = actual[t].to_numpy(np.float64)
            a = A[:, j]
            ok = np.isfinite(y) & np.isfinite(a)
            if t in _LOG:
                r = np.log1p(np.maximum(y, 0)) - np.log1p(np.maximum(a, 0))
                transform = 'logratio'
                ok &= a > 0  # no such logic in the datapath: predicted 0, not learned (see predict_matrix)
            else:
                r = y - a
                transform = 'residual'
            r = r[ok]
            if len(r) == 0:
                self.targets[t] = TargetModel('const', transform, 0.0)
                continue
            if np.ptp(r) == 0 or len(r) < 10:
                self.targets[t] = TargetModel('const', transform, float(np.median(r)))
                continue
            dm = xgb.DMatrix(M[ok], label=r, weight=None if weights is None else weights[ok], feature_names=self.feature_names)
            rounds = self._cv_rounds(dm, r) if self.cv_folds else self.n_rounds
            self.rounds[t] = rounds
            if rounds == 0:  # the analytic model alone predicts best
                self.targets[t] = TargetModel('const', transform, 0.0)
                continue
            booster = xgb.train(self.xgb_params, dm, num_boost_round=rounds)
            self.targets[t] = TargetModel('xgb', transform, 0.0, booster)
        self.provenance = provenance or Provenance(n_train=len(X))
        self.provenance.n_train = int(len(X))
        self.provenance.created = self.provenance.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')
        self.provenance.xgboost = xgb.__version__
        return self

    def _cv_rounds(self, dm, r: np.ndarray) -> int:
        """Boosting rounds chosen by k-fold cross-validation on the training designs (early stopping); 0 when
        no number of rounds beats the analytic prediction alone (a residual of 0), so a small training set
        cannot make the learned model worse than the analytic one it corrects."""
        import xgboost as xgb

        folds = min(self.cv_folds, max(2, len(r) // 10))
        res = xgb.cv(self.xgb_params, dm, num_boost_round=self.n_rounds, nfold=folds, metrics='rmse',
                     early_stopping_rounds=40, seed=0, shuffle=True)
        best = int(len(res))
        cv_rmse = float(res['test-rmse-mean'].iloc[-1])
        zero_rmse = float(np.sqrt(np.mean(r**2)))
        return best if cv_rmse < 0.97 * zero_rmse else 0

    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame:
        return target_frame(self.predict_matrix(feature_matrix(X)))

    def predict_matrix(self, F: np.ndarray, targets: Sequence[str] | None = None) -> np.ndarray:
        """Predictions with columns ``TARGETS``; with ``targets``, only those columns are computed (the rest NaN)."""
        if not self.targets:
            raise ModelError('the learned model is not trained: fit() it or load() a saved one')
        F = np.asarray(F, dtype=np.float64)
        M, A = self._design_matrix(F)
        n = F.shape[0]
        out = np.full((n, len(TARGETS)), np.nan)
        for j, t in enumerate(TARGETS):
            if targets is not None and t not in targets:
                continue
            tm = self.targets.get(t)
            a = A[:, j]
            if tm is None or not np.isfinite(a).any():
                continue
            r = tm.predict(M)
            if tm.transform == 'logratio':
                # a correction of the analytic prediction by a ratio: where the datapath has no such logic at
                # all (a wire, a negation, an input plus a constant: carry cells only) there is none to scale
                v = np.where(a > 0, np.expm1(np.log1p(np.maximum(a, 0)) + r), 0.0)
                out[:, j] = np.maximum(np.round(v), 0)
            else:
                v = np.round(a + r)
                out[:, j] = np.maximum(v, 1 if t in ('ii', 'latency_cycles') else 0)
        return out

    # -- persistence -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            'schema_version': MODEL_SCHEMA_VERSION, 'kind': MODEL_KIND, 'backend': self.backend, 'part': self.part,
            'features': list(self.feature_names), 'targets': {t: m.to_dict() for t, m in self.targets.items()},
            'analytic': {'params': self.analytic.params.to_dict(), 'latency_offset': self.analytic.latency_offset,
                         'latency_scale': self.analytic.latency_scale},
            'calibration': self.calibration.to_dict() if self.calibration is not None else None,
            'xgb_params': self.xgb_params, 'n_rounds': self.n_rounds, 'rounds': self.rounds, 'provenance': self.provenance.to_dict(),
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + '.tmp')
        tmp.write_text(json.dumps(self.to_dict(), separators=(',', ':')))
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, d: Mapping, extractor: FeatureExtractor | None = None) -> LearnedModel:
        if d.get('kind') != MODEL_KIND:
            raise ModelError(f'not an srcost cost model (kind {d.get("kind")!r})')
        if d.get('schema_version') != MODEL_SCHEMA_VERSION:
            raise ModelError(f'cost model schema {d.get("schema_version")} is not {MODEL_SCHEMA_VERSION}: refit it with `srcost fit`')
        if list(d.get('features', [])) != [*FEATURES, *(ANALYTIC_PREFIX + t for t in TARGETS)]:
            raise ModelError('the saved cost model was trained on other features than this srcost computes: refit it with `srcost fit`')
        cal = CalibrationSet.from_dict(d['calibration']) if d.get('calibration') else None
        an = d.get('analytic', {})
        analytic = AnalyticModel(d['backend'], d['part'], cal, extractor, OpenParams(**an.get('params', {})),
                                 an.get('latency_offset', 0.0), an.get('latency_scale', 1.0))
        m = cls(d['backend'], d['part'], cal, analytic.extractor, analytic, d.get('xgb_params'), d.get('n_rounds', 600))
        m.rounds = dict(d.get('rounds', {}))
        m.targets = {t: TargetModel.from_dict(v) for t, v in d['targets'].items()}
        m.provenance = Provenance(**d.get('provenance', {}))
        m.feature_names = list(d['features'])
        return m

    @classmethod
    def load(cls, path: str | Path, extractor: FeatureExtractor | None = None) -> LearnedModel:
        path = Path(path)
        if not path.exists():
            raise ModelError(f'no cost model at {path}; train one with `srcost fit`')
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ModelError(f'{path} is not a cost model file: {e}') from None
        return cls.from_dict(d, extractor)


MODELS = {'additive': AdditiveModel, 'analytic': AnalyticModel, 'learned': LearnedModel}


__all__ = ['AdditiveModel', 'AnalyticModel', 'CostModel', 'LearnedModel', 'MODELS', 'ModelError', 'OpenParams',
           'Provenance', 'open_analytic_estimates']

"""Predictions for the API: one thread owns the cost models and answers every request.

Requests are parsed where they arrive (with a cache of the designs already seen: parsing a new expression
into sympy costs far more than costing it) and queued; the predictor thread takes whatever has queued up,
costs it in one batch per model (``CostModel.predict``, the call `srcost predict` makes, so the numbers are
the same) and hands each request its rows. Batching amortizes the per-call cost of the model (a DataFrame,
one XGBoost call per target) over concurrent requests, and keeping the models in one thread keeps their
caches warm and needs no locks in the cost model.

The models are those of ``costmodel.api.get_model`` with the server's store as the calibration. When the
store's operator costs change (a profile job, or `srcost profile-ops` on the same store), the models are
reloaded (the store is checked at most once a second), as a new `srcost predict` would load them.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from costmodel.targets import TARGETS
from hls_gen import Design, Expression
from hls_gen.errors import ExpressionError, SrcostError

from .config import Limits
from .limits import LimitError, check_expression, check_expressions
from .schemas import PredictRequest

FREEZE_EVERY = 250  # new cached designs between two gc.freeze() calls

WARM_EXPRESSIONS = ('x0*x1 + sin(x2)', '2.5*x0 - exp(x1)', 'x0 + x1*x1 - 0.5', 'sin_lut(x0) + cos_lut(x1)*x2')


@dataclass(frozen=True)
class ModelKey:
    kind: str  # auto | additive | analytic | learned
    backend: str
    part: str
    lut_impl: str = 'auto'  # the Vivado scheduling model's option (srcost predict --lut-impl)


@dataclass
class LoadedModel:
    """A model as the server holds it, with what a client needs to rebuild it."""

    key: ModelKey
    model: object  # costmodel.models.CostModel
    name: str
    provenance: dict | None
    calibration_digest: str | None
    latency_only: bool
    document: dict  # srcost.service.modelfile.export_model(model), taken when it was loaded
    digest: str


@dataclass(frozen=True)
class ParsedDesign:
    """A request's design and the exact text of its outputs (printing a sympy tree costs as much as costing it)."""

    design: Design
    texts: list[str]


@dataclass
class _Predict:
    key: ModelKey
    designs: list[Design]
    future: Future = field(default_factory=Future)


@dataclass
class _Load:
    key: ModelKey
    future: Future = field(default_factory=Future)


class DesignCache:
    """What ``build()`` made of recent requests' texts and options (least recently used ones go first).
    Errors are remembered too, so a bad expression sent again is refused without parsing it again."""

    def __init__(self, capacity: int = 20_000):
        self.capacity = capacity
        self._items: OrderedDict[tuple, Design | SrcostError] = OrderedDict()
        self._lock = threading.Lock()
        self.inserts = 0

    def get(self, key: tuple, build):
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
        if hit is None:
            try:
                hit = build()
            except SrcostError as e:
                hit = e
            with self._lock:
                self._items[key] = hit
                self.inserts += 1
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        if isinstance(hit, SrcostError):
            raise hit
        return hit


class Predictor:
    def __init__(self, db: Path, limits: Limits, batch_window_s: float = 0.0, max_batch_designs: int = 4000):
        self.db = Path(db)
        self.limits = limits
        self.batch_window_s = batch_window_s
        self.max_batch_designs = max_batch_designs
        self.cache = DesignCache()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name='srcost-predictor', daemon=True)
        self._models: dict[ModelKey, LoadedModel] = {}
        self._version: tuple[int, int] | None = None
        self._checked = -1e9
        self._frozen_at = 0
        self.recheck_s = 1.0  # how often the store's operator costs are checked for changes
        self.batches = 0
        self.designs_costed = 0

    # -- the request side ----------------------------------------------------------------------------------
    def start(self, warm: Sequence[str] = ('open',)) -> list[str]:
        """Start the thread and warm the default model of each backend in ``warm``; the warnings of those
        that could not be loaded."""
        self._thread.start()
        warnings = []
        designs = [Design.build([e]) for e in WARM_EXPRESSIONS]
        for backend in warm:
            try:
                self.submit(ModelKey('auto', backend, designs[0].part), designs).result(timeout=600)
            except SrcostError as e:
                warnings.append(f'the {backend} model could not be loaded: {e}')
        return warnings

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def designs(self, req: PredictRequest) -> list[ParsedDesign]:
        """The designs of a request (limits checked, expressions parsed, never evaluated)."""
        if len(req.expressions) > self.limits.max_expressions:
            check_expressions(req.expressions, self.limits)  # raises, naming the limit
        common = (req.precision, tuple(req.luts), req.n_inputs, req.part, float(req.clock_period_ns))
        groups = [(t,) for t in req.expressions] if req.separate else [tuple(req.expressions)]
        out = []
        for i, texts in enumerate(groups):
            try:
                out.append(self.cache.get((texts, *common), lambda texts=texts, i=i: self._build(texts, req, i)))
            except LimitError:
                raise
            except ExpressionError as e:
                where = f'expression {i}' if req.separate else 'the design'
                raise type(e)(f'{where}: {e}') from None
        return out

    def _build(self, texts: tuple[str, ...], req: PredictRequest, i: int) -> ParsedDesign:
        for j, t in enumerate(texts):  # on the text, before any sympy object is built
            check_expression(t, self.limits, i if req.separate else j)
        d = Design.build([Expression.parse(t) for t in texts], req.precision, req.luts, req.n_inputs, req.part,
                         req.clock_period_ns)
        return ParsedDesign(d, [e.text for e in d.outputs])

    def submit(self, key: ModelKey, designs: list[Design]) -> Future:
        """A future of the prediction matrix rows (one list of ``TARGETS`` values per design) and the model."""
        item = _Predict(key, designs)
        self._queue.put(item)
        return item.future

    def load(self, key: ModelKey) -> Future:
        """A future of the ``LoadedModel`` of ``key``."""
        item = _Load(key)
        self._queue.put(item)
        return item.future

    def response(self, req: PredictRequest, designs: list[ParsedDesign], rows: list[list[float]], extra: list[dict],
                 lm: LoadedModel) -> dict:
        """The ``PredictResponse`` of a request, as the dict it serializes to."""
        from costmodel.vivado import VivadoModel

        d0 = designs[0].design
        return {
            'model': lm.name, 'backend': req.backend, 'part': d0.part, 'precision': str(d0.precision),
            'clock_period_ns': d0.clock_period_ns, 'calibration_digest': lm.calibration_digest,
            'model_provenance': lm.provenance,
            'lut_impl': req.lut_impl if isinstance(lm.model, VivadoModel) else None,
            'note': 'the calibration has latency only: resources are not predicted' if lm.latency_only else None,
            'designs': [{'expressions': pd.texts, **dict(zip(TARGETS, map(_value, row))), 'bands': ex or None}
                        for pd, row, ex in zip(designs, rows, extra)],
        }

    # -- the predictor thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        from profiler.store import CalibrationStore

        store = CalibrationStore(self.db)  # this thread's own connection
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                if self.batch_window_s > 0:
                    time.sleep(self.batch_window_s)
                n = len(getattr(first, 'designs', ()))
                while n < self.max_batch_designs:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
                    n += len(getattr(item, 'designs', ()))
                try:
                    self._refresh(store)
                    self._run(batch)
                except Exception as e:  # noqa: BLE001 - the thread must live on: each request gets the error
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(e)
                if self.cache.inserts - self._frozen_at >= FREEZE_EVERY:
                    self._frozen_at = self.cache.inserts
                    freeze_long_lived()
        finally:
            store.close()

    def _refresh(self, store) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck_s:
            return
        self._checked = now
        version = store.operator_costs_version()
        if version != self._version:
            if self._version is not None:
                from costmodel.api import clear_cache

                clear_cache()
                self._models.clear()
            self._version = version

    def _model(self, key: ModelKey) -> LoadedModel:
        lm = self._models.get(key)
        if lm is None:
            from costmodel.api import get_model

            from .modelfile import document_digest, export_model

            m = get_model(key.kind, key.backend, key.part, str(self.db))
            cal = m.calibration
            doc = export_model(m)
            lm = LoadedModel(key, m, m.name, provenance(m), cal.digest() if cal is not None else None,
                             bool(m.latency_only), doc, document_digest(doc))
            self._models[key] = lm
        return lm

    def _run(self, batch: list) -> None:
        groups: dict[ModelKey, list[_Predict]] = {}
        for item in batch:
            if isinstance(item, _Load):
                try:
                    item.future.set_result(self._model(item.key))
                except Exception as e:  # noqa: BLE001 - answered to the request that asked
                    item.future.set_exception(e)
            else:
                groups.setdefault(item.key, []).append(item)
        for key, items in groups.items():
            self._cost(key, items)

    def _cost(self, key: ModelKey, items: list[_Predict]) -> None:
        """One batch for ``items``; a model that fails a whole batch (one design it cannot schedule) is asked
        again request by request, so that only the request with that design gets the error."""
        try:
            lm = self._model(key)
            designs = [d for it in items for d in it.designs]
            P, extra, errors = predict_rows(lm.model, designs, key.lut_impl)
        except Exception as e:  # noqa: BLE001 - answered to the requests of the batch
            if len(items) > 1 and isinstance(e, SrcostError):
                for it in items:
                    self._cost(key, [it])
                return
            for it in items:
                it.future.set_exception(e)
            return
        self.batches += 1
        self.designs_costed += len(designs)
        start = 0
        for it in items:
            stop = start + len(it.designs)
            bad = [(i - start, errors[i]) for i in range(start, stop) if i in errors]
            if bad:
                j, msg = bad[0]
                it.future.set_exception(ExpressionError(f'design {j}: {msg}'))
            else:
                it.future.set_result((P[start:stop].tolist(), extra[start:stop], lm))
            start = stop


def freeze_long_lived() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach (``gc.freeze``). The server's
    long-lived objects (models, the cost model's caches, parsed designs: hundreds of thousands) made each
    full collection a 0.2-0.4 s pause of every request in flight; frozen objects are still freed by
    reference counting, only cycles among them are not."""
    import gc

    gc.collect(1)  # the young garbage (a full pass is what this avoids)
    gc.freeze()


def predict_rows(model, designs: list[Design], lut_impl: str = 'auto') -> tuple[np.ndarray, list[dict], dict[int, str]]:
    """What ``srcost predict`` computes for ``designs``: (the matrix of ``TARGETS``, each design's other columns
    (the Vivado model's bands), {design index: why it has no prediction}).

    A model that keeps ``CostModel.predict`` (``predict_features(features(designs))``) is run as
    ``predict_matrix`` of the feature matrix, the same numbers without its DataFrames (tests/test_service.py
    compares them with ``predict``); any other model through its own ``predict``."""
    from costmodel.models import CostModel
    from costmodel.vivado import VivadoModel

    if type(model).predict is CostModel.predict:
        P = model.predict_matrix(model.extractor.matrix(designs, model.calibration))
        return P, [{} for _ in designs], dict(getattr(model.extractor, 'errors', {}) or {})
    df = model.predict(designs, lut_impl) if isinstance(model, VivadoModel) else model.predict(designs)
    others = [c for c in df.columns if c not in TARGETS]
    extra = [{c: _value(float(v)) for c, v in zip(others, row)} for row in df[others].to_numpy()] if others else \
        [{} for _ in designs]
    return df[list(TARGETS)].to_numpy(np.float64), extra, {}


def provenance(model) -> dict | None:
    """The provenance `srcost predict` prints for ``model``."""
    from costmodel.vivado import VivadoModel

    if isinstance(model, VivadoModel):
        return {k: model.provenance.get(k) for k in ('created', 'tool', 'command', 'designs')}
    return model.provenance.to_dict() if model.name == 'learned' else None


def _value(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

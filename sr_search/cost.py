"""Search objectives: turning expressions into one hardware-cost number per expression.

An objective is one of

- ``'complexity'``: the node count of the sympy tree (``hls_gen.ir.count_nodes``); needs nothing else;
- ``'additive'``: the sum over nodes of a per-operator cost (the paper's "latency-aware training":
  PySR's ``complexity_of_operators``), from ``operator_costs`` (default: the published Vivado HLS
  latencies at ``ap_fixed<16,6>``, arXiv 2305.04099); needs nothing else;
- ``'latency'``, ``'lut'``, ``'dsp'``, ``'ff'``: one target of a cost model. ``latency`` and ``dsp`` take
  only a few integer values over SR-sized expressions (1 to 3 cycles at 200 MHz), so on their own they give
  the NSGA2 search a front of two or three members and it stops exploring; ties are broken by the
  predicted LUTs, scaled into [0, 0.5) (``0.5 * lut / (lut + 2000)``), which never reorders two levels;
- a dict ``{target: weight}``: a weighted sum of cost-model targets, e.g. ``{'lut': 1, 'dsp': 100}``.

Cost-model objectives call ``cost_fn(list[Expression])``. When no ``cost_fn`` is given,
``costmodel.predict`` is imported lazily and called as ``predict(expressions, precision=..., backend=...)``.
What a cost function may return (``n`` = number of expressions):

- a 1-D array of ``n`` numbers: the objective value itself (already the target or weighted sum);
- a 2-D array ``(n, 4)`` in :data:`COST_TARGETS` order, a ``pandas.DataFrame`` with target columns,
  a mapping ``{target: array(n)}``, or a sequence of ``n`` mappings or objects with target attributes.

Targets are named as ``costmodel.targets.SEARCH_TARGETS`` declares them: a cost function's columns may be
the cost model's (``latency_cycles``) or the search's (``latency``); each search target reads its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from costmodel.targets import SEARCH_TARGETS, TARGETS, SearchTarget, column_value
from hls_gen.errors import SrcostError
from hls_gen.expression import Expression
from hls_gen.ir import count_nodes, decompose
from hls_gen.operators import LUT_FUNCTIONS
from hls_gen.precision import Precision

COST_TARGETS: tuple[str, ...] = tuple(s.name for s in SEARCH_TARGETS)  # objectives over one cost-model target
OBJECTIVE_NAMES: tuple[str, ...] = ('complexity', 'additive', *COST_TARGETS)

# Per-operator latency in clock cycles that arXiv 2305.04099 measured with Vivado HLS at ap_fixed<16,6>
# on xcvu9p (Table 1 of the paper); variables and constants count 1 as in PySR. Other operators: 1.
PAPER_OPERATOR_COSTS: dict[str, float] = {
    '+': 1, '-': 1, '*': 1, 'exp': 3, 'log_abs': 4, 'sin': 8, 'cosh': 8, 'sinh': 9, 'tan': 48,
}

# Integer targets that take few values over SR-sized expressions: ties between them are broken by LUTs.
DISCRETE_TARGETS: tuple[str, ...] = tuple(s.name for s in SEARCH_TARGETS if s.discrete)
TIEBREAK_MAX = 0.5  # the tie-break term stays below half a step of the integer target
TIEBREAK_SCALE = 2000.0  # LUTs at which the term is half its maximum


def tiebreak_term(value: float) -> float:
    """A term in [0, TIEBREAK_MAX) increasing with ``value`` (>= 0)."""
    v = max(float(value), 0.0)
    return TIEBREAK_MAX * v / (v + TIEBREAK_SCALE)


# A cost big enough to push an individual to the back of any front, yet finite in float32
# (pyoperon 0.6.2 stores fitness as float32; inf or nan upsets the crowding distance).
PENALTY = 1e30

CostFn = Callable[[list[Expression]], object]


class CostModelUnavailable(SrcostError, RuntimeError):
    """A cost-model objective was asked for but no cost function is available."""


class CostFunctionError(SrcostError, ValueError):
    """A cost function returned something srcost cannot read."""


@dataclass(frozen=True)
class Objective:
    """A resolved objective: ``name`` plus, for cost-model objectives, the target weights."""

    name: str  # 'complexity' | 'additive' | a target | 'weighted'
    weights: dict[str, float] = field(default_factory=dict)
    tiebreak: str | None = None  # a target that orders expressions of equal weighted cost (see TIEBREAK_*)

    @property
    def needs_cost_model(self) -> bool:
        return bool(self.weights)

    def describe(self) -> str:
        if self.name == 'weighted':
            return ' + '.join(f'{w:g}*{t}' for t, w in self.weights.items())
        return self.name


def resolve_objective(objective: str | Mapping[str, float] | Objective) -> Objective:
    """Validate an objective given as a name or a ``{target: weight}`` dict."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        if objective in ('complexity', 'additive'):
            return Objective(objective)
        if objective in COST_TARGETS:
            return Objective(objective, {objective: 1.0}, 'lut' if objective in DISCRETE_TARGETS else None)
        raise ValueError(
            f'unknown objective {objective!r}: use one of {", ".join(OBJECTIVE_NAMES)} '
            f'or a dict of weights over {", ".join(COST_TARGETS)}, e.g. {{"lut": 1, "dsp": 100}}'
        )
    if isinstance(objective, Mapping):
        if not objective:
            raise ValueError('the objective weight dict is empty: give e.g. {"lut": 1, "dsp": 100}')
        weights: dict[str, float] = {}
        for k, w in objective.items():
            if k not in COST_TARGETS:
                raise ValueError(f'unknown cost target {k!r} in the objective weights; targets: {", ".join(COST_TARGETS)}')
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise ValueError(f'the weight of {k!r} must be a number, got {w!r}') from None
            if not np.isfinite(w) or w < 0:
                raise ValueError(f'the weight of {k!r} must be a finite number >= 0, got {w}')
            weights[k] = w
        if not any(weights.values()):
            raise ValueError('all objective weights are 0')
        return Objective('weighted', weights)
    raise TypeError(f'objective must be a string or a dict of weights, got {type(objective).__name__}')


def additive_cost(expr: sympy.Expr, operator_costs: Mapping[str, float], default: float = 1.0) -> float:
    """Sum of per-node costs. Operators are named as in the operator table (``log_abs``, ``sin_lut``);
    a LUT function without its own entry costs what its math function costs. ``var``/``const`` leaves
    cost ``operator_costs.get('var'|'const', 1)``; a product of k factors is k-1 multiplies."""
    node = decompose(expr)
    if node.op in ('var', 'const'):
        return float(operator_costs.get(node.op, 1.0))
    name = node.op
    if name not in operator_costs and name in LUT_FUNCTIONS:
        name = LUT_FUNCTIONS[name].name
    own = float(operator_costs.get(name, default))
    if node.op in ('+', '*') and len(node.args) > 2:
        own *= len(node.args) - 1
    return own + sum(additive_cost(a, operator_costs, default) for a in node.args)


def _lazy_costmodel(precision: str | None, backend: str | None) -> CostFn:
    try:
        from costmodel import predict  # noqa: PLC0415 (another layer; optional at import time)
        from costmodel.api import predict_columns  # noqa: PLC0415
    except ImportError as e:
        raise CostModelUnavailable(
            f'objective needs a cost model, but costmodel.predict cannot be imported ({e}). '
            "Pass cost_fn=..., fit one with 'srcost fit', or use objective='complexity' or 'additive'."
        ) from None

    def cost_fn(exprs: list[Expression]):
        kwargs = {}
        if precision is not None:
            kwargs['precision'] = precision
        if backend is not None:
            kwargs['backend'] = backend
        if all(isinstance(e, Expression) for e in exprs):
            return predict_columns(exprs, **kwargs)
        return predict(exprs, **kwargs)

    return cost_fn


def _target_table(result: object, n: int, objective: Objective) -> np.ndarray | dict[str, np.ndarray]:
    """Normalise a cost function's answer: a 1-D objective array, or {target: array(n)}."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(result, pd.DataFrame):
        result = {c: result[c].to_numpy(dtype=float) for c in result.columns}
    if isinstance(result, Mapping):
        cols = {s.name: column_value(result, s) for s in SEARCH_TARGETS}
        return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in cols.items() if v is not None}
    if (
        isinstance(result, Sequence)
        and not isinstance(result, (str, bytes))
        and all(isinstance(v, (int, float, np.number)) for v in result)
    ):
        result = np.asarray(result, dtype=float)
    if isinstance(result, np.ndarray):
        arr = np.asarray(result, dtype=float)
        if arr.ndim == 1:
            return arr
        if arr.ndim == 2 and arr.shape[1] == len(COST_TARGETS):
            return {t: arr[:, i] for i, t in enumerate(COST_TARGETS)}
        if arr.ndim == 2 and arr.shape[1] == 1:
            return arr[:, 0]
        raise CostFunctionError(
            f'cost function returned an array of shape {arr.shape}; expected ({n},) or ({n}, {len(COST_TARGETS)}) '
            f'with columns {", ".join(COST_TARGETS)}'
        )
    if isinstance(result, Sequence):
        out: dict[str, list[float]] = {s.name: [] for s in SEARCH_TARGETS}
        for item in result:
            for s in SEARCH_TARGETS:
                v = column_value(item, s, np.nan) if isinstance(item, Mapping) else _attribute(item, s)
                out[s.name].append(float(v) if v is not None else np.nan)
        return {t: np.asarray(v) for t, v in out.items() if not np.all(np.isnan(v))}
    raise CostFunctionError(f'cost function returned {type(result).__name__}; expected an array, DataFrame, dict or list of dicts')


def _attribute(item: object, s: SearchTarget) -> object:
    """Search target ``s`` of an object with target attributes (``latency_cycles``, or ``latency``)."""
    v = getattr(item, s.target, None)
    return getattr(item, s.name, np.nan) if v is None else v


class CostEvaluator:
    """Maps a batch of expressions to one cost number each (and to per-target breakdowns).

    Results are cached by the expression's canonical form, so the search may call it once per
    individual without re-asking the cost model about expressions it has seen.
    """

    def __init__(
        self,
        objective: str | Mapping[str, float] | Objective = 'complexity',
        *,
        cost_fn: CostFn | None = None,
        precision: str | None = None,
        backend: str | None = None,
        operator_costs: Mapping[str, float] | None = None,
        cache_size: int = 200_000,
    ):
        self.objective = resolve_objective(objective)
        self.operator_costs = dict(PAPER_OPERATOR_COSTS if operator_costs is None else operator_costs)
        for k, v in self.operator_costs.items():
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ValueError(f'operator cost of {k!r} must be a finite number >= 0, got {v!r}')
        self.precision = precision
        self.backend = backend
        self._cost_fn = cost_fn
        # a cost function that carries its cost model (srcost.client.Client.cost_fn: the server's model, downloaded
        # once) is as good as the local one: the search loop's postfix path uses that model
        self._user_cost_fn = cost_fn is not None and not hasattr(cost_fn, 'model')
        if self.objective.needs_cost_model and cost_fn is None:
            self._cost_fn = _lazy_costmodel(precision, backend)
        self._cache: dict[sympy.Expr, tuple[float, dict[str, float]]] = {}
        self._cache_size = cache_size
        self.calls = 0  # how many times the underlying cost function ran

    def _compute(self, exprs: list[Expression]) -> list[tuple[float, dict[str, float]]]:
        obj = self.objective
        if obj.name == 'complexity':
            out = []
            for e in exprs:
                c = float(count_nodes(e.sympy_expr))
                out.append((c, {'complexity': c}))
            return out
        if obj.name == 'additive':
            out = []
            for e in exprs:
                c = additive_cost(e.sympy_expr, self.operator_costs)
                out.append((c, {'additive': c}))
            return out
        self.calls += 1
        result = self._cost_fn(list(exprs))
        table = _target_table(result, len(exprs), obj)
        if isinstance(table, np.ndarray):
            if table.shape != (len(exprs),):
                raise CostFunctionError(f'cost function returned {table.shape[0]} values for {len(exprs)} expressions')
            key = obj.name if obj.name != 'weighted' else 'cost'
            return [(float(v), {key: float(v)}) for v in table]
        missing = [t for t in obj.weights if t not in table]
        if missing:
            raise CostFunctionError(
                f'cost function gave no {", ".join(missing)} (it gave {", ".join(sorted(table)) or "nothing"}); '
                f'objective {obj.describe()!r} needs them'
            )
        for t, v in table.items():
            if v.shape != (len(exprs),):
                raise CostFunctionError(f'cost function returned {v.shape[0]} {t} values for {len(exprs)} expressions')
        out = []
        for i in range(len(exprs)):
            breakdown = {t: float(table[t][i]) for t in COST_TARGETS if t in table}
            value = float(sum(w * breakdown[t] for t, w in obj.weights.items()))
            tie = breakdown.get(obj.tiebreak, float('nan')) if obj.tiebreak else float('nan')
            if np.isfinite(tie):  # a latency-only calibration has no LUTs: no tie-break then
                value += tiebreak_term(tie)
            out.append((value, breakdown))
        return out

    def evaluate(self, exprs: Sequence[Expression]) -> list[tuple[float, dict[str, float]]]:
        """(objective value, per-target breakdown) for each expression; non-finite values become PENALTY."""
        keys = [e.sympy_expr for e in exprs]  # structural hash and equality: cheap, unlike srepr
        todo: dict[sympy.Expr, Expression] = {}
        for k, e in zip(keys, exprs):
            if k not in self._cache and k not in todo:
                todo[k] = e
        if todo:
            results = self._compute(list(todo.values()))
            if len(self._cache) + len(results) > self._cache_size:
                self._cache.clear()
            for k, (v, b) in zip(todo, results):
                self._cache[k] = (v if np.isfinite(v) else PENALTY, b)
        return [self._cache[k] for k in keys]

    def __call__(self, exprs: Sequence[Expression]) -> np.ndarray:
        return np.array([v for v, _ in self.evaluate(exprs)], dtype=float)

    # -- the search loop's path: canonical trees and their postfix form (sr_search.firmware), no sympy ------------
    @property
    def by_design(self) -> bool:
        """The objective is a function of the design (``firmware.as_firmware``): every built-in one is; a user's
        cost function may read the float constants as written."""
        return not self._user_cost_fn

    def postfix_value(self, tree: tuple, batch) -> float:
        """The objective value of one expression given as a canonical tree (``sr_search.firmware``) and its
        ``costmodel.postfix.Postfix`` form (one expression): the same number ``evaluate`` gives the exported
        expression, where the tree is sympy's canonical form of it."""
        from . import firmware

        obj = self.objective
        if obj.name == 'complexity':
            return float(firmware.count_nodes(tree))
        if obj.name == 'additive':
            return float(_additive_tree(tree, self.operator_costs))
        if self._user_cost_fn:
            # a user's cost function takes Expressions: build one (slower, but it is what was asked for)
            from hls_gen.errors import ExpressionError

            try:
                expr = Expression.parse(firmware.to_text(tree))
            except ExpressionError:  # not an expression the parser (so the exported front) accepts
                return PENALTY
            return float(self.evaluate([expr])[0][0])
        model = self._postfix_model()
        row = model.predict_postfix(batch, self._pf_precision, targets=self._postfix_needed)[0]
        breakdown = {t: float(row[j]) for t, j in self._postfix_columns.items()}
        value = float(sum(w * breakdown[t] for t, w in obj.weights.items()))
        tie = breakdown.get(obj.tiebreak, float('nan')) if obj.tiebreak else float('nan')
        if np.isfinite(tie):
            value += tiebreak_term(tie)
        return value if np.isfinite(value) else PENALTY

    def _postfix_model(self):
        m = getattr(self, '_pf_model', None)
        if m is None:
            from costmodel.api import get_model  # noqa: PLC0415 (heavy: the model and its kernels)

            m = self._pf_model = getattr(self._cost_fn, 'model', None) or get_model('auto', self.backend or 'open')
            obj = self.objective
            need = [s for s in SEARCH_TARGETS if s.name in obj.weights or s.name == obj.tiebreak]
            self._postfix_columns = {s.name: TARGETS.index(s.target) for s in need}
            self._postfix_needed = tuple(s.target for s in need)
            self._pf_precision = Precision.parse(self.precision or 'ap_fixed<16,6>')  # parsed once, not per call
        return m


def _additive_tree(t: tuple, costs: Mapping[str, float], default: float = 1.0) -> float:
    """``additive_cost`` of a canonical tree (``sr_search.firmware``)."""
    from costmodel import dag

    kind = t[0]
    if kind == 'v':
        return float(costs.get('var', 1.0))
    if kind == 'c':
        return float(costs.get('const', 1.0))
    if kind in ('+', '*'):
        n = len(t[2]) + (0 if np.isnan(t[1]) else 1)
        own = float(costs.get(kind, default)) * max(n - 1, 1)
        kids = sum(_additive_tree(u, costs, default) for u in t[2])
        return own + kids + (0.0 if np.isnan(t[1]) else float(costs.get('const', 1.0)))
    if kind == 'neg':
        return float(costs.get('neg', default)) + _additive_tree(t[1], costs, default)
    if kind == 'inv':
        return float(costs.get('inv', default)) + _additive_tree(t[1], costs, default)
    if kind == 'pow':
        name = {2: 'square', 3: 'cube'}.get(t[1], 'pow_int')
        return float(costs.get(name, default)) + _additive_tree(t[2], costs, default)
    name = dag.OPS[t[1]]
    if name not in costs and name in LUT_FUNCTIONS:
        name = LUT_FUNCTIONS[name].name
    return float(costs.get(name, default)) + _additive_tree(t[2], costs, default)

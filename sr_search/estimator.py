"""``CostAwareRegressor``: scikit-learn style, cost-aware symbolic regression.

Parameters are PySR-like and keyword-only; ``__init__`` only stores them, ``fit`` validates them.
After ``fit``: ``front_`` (a :class:`~sr_search.front.ParetoFront` of (loss, cost) trade-offs),
``best_`` (the selected :class:`~sr_search.front.FrontMember`), ``expression_`` (its
:class:`hls_gen.Expression`), ``stats_`` and ``n_features_in_``. ``predict`` evaluates ``expression_``.

    >>> reg = CostAwareRegressor(binary_operators=['+', '*'], objective='complexity',
    ...                          generations=20, population_size=100, random_state=0)
    >>> reg.fit(X, y).best_.expression          # doctest: +SKIP
    '2.5*x0*x1'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from hls_gen.operators import LUT_FUNCTIONS, get_operator
from hls_gen.precision import Precision

from .cost import PAPER_OPERATOR_COSTS, CostEvaluator, CostModelUnavailable, resolve_objective
from .front import RULES, FrontMember, ParetoFront
from .operon_engine import LOSSES, OperonSettings, run_operon

ENGINES = ('operon', 'pysr')


def _as_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f'{name} must be a list of operator names, got {value!r}')
    return list(value)


def _check_int(value, name: str, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')
    return int(value)


class CostAwareRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression over (loss, hardware cost).

    Parameters
    ----------
    binary_operators, unary_operators : operator names from ``hls_gen.operators`` (``'+'``,
        ``'/'``, ``'sin'``, ``'square'``, ``'log_abs'``...) and LUT functions (``'sin_lut'``).
    maxsize : maximum tree size (operon: nodes, a weighted variable being one node; PySR: complexity).
    max_depth : maximum tree depth (operon).
    generations : generations of the operon search; ``niterations``, when given, overrides it
        (operon: generations; PySR: iterations).
    population_size : population of the operon search (PySR: per population).
    budget_seconds : wall-clock limit of the search (operon: whole seconds, rounded up).
    random_state : seed (int) for a reproducible search; None draws one (reported in ``stats_``).
    precision, backend : the fixed-point precision and synthesis backend the costs refer to
        (passed to the cost model). A list of precisions searches each (one process per core) and returns
        one front across them; every member says its precision.
    objective : ``'complexity'`` (node count), ``'additive'`` (sum of ``operator_costs``),
        ``'latency'``, ``'lut'``, ``'dsp'``, ``'ff'`` or a weight dict ``{'lut': 1, 'dsp': 100}``.
    engine : ``'operon'`` (embedded) or ``'pysr'`` (needs pysr and Julia).
    cost_fn : optional ``cost_fn(list[Expression]) -> array``; default: ``costmodel.predict``.
    operator_costs : per-operator costs for ``'additive'`` and for PySR's ``complexity_of_operators``
        (default for 'additive': the paper's Vivado HLS latencies).
    loss : ``'mse'``, ``'nmse'``, ``'mae'`` or ``'r2'`` (1 - R^2).
    model_selection : ``'best'`` (PySR's rule), ``'accuracy'`` or ``'score'``.
    selection_budget : e.g. ``{'latency': 10, 'lut': 500}``: select the most accurate member within it.
    optimizer_iterations : Levenberg-Marquardt steps that tune constants per individual (operon).
    linear_scaling : fit ``a*f(x) + b`` during the search and export it (operon).
    luts : LUT specs (``'sin:1024:-4:4'`` or :class:`hls_gen.LutSpec`) of the LUT functions (PySR's, and the
        firmware the operon search scores).
    loss_on : ``'firmware'`` (default, operon): the loss of what the firmware computes (bit-accurate fixed point at
        ``precision``), so that loss and cost describe the same design; ``'float'``: of the float expression.
    loss_rows : rows the in-loop firmware loss uses (a fixed random subsample; None: all). The final front is
        scored on every row.
    max_evaluations : stop after this many individuals (operon; with ``budget_seconds``, whichever comes first).
    pysr_kwargs : extra ``PySRRegressor`` arguments.
    """

    def __init__(
        self,
        *,
        binary_operators: Sequence[str] = ('+', '-', '*', '/'),
        unary_operators: Sequence[str] = (),
        maxsize: int = 20,
        max_depth: int = 10,
        generations: int = 100,
        niterations: int | None = None,
        population_size: int = 500,
        budget_seconds: float | None = None,
        random_state: int | None = None,
        precision: str = 'ap_fixed<16,6>',
        backend: str = 'open',
        objective: str | Mapping[str, float] = 'complexity',
        engine: str = 'operon',
        cost_fn: Callable | None = None,
        operator_costs: Mapping[str, float] | None = None,
        loss: str = 'mse',
        model_selection: str = 'best',
        selection_budget: Mapping[str, float] | None = None,
        optimizer_iterations: int = 10,
        linear_scaling: bool = True,
        n_threads: int = 1,
        luts: Sequence | None = None,
        pysr_kwargs: Mapping | None = None,
        progress: Callable[[dict], None] | None = None,
        loss_on: str = 'firmware',
        loss_rows: int | None = 1000,
        max_evaluations: int | None = None,
    ):
        self.binary_operators = binary_operators
        self.unary_operators = unary_operators
        self.maxsize = maxsize
        self.max_depth = max_depth
        self.generations = generations
        self.niterations = niterations
        self.population_size = population_size
        self.budget_seconds = budget_seconds
        self.random_state = random_state
        self.precision = precision
        self.backend = backend
        self.objective = objective
        self.engine = engine
        self.cost_fn = cost_fn
        self.operator_costs = operator_costs
        self.loss = loss
        self.model_selection = model_selection
        self.selection_budget = selection_budget
        self.optimizer_iterations = optimizer_iterations
        self.linear_scaling = linear_scaling
        self.n_threads = n_threads
        self.luts = luts
        self.pysr_kwargs = pysr_kwargs
        self.progress = progress
        self.loss_on = loss_on
        self.loss_rows = loss_rows
        self.max_evaluations = max_evaluations

    # ------------------------------------------------------------------------------------------
    def _validated(self) -> dict:
        binary = _as_list(self.binary_operators, 'binary_operators')
        unary = _as_list(self.unary_operators, 'unary_operators')
        if not binary and not unary:
            raise ValueError('give at least one operator in binary_operators or unary_operators')
        for name in binary:
            try:
                op = get_operator(name)
            except KeyError as e:
                raise ValueError(f'binary_operators: {e.args[0]}') from None
            if op.arity != 2:
                raise ValueError(f'binary_operators: {name!r} takes {op.arity} argument(s); put it in unary_operators')
        for name in unary:
            if name in LUT_FUNCTIONS:
                continue
            try:
                op = get_operator(name)
            except KeyError as e:
                raise ValueError(f'unary_operators: {e.args[0]}; LUT functions: {", ".join(sorted(LUT_FUNCTIONS))}') from None
            if op.arity != 1:
                raise ValueError(f'unary_operators: {name!r} takes {op.arity} arguments; put it in binary_operators')
        if len(set(binary + unary)) != len(binary + unary):
            raise ValueError('an operator is listed twice')
        if self.engine not in ENGINES:
            raise ValueError(f'engine must be one of {", ".join(ENGINES)}, got {self.engine!r}')
        if self.loss not in LOSSES:
            raise ValueError(f'loss must be one of {", ".join(LOSSES)}, got {self.loss!r}')
        if self.loss_on not in ('firmware', 'float'):
            raise ValueError(f"loss_on must be 'firmware' or 'float', got {self.loss_on!r}")
        if self.loss_rows is not None:
            _check_int(self.loss_rows, 'loss_rows', 10)
        if self.model_selection not in RULES or self.model_selection == 'budget':
            raise ValueError(f"model_selection must be 'best', 'accuracy' or 'score', got {self.model_selection!r}")
        objective = resolve_objective(self.objective)
        if self.budget_seconds is not None:
            if isinstance(self.budget_seconds, bool) or not isinstance(self.budget_seconds, (int, float)) or not (
                math.isfinite(self.budget_seconds) and self.budget_seconds > 0
            ):
                raise ValueError(f'budget_seconds must be a positive number of seconds, got {self.budget_seconds!r}')
        if self.random_state is not None:
            _check_int(self.random_state, 'random_state', 0)
        precisions = self.precision if isinstance(self.precision, (list, tuple)) else [self.precision]
        if not precisions:
            raise ValueError('precision: give at least one precision')
        for q in precisions:
            if not isinstance(q, (str, Precision)):
                raise TypeError(f"precision must be a string like 'ap_fixed<16,6>' (or a list of them), got {q!r}")
        parsed = [str(Precision.parse(q)) for q in precisions]
        if len(set(parsed)) != len(parsed):
            raise ValueError(f'a precision is listed twice in {parsed}')
        precision = parsed[0]
        if not isinstance(self.backend, str) or not self.backend:
            raise ValueError(f"backend must be a backend name like 'open', got {self.backend!r}")
        if self.cost_fn is not None and not callable(self.cost_fn):
            raise TypeError('cost_fn must be callable: cost_fn(list[Expression]) -> array')
        if self.operator_costs is not None and not isinstance(self.operator_costs, Mapping):
            raise TypeError('operator_costs must be a dict {operator name: cost}')
        if self.selection_budget is not None and not isinstance(self.selection_budget, Mapping):
            raise TypeError("selection_budget must be a dict like {'latency': 10}")
        return {
            'binary': binary,
            'unary': unary,
            'objective': objective,
            'precision': precision,
            'precisions': parsed,
            'maxsize': _check_int(self.maxsize, 'maxsize', 3),
            'max_depth': _check_int(self.max_depth, 'max_depth', 2),
            'generations': _check_int(
                self.niterations if self.niterations is not None else self.generations,
                'niterations' if self.niterations is not None else 'generations',
                1,
            ),
            'population_size': _check_int(self.population_size, 'population_size', 4),
            'optimizer_iterations': _check_int(self.optimizer_iterations, 'optimizer_iterations', 0),
            'n_threads': _check_int(self.n_threads, 'n_threads', 1),
        }

    def _cost_evaluator(self, p: dict) -> CostEvaluator:
        return CostEvaluator(
            p['objective'],
            cost_fn=self.cost_fn,
            precision=p['precision'],
            backend=self.backend,
            operator_costs=self.operator_costs,
        )

    def fit(self, X, y):
        p = self._validated()
        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)  # rejects NaN and inf by default
        self.n_features_in_ = X.shape[1]
        if np.ptp(y) == 0:
            raise ValueError('y is constant: there is nothing to fit')
        if self.engine == 'operon' and self.loss_on == 'firmware':
            from .firmware import check_range

            for q in p['precisions']:
                check_range(X, q)
        if len(p['precisions']) > 1:
            from .precisions import fit_precisions

            front, stats = fit_precisions(self, X, y, p['precisions'])
            front.metadata.update({'objective': p['objective'].describe(), 'precisions': p['precisions'],
                                   'backend': self.backend})
            self.front_ = front
            self.stats_ = stats
            self.best_ = self._select(front)
            self.expression_ = self.best_.expr
            return self
        if self.engine == 'operon':
            cost = self._cost_evaluator(p)
            settings = OperonSettings(
                operators=tuple(p['binary'] + p['unary']),
                maxsize=p['maxsize'],
                max_depth=p['max_depth'],
                generations=p['generations'],
                population_size=p['population_size'],
                budget_seconds=self.budget_seconds,
                random_state=self.random_state,
                loss=self.loss,
                optimizer_iterations=p['optimizer_iterations'],
                linear_scaling=bool(self.linear_scaling),
                n_threads=p['n_threads'],
                progress=self.progress,
                loss_on=self.loss_on,
                precision=p['precision'],
                luts=tuple(self.luts or ()),
                loss_rows=self.loss_rows,
                **({'max_evaluations': int(self.max_evaluations)} if self.max_evaluations is not None else {}),
            )
            result = run_operon(X, y, cost, settings)
            front, stats = result.front, result.stats
        else:
            front, stats = self._fit_pysr(X, y, p)
        front.metadata.update(
            {'objective': p['objective'].describe(), 'precision': p['precision'], 'backend': self.backend}
        )
        self.front_ = front
        self.stats_ = stats
        self.best_ = self._select(front)
        self.expression_ = self.best_.expr
        return self

    def _fit_pysr(self, X, y, p: dict) -> tuple[ParetoFront, dict]:
        from .pysr_engine import build_pysr_kwargs, run_pysr

        objective = p['objective']
        if self.operator_costs is not None:
            complexity = dict(self.operator_costs)
        elif objective.name == 'additive':
            complexity = dict(PAPER_OPERATOR_COSTS)
        elif objective.name == 'complexity':
            complexity = None
        else:
            raise ValueError(
                f"engine='pysr' optimizes a per-operator complexity; objective {objective.describe()!r} needs "
                'operator_costs={operator: cost} (e.g. from the calibration or the cost model)'
            )
        kwargs = build_pysr_kwargs(
            binary_operators=p['binary'],
            unary_operators=p['unary'],
            maxsize=p['maxsize'],
            niterations=p['generations'],
            random_state=self.random_state,
            complexity_of_operators=complexity,
            luts=self.luts,
            timeout_in_seconds=self.budget_seconds,
            model_selection=self.model_selection,
            extra=self.pysr_kwargs,
        )
        front = run_pysr(X, y, kwargs)
        # predicted costs of the hall of fame, for reporting and budget selection; PySR itself
        # searched on complexity_of_operators, so a missing cost model only loses the report
        stats = {'engine': 'pysr', 'pysr_kwargs': sorted(kwargs)}
        if objective.name != 'complexity' or self.cost_fn is not None:
            try:
                cost = self._cost_evaluator(p)
            except CostModelUnavailable as e:
                stats['cost_report'] = str(e)
            else:
                exprs = [m.expr for m in front]
                for m, (_, breakdown) in zip(front, cost.evaluate(exprs)):
                    m.cost.update(breakdown)
        return front, stats

    def _select(self, front: ParetoFront) -> FrontMember:
        if self.selection_budget:
            return front.within_budget(self.selection_budget)
        return front.select(self.model_selection, axis=_selection_axis(front))

    # ------------------------------------------------------------------------------------------
    def predict(self, X, index: int | None = None) -> np.ndarray:
        """Evaluate the selected expression (or ``front_[index]``) on the rows of X (float64)."""
        check_is_fitted(self, 'expression_')
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f'X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}')
        expr = self.expression_ if index is None else self.front_[index].expr
        return expr.evaluate(X)

    def select(self, rule: str | None = None, budget: Mapping[str, float] | None = None) -> FrontMember:
        """Re-select from ``front_`` (updates ``best_`` and ``expression_``) without refitting."""
        check_is_fitted(self, 'front_')
        if budget:
            member = self.front_.within_budget(budget)
        else:
            member = self.front_.select(rule or self.model_selection, axis=_selection_axis(self.front_))
        self.best_ = member
        self.expression_ = member.expr
        return member

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _selection_axis(front: ParetoFront) -> str:
    """PySR's 'best' rule along the search's cost objective when every member has one (for a
    PySR hall of fame: PySR's own complexity), else along the node count."""
    return 'objective' if len(front) and all(m.objective is not None for m in front) else 'complexity'

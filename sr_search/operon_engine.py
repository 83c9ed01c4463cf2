"""The embedded SR engine: pyoperon 0.6.2 NSGA2 over (loss, hardware cost).

The loss is operon's own evaluator (MSE, NMSE, MAE or -R2 after optimal linear scaling); the cost is
a Python callback (:class:`pyoperon.UserDefinedEvaluator`) that converts each individual's tree to a
validated :class:`hls_gen.Expression` and asks a :class:`~sr_search.cost.CostEvaluator`.

Sharp edges of pyoperon 0.6.2 handled here:

- every component lives in a named local variable until the run ends (temporaries are freed by
  Python while C++ still holds raw pointers to them: segfault);
- an exception raised in a Python callback makes ``Run`` return early *without raising*, leaving a
  front of half-evaluated individuals; the callbacks here record the exception and it is re-raised
  after ``Run`` returns;
- ``NodeType.Fmin`` and ``NodeType.Fmax`` are swapped, so nodes are identified by ``Node.Name``;
- ``InfixFormatter`` rounds weights to a fixed number of decimals (a weight of 1e-5 prints as 0), so
  trees are converted to sympy by walking the nodes; each variable leaf is ``weight * x`` and is
  emitted as a multiply unless the weight is exactly 1;
- the defaults leave constants untuned (``local_iterations`` = 0) and the seed random: here the
  optimizer runs ``optimizer_iterations`` (default 10) Levenberg-Marquardt steps and the seed comes
  from ``random_state`` (the seed actually used is reported).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from hls_gen.errors import ExpressionError, SrcostError
from hls_gen.expression import Expression, lut_symbol, variable
from hls_gen.ir import count_nodes
from hls_gen.operators import LUT_FUNCTIONS, get_operator

from .cost import PENALTY, CostEvaluator
from .front import FrontMember, ParetoFront, expression_to_text

# srcost operator name -> pyoperon NodeType attribute (Fmin/Fmax deliberately absent: not in the table)
OPERON_NODE_TYPES: dict[str, str] = {
    '+': 'Add', '-': 'Sub', '*': 'Mul', '/': 'Div',
    'abs': 'Abs', 'square': 'Square', 'exp': 'Exp', 'log': 'Log', 'log_abs': 'Logabs',
    'sqrt': 'Sqrt', 'sqrt_abs': 'Sqrtabs', 'sin': 'Sin', 'cos': 'Cos', 'tan': 'Tan',
    'sinh': 'Sinh', 'cosh': 'Cosh', 'tanh': 'Tanh',
}
_OPERON_NAME: dict[str, str] = {  # pyoperon Node.Name -> srcost operator name
    '+': '+', '-': '-', '*': '*', '/': '/', 'abs': 'abs', 'square': 'square', 'exp': 'exp', 'log': 'log',
    'logabs': 'log_abs', 'sqrt': 'sqrt', 'sqrtabs': 'sqrt_abs', 'sin': 'sin', 'cos': 'cos', 'tan': 'tan',
    'sinh': 'sinh', 'cosh': 'cosh', 'tanh': 'tanh',
}
LOSSES = ('mse', 'nmse', 'mae', 'r2')
LOSS_ON = ('firmware', 'float')
_FORBIDDEN = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I)


class SearchError(SrcostError, RuntimeError):
    """The search ran but produced nothing usable."""


def _import_operon():
    try:
        import pyoperon as op
    except ImportError as e:  # pragma: no cover - pyoperon is a hard dependency
        from hls_gen.errors import ToolNotFound

        raise ToolNotFound(f'the operon engine needs pyoperon==0.6.2 ({e}); pip install pyoperon==0.6.2') from None
    return op


def operon_symbols(operators: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split srcost operator names (``'+'``, ``'sin'``, ``'sin_lut'``) into the operon primitives to
    enable ({srcost base name: NodeType attr}) and the LUT renaming ({base name: LUT name}) to apply
    when trees are exported. Raises ValueError for an operator operon cannot search over."""
    enabled: dict[str, str] = {}
    lut: dict[str, str] = {}
    for name in operators:
        if name in LUT_FUNCTIONS:
            base = LUT_FUNCTIONS[name].name
            if base not in OPERON_NODE_TYPES:
                raise ValueError(f'{name}: operon has no {base} primitive')
            lut[base] = name
            enabled[base] = OPERON_NODE_TYPES[base]
            continue
        try:
            canonical = get_operator(name).name
        except KeyError as e:
            raise ValueError(str(e.args[0])) from None
        if canonical not in OPERON_NODE_TYPES:
            ok = ', '.join(list(OPERON_NODE_TYPES) + [n for n, o in LUT_FUNCTIONS.items() if o.name in OPERON_NODE_TYPES])
            raise ValueError(f'operator {name!r} is not available in the operon engine; available: {ok}')
        enabled[canonical] = OPERON_NODE_TYPES[canonical]
    clash = [b for b in lut if b in [get_operator(n).name for n in operators if n not in LUT_FUNCTIONS]]
    if clash:
        raise ValueError(
            f'both {clash[0]!r} and {lut[clash[0]]!r} were asked for: operon cannot tell them apart; choose one'
        )
    return enabled, lut


MAX_CONSTANT_ARGUMENT = 1e4  # |constant| a math function may be applied to in a converted tree


def _float(v: float) -> sympy.Float:
    # a python float -> a 53-bit sympy Float: no digits are lost (operon's float32 values are exact in it)
    return sympy.Float(float(v))


def node_keys(nodes) -> list[tuple]:
    """What identifies each node of an operon tree (its name, value, and variable), in the tree's order."""
    return [(n.Name, n.Value, n.HashValue if n.IsVariable else 0) for n in nodes]


def tree_to_sympy(tree, variable_index: Mapping[int, int], lut: Mapping[str, str] | None = None,
                  memo: dict[tuple, sympy.Expr] | None = None, keys: Sequence[tuple] | None = None) -> sympy.Expr:
    """Convert a pyoperon Tree to sympy exactly, by walking its nodes (never via the infix string).

    ``variable_index`` maps a variable node's hash to its column index (``x<i>``). ``lut`` maps a math
    function to the LUT function to emit instead (``{'sin': 'sin_lut'}``). Operon stores a tree in
    postfix order: a node's first child is the node just before it, and each further child ends just
    before the previous child's subtree. ``memo`` (a dict the caller keeps between trees converted with
    the same ``variable_index`` and ``lut``) maps a subtree's nodes to its expression: offspring share most
    subtrees with their parents, and sympy is slow to build them again. ``keys``: the tree's ``node_keys``,
    when the caller already has them.
    """
    lut = dict(lut or {})
    nodes = tree.Nodes
    if not len(nodes):
        raise ExpressionError('malformed operon tree: no nodes')
    flat = node_keys(nodes) if keys is None else keys
    memo = {} if memo is None else memo

    def build(i: int) -> sympy.Expr:
        node = nodes[i]
        first = i - node.Length
        if first < 0:
            raise ExpressionError(f'malformed operon tree: {node.Name} needs more nodes than the tree has')
        key = tuple(flat[first : i + 1])
        hit = memo.get(key)
        if hit is not None:
            return hit
        arity = node.Arity
        args = []
        j = i - 1
        for _ in range(arity):
            if j < first:
                raise ExpressionError(f'malformed operon tree: {node.Name} needs {arity} arguments')
            args.append(build(j))
            j -= nodes[j].Length + 1
        out = memo[key] = _node_expr(node, args, variable_index, lut)
        return out

    root = len(nodes) - 1
    if nodes[root].Length != root:
        raise ExpressionError(f'malformed operon tree: {root - nodes[root].Length + 1} values left on the stack')
    return build(root)


def _node_expr(node, args: list, variable_index: Mapping[int, int], lut: Mapping[str, str]) -> sympy.Expr:
    """One node's expression from its children's (first to last)."""
    name = node.Name
    if name == 'constant':
        return _float(node.Value)
    if name == 'variable':
        try:
            sym = variable(variable_index[node.HashValue])
        except KeyError:
            raise ExpressionError(f'tree uses a variable (hash {node.HashValue}) that is not an input') from None
        w = float(node.Value)
        return sym if w == 1.0 else _float(w) * sym
    arity = len(args)
    op_name = _OPERON_NAME.get(name)
    if op_name is None:
        raise ExpressionError(f'operon node {name!r} has no srcost operator')
    if op_name in ('+', '*'):
        return sympy.Add(*args) if op_name == '+' else sympy.Mul(*args)
    if op_name in ('-', '/'):
        if arity != 2:
            raise ExpressionError(f'operon node {name!r} with {arity} arguments is not supported')
        return args[0] - args[1] if op_name == '-' else args[0] / args[1]
    if arity != 1:
        raise ExpressionError(f'operon node {name!r} with {arity} arguments is not supported')
    if args[0].is_Number and abs(float(args[0])) > MAX_CONSTANT_ARGUMENT:
        # sympy evaluates f(constant) eagerly at arbitrary precision: exp(1e30) exhausts memory.
        # No fixed-point type holds such a value: the individual is not firmware.
        raise ExpressionError(f'{name} of the constant {float(args[0]):g} is out of any fixed-point range')
    if op_name in lut:
        return lut_symbol(lut[op_name])(args[0])
    return get_operator(op_name).build(args[0])


def scale_offset(pred: np.ndarray, y: np.ndarray, rel_tol: float = 1e-9) -> tuple[float, float]:
    """The affine map ``a*pred + b`` that operon's linear scaling applies, simplified: ``a = 1`` and/or
    ``b = 0`` whenever that changes the mean squared error by less than ``rel_tol * var(y)`` (so a
    perfect fit does not carry ``* 1.0000001 + 1e-9`` into firmware)."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(pred)):
        return 1.0, 0.0
    var_y = float(np.var(y))
    tol = rel_tol * max(var_y, np.finfo(float).tiny) + 1e-30
    vp = float(np.var(pred))
    if vp > 0:
        a = float(np.mean((pred - pred.mean()) * (y - y.mean())) / vp)
        b = float(y.mean() - a * pred.mean())
    else:
        a, b = 0.0, float(y.mean())
    best = float(np.mean((a * pred + b - y) ** 2))
    pp = float(np.dot(pred, pred))
    a0 = float(np.dot(pred, y) / pp) if pp > 0 else 0.0
    b1 = float(np.mean(y - pred))
    candidates = [  # simplest first
        (1.0, 0.0),
        (a0, 0.0),
        (1.0, b1),
    ]
    for ca, cb in candidates:
        if float(np.mean((ca * pred + cb - y) ** 2)) <= best + tol:
            return ca, cb
    return a, b


def _apply_scale(expr: sympy.Expr, a: float, b: float) -> sympy.Expr:
    out = expr
    if a != 1.0:
        out = _float(a) * out
    if b != 0.0:
        out = out + _float(b)
    return out


def _is_finite_expr(expr: sympy.Expr) -> bool:
    """No zoo/nan/I and every number representable as a finite float64 (sympy's arbitrary
    precision Floats can hold exp(1e10), which no firmware or cost model can)."""
    if expr.has(*_FORBIDDEN):
        return False
    for a in expr.atoms(sympy.Number):
        try:
            if not math.isfinite(float(a)):
                return False
        except (OverflowError, TypeError, ValueError):
            return False
    return True


# what sympy may raise while building an expression from arbitrary evolved constants
# (Float(1.0)/Float(0.0) raises ZeroDivisionError, huge powers OverflowError, ...)
_CONVERSION_ERRORS = (ExpressionError, ArithmeticError, ValueError, TypeError, RecursionError)


def _loss(pred: np.ndarray, y: np.ndarray, loss: str) -> float:
    if not np.all(np.isfinite(pred)):
        return math.inf
    with np.errstate(over='ignore'):  # a prediction near the float range: an infinite loss, not a warning
        return _finite_loss(pred - y, y, loss)


def _finite_loss(r: np.ndarray, y: np.ndarray, loss: str) -> float:
    if loss == 'mse':
        return float(np.mean(r**2))
    if loss == 'mae':
        return float(np.mean(np.abs(r)))
    var = float(np.var(y))
    nmse = float(np.mean(r**2)) / var if var > 0 else float(np.mean(r**2))
    return nmse  # 'nmse' and 'r2' (1 - R2 = NMSE)


@dataclass
class OperonSettings:
    """Settings of one operon run (the estimator fills these from its parameters)."""

    operators: tuple[str, ...] = ('+', '-', '*', '/')
    maxsize: int = 20
    max_depth: int = 10
    generations: int = 100
    population_size: int = 500
    pool_size: int | None = None
    budget_seconds: float | None = None
    max_evaluations: int = 1_000_000
    random_state: int | None = None
    loss: str = 'mse'
    optimizer_iterations: int = 10
    linear_scaling: bool = True
    n_threads: int = 1
    crossover_probability: float = 1.0
    mutation_probability: float = 0.25
    tournament_size: int = 5
    init_max_length: int = 10
    progress: Callable[[dict], None] | None = None  # called once per generation with a stats dict
    loss_on: str = 'firmware'  # 'firmware': the loss of the bit-accurate fixed-point output; 'float': of the float one
    precision: str = 'ap_fixed<16,6>'  # the firmware's precision (loss_on='firmware')
    luts: tuple = ()  # LUT specs of the <fn>_lut functions (loss_on='firmware')
    loss_rows: int | None = 1000  # rows the in-loop firmware loss is computed on (a fixed random subsample); None: all


@dataclass
class OperonResult:
    front: ParetoFront
    stats: dict = field(default_factory=dict)


class _Recorder:
    """Remembers the first exception raised inside a callback (operon swallows them)."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def wrap(self, fn: Callable, failed_value=None) -> Callable:
        def wrapped(*args):
            if self.error is not None:
                # the run is ending because of an earlier error: finish as fast as possible
                if failed_value is not None:
                    return failed_value
                raise RuntimeError('an earlier callback failed')
            try:
                return fn(*args)
            except BaseException as e:  # noqa: BLE001 - re-raised after Run() returns
                self.error = e
                raise

        return wrapped


def run_operon(
    X: np.ndarray,
    y: np.ndarray,
    cost: CostEvaluator,
    settings: OperonSettings | None = None,
) -> OperonResult:
    """Run NSGA2 over (loss, cost) and return the Pareto front (validated expressions) of the final population
    and, with the firmware loss, of every design the search scored (``_Archive``), re-scored on all rows.

    ``cost`` maps a list of :class:`Expression` to one number each. X must be finite (n, d), y (n,).
    """
    op = _import_operon()
    s = settings or OperonSettings()
    if s.loss not in LOSSES:
        raise ValueError(f'unknown loss {s.loss!r}; use one of {", ".join(LOSSES)}')
    if s.loss_on not in LOSS_ON:
        raise ValueError(f'unknown loss_on {s.loss_on!r}; use one of {", ".join(LOSS_ON)}')
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[0] < 2:
        raise ValueError(f'X must be (n, d) and y (n,) with n >= 2; got {X.shape} and {y.shape}')
    enabled, lut = operon_symbols(s.operators)
    if not enabled:
        raise ValueError('no operators given')

    seed = s.random_state
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    seed = int(seed) % (2**63)
    max_time = int(math.ceil(s.budget_seconds)) if s.budget_seconds is not None else None
    maxsize = max(int(s.maxsize), 1)
    pool = s.pool_size or s.population_size
    rec = _Recorder()
    t0 = time.perf_counter()

    # The firmware loss reads a fixed subsample of the rows: operon's dataset holds those rows first, so that the
    # float prediction the loop scales comes from evaluating the tree on them alone (op.Evaluate on a range).
    # Every other use of the dataset is over all of its rows, where their order does not matter.
    loss_rows = X.shape[0]
    X_ds, y_ds = X, y
    if s.loss_on == 'firmware' and s.loss_rows is not None and X.shape[0] > s.loss_rows:
        loss_rows = int(s.loss_rows)
        first = np.sort(np.random.default_rng(seed).choice(X.shape[0], loss_rows, replace=False))
        order = np.concatenate((first, np.setdiff1d(np.arange(X.shape[0]), first)))
        X_ds, y_ds = X[order], y[order]

    # ---- every operon object below stays bound to a local name until the function returns ----
    data = np.asfortranarray(np.column_stack((X_ds, y_ds)))
    ds = op.Dataset(data)
    variables = sorted(ds.Variables, key=lambda v: v.Index)
    target = variables[-1]
    inputs = [v.Hash for v in variables[:-1]]
    var_index = {v.Hash: v.Index for v in variables[:-1]}
    training_range = op.Range(0, ds.Rows)
    test_range = op.Range(ds.Rows - 1, ds.Rows)
    problem = op.Problem(ds)
    problem.TrainingRange = training_range
    problem.TestRange = test_range
    problem.Target = target
    problem.InputHashes = inputs
    config_bits = int(op.NodeType.Constant) | int(op.NodeType.Variable)
    for attr in enabled.values():
        config_bits |= int(getattr(op.NodeType, attr))
    problem.ConfigurePrimitiveSet(config_bits)
    pset = problem.PrimitiveSet

    creator = op.BalancedTreeCreator(pset, inputs, 0.0)
    coeff_init = op.NormalCoefficientInitializer()
    coeff_init.ParameterizeDistribution(0, 1)
    dtable = op.DispatchTable()
    optimizer = op.LMOptimizer(dtable, problem, int(s.optimizer_iterations), 0)
    metric = {'mse': op.MSE, 'nmse': op.NMSE, 'mae': op.MAE, 'r2': op.R2}[s.loss]()
    loss_eval = op.Evaluator(problem, dtable, metric, bool(s.linear_scaling))
    loss_eval.Budget = int(s.max_evaluations)

    y64 = y

    converted: dict[tuple, Expression | None] = {}
    subtrees: dict[tuple, sympy.Expr] = {}

    def individual_expression(tree) -> Expression | None:
        # the exported form: exact sympy of the tree, with operon's linear scaling made explicit
        key = tuple(node_keys(tree.Nodes))
        if key in converted:
            return converted[key]
        try:
            if len(subtrees) > 200_000:
                subtrees.clear()
            expr = tree_to_sympy(tree, var_index, lut, subtrees, key)
            if s.linear_scaling:
                pred = op.Evaluate(dtable, tree, ds, training_range)
                a, b = scale_offset(pred, y_ds)
                expr = _apply_scale(expr, a, b)
            out = None
            if _is_finite_expr(expr):
                # validated by hls_gen's parser, from text whose constants read back bit-exactly:
                # sympy may have made re(), x**(1/4), x**32... which firmware (and the parser) reject
                out = Expression.parse(expression_to_text(expr))
                # ...and readable by hls_gen.ir (which rejects e.g. x**(-1/2), which the parser
                # builds from 1/sqrt(x)); cost models and the node count walk the tree with it
                count_nodes(out.sympy_expr)
        except _CONVERSION_ERRORS:
            out = None  # not an expression firmware can compute: the individual gets the penalty
        if len(converted) > 100_000:
            converted.clear()
        converted[key] = out
        return out

    penalty = [float(PENALTY)]
    evaluations = [0]

    def cost_callback(rng, individual) -> list[float]:
        evaluations[0] += 1
        e = individual_expression(individual.Genotype)
        if e is None:
            return penalty
        v = float(cost([e])[0])  # an error here is the cost model's: recorded and re-raised
        return [v if math.isfinite(v) else float(PENALTY)]

    if s.loss_on == 'firmware':
        # two evaluators of one objective each (pyoperon sizes an individual's fitness by the evaluators' objective
        # count: one evaluator returning two values leaves some individuals with one, and NSGA2 then aborts); the
        # first scores loss and cost together, the second hands over the cost. Operon calls them in that order for
        # each individual, from one thread (n_threads=1); the node count guards the hand-over.
        fw = _FirmwareScorer(X_ds[:loss_rows], y_ds[:loss_rows], s, var_index, lut, cost)

        def copy_tree(tree):
            t = op.Tree(list(tree.Nodes))  # from the nodes: pyoperon 0.6.2's Tree(Tree) crashes inside a callback
            t.UpdateNodes()
            return t

        archive = _Archive(copy_tree)
        loss_range = op.Range(0, loss_rows)
        handover: list = [None, 0.0]

        def loss_callback(rng, individual) -> list[float]:
            evaluations[0] += 1
            tree = individual.Genotype
            nodes = tree.Nodes
            pred = op.Evaluate(dtable, tree, ds, loss_range) if s.linear_scaling else None
            lv, c = fw.score(nodes, pred)
            handover[0], handover[1] = len(nodes), c
            if archive.offer(lv, c, tree) and fw.last is not None:
                for v, (lv_v, c_v) in fw.rounded(fw.last):
                    archive.offer(lv_v, c_v, v, copy=False)
            return [lv]

        def fw_cost_callback(rng, individual) -> list[float]:
            n = len(individual.Genotype.Nodes)
            if handover[0] != n:  # pragma: no cover - operon changed its calling order
                tree = individual.Genotype
                pred = op.Evaluate(dtable, tree, ds, loss_range) if s.linear_scaling else None
                return [fw.score(tree.Nodes, pred)[1]]
            handover[0] = None
            return [handover[1]]

        loss_ude = op.UserDefinedEvaluator(problem, rec.wrap(loss_callback, failed_value=penalty))
        loss_ude.Budget = int(s.max_evaluations)
        cost_eval = op.UserDefinedEvaluator(problem, rec.wrap(fw_cost_callback, failed_value=penalty))
        cost_eval.Budget = int(s.max_evaluations)
        evaluator = op.MultiEvaluator(problem)
        evaluator.Add(loss_ude)
        evaluator.Add(cost_eval)
        evaluator.Budget = int(s.max_evaluations)
    else:
        fw = loss_ude = archive = None
        cost_eval = op.UserDefinedEvaluator(problem, rec.wrap(cost_callback, failed_value=penalty))
        cost_eval.Budget = int(s.max_evaluations)
        evaluator = op.MultiEvaluator(problem)
        evaluator.Add(loss_eval)
        evaluator.Add(cost_eval)
        evaluator.Budget = int(s.max_evaluations)

    comparison = op.CrowdedComparison()
    female_selector = op.TournamentSelector(comparison)
    female_selector.TournamentSize = int(s.tournament_size)
    male_selector = op.TournamentSelector(comparison)
    male_selector.TournamentSize = int(s.tournament_size)
    reinserter = op.KeepBestReinserter(comparison)
    crossover = op.SubtreeCrossover(0.9, int(s.max_depth), maxsize)
    mutation = op.MultiMutation()
    m_onepoint = op.NormalOnePointMutation()
    m_onepoint.ParameterizeDistribution(0, 1)
    m_changevar = op.ChangeVariableMutation(inputs)
    m_changefunc = op.ChangeFunctionMutation(pset)
    m_replace = op.ReplaceSubtreeMutation(creator, coeff_init, int(s.max_depth), maxsize)
    m_insert = op.InsertSubtreeMutation(creator, coeff_init, int(s.max_depth), maxsize)
    m_remove = op.RemoveSubtreeMutation(pset)
    mutations = (m_onepoint, m_changevar, m_changefunc, m_replace, m_insert, m_remove)
    for m in mutations:
        mutation.Add(m, 1.0)
    coeff_optimizer = op.CoefficientOptimizer(optimizer)
    generator = op.BasicOffspringGenerator(
        evaluator, crossover, mutation, female_selector, male_selector, coeff_optimizer
    )
    min_arity, _ = pset.FunctionArityLimits()
    tree_init = op.UniformLengthTreeInitializer(creator)
    tree_init.ParameterizeDistribution(min_arity + 1, max(min_arity + 1, min(int(s.init_max_length), maxsize)))
    tree_init.MinDepth = 1
    tree_init.MaxDepth = 1000
    config_kwargs = dict(
        generations=int(s.generations),
        max_evaluations=int(s.max_evaluations),
        local_iterations=int(s.optimizer_iterations),
        population_size=int(s.population_size),
        pool_size=int(pool),
        p_crossover=float(s.crossover_probability),
        p_mutation=float(s.mutation_probability),
        p_local=1.0,
        p_lamarck=1.0,
        epsilon=1e-5,
        seed=seed,
    )
    if max_time is not None:
        config_kwargs['max_time'] = max(1, max_time)
    config = op.GeneticAlgorithmConfig(**config_kwargs)
    sorter = op.RankSorter()
    gp = op.NSGA2Algorithm(config, problem, tree_init, coeff_init, generator, reinserter, sorter)
    rng = op.RandomGenerator(np.uint64(seed))

    def on_generation(gp=gp) -> None:  # gp bound now: the name is deleted at the end
        if s.progress is not None:
            s.progress({'generation': gp.Generation, 'evaluations': evaluations[0], 'elapsed_s': time.perf_counter() - t0})

    run_error: BaseException | None = None
    try:
        gp.Run(rng, rec.wrap(on_generation), int(s.n_threads), False)
    except BaseException as e:  # noqa: BLE001 - some pyoperon builds do propagate; keep the first cause
        run_error = e
    if rec.error is not None:
        # unlink the error from the recorder first: the C++ evaluator holds the callback, which
        # holds the recorder; a recorder -> error -> traceback -> this frame -> evaluator cycle
        # would pass through C++ where Python's garbage collector cannot see it (a leak)
        err, rec.error = rec.error, None
        if hasattr(err, 'add_note'):
            err.add_note('raised inside a pyoperon callback during the operon search; the search was stopped')
        raise err
    if run_error is not None:
        raise run_error

    search_s = time.perf_counter() - t0
    def candidate_expression(ind) -> Expression | None:
        if isinstance(ind, _Rounded):
            try:
                return Expression.parse(fw.fx.to_text(ind.tree))
            except _CONVERSION_ERRORS:
                return None
        return individual_expression(ind.Genotype)

    candidates = list(gp.BestFront) + (archive.individuals() if archive is not None else [])
    members, invalid = _front_members(candidates, candidate_expression, X, y64, s.loss, cost,
                                      s if s.loss_on == 'firmware' else None)
    if not members:
        raise SearchError(
            f'the operon search returned no valid expression ({invalid} invalid on the final front); '
            'try more generations, a larger population or other operators'
        )
    front = ParetoFront(
        members,
        metadata={
            'engine': 'operon',
            'loss': s.loss,
            'objective': getattr(getattr(cost, 'objective', None), 'describe', lambda: 'custom')(),
            'seed': seed,
            'loss_on': s.loss_on,
        },
    ).nondominated()
    stats = {
        'engine': 'operon',
        'pyoperon_version': _version(op),
        'seed': seed,
        'generations': int(gp.Generation),
        'evaluations': int(evaluations[0]),
        'search_seconds': search_s,
        'total_seconds': time.perf_counter() - t0,
        'front_size': len(front),
        'invalid_on_front': invalid,
        'loss_on': s.loss_on,
    }
    if fw is not None:
        stats.update(fw.stats())
        stats['archive_size'] = len(archive)
    # drop the references in a defined order (the algorithm first: it points at everything else)
    del gp, generator, evaluator, cost_eval, loss_eval, loss_ude, candidates
    return OperonResult(front, stats)


def _version(op) -> str:
    try:
        from importlib.metadata import version

        return version('pyoperon')
    except Exception:  # noqa: BLE001
        return 'unknown'


def _front_members(individuals, to_expr, X, y, loss: str, cost, firmware: OperonSettings | None = None
                   ) -> tuple[list[FrontMember], int]:
    """The final front from the exported expressions: cost from ``cost.evaluate`` (what ``srcost predict`` says),
    float R2 and, with ``firmware`` settings, the loss and R2 of the bit-accurate firmware on every row."""
    exprs: list[Expression] = []
    seen: set[str] = set()
    invalid = 0
    for ind in individuals:
        e = to_expr(ind)  # already validated by hls_gen's parser (None when invalid)
        if e is None:
            invalid += 1
            continue
        if e.canonical in seen:
            continue
        seen.add(e.canonical)
        exprs.append(e)
    if not exprs:
        return [], invalid
    costs = cost.evaluate(exprs) if hasattr(cost, 'evaluate') else [(float(v), {}) for v in cost(exprs)]
    members = []
    fw_out = None
    if firmware is not None:
        from costmodel.fxeval import FixedPointEvaluator
        from costmodel.postfix import Postfix

        ev = FixedPointEvaluator(firmware.precision, firmware.luts)
        programs = ev.compile(Postfix.from_expressions(exprs))
        fw_out = ev.run(programs, ev.input_mantissas(X))
    for k, (e, (value, breakdown)) in enumerate(zip(exprs, costs)):
        pred = e.evaluate(X)
        metrics = {'float_r2': _r2(pred, y)}
        lv = _loss(pred, y, loss)
        if fw_out is not None:
            metrics['firmware_r2'] = _r2(fw_out[k], y)
            lv = _loss(fw_out[k], y, loss)
        if not math.isfinite(lv):
            invalid += 1
            continue
        members.append(
            FrontMember(
                expression=e,
                loss=lv,
                complexity=int(count_nodes(e.sympy_expr)),
                cost=dict(breakdown),
                metrics=metrics,
                objective=float(value),
                precision=firmware.precision if firmware is not None else None,
            )
        )
    return members, invalid


def _r2(pred: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(pred)):
        return -math.inf
    var = float(np.var(y))
    with np.errstate(over='ignore'):  # a prediction near the float range: R2 -inf, not a warning
        return 1.0 - float(np.mean((pred - y) ** 2)) / var if var > 0 else float('nan')


class _Scaling:
    """``scale_offset`` against a fixed y, from five sums (the search loop's form; the same choice up to rounding)."""

    def __init__(self, y: np.ndarray, rel_tol: float = 1e-9):
        y = np.asarray(y, dtype=np.float64)
        self.y, self.n = y, len(y)
        self.sy, self.syy = float(y.sum()), float(y @ y)
        self.var_y = max(self.syy / self.n - (self.sy / self.n) ** 2, 0.0)
        self.tol = rel_tol * max(self.var_y, np.finfo(float).tiny) + 1e-30

    def __call__(self, pred: np.ndarray) -> tuple[float, float]:
        p = np.asarray(pred, dtype=np.float64)
        n, sy, syy = self.n, self.sy, self.syy
        with np.errstate(all='ignore'):
            sp, spp, spy = float(p.sum()), float(p @ p), float(p @ self.y)
        if not (math.isfinite(sp) and math.isfinite(spp) and math.isfinite(spy)):
            return 1.0, 0.0
        mp, my = sp / n, sy / n
        vp = spp / n - mp * mp
        cov = spy / n - mp * my
        if vp > 1e-300:
            a = cov / vp
            b = my - a * mp
            best = max(self.var_y - cov * cov / vp, 0.0)
        else:
            a, b = 0.0, my
            best = self.var_y
        if (spp - 2 * spy + syy) / n <= best + self.tol:
            return 1.0, 0.0
        if spp > 0 and (syy - spy * spy / spp) / n <= best + self.tol:
            return spy / spp, 0.0
        if vp - 2 * cov + self.var_y <= best + self.tol:
            return 1.0, my - mp
        return a, b


class _Archive:
    """Every (firmware loss, cost) the search scored that nothing scored so far dominates, with a copy of its tree:
    a hall of fame, as PySR keeps one, so that the returned front holds the best designs the search ever saw,
    not only those of its last population. Kept as a staircase (cost ascending, loss strictly descending), so
    a candidate is checked in O(log n) and only a new non-dominated one is copied."""

    def __init__(self, copy: Callable):
        self.copy = copy
        self.costs: list[float] = []
        self.losses: list[float] = []
        self.trees: list = []

    def offer(self, loss: float, cost: float, tree, copy: bool = True) -> bool:
        """Keep ``tree`` (an operon tree, copied; ``copy`` False: a canonical firmware tree, kept as it is) if
        nothing kept is as cheap and as good; whether it was kept."""
        if not (math.isfinite(loss) and math.isfinite(cost)) or loss >= PENALTY or cost >= PENALTY:
            return False
        i = bisect.bisect_right(self.costs, cost)
        if i > 0 and self.losses[i - 1] <= loss:  # something as cheap is as good
            return False
        i = bisect.bisect_left(self.costs, cost)
        j = i
        while j < len(self.costs) and self.losses[j] >= loss:  # what it dominates
            j += 1
        self.costs[i:j] = [cost]
        self.losses[i:j] = [loss]
        self.trees[i:j] = [_Archived(self.copy(tree)) if copy else _Rounded(tree)]
        return True

    def __len__(self) -> int:
        return len(self.trees)

    def individuals(self) -> list:
        """The archived candidates: ``_Archived`` (an operon tree, as ``gp.BestFront``'s individuals hold it) and
        ``_Rounded`` (a canonical firmware tree)."""
        return list(self.trees)


@dataclass(frozen=True)
class _Archived:
    Genotype: object


@dataclass(frozen=True)
class _Rounded:
    """A candidate the search derived from a scored one by rounding its constants (``ROUNDED_DIGITS``)."""

    tree: tuple


ROUNDED_DIGITS = (1, 2, 3, 4)  # signed powers of two per constant in the rounded variants of an archived design


class _FirmwareScorer:
    """(firmware loss, cost) of operon trees, with no sympy: tree -> canonical postfix (``sr_search.firmware``) ->
    its constants as the firmware holds them (``as_firmware``) -> the compiled fixed-point evaluator on a fixed
    subsample of the rows, and the cost objective on that postfix. Each design is scored once: a candidate whose
    canonical tree, or whose design, was scored before gets the same numbers back."""

    def __init__(self, X, y, s: OperonSettings, var_index, lut, cost):
        """``X``, ``y``: the rows the loss reads (``run_operon`` chooses them; ``score``'s predictions are on them)."""
        from costmodel.fxeval import FixedPointEvaluator

        from . import firmware

        self.fx = firmware
        self.s = s
        self.conv = firmware.TreeConverter(var_index, _OPERON_NAME, lut)
        self.ev = FixedPointEvaluator(s.precision, s.luts)
        self.Xm = self.ev.input_mantissas(X)
        self.ysub = np.asarray(y, dtype=np.float64)
        self.scaling = _Scaling(self.ysub)
        self.constant_loss = _loss(np.full(len(self.ysub), float(np.median(self.ysub)) if s.loss == 'mae'
                                           else float(np.mean(self.ysub))), self.ysub, s.loss)
        self.dominated = 0
        self.memo: dict[tuple, list[float]] = {}  # canonical tree -> [loss, cost]: offspring repeat their parents
        self.designs: dict[bytes, list[float]] = {}  # firmware_key -> [loss, cost]: one design, other float constants
        self.repeats = 0
        self.same_design = 0
        # load the compiled kernels (evaluator and cost model) before the search's clock starts
        warm = firmware.add([firmware.mul([firmware.const(0.5), ('v', 0)]), firmware.const(0.25)])
        batch = firmware.to_postfix([warm])
        self.ev.run(self.ev.compile(batch), self.Xm[:2])
        cost.postfix_value(warm, batch)
        self.cost = cost
        self.penalty = [float(PENALTY), float(PENALTY)]
        self.refused = 0
        self.scored = 0
        self.variants = 0
        self.last: tuple | None = None

    def score(self, nodes, pred) -> list[float]:
        """(loss, cost) of an operon tree (its ``Nodes``) with its linear scaling from ``pred``; the canonical
        tree is ``self.last`` afterwards (None where it has none)."""
        fx = self.fx
        self.last = None
        try:
            t = self.conv.convert(nodes)
            if pred is not None:
                a, b = self.scaling(pred)
                t = fx.scaled(t, a, b)
        except _CONVERSION_ERRORS:
            self.refused += 1
            return self.penalty
        self.last = t
        return self.score_tree(t)

    def rounded(self, t: tuple) -> list[tuple[tuple, list[float]]]:
        """The variants of ``t`` with every constant rounded to ``ROUNDED_DIGITS`` signed powers of two (constant
        multipliers of fewer shift-adds: LM's constants are cheap for the loss and dear for the firmware), each
        with its (loss, cost)."""
        out, seen = [], {t}
        for k in ROUNDED_DIGITS:
            try:
                v = self.fx.map_constants(t, lambda c, k=k: self.fx.csd_round(c, k))
            except _CONVERSION_ERRORS:
                continue
            if v not in seen:
                seen.add(v)
                out.append((v, self.score_tree(v)))
        self.variants += len(out)
        return out

    def score_tree(self, t: tuple) -> list[float]:
        """(loss, cost) of a canonical firmware tree."""
        fx = self.fx
        hit = self.memo.get(t)
        if hit is not None:
            self.repeats += 1
            return hit
        try:
            if self.cost.by_design:
                batch = fx.to_postfix([t], self.ev.precision)  # constants as the firmware holds them
                key = fx.design_key(batch)
            else:
                batch, key = fx.to_postfix([t]), None
        except _CONVERSION_ERRORS:
            batch = key = None
        if key is not None:
            hit = self.designs.get(key)
            if hit is not None:
                # another candidate's design: its constants differ by less than the precision's step
                self.same_design += 1
                self.memo[t] = hit
                return hit
        try:
            programs = self.ev.compile(batch) if batch is not None else None
        except _CONVERSION_ERRORS:
            programs = None
        if programs is None or programs.errors:
            self.refused += 1
            out = self.penalty
        else:
            lv = _loss(self.ev.run(programs, self.Xm)[0], self.ysub, self.s.loss)
            self.scored += 1
            if lv >= self.constant_loss:
                # no better than the best constant, which costs least: dominated whatever it costs, so the cost
                # model is not asked (the front is the same; only the order of dominated individuals changes)
                self.dominated += 1
                c = float(PENALTY)
            else:
                c = self.cost.postfix_value(t, batch)
            out = [min(lv, float(PENALTY)), c] if math.isfinite(lv) and math.isfinite(c) else self.penalty
        if len(self.memo) > 200_000:
            self.memo.clear()
            self.designs.clear()
        self.memo[t] = out
        if key is not None:
            self.designs[key] = out
        return out

    def stats(self) -> dict:
        return {'firmware_loss_rows': int(len(self.ysub)), 'firmware_scored': self.scored,
                'firmware_refused': self.refused, 'firmware_repeats': self.repeats,
                'firmware_same_design': self.same_design, 'firmware_rounded_variants': self.variants,
                'firmware_no_better_than_a_constant': self.dominated}

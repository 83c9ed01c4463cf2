"""The embedded operon engine and CostAwareRegressor: exact export, recovery, callbacks, validation."""

import sys
import time

import numpy as np
import pytest
import sympy

from hls_gen.expression import Expression
from hls_gen.ir import count_nodes
from sr_search.cost import CostEvaluator, CostModelUnavailable, additive_cost, resolve_objective
from sr_search.estimator import CostAwareRegressor
from sr_search.front import ParetoFront
from sr_search.operon_engine import node_keys, operon_symbols, scale_offset, tree_to_sympy

op = pytest.importorskip('pyoperon')

X0, X1, X2 = sympy.symbols('x0 x1 x2', real=True)


@pytest.fixture(scope='module')
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (120, 3))
    return X, 2.5 * X[:, 0] * X[:, 1]


def _dataset(X):
    ds = op.Dataset(np.asfortranarray(np.column_stack((X, X[:, 0]))))
    hashes = [v.Hash for v in sorted(ds.Variables, key=lambda v: v.Index)]
    return ds, hashes


def _var(h, w=1.0):
    n = op.Node(op.NodeType.Variable)
    n.HashValue = h
    n.CalculatedHashValue = h
    n.Value = w
    return n


def test_tree_export_keeps_small_weights_exactly():
    X = np.random.default_rng(1).uniform(0.5, 2.0, (20, 3))
    ds, h = _dataset(X)
    # postfix: 1e-5*x2 + (2.5*x0) * x1   (operon: a node's first child is the node right before it)
    nodes = [_var(h[2], 1e-5), _var(h[1]), _var(h[0], 2.5), op.Node(op.NodeType.Mul), op.Node(op.NodeType.Add)]
    tree = op.Tree(nodes).UpdateNodes()
    expr = tree_to_sympy(tree, {h[i]: i for i in range(3)})
    w = float(np.float32(1e-5))  # operon stores float32
    assert expr == sympy.Float(w) * X2 + sympy.Float(2.5) * X0 * X1
    # the infix formatter rounds the weight away: that is why trees are walked, not printed
    infix = op.InfixFormatter.Format(tree, {h[i]: f'x{i}' for i in range(3)}, 3)
    assert '(0.000 * x2)' in infix
    # the weighted leaf is an explicit multiply (3 nodes), charged by the node count
    assert count_nodes(expr) == 1 + 3 + 4
    ref = op.Evaluate(tree, ds, op.Range(0, ds.Rows))
    np.testing.assert_allclose(Expression(expr).evaluate(X), ref, rtol=1e-6)


@pytest.mark.parametrize('kind, fn', [('Sub', np.subtract), ('Div', np.divide)])
def test_child_order_of_non_commutative_nodes(kind, fn):
    X = np.random.default_rng(2).uniform(0.5, 2.0, (20, 3))
    ds, h = _dataset(X)
    tree = op.Tree([_var(h[1]), _var(h[0]), op.Node(getattr(op.NodeType, kind))]).UpdateNodes()
    expr = tree_to_sympy(tree, {h[i]: i for i in range(3)})
    np.testing.assert_allclose(Expression(expr).evaluate(X), fn(X[:, 0], X[:, 1]))
    np.testing.assert_allclose(op.Evaluate(tree, ds, op.Range(0, ds.Rows)), fn(X[:, 0], X[:, 1]), rtol=1e-6)


def test_a_function_of_a_huge_constant_is_rejected_not_evaluated():
    """exp(1e30) as a sympy Float is evaluated eagerly at arbitrary precision and exhausts memory (a search
    stopped with MemoryError on it): the conversion rejects it as non-firmware instead."""
    from hls_gen.errors import ExpressionError

    X = np.random.default_rng(3).uniform(-1, 1, (10, 3))
    ds, h = _dataset(X)
    c = op.Node.Constant(1e30)
    tree = op.Tree([c, op.Node(op.NodeType.Exp)]).UpdateNodes()
    with pytest.raises(ExpressionError, match='out of any fixed-point range'):
        tree_to_sympy(tree, {h[i]: i for i in range(3)})
    small = op.Tree([op.Node.Constant(2.0), op.Node(op.NodeType.Exp)]).UpdateNodes()
    assert abs(float(tree_to_sympy(small, {})) - np.exp(2.0)) < 1e-12


def test_a_shared_subtree_memo_gives_the_same_expressions():
    """The search converts trees with one memo of subtrees (offspring share them with their parents): the
    result is the fresh conversion's, and a subtree converted once is reused, under another parent too."""
    X = np.random.default_rng(4).uniform(0.5, 2.0, (20, 3))
    _, h = _dataset(X)
    vi = {h[i]: i for i in range(3)}

    def shared():  # (x1 - 0.25*x0), as postfix nodes
        return [_var(h[0], 0.25), _var(h[1]), op.Node(op.NodeType.Sub)]

    trees = [
        op.Tree([*shared(), op.Node(op.NodeType.Sin)]).UpdateNodes(),  # sin(x1 - 0.25*x0)
        op.Tree([*shared(), _var(h[2], 3.0), op.Node(op.NodeType.Div)]).UpdateNodes(),  # 3*x2 / (x1 - 0.25*x0)
        op.Tree([_var(h[2]), *shared(), op.Node(op.NodeType.Mul), op.Node.Constant(1.5),
                 op.Node(op.NodeType.Add)]).UpdateNodes(),  # 1.5 + (x1 - 0.25*x0)*x2
    ]
    memo: dict = {}
    for t in trees:
        got = tree_to_sympy(t, vi, {'sin': 'sin_lut'}, memo)
        assert got == tree_to_sympy(t, vi, {'sin': 'sin_lut'})
        np.testing.assert_allclose(Expression(got).evaluate(X), Expression(tree_to_sympy(t, vi, {'sin': 'sin_lut'})).evaluate(X))
    key = tuple(node_keys(trees[0].Nodes[:3]))
    assert memo[key] == X1 - sympy.Float(0.25) * X0
    assert tree_to_sympy(trees[1], vi) == sympy.Float(3.0) * X2 / (X1 - sympy.Float(0.25) * X0)


def test_lut_functions_are_exported_by_name():
    X = np.random.default_rng(3).uniform(-1, 1, (10, 3))
    ds, h = _dataset(X)
    tree = op.Tree([_var(h[0], 0.5), op.Node(op.NodeType.Sin)]).UpdateNodes()
    expr = tree_to_sympy(tree, {h[i]: i for i in range(3)}, {'sin': 'sin_lut'})
    assert Expression(expr).lut_functions == {'sin_lut'}
    enabled, lut = operon_symbols(['+', '*', 'sin_lut', 'exp'])
    assert lut == {'sin': 'sin_lut'} and enabled['sin'] == 'Sin' and enabled['exp'] == 'Exp'
    with pytest.raises(ValueError, match='cube'):
        operon_symbols(['cube'])
    with pytest.raises(ValueError, match='choose one'):
        operon_symbols(['sin', 'sin_lut'])


def test_scale_offset_drops_terms_that_do_not_matter():
    y = np.linspace(-1, 1, 50)
    assert scale_offset(y * (1 + 1e-12), y) == (1.0, 0.0)
    a, b = scale_offset(y, 3 * y + 1)
    assert a == pytest.approx(3) and b == pytest.approx(1)


def test_recovers_product_with_complexity_objective(data):
    X, y = data
    t0 = time.perf_counter()
    reg = CostAwareRegressor(
        binary_operators=['+', '-', '*'], objective='complexity', generations=15, population_size=60,
        maxsize=10, random_state=0,
    ).fit(X, y)
    assert time.perf_counter() - t0 < 45
    best = reg.best_
    e = best.expr.sympy_expr
    assert e.free_symbols == {X0, X1}
    # the loss is the firmware's (ap_fixed<16,6>: steps of 2**-10), the float expression is exact
    assert best.complexity <= 5 and best.loss < 1e-5 and best.metrics['float_r2'] > 1 - 1e-9
    assert best.metrics['firmware_r2'] > 0.99999
    coeff = e / (X0 * X1)
    assert float(coeff) == pytest.approx(2.5, rel=1e-6)
    np.testing.assert_allclose(reg.predict(X), y, atol=1e-5)
    assert isinstance(reg.front_, ParetoFront) and reg.stats_['seed'] == 0
    assert all(m.cost == {'complexity': float(m.complexity)} for m in reg.front_)
    # same seed, same front
    again = CostAwareRegressor(
        binary_operators=['+', '-', '*'], objective='complexity', generations=15, population_size=60,
        maxsize=10, random_state=0,
    ).fit(X, y)
    assert [m.expression for m in again.front_] == [m.expression for m in reg.front_]


def test_callback_exception_makes_fit_raise(data):
    X, y = data
    calls = []

    def exploding_cost(exprs):
        calls.append(len(exprs))
        if len(calls) > 20:
            raise ValueError('cost model exploded')
        return np.ones(len(exprs))

    reg = CostAwareRegressor(objective='latency', cost_fn=exploding_cost, generations=20, population_size=50,
                             random_state=1)
    with pytest.raises(ValueError, match='cost model exploded'):
        reg.fit(X, y)
    assert not hasattr(reg, 'front_')


def test_weighted_objective_with_injected_cost_model(data):
    X, y = data
    seen = []

    def cost_fn(exprs):  # a toy cost model: LUTs grow with nodes, DSPs with products
        assert all(isinstance(e, Expression) for e in exprs)
        seen.append(len(exprs))
        out = []
        for e in exprs:
            n = count_nodes(e.sympy_expr)
            out.append({'latency': n / 2, 'lut': 10.0 * n, 'dsp': float(str(e).count('*')), 'ff': 1.0})
        return out

    reg = CostAwareRegressor(objective={'lut': 1, 'dsp': 100}, cost_fn=cost_fn, generations=8,
                             population_size=40, random_state=2).fit(X, y)
    assert seen and max(seen) >= 1
    for m in reg.front_:
        assert set(m.cost) == {'latency', 'lut', 'dsp', 'ff'}
        assert m.objective == pytest.approx(m.cost['lut'] + 100 * m.cost['dsp'])
    cheapest = min(m.cost['latency'] for m in reg.front_)
    assert reg.select(budget={'latency': cheapest}).cost['latency'] <= cheapest


def test_params_are_validated_in_fit_not_init(data):
    X, y = data
    for bad in (dict(binary_operators=['+', 'frobnicate']), dict(unary_operators=['+']),
                dict(objective='speed'), dict(objective={'bram': 1}), dict(engine='gplearn'),
                dict(maxsize=1), dict(precision='float32'), dict(budget_seconds=-1), dict(loss='huber')):
        reg = CostAwareRegressor(**bad)  # storing is fine (scikit-learn convention)
        with pytest.raises((ValueError, TypeError)):
            reg.fit(X, y)


def test_missing_cost_model_is_a_clear_error(monkeypatch, data):
    X, y = data
    monkeypatch.setitem(sys.modules, 'costmodel', None)  # make 'from costmodel import predict' fail
    with pytest.raises(CostModelUnavailable, match="objective='complexity'"):
        CostAwareRegressor(objective='dsp', generations=2, population_size=10).fit(X, y)


def test_additive_objective_uses_operator_costs():
    e = Expression.parse('sin(x0) + 2*x1').sympy_expr
    # nodes: + (1), sin (8), x0 (1), * (1), 2 (1), x1 (1)
    assert additive_cost(e, {'+': 1, '*': 1, 'sin': 8}) == 13
    lut = Expression.parse('sin_lut(x0)').sympy_expr
    assert additive_cost(lut, {'sin': 8}) == 9  # a LUT inherits its function's cost unless given
    assert additive_cost(lut, {'sin': 8, 'sin_lut': 2}) == 3
    ev = CostEvaluator('additive')
    assert ev([Expression.parse('tan(x0)')])[0] == 49
    assert resolve_objective({'lut': 1, 'dsp': 10}).describe() == '1*lut + 10*dsp'


def test_time_budget_stops_the_search(data):
    X, y = data
    t0 = time.perf_counter()
    seen = []
    reg = CostAwareRegressor(generations=10**6, population_size=30, budget_seconds=1, progress=seen.append).fit(X, y)
    assert time.perf_counter() - t0 < 20
    assert seen and {'generation', 'evaluations', 'elapsed_s'} <= set(seen[-1])
    assert reg.stats_['generations'] < 10**6 and isinstance(reg.stats_['seed'], int)  # drawn and reported


def test_lazy_package_exports():
    import sr_search

    assert sr_search.CostAwareRegressor is CostAwareRegressor
    with pytest.raises(AttributeError):
        sr_search.nope  # noqa: B018 - the attribute access is what raises


def test_wild_operators_never_reach_the_cost_model_invalid(data):
    """Division by zero constants, exp overflow, log of negatives: such individuals get a penalty;
    the cost model only ever sees expressions that hls_gen's parser accepts with finite constants."""
    from sr_search.front import expression_to_text

    X, _ = data
    Xz = np.column_stack([X, np.zeros(len(X))])  # a constant-zero column invites 1/0
    y = np.exp(X[:, 0]) / (X[:, 1] ** 2 + 0.1)
    checked = []

    def strict_cost(exprs):
        for e in exprs:
            again = Expression.parse(expression_to_text(e.sympy_expr))  # raises if not valid
            assert all(np.isfinite(float(a)) for a in again.sympy_expr.atoms(sympy.Number))
            checked.append(1)
        return np.array([float(count_nodes(e.sympy_expr)) for e in exprs])

    reg = CostAwareRegressor(binary_operators=['+', '-', '*', '/'],
                             unary_operators=['exp', 'log', 'sqrt', 'tan', 'square', 'log_abs'],
                             objective='latency', cost_fn=strict_cost, generations=6, population_size=60,
                             random_state=5).fit(Xz, y)
    assert checked and len(reg.front_) >= 1
    assert np.all(np.isfinite(reg.predict(Xz)))


@pytest.mark.parametrize('answer', [
    lambda e: __import__('pandas').DataFrame({'latency': [1, 2], 'lut': [10, 20]}),
    lambda e: np.array([[1, 10, 0, 5], [2, 20, 1, 6]]),  # columns in TARGETS order
    lambda e: [{'latency': 1, 'lut': 10}, {'latency': 2, 'lut': 20}],
    lambda e: {'latency': [1, 2], 'lut': np.array([10, 20])},
])
def test_cost_model_answers_in_any_table_shape(answer):
    from sr_search.cost import CostFunctionError

    exprs = [Expression.parse('x0*x1'), Expression.parse('sin(x0)')]
    ev = CostEvaluator({'latency': 1, 'lut': 0.5}, cost_fn=answer)
    result = ev.evaluate(exprs)
    assert [v for v, _ in result] == [6.0, 12.0]
    if 'dsp' not in result[0][1]:
        with pytest.raises(CostFunctionError, match='no dsp'):
            CostEvaluator('dsp', cost_fn=answer).evaluate(exprs)
    else:
        from sr_search.cost import tiebreak_term

        # dsp takes few values: ties are broken by LUTs, below half a DSP
        assert [v for v, _ in CostEvaluator('dsp', cost_fn=answer).evaluate(exprs)] == [
            0.0 + tiebreak_term(10), 1.0 + tiebreak_term(20)]


def test_discrete_objectives_break_ties_by_luts_without_reordering_levels():
    from sr_search.cost import TIEBREAK_MAX, tiebreak_term

    exprs = [Expression.parse(t) for t in ('x0*x1', 'sin(x0)', 'x0 + x1', 'x0')]
    answer = lambda e: {'latency': [2, 2, 1, 1], 'lut': [50, 9000, 1e6, 0]}  # noqa: E731
    v = CostEvaluator('latency', cost_fn=answer)(exprs)
    assert v[0] < v[1] and v[3] < v[2] < v[0]  # LUTs order within a level, never across levels
    assert all(0 <= tiebreak_term(x) < TIEBREAK_MAX for x in (0, 1, 1e9))
    # a latency-only cost model (the published Vivado calibration) gives no LUTs: latency alone
    only = CostEvaluator('latency', cost_fn=lambda e: {'latency': [3, 1, 2, 1]})(exprs)
    assert list(only) == [3, 1, 2, 1]
    # lut and ff are fine-grained already: no tie-break
    assert list(CostEvaluator('lut', cost_fn=answer)(exprs)) == [50, 9000, 1e6, 0]

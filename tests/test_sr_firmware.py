"""The search scores what the firmware computes: canonical postfix trees, firmware loss, precisions, honest fronts."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from costmodel.api import get_model
from costmodel.fxeval import FixedPointEvaluator
from costmodel.postfix import Postfix
from hls_gen import Design, Expression
from hls_gen.emulate import emulate
from sr_search import firmware as fw
from sr_search.estimator import CostAwareRegressor
from sr_search.front import ParetoFront
from srcost.cli import app

X0, X1, X2 = ('v', 0), ('v', 1), ('v', 2)
C = fw.const


@pytest.mark.parametrize('tree', [
    fw.add([fw.mul([C(0.7), X0]), fw.mul([C(1.9), X0])]),                 # like terms: 2.6*x0
    fw.mul([C(2.5), fw.add([X0, X1])]),                                    # a number over a sum: 2.5*x0 + 2.5*x1
    fw.mul([fw.add([X0, C(1.5)]), C(2.0), X1]),                             # ... also beside other factors
    fw.mul([X0, X0, X1]),                                                  # x0**2*x1
    fw.func(fw.dag.OP_CODE['sin'], fw.mul([C(-2.0), X0]), False),          # sin(-2*x0) = -sin(2*x0)
    fw.func(fw.dag.OP_CODE['cos'], fw.neg(X1), False),                     # cos(-x1) = cos(x1)
    fw.add([X0, fw.neg(fw.add([X1, X2]))]),                                # x0 - (x1 + x2)
    fw.mul([X0, ('inv', fw.mul([C(3.0), X1]))]),                           # x0/(3*x1)
    fw.func(fw.dag.ABS, fw.mul([C(-2.0), X0]), False),                     # 2*|x0|
    fw.func(fw.dag.OP_CODE['sqrt'], fw.mul([C(4.0), X1]), False),          # 2*sqrt(x1)
    fw.func(fw.dag.OP_CODE['exp'], C(0.5), False),                         # a number
    fw.scaled(fw.add([fw.mul([C(0.3), X0]), fw.func(fw.dag.OP_CODE['sin'], X1, False)]), 1.7, -0.2),
])
def test_canonical_trees_compute_and_cost_what_the_exported_expression_does(tree):
    ours = fw.to_postfix([tree])
    theirs = Postfix.from_expressions([Expression.parse(fw.to_text(tree))])
    assert len(ours.op) == len(theirs.op) and sorted(ours.op) == sorted(theirs.op), fw.to_text(tree)
    X = np.random.default_rng(0).uniform(-4, 4, (500, 3))
    ev = FixedPointEvaluator('ap_fixed<16,6>')
    assert np.array_equal(ev.evaluate(ours, X), ev.evaluate(theirs, X)), fw.to_text(tree)
    model = get_model('analytic', 'open')
    assert np.array_equal(model.predict_postfix(ours), model.predict_postfix(theirs), equal_nan=True), fw.to_text(tree)


def _data(problem: int, n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 4))
    y = [2.5 * X[:, 0] * X[:, 1] - np.sin(X[:, 2]),
         X[:, 0] ** 2 - 0.5 * X[:, 1] * X[:, 2] + np.cos(X[:, 3]),
         np.exp(0.3 * X[:, 3]) + 0.8 * X[:, 2]][problem]
    return X, y + rng.normal(0, 0.01, n)


@pytest.mark.parametrize('problem,precision,objective', [(0, 'ap_fixed<16,6>', 'complexity'),
                                                         (1, 'ap_fixed<12,5>', 'additive'),
                                                         (2, 'ap_fixed<16,6>', 'latency')])
def test_every_front_members_firmware_r2_is_the_trace_emulation_of_its_design(problem, precision, objective):
    X, y = _data(problem)
    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], unary_operators=['sin', 'exp'], generations=8,
                             population_size=80, maxsize=15, random_state=problem, precision=precision,
                             objective=objective).fit(X, y)
    assert reg.stats_['loss_on'] == 'firmware' and reg.stats_['firmware_loss_rows'] == 600
    for m in reg.front_:
        assert m.precision == precision
        design = Design.build([m.expression], precision, n_inputs=4)
        out = emulate(design, X, 'trace')[:, 0]
        r2 = 1 - np.mean((out - y) ** 2) / np.var(y)
        assert m.metrics['firmware_r2'] == pytest.approx(r2, rel=1e-12, abs=1e-12), m.expression
        assert m.loss == pytest.approx(np.mean((out - y) ** 2), rel=1e-12, abs=1e-15)
        assert math.isfinite(m.metrics['float_r2'])


def test_the_firmware_loss_sees_what_the_float_loss_does_not():
    # at ap_fixed<8,4> (steps of 1/16) a small term is invisible in firmware: the float and firmware R2 differ
    X, y = _data(0)
    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], unary_operators=['sin'], generations=6, population_size=60,
                             maxsize=12, random_state=1, precision='ap_fixed<8,4>', objective='complexity').fit(X, y)
    assert any(abs(m.metrics['firmware_r2'] - m.metrics['float_r2']) > 1e-4 for m in reg.front_)


def test_precisions_give_one_front_whose_members_say_their_precision(tmp_path):
    X, y = _data(0)
    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], unary_operators=['sin'], generations=6,
                             population_size=60, maxsize=12, random_state=0, objective='complexity',
                             precision=['ap_fixed<10,5>', 'ap_fixed<16,6>']).fit(X, y)
    precs = {m.precision for m in reg.front_}
    assert precs <= {'ap_fixed<10,5>', 'ap_fixed<16,6>'} and precs
    assert set(reg.stats_['per_precision']) == {'ap_fixed<10,5>', 'ap_fixed<16,6>'}
    pts = [(m.objective, m.loss) for m in reg.front_]
    for i, (c, loss) in enumerate(pts):  # nondominated across precisions
        assert not any(c2 <= c and l2 <= loss and (c2 < c or l2 < loss) for j, (c2, l2) in enumerate(pts) if j != i)
    # a plain CSV: pandas and csv read it with no options; the metadata sits beside it
    path = reg.front_.save(tmp_path / 'front.csv')
    df = pd.read_csv(path)
    for col in ('expression', 'precision', 'loss', 'firmware_r2', 'float_r2', 'complexity', 'objective'):
        assert col in df.columns
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == len(reg.front_) and rows[0]['precision'] in precs
    back = ParetoFront.load(path)
    assert [m.precision for m in back] == [m.precision for m in reg.front_]
    assert (tmp_path / 'front.meta.json').exists()


@pytest.mark.parametrize('args,message', [
    (['--precisions', 'ap_fixed<10,5>,ap_fixd<12,6>'], 'cannot parse precision'),
    (['--precisions', 'ap_fixed<10,12>'], 'integer bits 12'),
    (['--precision', 'ap_fixed<8,3>'], 'column x0 ranges over'),
    (['--loss-on', 'fast'], '--loss-on must be'),
])
def test_search_refuses_bad_precisions_and_data_in_one_line(tmp_path, args, message):
    X, y = _data(0, n=50)
    X[:, 0] *= 3  # [-6, 6]: fits <16,6>, not <8,3> ([-4, 4))
    data = tmp_path / 'd.csv'
    pd.DataFrame(np.column_stack([X, y]), columns=['x0', 'x1', 'x2', 'x3', 'y']).to_csv(data, index=False)
    out = tmp_path / 'front.csv'
    res = CliRunner().invoke(app, ['search', str(data), '--target', 'y', '--budget-seconds', '1', '--out', str(out), *args])
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], res.output
    assert not out.exists()


def _random_tree(rng: np.random.Generator, depth: int = 0) -> tuple:
    r = rng.random()
    if depth >= 3 or r < 0.3:
        return ('v', int(rng.integers(0, 3))) if rng.random() < 0.6 else C(float(rng.normal(0, 2)))
    if r < 0.45:
        return fw.func(fw.dag.OP_CODE[str(rng.choice(['sin', 'exp', 'cos']))], _random_tree(rng, depth + 1), False)
    parts = [_random_tree(rng, depth + 1) for _ in range(int(rng.integers(2, 4)))]
    return fw.add(parts) if r < 0.75 else fw.mul(parts)


def _jittered(batch: Postfix, precision, rng: np.random.Generator) -> Postfix:
    """The same expression with every constant moved within its step of the precision (as the firmware holds it)."""
    param, cst = batch.param.copy(), batch.const.copy()
    step = precision.step

    def move(v: float, magnitude: bool) -> float:
        q = precision.quantize(np.array([abs(v) if magnitude else v]))[0]
        for scale in (0.5, 0.2, 0.05, 0.01):
            w = v + float(rng.uniform(-scale, scale)) * step
            if (np.sign(w) == np.sign(v) or not magnitude) and precision.quantize(np.array([abs(w) if magnitude else w]))[0] == q:
                return w
        return v

    for j, op in enumerate(batch.op):
        if op == fw.dag.CONST:
            param[j] = move(param[j], False)
        elif not math.isnan(cst[j]):
            cst[j] = move(cst[j], op == fw.dag.MUL)
    return Postfix(batch.op, param, cst, batch.nkids, batch.offsets)


@pytest.mark.parametrize('precision', ['ap_fixed<16,6>', 'ap_fixed<10,4,AP_RND,AP_SAT>'])
def test_constants_within_a_step_are_one_design(precision):
    """``as_firmware`` is what lets the search score a candidate once per design: candidates whose constants differ
    by less than a step of the precision get one batch (one key), and the firmware computes the same bits from
    that batch as from each candidate's own constants."""
    from hls_gen.precision import Precision

    p = Precision.parse(precision)
    rng = np.random.default_rng(7)
    X = rng.uniform(-3, 3, (400, 3))
    ev = FixedPointEvaluator(precision)
    model = get_model('learned', 'open')
    same = moved = 0
    for _ in range(150):
        try:
            tree = _random_tree(rng)
            batch = fw.to_postfix([tree])
            programs = ev.compile(batch)
        except fw.ExpressionError:
            continue
        if programs.errors:
            continue
        other = _jittered(batch, p, rng)
        if np.array_equal(other.param, batch.param, equal_nan=True) and np.array_equal(other.const, batch.const, equal_nan=True):
            continue
        design = fw.as_firmware(batch, p)
        tree_design = fw.to_postfix([tree], p)
        assert fw.design_key(tree_design) == fw.design_key(design)
        assert fw.design_key(fw.as_firmware(other, p)) == fw.design_key(design)
        assert fw.design_key(fw.as_firmware(design, p)) == fw.design_key(design)  # casting twice is casting once
        same += 1
        out = ev.evaluate(design, X)
        assert np.array_equal(ev.evaluate(batch, X), out, equal_nan=True)
        assert np.array_equal(ev.evaluate(other, X), out, equal_nan=True)
        assert np.isfinite(model.predict_postfix(design, precision)).all()
        # a constant moved by several steps is another design
        consts = np.flatnonzero(batch.op == fw.dag.CONST)
        if len(consts):
            param = batch.param.copy()
            param[consts[0]] += 5 * p.step
            far = Postfix(batch.op, param, batch.const, batch.nkids, batch.offsets)
            assert fw.design_key(fw.as_firmware(far, p)) != fw.design_key(design)
            moved += 1
    assert same >= 60 and moved >= 20, (same, moved)


def test_scale_is_the_product_by_a_number():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(400):
        try:
            t = _random_tree(rng)
        except fw.ExpressionError:
            continue
        subtrees = [t, *(t[2] if t[0] in ('+', '*') else ())]
        for u in subtrees:
            for c in (-1.0, 2.5, -0.75, 1e-3):
                try:
                    ref = fw.mul([C(c), u])
                except fw.ExpressionError:
                    continue
                assert fw.scale(u, c) == ref, (u, c)
                checked += 1
    assert checked > 1000


def test_the_archive_keeps_every_non_dominated_design_it_was_offered():
    from sr_search.operon_engine import _Archive

    rng = np.random.default_rng(5)
    offers = [(float(rng.integers(0, 30)), float(rng.integers(0, 30)), i) for i in range(400)]
    a = _Archive(lambda t: t)
    for lv, c, t in offers:
        a.offer(lv, c, t)
    a.offer(math.inf, 0.0, -1)  # never kept: not finite
    kept = {(lv, c) for lv, c, _ in offers}
    front = {(lv, c) for lv, c in kept if not any(l2 <= lv and c2 <= c and (l2, c2) != (lv, c) for l2, c2 in kept)}
    assert set(zip(a.losses, a.costs)) == front
    assert a.costs == sorted(a.costs) and all(x > y for x, y in zip(a.losses, a.losses[1:]))
    first = {}
    for lv, c, t in offers:
        first.setdefault((lv, c), t)
    assert [g.Genotype for g in a.individuals()] == [first[k] for k in zip(a.losses, a.costs)]  # the first one met


def test_constants_round_to_few_signed_powers_of_two():
    assert fw.csd_round(2.4756801061432334, 1) == 2.0
    assert fw.csd_round(2.4756801061432334, 2) == 2.5
    assert fw.csd_round(2.4756801061432334, 3) == 2.46875  # 2 + 0.5 - 1/32
    assert fw.csd_round(-0.3, 2) == -0.3125 and fw.csd_round(0.0, 3) == 0.0
    t = fw.scaled(fw.mul([('v', 0), ('v', 1)]), 2.4756801061432334, 1.045754610082704)
    r = fw.map_constants(t, lambda c: fw.csd_round(c, 2))
    assert Expression.parse(fw.to_text(r)).canonical == Expression.parse('2.5*x0*x1 + 1.0625').canonical
    one = fw.map_constants(fw.mul([fw.const(1.02), ('v', 2)]), lambda c: fw.csd_round(c, 1))
    assert one == ('v', 2)  # a coefficient rounded to 1 folds away

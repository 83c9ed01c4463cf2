"""The open backend end to end: real da4ml tracing, Yosys synthesis and Verilator simulation."""

import json
import stat
import subprocess
import sys

import numpy as np
import pytest

from hls_gen import Design, SynthesisError, ToolNotFound
from hls_gen.backends import get_backend
from hls_gen.backends.open import count_cells

pytestmark = pytest.mark.synth


def test_synth_cli_acceptance_design(tmp_path):
    r = subprocess.run(
        [sys.executable, '-m', 'srcost', 'synth', '2.1*x0*x1 + sin_lut(x2) - x3**2', '--precision', 'ap_fixed<16,6>',
         '--lut', 'sin:1024:-4:4', '--json'],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ('latency_cycles', 'ii', 'lut', 'ff', 'dsp', 'bram_18k', 'backend', 'precision', 'clock_estimate_ns'):
        assert key in d
    assert d['backend'] == 'open' and d['precision'] == 'ap_fixed<16,6>'
    assert d['dsp'] >= 1  # x0*x1 and x3**2 are real multipliers
    assert d['lut'] > 100  # the 1024-entry sin ROM is built from LUTs
    assert d['latency_cycles'] >= 1 and d['ii'] == 1
    assert 'confirmed by Verilator simulation' in d['latency_method']
    assert 'estimate' in d['clock_estimate_method']
    assert d['cells']['DSP48E2'] == d['dsp']


def test_batch_shares_one_yosys_run_and_counts_differ(tmp_path):
    be = get_backend('open', verify_latency=False)
    small = Design.build(['x0 + x1'], 'ap_fixed<16,6>')
    big = Design.build(['x0*x1 + x2*x3'], 'ap_fixed<18,8>')
    r_small, r_big = be.synthesize([small, big], tmp_path)
    script = (tmp_path / 'synth.ys').read_text()
    # one synthesis, each design a kept submodule: synth_xilinx in two halves around the block ROMs' memory_dff
    assert script.count('read_verilog') == 1 and script.count('stat -json') == 1
    assert [line.split(' -run ')[1] for line in script.splitlines() if line.startswith('synth_xilinx')] == [':prepare', 'prepare:']
    assert 'keep_hierarchy' in script
    assert r_small.dsp == 0 and r_big.dsp >= 2
    assert r_big.lut + r_big.ff > r_small.lut + r_small.ff - 1
    assert r_small.design_digest == small.digest()


def test_simulation_matches_the_float_model_within_quantization(tmp_path):
    be = get_backend('open')
    d = Design.build(['0.5*x0 - x1', 'x0*x1'], 'ap_fixed<16,6>')
    X = np.random.default_rng(3).uniform(-4, 4, (500, 2))
    p = be.write(d, tmp_path / 'prj')
    got = be.simulate(p, X)
    Xq = d.precision.quantize(X)
    ref = np.stack([e.evaluate(Xq) for e in d.outputs], 1)
    np.testing.assert_array_equal(got, d.precision.quantize(ref))  # exact arithmetic, one final truncation


def test_simulations_in_threads_read_their_own_rom_files(tmp_path):
    """A simulation opens its ROM files relative to the working directory, which threads share (srcost
    validate synthesizes its batches in threads): each must still read its own."""
    from concurrent.futures import ThreadPoolExecutor

    be = get_backend('open')
    rom = be.write(Design.build(['sin_lut(x0)*x1'], 'ap_fixed<12,5>', ['sin:256:-4:4']), tmp_path / 'rom')
    plain = be.write(Design.build(['x0 + x1'], 'ap_fixed<12,4>'), tmp_path / 'plain')
    X = np.random.default_rng(1).uniform(-3, 3, (64, 2))
    want = {'rom': be.simulate(rom, X), 'plain': be.simulate(plain, X)}
    jobs = [('rom', rom), ('plain', plain)] * 40
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda job: (job[0], be.simulate(job[1], X)), jobs))
    for name, out in got:
        np.testing.assert_array_equal(out, want[name])


def _script(path, body):
    path.write_text('#!/bin/sh\n' + body + '\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_crashing_and_hanging_yosys_are_reported(tmp_path, monkeypatch):
    d = Design.build(['x0 + x1'])
    be = get_backend('open', verify_latency=False)
    monkeypatch.setenv('SRCOST_YOSYS', _script(tmp_path / 'crash', 'echo boom >&2; exit 3'))
    with pytest.raises(SynthesisError) as e:
        be.synthesize([d], tmp_path / 'a', timeout_s=30)
    assert 'exit 3' in str(e.value) and e.value.log_path
    monkeypatch.setenv('SRCOST_YOSYS', _script(tmp_path / 'hang', 'sleep 30'))
    with pytest.raises(SynthesisError) as e:
        be.synthesize([d], tmp_path / 'b', timeout_s=1)
    assert 'within 1 s' in str(e.value)
    monkeypatch.setenv('SRCOST_YOSYS', str(tmp_path / 'missing'))
    with pytest.raises(ToolNotFound):
        be.synthesize([d], tmp_path / 'c', timeout_s=30)


def test_count_cells_maps_xilinx_primitives():
    c = count_cells({'LUT6': 3, 'LUT2': 1, 'SRL16E': 2, 'FDRE': 5, 'FDSE': 1, 'DSP48E2': 2, 'RAMB36E2': 1, 'RAMB18E2': 1,
                     'CARRY8': 2, 'MUXF7': 4})
    assert c == {'lut': 6, 'ff': 6, 'dsp': 2, 'bram_18k': 3, 'uram': 0, 'carry': 2}


@pytest.mark.synth
def test_a_design_that_quantizes_to_zero_has_no_logic(tmp_path):
    """0.0077*x0 at ap_fixed<10,3> is the constant 0 (the LSB is 2^-7): da4ml gives it zero-width ports; it has
    no cells and shares a batch with a real design without breaking it (it used to fail the whole batch)."""
    from hls_gen.backends import get_backend

    zero = Design.build(['0.0077*x0'], 'ap_fixed<10,3>')
    real = Design.build(['x0 + x1'], 'ap_fixed<10,3>')
    b = get_backend('open', verify_latency=True)
    r0, r1 = b.synthesize([zero, real], tmp_path, timeout_s=600)
    assert (r0.lut, r0.ff, r0.dsp, r0.carry) == (0, 0, 0, 0) and 'constant 0' in r0.latency_method
    assert r1.lut > 0 and 'confirmed by Verilator' in r1.latency_method


def test_a_datapath_too_wide_to_pipeline_is_a_clear_error(tmp_path):
    """(x0*x1*x2*x3)**16*(x4*x5*x6*x7)**16 at ap_fixed<18,4> grows a product of some 2,300 bits, past the
    float ranges da4ml keeps (a 217-bit one synthesizes: tests/test_wide_words.py); srcost synth says what is
    wrong, in one line, and writes nothing."""
    r = subprocess.run(
        [sys.executable, '-m', 'srcost', 'synth', '(x0*x1*x2*x3)**16*(x4*x5*x6*x7)**16', '--precision',
         'ap_fixed<18,4>'], cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode != 0
    assert 'bits wide' in r.stderr and 'narrower precision' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_lut_index_coarser_than_one_entry_is_traced(tmp_path):
    """sin_lut(0.25*x0) at ap_fixed<10,5>: the index (x + 4) * 128 moves in steps of 4, so the ROM holds every
    4th entry (it used to fail inside da4ml with 'Input variable size does not match lookup table size (256 !=
    1021)'; 4 of 80 random designs of a fresh set did). hls4ml's table is degenerate at this precision (its
    step T(8/1024) truncates to 0, so every sample is sin(-4)); the RTL, da4ml's trace and hls4ml's C
    simulation agree bit for bit, and the cost model predicts the design that the backend synthesizes."""
    pytest.importorskip('hls_gen.csim')
    from costmodel.api import get_model
    from hls_gen.emulate import emulate

    d = Design.build(['sin_lut(0.25*x0)', 'exp_lut(0.5*x1) + x1'], 'ap_fixed<10,5>', luts=['sin:1024:-4:4', 'exp:1024:0:8'])
    X = np.random.default_rng(5).uniform(-20, 20, (1000, 2))
    csim = emulate(d, X, 'hls4ml')
    np.testing.assert_array_equal(emulate(d, X, 'trace'), csim)
    np.testing.assert_array_equal(emulate(d, X, 'open', workdir=tmp_path / 'emu'), csim)
    r = get_backend('open').synthesize([d], tmp_path / 'syn', timeout_s=600)[0]
    p = get_model('learned', 'open').predict([d]).iloc[0]
    assert (p['latency_cycles'], p['dsp']) == (r.latency_cycles, r.dsp)

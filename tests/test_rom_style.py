"""Tables in block RAM (rom_style auto | block | distributed): which tables go there, the registered read in
the pipeline and the latency, Verilator's confirmation, the cell count, and the option on Design and CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from hls_gen import Design
from hls_gen.backends import get_backend
from hls_gen.backends.open import OpenBackend, module_name
from hls_gen.errors import ExpressionError, SynthesisError
from srcost.cli import app

EXPRS = ['sin_lut(x0)*x1 + cos_lut(x1)', 'sin_lut(x1 + x0)']
LUTS = ['sin:1024:-8:8', 'cos:1024:-8:8']


def _design(precision: str, rom_style: str = 'auto', exprs=EXPRS) -> Design:
    return Design.build(exprs, precision, LUTS, rom_style=rom_style)


def _block_reads(d: Design, tmp_path) -> tuple[int, int]:
    p = OpenBackend().write(d, tmp_path / module_name(d))
    return p.n_block_reads, p.latency


def test_rom_style_is_checked_and_kept_out_of_the_default_digest():
    with pytest.raises(ExpressionError, match='unknown ROM style'):
        _design('ap_fixed<16,6>', 'bram')
    auto, block = _design('ap_fixed<16,6>'), _design('ap_fixed<16,6>', 'block')
    assert 'rom_style' not in auto.to_dict() and block.to_dict()['rom_style'] == 'block'
    assert auto.digest() != block.digest()
    assert Design.from_dict(block.to_dict()) == block


def test_auto_puts_lut_tables_in_block_ram_and_each_read_starts_a_stage(tmp_path):
    n_auto, lat_auto = _block_reads(_design('ap_fixed<16,6>'), tmp_path / 'a')
    n_dist, lat_dist = _block_reads(_design('ap_fixed<16,6>', 'distributed'), tmp_path / 'd')
    assert (n_auto, n_dist) == (3, 0)
    assert lat_auto == lat_dist + 1  # the registered read


CHAINED = ['exp_lut(sqrt_lut(x0))']  # one block ROM addressed through wiring by another's output
CHAINED_LUTS = ['exp:1024:-8:8', 'sqrt:1024:0:8']


def test_a_read_addressed_from_another_block_read_in_its_stage_starts_two_stages_on(tmp_path):
    chained = Design.build(CHAINED, 'ap_fixed<22,9>', CHAINED_LUTS)
    dist = Design.build(CHAINED, 'ap_fixed<22,9>', CHAINED_LUTS, rom_style='distributed')
    n_auto, lat_auto = _block_reads(chained, tmp_path / 'a')
    n_dist, lat_dist = _block_reads(dist, tmp_path / 'd')
    assert (n_auto, n_dist) == (2, 0)
    # sqrt's address is the input register (no cycle); exp's address is sqrt's output, two registers later
    assert lat_auto == lat_dist + 3


def test_auto_leaves_native_roms_and_degenerate_tables_distributed(tmp_path):
    assert _block_reads(_design('ap_fixed<16,6>', exprs=['sin(x0)*x1']), tmp_path / 'n')[0] == 0
    # at <11,6> a 1024-entry table over [-8, 8] has step T(1/64) = 0: a constant, no ROM
    assert _block_reads(_design('ap_fixed<11,6>'), tmp_path / 'c')[0] == 0
    assert _block_reads(_design('ap_fixed<16,6>', 'block', exprs=['sin(x0)*x1']), tmp_path / 'b')[0] == 1


@pytest.mark.synth
def test_block_roms_map_to_ramb18_and_keep_the_bits(tmp_path):
    be = get_backend('open')
    block, dist = _design('ap_fixed<16,6>'), _design('ap_fixed<16,6>', 'distributed')
    rb, rd = be.synthesize([block, dist], tmp_path / 'syn')  # Verilator confirms each latency
    assert dict(rb.cells).get('RAMB18E2', 0) + 2 * dict(rb.cells).get('RAMB36E2', 0) == rb.bram_18k == 3
    assert rd.bram_18k == 0 and rb.lut < rd.lut / 4
    assert rb.latency_worst == rd.latency_worst + 1
    X = np.random.default_rng(1).uniform(-8, 8, (200, 2))
    assert np.array_equal(be.emulate(block, X, tmp_path / 'eb'), be.emulate(dist, X, tmp_path / 'ed'))


def test_synth_cli_refuses_an_unknown_rom_style_in_one_line():
    res = CliRunner().invoke(app, ['synth', 'sin_lut(x0)', '--rom-style', 'bram'])
    assert res.exit_code == 2
    assert '--rom-style must be one of auto, block, distributed' in res.output


@pytest.mark.synth
def test_chained_block_roms_both_map_to_block_ram(tmp_path):
    # with one register between them Yosys merged it into the first ROM's read port and found no mapping
    # for the second ("no valid mapping found for memory")
    be = get_backend('open')
    chained = Design.build(CHAINED, 'ap_fixed<22,9>', CHAINED_LUTS)
    dist = Design.build(CHAINED, 'ap_fixed<22,9>', CHAINED_LUTS, rom_style='distributed')
    rb, rd = be.synthesize([chained, dist], tmp_path / 'syn')  # Verilator confirms each latency
    assert rb.bram_18k >= 2 and rd.bram_18k == 0
    assert rb.latency_worst == rd.latency_worst + 3
    X = np.random.default_rng(2).uniform(0, 8, (200, 1))
    assert np.array_equal(be.emulate(chained, X, tmp_path / 'eb'), be.emulate(dist, X, tmp_path / 'ed'))


@pytest.mark.synth
def test_a_block_rom_address_register_with_a_reset_is_merged_before_opt_folds_it(tmp_path):
    # design 56 of the training stream: sin_lut(2*x5)'s index clamp (min(i, 1023), a mux with a constant) ends
    # stage 0, and synth_xilinx's opt folds it into the address register as a synchronous reset; memory_dff
    # merges no such register and the ROM, left asynchronous, has no block-RAM mapping. The backend merges
    # the block ROMs' registers before that opt (OpenBackend.block_ports_first).
    from costmodel.generator import generate_designs

    d = generate_designs(57, 0)[56]
    late = OpenBackend(verify_latency=False)
    late.block_ports_first = False
    with pytest.raises(SynthesisError, match='no valid mapping found for memory'):
        late.synthesize([d], tmp_path / 'late')
    r = get_backend('open').synthesize([d], tmp_path / 'first')[0]  # Verilator confirms the latency
    assert r.bram_18k == 2 and r.latency_worst == 4

"""Where the open backend puts a table: block RAM with a registered read, or distributed LUT ROM.

The rule of ``rom_style='auto'`` (Vivado's ``ROM_STYLE`` otherwise: ``block`` | ``distributed``):

- a ``<fn>_lut`` table (an hls4ml ``nnet::lookup_table`` array, which Vivado HLS implements as a ROM
  in block RAM) of at least ``BLOCK_MIN_BITS`` bits (entries x word bits, as da4ml trims them) goes to
  block RAM: the shared userlut ``<16,6>`` report has "1x BRAM_18K ROM sin_lut_samples 1024 x 11b,
  latency 1", the sincos userlut reports 10-19 BRAM_18K at ``<12..16,6>``;
- the ROM of a function without a LUT spec (the open backend's "native" implementation; Vivado
  computes those with hls_math, no table) stays distributed;
- a table whose every entry is equal is a constant and no ROM at all: at ``ap_fixed<W,6>`` with
  ``W <= 11``, hls4ml's 1024-entry table over [-8, 8] has a step ``T(16/1024)`` that rounds to 0, so
  every sample is ``sin(-8)``; the sincos reports have no BRAM there, and neither does the open backend.

A block ROM's address comes straight from a pipeline register (the lookup starts a stage), which Yosys
merges into the memory's read port: a synchronous ROM, mapped to RAMB18E2/RAMB36E2. The read costs that
register's cycle, as Vivado's "latency 1". The Verilog's behaviour is unchanged (register, then ROM), so
simulation and the bits stay as they were. A read addressed from another block read's stage starts one
stage later (``register_block_reads``), and the open backend merges the block ROMs' registers before
Yosys' ``opt`` (``open.BLOCK_PORTS_FIRST``): either way a ROM would be left without a read register.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np

from ..design import ROM_STYLES

BLOCK_MIN_BITS = 1024
_INSTANCE = re.compile(r'\blookup_table #\((\d+), (\d+), "([^"]+)"\)')

BLOCK_ROM_V = """`timescale 1ns / 1ps

// A ROM read through block RAM: the address comes from a pipeline register, which Yosys merges into the
// read port (srcost: hls_gen/backends/roms.py).
module lookup_table_block #(
    parameter BW_IN = 8,
    parameter BW_OUT = 8,
    parameter MEM_FILE = "whatever.mem"
) (
    input [BW_IN-1:0] in,
    output [BW_OUT-1:0] out
);

  (* rom_style = "block" *)
  reg [BW_OUT-1:0] lut_rom [0:(1<<BW_IN)-1];

  initial begin
    $readmemh(MEM_FILE, lut_rom);
  end

  assign out = lut_rom[in];

endmodule
"""


def trace_tables(design):
    """``hls_gen.tracing.trace(design)`` and the da4ml hashes of the tables its ``<fn>_lut`` functions read
    (the rest are native functions' ROMs)."""
    from da4ml.trace import comb_trace
    from da4ml.trace.fixed_variable import table_context

    from ..tracing import Traced, _Tracer, trace_outputs

    class _TableTracer(_Tracer):
        def lut(self, name, arg):
            v = super().lut(name, arg)
            if isinstance(v, self.FV) and v.opr == 'lookup':
                hashes.add(table_context.get_table_from_index(int(v._data)).spec.hash)
            return v

    hashes: set = set()
    t = _TableTracer(design)
    outs = trace_outputs(t, design)
    comb = comb_trace(t.inputs, outs, keep_dead_inputs=True)
    return Traced(comb, design.n_inputs, len(design.outputs)), frozenset(hashes)


def check_rom_style(style: str) -> str:
    from ..errors import ExpressionError

    if style not in ROM_STYLES:
        raise ExpressionError(f'unknown ROM style {style!r}; choose one of {", ".join(ROM_STYLES)}')
    return style


def block_tables(comb, lut_hashes: Collection, style: str) -> set:
    """The hashes of ``comb``'s tables that go to block RAM under ``style``."""
    from da4ml.types import minimal_kif

    check_rom_style(style)
    out = set()
    if style == 'distributed' or comb.lookup_tables is None:
        return out
    for op in comb.ops:
        if op.opcode != 8:
            continue
        table = comb.lookup_tables[op.data]
        bits = len(table) * sum(minimal_kif(op.qint))
        if style == 'block' or (table.spec.hash in lut_hashes and bits >= BLOCK_MIN_BITS):
            out.add(table.spec.hash)
    return out


def register_block_reads(comb, block: Collection, latency_cutoff: float):
    """``comb`` with its latencies moved so that every lookup of a ``block`` table starts a pipeline stage: its
    address is a stage's registered input. Each operation keeps its own delay; what follows a moved lookup
    moves with it. Constants follow their first consumer, as da4ml places them.

    An address computed in the stage of another block read it depends on starts its read one stage later:
    Yosys' ``memory_dff`` merges the register after the first ROM into that ROM's read port (its data
    register) wherever the logic between them reduces to wiring, and the second ROM, left without an
    address register, is asynchronous and has no block-RAM mapping ("no valid mapping found for memory").
    With a second register between them the first ROM keeps one and the second gets the other."""
    if not block:
        return comb
    ops = comb.ops
    c = latency_cutoff + 1e-9  # da4ml's stage of a latency: floor(latency / (cutoff + 1e-9))
    new = [0.0] * len(ops)
    read_stage = [-1.0] * len(ops)  # the latest stage of a block read this value depends on
    for i, op in enumerate(ops):
        preds = _preds(op)
        if op.opcode in (-1, 5):
            new[i] = op.latency
            continue
        live = [j for j in preds if ops[j].opcode != 5]
        old_base = max((ops[j].latency for j in live), default=0.0)
        base = max((new[j] for j in live), default=0.0)
        delay = op.latency - old_base
        read_stage[i] = max((read_stage[j] for j in live), default=-1.0)
        is_block = op.opcode == 8 and comb.lookup_tables[op.data].spec.hash in block
        if is_block and not (ops[op.id0].opcode == -1 and new[op.id0] == 0.0):  # a design input: stage 0 registers it
            stage = np.floor(base / c)
            base = (stage + (2 if read_stage[op.id0] == stage else 1)) * latency_cutoff
        new[i] = base + delay
        if is_block:
            read_stage[i] = np.floor(new[i] / c)
    first_use: dict[int, float] = {}
    for i, op in enumerate(ops):  # constants: at their earliest consumer
        for j in _preds(op):
            if ops[j].opcode == 5:
                first_use[j] = min(first_use.get(j, new[i]), new[i])
    for j, lat in first_use.items():
        new[j] = lat
    return comb._replace(ops=[op._replace(latency=float(lat)) for op, lat in zip(ops, new)])


def _preds(op) -> list[int]:
    ids = [op.id0, op.id1]
    if op.opcode in (6, -6):
        ids.append(op.data & 0xFFFFFFFF)
    return [j for j in ids if j >= 0] if op.opcode != -1 else []


def block_memfiles(pipe, block: Collection) -> set[str]:
    """Names of the memory files (da4ml names them by content) of ``pipe``'s block tables."""
    from da4ml.codegen.rtl.verilog.comb import get_table_name_memfile

    names = set()
    for sol in pipe.solutions:
        for op in sol.ops:
            if op.opcode == 8 and sol.lookup_tables[op.data].spec.hash in block:
                names.add(get_table_name_memfile(sol, op)[0])
    return names


def write_block_roms(src: Path, module: str, memfiles: Collection[str]) -> int:
    """Point the stage files' lookups of ``memfiles`` at ``lookup_table_block``; the number of lookups moved."""
    (src / 'static/lookup_table_block.v').write_text(BLOCK_ROM_V)
    moved = 0
    for stage in sorted(src.glob(f'{module}_stage*.v')):
        text = stage.read_text()

        def swap(m: re.Match) -> str:
            nonlocal moved
            if m.group(3) not in memfiles:
                return m.group(0)
            moved += 1
            return f'lookup_table_block #({m.group(1)}, {m.group(2)}, "{m.group(3)}")'

        stage.write_text(_INSTANCE.sub(swap, text))
    return moved

"""A scheduling model of Vivado / Vitis HLS for hls4ml's ``io_parallel`` symbolic-expression firmware.

How the tool schedules (UG902 / UG1399, "Scheduling"): every operation has a delay in ns from the
tool's characterization of the part; the scheduler places an operation in the cycle of its last input
and chains it there while the summed delay stays within the clock period less the clock uncertainty,
else it starts in the next cycle (a register in between). An operation with a latency (a DSP multiplier
with its output register, a BRAM read, a pipelined sub-function) hands its result over that many cycles
later. The function's latency is the cycle in which its last output is written.

What hls4ml gives the tool (``backends/symbolic/passes/expr_templates.py``): each output is one C++
statement ``y[i] = <expr>;`` in ap_fixed arithmetic, printed by sympy's code printer. So:

- sums are written in sympy's term order; Vivado's expression balancing (on by default for integer
  arithmetic) re-associates them, so they are scheduled as a tree that adds the two earliest operands
  first;
- products are evaluated as written, left to right, the coefficient first (``result_t(c)*a*b*...``),
  and full precision: the width of a partial product is the sum of its factors' widths; ``x**n`` is
  written as ``(x*x*...*x)``; a product by a power of two is a shift (no operator);
- ``hls::sin<W,I>(...)`` and the other math functions are sub-functions with a fixed latency (the
  published single-operator latencies, modelled per function by ``FunctionLatency``); repeated calls on
  the same argument are one call (the tool removes the common subexpression, as the BRAM counts show);
- a user table (``nnet::lookup_table::operator()``) computes its index (a subtraction, a scaling, a
  clamp) and reads a ROM: a registered BRAM read (1 cycle) when the table holds at least
  ``rom_bram_min_bits`` bits, else a LUT ROM in logic; hls4ml's built-in ``nnet::sin_lut``/``cos_lut``
  is a sub-function with its own latency;
- a multiplier goes to a DSP48E2 when its wider operand has at least ``dsp_min_width`` bits and its
  narrower one (often a constant) at least ``dsp_min_narrow``, else to fabric; a wide multiplier is
  several DSPs (27x18 signed, 17-bit slices) whose partial products are summed after the first one's
  register.

Bit widths and constant folding come from the open backend's datapath model (``fixedpoint.Datapath``:
exact intervals of the same ap_fixed arithmetic), so what the open backend folds (a product by a
constant that quantizes to zero, a table whose samples are all equal) costs nothing here either.
Everything in ns is a parameter of ``ScheduleParams``; ``costmodel.vivado_fit`` fits them on the real
reports and writes them, with their provenance, to ``data/costmodel/``.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import NamedTuple

import numpy as np

from hls_gen import Design, LutSpec

from . import dag
from .fixedpoint import _layout, bits, const_f

# Op kinds of a schedule program
IN, ADD, MUL, CALL, TABLE, MUX, CAST = range(7)
KIND_NAMES = ('in', 'add', 'mul', 'call', 'table', 'mux', 'cast')
BUILTIN_LUT_FUNCTIONS = ('sin', 'cos')  # hls4ml's built-in LUTs (nnet_utils/nnet_math.h)
LUT_IMPLS = ('auto', 'builtin', 'table')
# published-table operator (PySR names) -> the srcost functions it stands for
FUNCTION_ROWS = {'sin': ('sin', 'cos'), 'tan': ('tan',), 'sinh': ('sinh',), 'cosh': ('cosh',), 'tanh': ('tanh',),
                 'exp': ('exp',), 'log_abs': ('log', 'log_abs'), 'sqrt_abs': ('sqrt', 'sqrt_abs'), 'pow_abs': ('pow_abs',),
                 '/': ('inv',)}
BRAM18_BITS = 18432


class ScheduleError(ValueError):
    """A design the scheduling model cannot read."""


@dataclass(frozen=True)
class FunctionLatency:
    """Latency in cycles of a math sub-function at ``ap_fixed<W,I>``: ``max(1, ceil(a + b*W + c*I))`` (a CORDIC
    or polynomial unit whose stage count grows with the width), with W no less than ``w_min``, the narrowest
    width it was measured at (the library's internal precision does not shrink below it)."""

    a: float
    b: float = 0.0
    c: float = 0.0
    w_min: int = 0

    def cycles(self, width: int, integer: int) -> int:
        width = max(width, self.w_min)
        return max(1, math.ceil(self.a + self.b * width + self.c * integer - 1e-9))

    @classmethod
    def fit(cls, rows: Sequence[tuple[int, int, int]]) -> FunctionLatency:
        """Fit on (width, integer bits, cycles) rows: the least absolute error of the rounded model over a grid
        of slopes (ties: the smaller slopes), with the best offset for each."""
        W = np.array([r[0] for r in rows], float)
        Iv = np.array([r[1] for r in rows], float)
        y = np.array([r[2] for r in rows], float)
        b = np.round(np.arange(0.0, 3.0001, 0.02), 4)[:, None, None]
        c = np.round(np.arange(-1.5, 1.5001, 0.05), 4)[None, :, None]
        S = b * W + c * Iv  # (b, c, row)
        cand = y - S  # ceil(a + S) == y  <=>  a in (y - S - 1, y - S]: every row's right end is a candidate offset
        pred = np.maximum(1, np.ceil(cand[..., :, None] + S[..., None, :] - 1e-9))  # (b, c, candidate, row)
        err = np.abs(pred - y).sum(axis=-1) + (np.abs(b) + np.abs(c)) / 10  # ties: the smaller slopes
        i, j, k = np.unravel_index(int(np.argmin(err)), err.shape)
        return cls(round(float(cand[i, j, k]), 4), float(b[i, 0, 0]), float(c[0, j, 0]), int(W.min()))


def _default_functions() -> dict[str, FunctionLatency]:
    return {}


@dataclass(frozen=True)
class ScheduleParams:
    """The scheduling model's parameters (ns unless named otherwise). ``FITTED`` are fitted on the real reports'
    latencies and ``BINDING`` on their DSP counts (``costmodel.vivado_fit``; the defaults are the priors); the
    rest is read off the reports' sub-functions and the part; ``uncertainty`` is the tool's default clock
    uncertainty as a fraction of the period (Vivado HLS: 12.5%; Vitis HLS: 27%)."""

    # fitted on the designs (the defaults are the priors the fit starts from and is held near)
    add_ns: float = 0.5  # adder: add_ns + add_ns_per_bit * width (a LUT level and its routing, then the carry chain)
    add_ns_per_bit: float = 0.03
    dsp_in_ns: float = 2.0  # a DSP multiplier's inputs to its output register (DSP48E2 multiplier and M stage)
    dsp_out_ns: float = 0.25  # that register to the next operation (clock to out and routing)
    dsp_tile_ns: float = 0.75  # each further DSP of a wide multiplier (summing its partial product)
    fabric_mul_ns_per_level: float = 0.6  # a fabric multiplier: an adder of its product width plus this per log2 level
    call_in_ns: float = 1.0  # a sub-function's inputs to its first register
    call_out_ns: float = 2.0  # its last register through its output logic to the next operation
    builtin_rom_cycles: int = 0  # more cycles of the built-in sin/cos LUT when its tables are LUT ROMs, not BRAMs
    # fitted on the designs' DSP counts: which multipliers the tool binds to a DSP48E2
    dsp_min_width: int = 10  # a multiplier whose wider operand has this many bits goes to a DSP ...
    dsp_min_narrow: int = 6  # ... unless its narrower one (a short constant) has fewer: shifts and adds in fabric
    # structural, from the reports' sub-functions (not fitted on the design latencies)
    table_read_cycles: int = 1  # nnet::lookup_table::operator() with its ROM in a BRAM (operator_s: latency 1)
    builtin_lut_cycles: int = 3  # nnet::sin_lut / cos_lut (sin_lut_ap_fixed_16_6_5_3_0_s: latency 3)
    rom_bram_min_bits: int = 2304  # a ROM of fewer bits is LUT logic (the reports: 2048 bits in LUTs, 2560 in BRAM)
    clamp_ns: float = 0.5  # the index clamp of a table (two compares and a multiplexer)
    rom_ns: float = 0.6  # a LUT ROM of up to 64 entries
    rom_ns_per_level: float = 0.3  # each doubling above 64 entries (F7/F8 and multiplexers)
    mux_ns: float = 0.3
    uncertainty: float = 0.125
    functions: Mapping[str, FunctionLatency] = field(default_factory=_default_functions)

    FITTED = ('add_ns', 'add_ns_per_bit', 'dsp_in_ns', 'dsp_out_ns', 'dsp_tile_ns', 'fabric_mul_ns_per_level', 'call_in_ns',
              'call_out_ns', 'builtin_rom_cycles')  # on the latencies
    BINDING = ('dsp_min_width', 'dsp_min_narrow')  # on the DSP counts

    def period(self, clock_ns: float) -> float:
        """The clock period the scheduler fills: the target less the uncertainty."""
        return clock_ns * (1.0 - self.uncertainty)

    def add_delay(self, width: int) -> float:
        return self.add_ns + self.add_ns_per_bit * width

    def builtin_cycles(self, width: int, integer: int) -> int:
        """hls4ml's nnet::sin_lut / cos_lut: two 512-entry tables of ap_ufixed<W,I> values in [0, 1]."""
        in_bram = 512 * (width - integer + 1) >= self.rom_bram_min_bits
        return self.builtin_lut_cycles + (0 if in_bram else self.builtin_rom_cycles)

    def function_cycles(self, name: str, width: int, integer: int) -> int:
        f = self.functions.get(name)
        if f is None:
            raise ScheduleError(f'the Vivado model has no latency for {name!r}: fit it with `srcost fit --backend vivado_hls` '
                                'on a published table that measures it')
        return f.cycles(width, integer)

    def replace(self, **kw) -> ScheduleParams:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(kw)
        return ScheduleParams(**d)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != 'functions'}
        d['functions'] = {k: asdict(v) for k, v in sorted(self.functions.items())}
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> ScheduleParams:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known and k != 'functions'}
        kw['functions'] = {k: FunctionLatency(**v) for k, v in (d.get('functions') or {}).items()}
        return cls(**kw)


# -- programs ---------------------------------------------------------------------------------------------

class Op(NamedTuple):
    """One operation of a schedule program. ``args`` index earlier ops.

    ADD: operands in printed order, ``const`` 1 with a constant addend; MUL: factors in printed order with
    their ``widths``, ``const`` the bits of a coefficient that is not a power of two (0: none); CALL: a
    sub-function (``name``, ``impl`` 'hls' or 'builtin'); TABLE: a user lookup table (``entries``, ``const``
    the bits of a non-power-of-two index scale); MUX: abs; CAST: a rounding or saturating cast."""

    kind: int
    args: tuple[int, ...]
    width: int
    widths: tuple[int, ...] = ()
    const: int = 0
    name: str = ''
    impl: str = ''
    entries: int = 0


@dataclass(frozen=True)
class Program:
    """A design as the operations Vivado schedules (constants folded, common subexpressions shared)."""

    ops: tuple[Op, ...]
    outputs: tuple[int, ...]  # op of each output; -1 for a constant output
    width: int
    integer: int
    clock_ns: float
    roots: tuple[int, ...] = ()  # node ids of the outputs in the compiler's node table (the open datapath's view)

    def count(self, kind: int, impl: str | None = None) -> int:
        return sum(1 for o in self.ops if o.kind == kind and (impl is None or o.impl == impl))


def lut_is_builtin(spec: LutSpec, lut_impl: str) -> bool:
    """Whether a ``<fn>_lut`` call is hls4ml's built-in ``nnet::<fn>_lut`` rather than an ``nnet::lookup_table``.
    'auto': the built-in for sin/cos when the design gives srcost's default spec (what a design gets
    without ``--lut``: hls4ml users get LUTs without declaring any from ``use_built_in_lut_functions``)."""
    if spec.function not in BUILTIN_LUT_FUNCTIONS or lut_impl == 'table':
        return False
    return lut_impl == 'builtin' or spec == LutSpec.default(spec.function)


def _const_bits(c: float) -> int:
    """Bits of a constant multiplier the tool keeps (trailing zeros dropped); 0 for a power of two."""

    c = abs(c)
    if c == 0 or math.log2(c) % 1 == 0:
        return 0
    f = const_f(c)
    return max(math.ceil(math.log2(c * 2.0**f + 1)), 1)


def compile_program(design: Design, extractor, lut_impl: str = 'auto') -> Program:
    """The schedule program of ``design`` (``extractor``: a ``FeatureExtractor``, whose node table and
    datapath model give the widths and the folded constants)."""
    if lut_impl not in LUT_IMPLS:
        raise ScheduleError(f'lut_impl must be one of {", ".join(LUT_IMPLS)}, not {lut_impl!r}')
    import sympy

    builtin = {s.name for s in design.luts if lut_is_builtin(s, lut_impl)}
    exprs = [e.sympy_expr for e in design.outputs]
    if builtin:
        # the built-in LUT is periodic and reads every input: its values are modelled as the function itself
        def to_native(f):
            return getattr(sympy, type(f).__name__[: -len('_lut')])(f.args[0], evaluate=False)

        exprs = [e.replace(lambda f: type(f).__name__ in builtin, to_native) for e in exprs]
    builtin_fns = {b[: -len('_lut')] for b in builtin}
    return _Compiler(design, extractor, builtin_fns).run(exprs)


class _Compiler:
    def __init__(self, design: Design, extractor, builtin_fns: set[str]):
        self.design = design
        self.prec = design.precision
        self.table = extractor.table
        self.dp = extractor.datapath
        self.ctx = extractor.context(design)
        self.builtin_fns = builtin_fns
        self.ops: list[Op] = []
        self.memo: dict[int, int] = {}
        self.specs = {s.name: s for s in self.ctx.luts}

    def run(self, exprs) -> Program:
        outs = [self._cast(self.node(e)) for e in exprs]
        roots = tuple(self.table.intern(e) for e in exprs)
        return Program(tuple(self.ops), tuple(outs), self.prec.width, self.prec.integer, float(self.design.clock_period_ns), roots)

    def value(self, e):
        v = self.dp.value(self.table.intern(e), self.ctx)
        return v, (0 if v.is_const else bits(v))

    def emit(self, op: Op) -> int:
        self.ops.append(op)
        return len(self.ops) - 1

    def _cast(self, i: int) -> int:
        """Assignment to result_t: a wire for AP_TRN / AP_WRAP; rounding adds an adder, saturation a compare
        and a multiplexer."""
        if i < 0 or (self.prec.rounding == 'AP_TRN' and self.prec.overflow == 'AP_WRAP'):
            return i
        return self.emit(Op(CAST, (i,), self.ops[i].width))

    def node(self, e) -> int:
        sid = self.table.intern(e)
        hit = self.memo.get(sid)
        if hit is None:
            hit = self.memo[sid] = self._node(e, sid)
        return hit

    def _node(self, e, sid: int) -> int:
        from hls_gen.ir import decompose


        t, prec = self.table, self.prec
        v = self.dp.value(sid, self.ctx)
        if v.is_const:
            return -1
        op = t.op[sid]
        w = bits(v)
        if op == dag.VAR:
            return self.emit(Op(IN, (), w))
        if op == dag.NEG:
            return self.node(e.as_coeff_Mul()[1])
        if op == dag.ADD:
            args, const = [], 0
            for a in e.as_ordered_terms():
                av, _ = self.value(a)
                if av.is_const:
                    const |= int(av.lo != 0)
                    continue
                args.append(self.node(a))
            if len(args) == 1 and not const:
                return args[0]
            return self.emit(Op(ADD, tuple(args), w, const=const))
        if op in (dag.MUL, dag.SQUARE, dag.CUBE, dag.POW_INT):
            factor, args, widths = 1.0, [], []
            if op == dag.MUL:
                for a in e.as_ordered_factors():
                    if a.is_Number:
                        factor *= float(prec.quantize(abs(float(a))))
                        continue
                    av, aw = self.value(a)
                    if av.is_const:
                        factor *= abs(av.lo)
                        continue
                    args.append(self.node(a))
                    widths.append(aw)
            else:
                n = 2 if op == dag.SQUARE else 3 if op == dag.CUBE else int(t.param[sid])
                base = e.args[0]
                args, widths = [self.node(base)] * n, [self.value(base)[1]] * n
            cb = _const_bits(factor)
            if len(args) == 1 and not cb:
                return args[0]
            return self.emit(Op(MUL, tuple(args), w, tuple(widths), cb))
        node = decompose(e, number_test=False)
        name = dag.OPS[op]
        if op == dag.ABS:
            return self.emit(Op(MUX, (self.node(node.args[0]),), w))
        arg = node.args[0]
        a = self._cast(self.node(arg))  # (result_t)(arg)
        if name in ('log_abs', 'sqrt_abs', 'pow_abs') and a >= 0:
            a = self.emit(Op(MUX, (a,), self.value(arg)[1]))
        if op in dag.LUT_CODES:
            spec = self.specs[name]

            _, base_div, _ = _layout(spec, prec)
            return self.emit(Op(TABLE, (a,), w, const=_const_bits(float(base_div)), name=name, entries=spec.table_size))
        impl = 'builtin' if name in self.builtin_fns else 'hls'
        return self.emit(Op(CALL, (a,), w, name=name, impl=impl))


# -- scheduling ------------------------------------------------------------------------------------------

class Schedule(NamedTuple):
    latency: int  # cycles
    reg_bits: int  # pipeline register bits between operations (values held across cycle boundaries)
    ready: tuple[tuple[int, float], ...]  # (cycle, ns into it) at which each op's result is ready


@functools.lru_cache(maxsize=4096)
def dsp_tiles(wa: int, wb: int) -> int:
    """DSP48E2 cells of a signed wa x wb multiplier: 27x18 signed, split in 26- and 17-bit slices."""
    lo, hi = min(wa, wb), max(wa, wb)
    return min(math.ceil(max(hi - 1, 1) / 26) * math.ceil(max(lo - 1, 1) / 17),
               math.ceil(max(lo - 1, 1) / 26) * math.ceil(max(hi - 1, 1) / 17))


def on_dsp(wa: int, wb: int, p: ScheduleParams) -> bool:
    return max(wa, wb) >= p.dsp_min_width and min(wa, wb) >= p.dsp_min_narrow


class _Log2Ceil(dict):
    """ceil(log2(max(n, 2))): the adder levels of a fabric multiplier's partial products."""

    def __missing__(self, n: int) -> int:
        v = self[n] = math.ceil(math.log2(max(n, 2)))
        return v


_LOG2 = _Log2Ceil()


class _Timer:
    """ASAP chaining with times as (cycle, ns into the cycle)."""

    def __init__(self, p: ScheduleParams, period: float):
        self.p = p
        self.T = period
        self.reg_bits = 0
        # the parameters read in the inner loop, bound once
        self.a0, self.a1 = p.add_ns, p.add_ns_per_bit
        self.dsp_in, self.dsp_out, self.dsp_tile = p.dsp_in_ns, p.dsp_out_ns, p.dsp_tile_ns
        self.dsp_w, self.dsp_n = p.dsp_min_width, p.dsp_min_narrow
        self.fab = p.fabric_mul_ns_per_level

    def chain(self, start: tuple[int, float], d: float) -> tuple[int, float]:
        return self.chain_from(start, d)[0]

    def chain_from(self, start: tuple[int, float], d: float) -> tuple[tuple[int, float], int]:
        """(when an operation of ``d`` ns whose inputs are ready at ``start`` is done, the cycle it starts in)."""
        c, o = start
        T = self.T
        if o + d <= T:
            return (c, o + d), c
        if d <= T:
            return (c + 1, d), c + 1
        k = math.floor(d / T)  # slower than a cycle: the tool pipelines the operator
        return (c + 1 + k, d - k * T), c + 1

    def call(self, start: tuple[int, float], cycles: int, d_in: float, d_out: float, width: int) -> tuple[int, float]:
        """A sub-function of ``cycles`` latency: its inputs must reach its first register within the cycle."""
        if cycles == 0:
            out, c = self.chain_from(start, d_in + d_out)
            self.hold(start, (c, 0.0), width)
            return out
        c, o = start
        if o + d_in > self.T:
            c += 1
        self.hold(start, (c, 0.0), width)
        return c + cycles, d_out

    def hold(self, ready: tuple[int, float], used: tuple[int, float], width: int) -> None:
        """A value ready in one cycle and read in a later one is held in a register meanwhile."""
        if used[0] > ready[0]:
            self.reg_bits += width * (used[0] - ready[0])

    def mul(self, a, b) -> tuple:
        """Multiply two (ready, width) operands."""
        (ra, wa), (rb, wb) = a, b
        st = ra if ra > rb else rb
        if (wa if wa > wb else wb) >= self.dsp_w and (wa if wa < wb else wb) >= self.dsp_n:  # on_dsp
            c, o = st
            if o + self.dsp_in > self.T:
                c += 1
            out = self.chain((c + 1, 0.0), self.dsp_out + self.dsp_tile * (dsp_tiles(wa, wb) - 1))
        else:
            d = self.a0 + self.a1 * (wa + wb) + self.fab * _LOG2[min(wa, wb)]
            out, c = self.chain_from(st, d)
        if c > ra[0]:
            self.reg_bits += wa * (c - ra[0])
        if c > rb[0]:
            self.reg_bits += wb * (c - rb[0])
        return out, wa + wb

    def add(self, a, b, width: int) -> tuple:
        (ra, wa), (rb, wb) = a, b
        out, c = self.chain_from(ra if ra > rb else rb, self.a0 + self.a1 * width)
        if c > ra[0]:
            self.reg_bits += wa * (c - ra[0])
        if c > rb[0]:
            self.reg_bits += wb * (c - rb[0])
        return out, width


def schedule(program: Program, p: ScheduleParams) -> Schedule:
    """ASAP schedule of ``program`` under ``p`` (see the module docstring)."""
    tm = _Timer(p, p.period(program.clock_ns))
    ops = program.ops
    R: list[tuple[int, float]] = [(0, 0.0)] * len(ops)
    zero = (0, 0.0)
    W, IB = program.width, program.integer
    for i, op in enumerate(ops):
        k = op.kind
        if k == IN:
            R[i] = zero
        elif k == ADD:
            items = [(R[j], ops[j].width) for j in op.args]
            if op.const:
                items.append((zero, op.width))
            heapq.heapify(items)  # expression balancing: the two earliest operands first
            while len(items) > 1:
                x = heapq.heappop(items)
                y = heapq.heappop(items)
                heapq.heappush(items, tm.add(x, y, op.width))
            R[i] = items[0][0]
        elif k == MUL:
            acc = (R[op.args[0]], op.widths[0])
            if op.const:
                acc = tm.mul(acc, (zero, op.const))
            for j, w in zip(op.args[1:], op.widths[1:]):  # as written: left to right
                acc = tm.mul(acc, (R[j], w))
            R[i] = acc[0]
        elif k == CALL:
            a, wa = (R[op.args[0]], ops[op.args[0]].width) if op.args[0] >= 0 else (zero, 0)
            cycles = p.builtin_cycles(W, IB) if op.impl == 'builtin' else p.function_cycles(op.name, W, IB)
            R[i] = tm.call(a, cycles, p.call_in_ns, p.call_out_ns, wa)
        elif k == TABLE:
            a, wa = (R[op.args[0]], ops[op.args[0]].width) if op.args[0] >= 0 else (zero, 0)
            d_index = p.add_delay(W) + p.clamp_ns
            if op.const:  # an index scale that is not a power of two: a constant multiplier
                d_index += p.add_delay(W + op.const) + p.fabric_mul_ns_per_level * _LOG2[op.const]
            if op.entries * op.width >= p.rom_bram_min_bits:
                R[i] = tm.call(a, p.table_read_cycles, p.call_in_ns + d_index, p.call_out_ns, wa)
            else:
                levels = max(math.ceil(math.log2(op.entries)) - 6, 0)
                R[i] = tm.call(a, 0, d_index + p.rom_ns + p.rom_ns_per_level * levels, 0.0, wa)
        elif k in (MUX, CAST):  # abs: compare and select; a rounding or saturating cast: add, compare, select
            R[i] = tm.call(R[op.args[0]], 0, p.add_delay(op.width) + p.mux_ns, 0.0, ops[op.args[0]].width)
        else:  # pragma: no cover
            raise ScheduleError(f'unknown op kind {k}')
    latency = max((R[j][0] for j in program.outputs if j >= 0), default=0)
    for j in program.outputs:  # outputs leave together: the early ones are held until the last
        if j >= 0:
            tm.hold(R[j], (latency, 0.0), ops[j].width)
    return Schedule(int(latency), int(tm.reg_bits), tuple(R))


def latencies(program: Program, params: Sequence[ScheduleParams]) -> np.ndarray:
    """``schedule(program, p).latency`` for many parameter sets at once (numpy over the sets): what the fit
    evaluates. The same decisions in the same float arithmetic as ``schedule``, which is the readable
    reference (tests/test_costmodel_vivado_schedule.py holds them equal). The sets must share the clock
    uncertainty, the structural parameters and the function latencies; they may differ in ``FITTED`` and
    ``BINDING``."""
    if not params:
        return np.zeros(0, np.int64)
    p0 = params[0]
    K = len(params)

    def col(name):
        return np.array([getattr(q, name) for q in params], np.float64)

    a0, a1 = col('add_ns'), col('add_ns_per_bit')
    dsp_in, dsp_out, dsp_tile = col('dsp_in_ns'), col('dsp_out_ns'), col('dsp_tile_ns')
    dsp_w, dsp_n = col('dsp_min_width'), col('dsp_min_narrow')
    fab, c_in, c_out = col('fabric_mul_ns_per_level'), col('call_in_ns'), col('call_out_ns')
    T = p0.period(program.clock_ns)
    W, IB = program.width, program.integer
    zc, zo = np.zeros(K), np.zeros(K)

    def chain(c, o, d):
        fits = o + d <= T
        k = np.floor(d / T)
        slow = d > T
        return np.where(fits, c, np.where(slow, c + 1 + k, c + 1)), np.where(fits, o + d, np.where(slow, d - k * T, d))

    def later(ca, oa, cb, ob):
        take_a = (ca > cb) | ((ca == cb) & (oa >= ob))
        return np.where(take_a, ca, cb), np.where(take_a, oa, ob)

    def call(c, o, cycles, d_in, d_out):
        if np.isscalar(cycles) and cycles == 0:
            return chain(c, o, d_in + d_out)
        c2 = c + (o + d_in > T)
        return c2 + cycles, np.broadcast_to(d_out, c.shape).astype(np.float64)

    def mul(ca, oa, wa, cb, ob, wb):
        c, o = later(ca, oa, cb, ob)
        dsp = (max(wa, wb) >= dsp_w) & (min(wa, wb) >= dsp_n)
        c2 = c + (o + dsp_in > T)
        cd, od = chain(c2 + 1, np.zeros(K), dsp_out + dsp_tile * (dsp_tiles(wa, wb) - 1))
        cf, of = chain(c, o, a0 + a1 * (wa + wb) + fab * _LOG2[min(wa, wb)])
        return np.where(dsp, cd, cf), np.where(dsp, od, of)

    C: list = [None] * len(program.ops)  # cycle of each op's result, per parameter set
    Ons: list = [None] * len(program.ops)  # ns into that cycle
    ops = program.ops
    for i, op in enumerate(ops):
        k = op.kind
        if k == IN:
            C[i], Ons[i] = zc, zo
        elif k == ADD:
            cs = [C[j] for j in op.args] + ([zc] if op.const else [])
            os_ = [Ons[j] for j in op.args] + ([zo] if op.const else [])
            d = a0 + a1 * op.width
            Cm, Om = np.array(cs), np.array(os_)
            while len(Cm) > 1:  # the two earliest first, per parameter set
                order = np.argsort(Cm * 1e6 + Om, axis=0, kind='stable')
                Cm, Om = np.take_along_axis(Cm, order, 0), np.take_along_axis(Om, order, 0)
                c, o = later(Cm[1], Om[1], Cm[0], Om[0])
                c, o = chain(c, o, d)
                Cm, Om = np.vstack([c[None], Cm[2:]]), np.vstack([o[None], Om[2:]])
            C[i], Ons[i] = Cm[0], Om[0]
        elif k == MUL:
            c, o, w = C[op.args[0]], Ons[op.args[0]], op.widths[0]
            if op.const:
                c, o = mul(c, o, w, zc, zo, op.const)
                w += op.const
            for j, wj in zip(op.args[1:], op.widths[1:]):
                c, o = mul(c, o, w, C[j], Ons[j], wj)
                w += wj
            C[i], Ons[i] = c, o
        elif k == CALL:
            c, o = (C[op.args[0]], Ons[op.args[0]]) if op.args[0] >= 0 else (zc, zo)
            if op.impl == 'builtin':
                cycles = p0.builtin_lut_cycles + (0 if 512 * (W - IB + 1) >= p0.rom_bram_min_bits else col('builtin_rom_cycles'))
            else:
                cycles = p0.function_cycles(op.name, W, IB)
            C[i], Ons[i] = call(c, o, cycles, c_in, c_out)
        elif k == TABLE:
            c, o = (C[op.args[0]], Ons[op.args[0]]) if op.args[0] >= 0 else (zc, zo)
            d_index = a0 + a1 * W + p0.clamp_ns
            if op.const:
                d_index = d_index + ((a0 + a1 * (W + op.const)) + fab * _LOG2[op.const])
            if op.entries * op.width >= p0.rom_bram_min_bits:
                C[i], Ons[i] = call(c, o, p0.table_read_cycles, c_in + d_index, c_out)
            else:
                levels = max(math.ceil(math.log2(op.entries)) - 6, 0)
                C[i], Ons[i] = call(c, o, 0, d_index + p0.rom_ns + p0.rom_ns_per_level * levels, 0.0)
        else:  # MUX, CAST
            C[i], Ons[i] = call(C[op.args[0]], Ons[op.args[0]], 0, a0 + a1 * op.width + p0.mux_ns, 0.0)
    outs = [C[j] for j in program.outputs if j >= 0]
    return (np.max(np.array(outs), axis=0) if outs else np.zeros(K)).astype(np.int64)


# -- what the program holds, for the resource model ------------------------------------------------------

class ProgramCounts(NamedTuple):
    dsp_tiles: int  # DSP48E2 cells of the multipliers on DSPs
    fabric_mul_bits: int  # bit products of the multipliers in fabric
    hls_calls: int  # math sub-functions (hls::sin, ...)
    hls_call_area: float  # their W**2 summed (a CORDIC: W stages of W bits), scaled by their latency relative to sin's
    hls_call_regs: float  # their latency x W summed (pipeline registers: stages x datapath width)
    builtin_calls: int  # hls4ml built-in sin/cos LUTs
    builtin_bram: int  # their BRAM_18K (two 512-entry tables each, when large enough for BRAM)
    table_calls: int  # user lookup tables
    table_bram: int  # their BRAM_18K
    table_rom_bits: int  # bits of the user tables left in LUT ROMs


def program_counts(program: Program, p: ScheduleParams) -> ProgramCounts:
    W, IB = program.width, program.integer
    tiles = fabric = 0
    hls = builtin = tables = 0
    area = regs = 0.0
    b_bram = t_bram = rom_bits = 0
    frac = W - IB
    for op in program.ops:
        if op.kind == MUL:
            ws = list(op.widths)
            acc = ws[0]
            pairs = ([(acc, op.const)] if op.const else [])
            if op.const:
                acc += op.const
            for w in ws[1:]:
                pairs.append((acc, w))
                acc += w
            for wa, wb in pairs:
                if on_dsp(wa, wb, p):
                    tiles += dsp_tiles(wa, wb)
                else:
                    fabric += wa * wb
        elif op.kind == CALL and op.impl == 'builtin':
            builtin += 1
            if 512 * (frac + 1) >= p.rom_bram_min_bits:  # luttype ap_ufixed<W,I>: values in [0, 1]
                b_bram += 2 * math.ceil(512 * (frac + 1) / BRAM18_BITS)
        elif op.kind == CALL:
            hls += 1
            cycles = p.function_cycles(op.name, W, IB)
            ref = p.function_cycles('sin', W, IB) if 'sin' in p.functions else cycles
            area += W * W * cycles / ref
            regs += cycles * W
        elif op.kind == TABLE:
            tables += 1
            bits = op.entries * op.width
            if bits >= p.rom_bram_min_bits:
                t_bram += math.ceil(bits / BRAM18_BITS)
            else:
                rom_bits += bits
    return ProgramCounts(tiles, fabric, hls, area, regs, builtin, b_bram, tables, t_bram, rom_bits)


__all__ = ['BUILTIN_LUT_FUNCTIONS', 'FUNCTION_ROWS', 'FunctionLatency', 'LUT_IMPLS', 'Op', 'Program', 'ProgramCounts', 'Schedule',
           'ScheduleError', 'ScheduleParams', 'compile_program', 'dsp_tiles', 'lut_is_builtin', 'program_counts', 'schedule']

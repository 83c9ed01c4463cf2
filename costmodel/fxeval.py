"""Bit-accurate fixed-point evaluation of postfix expressions: what the open backend's firmware computes.

The open backend traces an expression with hls4ml's C++ semantics (``hls_gen.tracing``): sums and products
are exact, constants are cast as ``result_t(c)`` (a negative coefficient of a product as ``-result_t(|c|)``),
function arguments are cast to ``result_t``, a ``<fn>_lut`` is an ``nnet::lookup_table`` indexed as hls4ml
indexes it, any other function is a ROM over its argument's range (finer arguments truncated to at most
``NATIVE_MAX_ADDRESS_BITS`` address bits first) and every output is cast to ``result_t``. This module computes
the same bits without tracing, so that a search can score every candidate on what its firmware computes:

1. ``FixedPointEvaluator.compile`` walks a ``costmodel.postfix.Postfix`` expression once and writes a small
   program: one instruction per node, each value an integer mantissa over a known number of fractional bits.
   The static pass beside it follows da4ml's interval arithmetic (the same rules as ``fixedpoint.Datapath``):
   a native ROM's address depends on the static range of its argument, and a node whose range is one value
   is that constant. ROM contents are computed once per address range with numpy's functions (as the
   tracer does) and kept in a pool of mantissas.
2. ``run`` executes programs over the rows of the data in compiled code (numba), in wrapping int64 arithmetic.
   Sums, products and shifts are exact modulo 2**64, and a wrapping cast keeps only bits below that, so the
   result is exact wherever a cast reads at most 64 bits above the precision's LSB; a saturating cast reads the
   whole value, so under AP_SAT every value must fit in 62 bits. What does not is refused at compile time
   (``ExpressionError``).

The reference is ``hls_gen.emulate(design, X, 'trace')`` (da4ml's interpreter of the traced logic, which the
open backend checks against its RTL at every synthesis); tests/test_fxeval.py compares the two bit for bit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from hls_gen import ExpressionError, LutSpec, Precision
from hls_gen.tables import NATIVE_MAX_ADDRESS_BITS

from . import dag
from .fixedpoint import _layout, _max_const_f, const_f, csd_powers, native_contents, native_value
from .postfix import Postfix

# instruction codes
I_VAR, I_CONST, I_ADD, I_MUL, I_NEG, I_POW, I_CAST, I_ABS, I_LUT, I_NAT = range(10)
# instruction columns: code, first operand, first argument slot, number of arguments, fractional bits, four values
C_CODE, C_A0, C_ARG0, C_NARG, C_F, C_V0, C_V1, C_V2, C_V3 = range(9)
N_COLS = 9
MAX_BITS = 62  # a mantissa (and every aligned sum term) stays below 2**MAX_BITS: exact in int64

_SIGN_ABS = {dag.OP_CODE['sqrt_abs']: 'sqrt', dag.OP_CODE['log_abs']: 'log', dag.POW_ABS: 'pow_abs'}


# -- da4ml's interval arithmetic (as costmodel.fixedpoint.Datapath, without its cost accounting) ------------
# An interval is (lo, hi, step); a constant has lo == hi and step 2**-const_f. The costlier steps are memoized (a
# search asks for the same input ranges times the same constants again and again).

@functools.lru_cache(maxsize=1 << 16)
def _const(c: float) -> tuple[float, float, float]:
    return (c, c, 2.0 ** -const_f(c))


def _is_const(v) -> bool:
    return v[0] == v[1]


def _kif(v) -> tuple[int, int, int]:
    lo, hi, step = v
    if lo == hi and lo == 0:
        return 0, 0, 0
    f = -int(round(math.log2(step)))
    xx = max(-lo, hi + step)
    i = math.ceil(math.log2(xx)) if xx > 0 else -f
    return int(lo < 0), i, f


def _neg(v):
    return (-v[1], -v[0], v[2])


def _cadd(a, c: float):
    if c == 0:
        return a
    if _is_const(a):
        return _const(a[0] + c)
    return (a[0] + c, a[1] + c, min(a[2], 2.0 ** -const_f(c)))


def _add(a, b):
    if _is_const(b):
        return _cadd(a, b[0])
    if _is_const(a):
        return _cadd(b, a[0])
    return (a[0] + b[0], a[1] + b[1], min(a[2], b[2]))


def _scale(a, p: float):
    lo, hi = a[0] * p, a[1] * p
    if p < 0:
        lo, hi = hi, lo
    return (lo, hi, a[2] * abs(p))


@functools.lru_cache(maxsize=1 << 16)
def _mul_const(a, c: float):
    if c == 0:
        return _const(0.0)
    if _is_const(a):
        return _const(a[0] * c)
    if math.log2(abs(c)) % 1 == 0:
        return _scale(a, c)
    terms = [(_scale(a, p), p) for p in csd_powers(c)]
    if not terms:  # below 2**-32: no digit da4ml can write (it fails there too)
        raise ExpressionError(f'the constant multiplier {c:g} is below what da4ml can write (2**-32)')
    while len(terms) > 1:
        v1, p1 = terms.pop()
        v2, p2 = terms.pop()
        v = _add(v1, v2)
        p = p1 + p2
        lo, hi = sorted((a[0] * p, a[1] * p))
        step = v[2]
        k = int(lo < 0)
        i = math.ceil(math.log2(max(-lo, hi + step)))
        terms.append((_quantize(v, k, i, -int(round(math.log2(step))), 'WRAP', 'TRN'), p))
    return terms[0][0]


def _mul(a, b, same: bool = False):
    if _is_const(a):
        return _mul_const(b, a[0])
    if _is_const(b):
        return _mul_const(a, b[0])
    if same:
        p0, p1 = a[0] * a[0], a[1] * a[1]
        lo, hi = (min(p0, p1, 0.0), max(p0, p1, 0.0)) if a[0] < 0 < a[1] else (min(p0, p1), max(p0, p1))
    else:
        ps = (a[1] * b[0], a[0] * b[1], a[1] * b[1], a[0] * b[0])
        lo, hi = min(ps), max(ps)
    return (lo, hi, a[2] * b[2])


def _abs(a):
    if a[0] >= 0:
        return a
    if _is_const(a):
        return _const(abs(a[0]))
    return (0.0, max(-a[0], a[1]), a[2])


def _max_of(a, c: float):
    if a[0] >= c:
        return a
    if a[1] <= c:
        return _const(c)
    if c == 0:
        return (0.0, math.floor(a[1] / a[2]) * a[2], a[2])
    return (max(a[0], c), max(a[1], c), min(a[2], _const(c)[2]))


def _min_of(a, c: float):
    if a[1] <= c:
        return a
    if a[0] >= c:
        return _const(c)
    if c == 0:
        return (math.floor(a[0] / a[2]) * a[2], 0.0, a[2])
    return (min(a[0], c), min(a[1], c), min(a[2], _const(c)[2]))


@functools.lru_cache(maxsize=1 << 16)
def _quantize(a, k: int, i: int, f: int, over: str, rnd: str):
    """da4ml ``FixedVariable.quantize`` on an interval (WRAP, SAT, SAT_SYM; TRN, RND)."""
    if k + i + f <= 0:
        return _const(0.0)
    if _is_const(a):
        if a[0] == 0:
            return a
        step = 2.0**-f
        top = 2.0**i
        low = -top * k
        val = a[0]
        if over != 'WRAP':
            val = min(max(val, low if over == 'SAT' else -(top - step) * k), top - step)
        eps = step / 2 if rnd == 'RND' else 0.0
        return _const((math.floor(val / step + eps) * step - low) % (2 * top) + low)
    _k, _i, _f = _kif(a)
    if k >= _k and i >= _i and f >= _f:
        if over != 'SAT_SYM' or i > _i:
            return a
    if f < _f and rnd == 'RND':
        return _quantize(_cadd(a, 2.0 ** (-f - 1)), k, i, f, over, 'TRN')
    if over in ('SAT', 'SAT_SYM'):
        step = 2.0**-f
        top = 2.0**i
        high = top - step
        low = -top * k if over == 'SAT' else -high * k
        ff = f + 1 if rnd == 'RND' else f
        v = _quantize(a, _k, _i, ff, 'WRAP', 'TRN') if _k + _i + ff > 0 else a
        return _quantize(_min_of(_max_of(v, low), high), k, i, f, 'WRAP', rnd)
    f = min(f, _f)
    if i >= _i:
        k = min(k, _k)
    step = 2.0**-f
    if a[0] < 0:
        _i = max(_i, math.ceil(math.log2(-(math.floor(a[0] / step) * step))))
    i = min(i, _i + int(k == 0 and _k == 1))
    if i + k + f <= 0:
        return _const(0.0)
    low = -k * 2.0**i
    high = 2.0**i - step
    if a[0] >= low and a[1] <= high:
        low = math.floor(a[0] / step) * step
        high = math.floor(a[1] / step) * step
    return (low, high, step)


def _table_range(values: np.ndarray) -> tuple[float, float, float]:
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return (lo, hi, 1.0)
    nz = values[values != 0]
    return (lo, hi, 2.0 ** -_max_const_f(nz))


# -- the compiled runner ---------------------------------------------------------------------------------

@njit(cache=True)
def _cast(m, d, fmt):
    """m * 2**-(fp + d) cast to the precision (fmt: width, signed, rounding 0 TRN / 1 RND, overflow 0 WRAP,
    1 SAT, 2 SAT_SYM), as a mantissa over fp fractional bits."""
    if d > 0:
        if fmt[2] == 1:
            m = (m + (np.int64(1) << (d - 1))) >> d
        else:
            m = m >> d
    elif d < 0:
        m = m << (-d)
    w = fmt[0]
    if fmt[1] == 1:
        lo = -(np.int64(1) << (w - 1))
        hi = (np.int64(1) << (w - 1)) - 1
    else:
        lo = np.int64(0)
        hi = (np.int64(1) << w) - 1
    if fmt[3] == 0:
        m = ((m - lo) & ((np.int64(1) << w) - 1)) + lo
    else:
        if fmt[3] == 2 and fmt[1] == 1:
            lo = -hi
        if m < lo:
            m = lo
        elif m > hi:
            m = hi
    return m


@njit(cache=True)
def run_programs(ins, args, starts, pool, Xm, fmt, out):
    """Execute programs ``starts[k]:starts[k + 1]`` of ``ins`` on the rows of ``Xm`` (input mantissas over
    ``fmt[4]`` fractional bits); ``out[k, r]``: the last instruction's value of program k on row r, as a float."""
    n_rows = Xm.shape[0]
    fp = fmt[4]
    width = 1
    for k in range(len(starts) - 1):
        width = max(width, starts[k + 1] - starts[k])
    regs = np.empty((width, n_rows), np.int64)
    for k in range(len(starts) - 1):
        s0, s1 = starts[k], starts[k + 1]
        if s1 == s0:
            for r in range(n_rows):
                out[k, r] = np.nan
            continue
        for j in range(s0, s1):
            q = j - s0
            code, a0, arg0, narg = ins[j, 0], ins[j, 1], ins[j, 2], ins[j, 3]
            v0, v1, v2, v3 = ins[j, 5], ins[j, 6], ins[j, 7], ins[j, 8]
            dst = regs[q]
            if code == I_VAR:
                for r in range(n_rows):
                    dst[r] = Xm[r, a0]
            elif code == I_CONST:
                for r in range(n_rows):
                    dst[r] = v0
            elif code == I_ADD:
                # v0: the constant addend's mantissa over F fractional bits (0: none)
                for r in range(n_rows):
                    dst[r] = v0
                for e in range(arg0, arg0 + narg):
                    src = regs[args[e, 0] - s0]
                    sh = args[e, 1]
                    for r in range(n_rows):
                        dst[r] += src[r] << sh
            elif code == I_MUL:
                # v0: coefficient mantissa (1: none), v1: 1 to negate
                for r in range(n_rows):
                    dst[r] = v0
                for e in range(arg0, arg0 + narg):
                    src = regs[args[e, 0] - s0]
                    for r in range(n_rows):
                        dst[r] *= src[r]
                if v1 == 1:
                    for r in range(n_rows):
                        dst[r] = -dst[r]
            elif code == I_NEG:
                src = regs[a0 - s0]
                for r in range(n_rows):
                    dst[r] = -src[r]
            elif code == I_POW:
                src = regs[a0 - s0]
                for r in range(n_rows):
                    x = src[r]
                    y = x
                    for _ in range(v0 - 1):
                        y *= x
                    dst[r] = y
            elif code == I_CAST:
                # v0: the operand's fractional bits minus the precision's
                src = regs[a0 - s0]
                for r in range(n_rows):
                    dst[r] = _cast(src[r], v0, fmt)
            elif code == I_ABS:
                src = regs[a0 - s0]
                for r in range(n_rows):
                    dst[r] = abs(src[r])
            elif code == I_LUT:
                # v0: table offset in the pool, v1: entries, v2: start mantissa, v3: base_div
                src = regs[a0 - s0]
                for r in range(n_rows):
                    idx = ((src[r] - v2) * v3) >> fp
                    if idx < 0:
                        idx = 0
                    elif idx > v1 - 1:
                        idx = v1 - 1
                    dst[r] = pool[v0 + idx]
            else:  # I_NAT: v0 offset, v1 entries, v2 the address's first value (mantissa), v3 the truncation
                src = regs[a0 - s0]
                for r in range(n_rows):
                    idx = (src[r] >> v3) - v2
                    if idx < 0:
                        idx = 0
                    elif idx > v1 - 1:
                        idx = v1 - 1
                    dst[r] = pool[v0 + idx]
        last = regs[s1 - 1 - s0]
        scale = 2.0 ** -ins[s1 - 1, 4]
        for r in range(n_rows):
            out[k, r] = last[r] * scale
    return out


# -- programs --------------------------------------------------------------------------------------------

@dataclass
class Programs:
    """Compiled expressions: ``ins`` rows ``starts[k]:starts[k+1]`` are expression k's program (empty for one
    that could not be compiled; ``errors[k]`` says why)."""

    ins: np.ndarray
    args: np.ndarray
    starts: np.ndarray
    errors: dict[int, str]

    def __len__(self) -> int:
        return len(self.starts) - 1


class _Builder:
    def __init__(self):
        self.ins: list[list[int]] = []
        self.args: list[tuple[int, int]] = []

    def emit(self, code: int, a0: int = 0, F: int = 0, v0: int = 0, v1: int = 0, v2: int = 0, v3: int = 0,
             kids: Sequence[tuple[int, int]] = ()) -> int:
        self.ins.append([code, a0, len(self.args), len(kids), F, v0, v1, v2, v3])
        self.args.extend(kids)
        return len(self.ins) - 1


class FixedPointEvaluator:
    """What the open backend's firmware computes for postfix expressions at one precision and LUT specs.

        >>> ev = FixedPointEvaluator('ap_fixed<16,6>')
        >>> ev.evaluate(Postfix.from_expressions([Expression.parse('x0*x1 + 0.3')]), X)   # doctest: +SKIP
    """

    def __init__(self, precision: str | Precision = 'ap_fixed<16,6>', luts: Sequence[str | LutSpec] = ()):
        p = self.precision = Precision.parse(precision)
        self.over = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT', 'AP_SAT_SYM': 'SAT_SYM'}.get(p.overflow)
        self.rnd = {'AP_TRN': 'TRN', 'AP_RND': 'RND'}.get(p.rounding)
        if self.over is None or self.rnd is None:
            raise ExpressionError(f'the open backend does not implement {p.rounding}/{p.overflow} (use AP_TRN or AP_RND '
                                  'with AP_WRAP, AP_SAT or AP_SAT_SYM)')
        self.luts = {s.name: s for s in (LutSpec.parse(x) for x in luts)}
        self.fp = p.fractional
        self.fmt = np.array([p.width, int(p.signed), int(self.rnd == 'RND'), ('WRAP', 'SAT', 'SAT_SYM').index(self.over),
                             self.fp], np.int64)
        self._pool = np.zeros(4096, np.int64)
        self._pool_n = 0
        self._tables: dict[tuple, tuple[int, int, tuple]] = {}  # key -> (offset, entries, static output range)
        self._ranges: dict[tuple, tuple] = {}  # a LUT's output range over the entries an address range reaches
        self._consts: dict[float, float] = {}

    # -- helpers -----------------------------------------------------------------------------------------
    def quantize_const(self, c: float) -> float:
        hit = self._consts.get(c)
        if hit is None:
            hit = self.precision.quantize_one(c)
            if len(self._consts) > 100_000:
                self._consts.clear()
            self._consts[c] = hit
        return hit

    def cast(self, v):
        k, i, f = self.precision.kif
        return _quantize(v, k, i, f, self.over, self.rnd)

    def _table(self, key: tuple, make) -> tuple[int, int, tuple]:
        hit = self._tables.get(key)
        if hit is None:
            values = make()
            m = np.rint(values * 2.0**self.fp).astype(np.int64)
            n = len(m)
            if self._pool_n + n > len(self._pool):
                grown = np.zeros(max(2 * len(self._pool), self._pool_n + n), np.int64)
                grown[: self._pool_n] = self._pool[: self._pool_n]
                self._pool = grown
            self._pool[self._pool_n : self._pool_n + n] = m
            hit = self._tables[key] = (self._pool_n, n, _table_range(values))
            self._pool_n += n
        return hit

    def _spec(self, name: str) -> LutSpec:
        return self.luts.get(name) or LutSpec.default(name[: -len('_lut')])

    @staticmethod
    def _mant(c: float, F: int) -> int:
        return int(round(c * 2.0**F))

    # -- compilation -------------------------------------------------------------------------------------
    def compile(self, batch: Postfix) -> Programs:
        b = _Builder()
        starts = [0]
        errors: dict[int, str] = {}
        for k in range(len(batch)):
            n0 = len(b.ins)
            a0 = len(b.args)
            try:
                self._compile_one(batch, k, b)
            except (ExpressionError, OverflowError, ValueError, ZeroDivisionError) as e:
                del b.ins[n0:]
                del b.args[a0:]
                errors[k] = str(e)
            starts.append(len(b.ins))
        ins = np.array(b.ins, np.int64).reshape(-1, N_COLS)
        args = np.array(b.args, np.int64).reshape(-1, 2)
        return Programs(ins, args, np.array(starts, np.int64), errors)

    def _check(self, v, F: int) -> None:
        """A value computed modulo 2**64 is exact where the casts that read it keep only bits a wrapping int64 holds
        (``_emit_cast`` checks that); a saturating cast reads the whole value, so under AP_SAT every value must fit."""
        if self.over == 'WRAP':
            return
        bound = max(abs(v[0]), abs(v[1])) * 2.0**F
        if not bound < 2.0**MAX_BITS:
            raise ExpressionError(f'the datapath needs a value wider than {MAX_BITS} bits (range [{v[0]:g}, {v[1]:g}] '
                                  f'with {F} fractional bits) under {self.precision.overflow}: srcost cannot compute it exactly')

    def _compile_one(self, batch: Postfix, k: int, b: _Builder) -> None:
        o0, o1 = int(batch.offsets[k]), int(batch.offsets[k + 1])
        if o1 == o0:
            raise ExpressionError('empty expression')
        # Python lists of the expression's nodes: indexing numpy arrays one element at a time costs more
        nodes = zip(batch.op[o0:o1].tolist(), batch.param[o0:o1].tolist(), batch.const[o0:o1].tolist(),
                    batch.nkids[o0:o1].tolist())
        stack: list[tuple[int, tuple, int]] = []  # (register, static interval, fractional bits)
        for code, param, const, nk in nodes:
            if nk > len(stack):
                raise ExpressionError('malformed postfix expression: a node has more children than subtrees before it')
            kids = stack[len(stack) - nk:] if nk else []
            if nk:
                del stack[len(stack) - nk:]
            stack.append(self._node(b, code, param, const, kids))
        if len(stack) != 1:
            raise ExpressionError('malformed postfix expression: more than one subtree left at the end')
        reg, v, F = stack[0]
        self._emit_cast(b, reg, v, F)

    def _emit_const(self, b: _Builder, c: float) -> tuple[int, tuple, int]:
        v = _const(c)
        F = 0 if c == 0 else const_f(c)
        self._check(v, F)
        return b.emit(I_CONST, F=F, v0=self._mant(c, F)), v, F

    def _emit_cast(self, b: _Builder, reg: int, v, F: int) -> tuple[int, tuple, int]:
        cv = self.cast(v)
        if _is_const(cv):
            return self._emit_const(b, cv[0])
        if F - self.fp > 64 - self.precision.width:
            raise ExpressionError(f'the datapath carries {F} fractional bits into a cast to {self.precision}: wider than '
                                  'srcost computes exactly (64 bits); use fewer nested products or coarser constants')
        return b.emit(I_CAST, a0=reg, F=self.fp, v0=F - self.fp), cv, self.fp

    def _emit_abs(self, b: _Builder, reg: int, v, F: int) -> tuple[int, tuple, int]:
        """``result_t(abs(result_t(x)))``, as the tracer writes abs and the argument of log_abs, sqrt_abs, pow_abs."""
        reg, v, F = self._emit_cast(b, reg, v, F)
        av = _abs(v)
        if av is not v:
            reg = b.emit(I_ABS, a0=reg, F=F)
        return self._emit_cast(b, reg, av, F)

    def _node(self, b: _Builder, code: int, param: float, const: float, kids: list) -> tuple[int, tuple, int]:
        if code == dag.VAR:
            if not (param >= 0 and param == int(param)):
                raise ExpressionError(f'bad variable index {param}')
            kk, i, f = self.precision.kif
            step = 2.0**-f
            v = (-(2.0**i) * kk, 2.0**i - step, step)
            return b.emit(I_VAR, a0=int(param), F=self.fp), v, self.fp
        if code == dag.CONST:
            if not math.isfinite(param):
                raise ExpressionError(f'the constant {param} is not finite')
            return self._emit_const(b, self.quantize_const(param))
        if code == dag.ADD:
            return self._add(b, const, kids)
        if code == dag.MUL:
            return self._mul(b, const, kids)
        if len(kids) != 1:
            raise ExpressionError(f'{dag.OPS[code]} takes one argument, got {len(kids)}')
        reg, v, F = kids[0]
        if code == dag.NEG:
            nv = _neg(v)
            if _is_const(nv):
                return self._emit_const(b, nv[0])
            return b.emit(I_NEG, a0=reg, F=F), nv, F
        if code in (dag.SQUARE, dag.CUBE, dag.POW_INT):
            n = 2 if code == dag.SQUARE else 3 if code == dag.CUBE else int(param)
            if n < 1:
                raise ExpressionError(f'integer power {n} < 1')
            out = _mul(v, v, same=True)
            for _ in range(n - 2):
                out = _mul(out, v)
            if _is_const(out):
                return self._emit_const(b, out[0])
            self._check(out, F * n)
            return b.emit(I_POW, a0=reg, F=F * n, v0=n), out, F * n
        if code == dag.ABS:
            return self._emit_abs(b, reg, v, F)
        if code in dag.LUT_CODES:
            return self._lut(b, dag.OPS[code], reg, v, F)
        if code not in dag.FUNC_CODES:
            raise ExpressionError(f'operator code {code} ({dag.OPS[code] if 0 <= code < len(dag.OPS) else "?"}) cannot be evaluated')
        name = dag.OPS[code]
        if code in _SIGN_ABS:
            reg, v, F = self._emit_abs(b, reg, v, F)
            name = _SIGN_ABS[code]
        return self._native(b, name, param, reg, v, F)

    def _add(self, b: _Builder, c: float, kids: list) -> tuple[int, tuple, int]:
        has_c = not math.isnan(c)
        cq = self.quantize_const(c) if has_c else 0.0
        if has_c:
            out = _const(cq)
            rest = kids
        else:
            out = kids[0][1]
            rest = kids[1:]
        for _, v, _ in rest:
            out = _add(out, v)
        if _is_const(out):
            return self._emit_const(b, out[0])
        F = max([kf for _, _, kf in kids] + ([const_f(cq)] if cq != 0 else []))
        for _, v, _ in kids:
            self._check(v, F)
        self._check(out, F)
        terms = [(reg, F - kf) for reg, _, kf in kids]
        if max(sh for _, sh in terms) > 63:
            raise ExpressionError('the datapath aligns a sum over more than 63 bits: wider than srcost computes exactly')
        return b.emit(I_ADD, F=F, v0=self._mant(cq, F), kids=terms), out, F

    def _mul(self, b: _Builder, c: float, kids: list) -> tuple[int, tuple, int]:
        has_c = not math.isnan(c) and c != 1
        if has_c:
            cq = self.quantize_const(abs(c))
            out = _const(cq)
            for _, v, _ in kids:
                out = _mul(out, v)
            if c < 0:
                out = _neg(out)
        else:
            cq = 1.0
            out = kids[0][1]
            for _, v, _ in kids[1:]:
                out = _mul(out, v)
        if _is_const(out):
            return self._emit_const(b, out[0])
        Fc = const_f(cq) if has_c and cq != 0 else 0
        F = Fc + sum(kf for _, _, kf in kids)
        if self.over != 'WRAP':
            bound = abs(cq) * 2.0**Fc
            for _, v, kf in kids:
                bound *= max(abs(v[0]), abs(v[1])) * 2.0**kf
            if not bound < 2.0**MAX_BITS:
                raise ExpressionError(f'the datapath needs a value wider than {MAX_BITS} bits (a product of {len(kids)} '
                                      f'factors) under {self.precision.overflow}: srcost cannot compute it exactly')
        return b.emit(I_MUL, F=F, v0=self._mant(cq, Fc), v1=int(has_c and c < 0), kids=[(r, 0) for r, _, _ in kids]), out, F

    def _lut(self, b: _Builder, name: str, reg: int, v, F: int) -> tuple[int, tuple, int]:
        spec = self._spec(name)
        start, base_div, samples = _layout(spec, self.precision)
        n = spec.table_size
        reg, x, F = self._emit_cast(b, reg, v, F)
        if _is_const(x):
            idx = int(np.clip(math.floor((x[0] - start) * base_div), 0, n - 1))
            return self._emit_const(b, float(samples[idx]))
        idx = _cadd(x, -start) if start != 0 else x
        idx = _mul_const(idx, float(base_div))
        idx = _quantize(idx, 1, 40, 0, 'WRAP', 'TRN')
        idx = _min_of(_max_of(idx, 0.0), float(n - 1))
        lo, hi = int(idx[0]), int(idx[1])
        if lo == hi:
            return self._emit_const(b, float(samples[lo]))
        stride = max(int(round(idx[2])), 1)
        off, size, _ = self._table(('lut', spec), lambda: samples)
        rkey = ('lut-range', spec, lo, hi, stride)
        rng = self._ranges.get(rkey)
        if rng is None:
            rng = self._ranges[rkey] = _table_range(samples[lo : hi + 1 : stride])
        if _is_const(rng):
            return self._emit_const(b, rng[0])
        r = b.emit(I_LUT, a0=reg, F=self.fp, v0=off, v1=size, v2=self._mant(start, self.fp), v3=int(base_div))
        return r, rng, self.fp

    def _native(self, b: _Builder, name: str, param: float, reg: int, v, F: int) -> tuple[int, tuple, int]:
        reg, x, F = self._emit_cast(b, reg, v, F)
        prec = self.precision
        if _is_const(x):
            return self._emit_const(b, native_value(name, param, x[0], prec))
        kk, i, f = _kif(x)
        f0 = f
        while kk + i + f > NATIVE_MAX_ADDRESS_BITS and f > -i:
            f -= 1
        if f != f0:
            x = _quantize(x, kk, i, f, 'WRAP', 'TRN')
        lo, hi, step = x
        key = ('native', name, param if not math.isnan(param) else 0.0, lo, hi, step)
        off, size, rng = self._table(key, lambda: native_contents(name, param, lo, hi, step, prec))
        if _is_const(rng):
            return self._emit_const(b, rng[0])
        shift = self.fp - f
        if shift < 0:  # pragma: no cover - a cast argument has at most the precision's fractional bits
            raise ExpressionError(f'internal: a ROM address finer than the precision ({f} > {self.fp} bits)')
        r = b.emit(I_NAT, a0=reg, F=self.fp, v0=off, v1=size, v2=self._mant(lo, f), v3=shift)
        return r, rng, self.fp

    # -- evaluation --------------------------------------------------------------------------------------
    def input_mantissas(self, X: np.ndarray) -> np.ndarray:
        """The rows of X as the design's inputs see them (cast to the precision), as int64 mantissas."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f'X must be 2-D (n_samples, n_features), got shape {X.shape}')
        if not np.all(np.isfinite(X)):
            raise ValueError('X holds NaN or infinite values; drop or impute them first')
        return np.ascontiguousarray(np.rint(self.precision.quantize(X) * 2.0**self.fp).astype(np.int64))

    def run(self, programs: Programs, Xm: np.ndarray) -> np.ndarray:
        """(n_expressions, n_rows) firmware outputs; NaN rows for the expressions that did not compile."""
        if len(programs.ins):
            need = int(programs.ins[programs.ins[:, C_CODE] == I_VAR, C_A0].max(initial=-1))
            if need >= Xm.shape[1]:
                raise ExpressionError(f'x{need} is used but the data has only {Xm.shape[1]} columns')
        out = np.empty((len(programs), Xm.shape[0]))
        return run_programs(programs.ins, programs.args, programs.starts, self._pool, Xm, self.fmt, out)

    def evaluate(self, batch: Postfix, X: np.ndarray) -> np.ndarray:
        """Firmware outputs (n_expressions, n_rows) of a postfix batch on the rows of X."""
        return self.run(self.compile(batch), self.input_mantissas(X))


def evaluate_expressions(exprs: Sequence, X: np.ndarray, precision: str | Precision = 'ap_fixed<16,6>',
                         luts: Sequence[str | LutSpec] = ()) -> np.ndarray:
    """Firmware outputs (n_rows, n_expressions) of ``hls_gen.Expression`` objects (the outputs of one design), as
    ``hls_gen.emulate(design, X, 'trace')`` returns them; raises ``ExpressionError`` for one that cannot be
    computed."""
    from hls_gen import Expression

    ev = FixedPointEvaluator(precision, luts)
    programs = ev.compile(Postfix.from_expressions([Expression.parse(e) for e in exprs]))
    if programs.errors:
        k, msg = next(iter(programs.errors.items()))
        raise ExpressionError(f'output {k}: {msg}')
    return ev.run(programs, ev.input_mantissas(X)).T


__all__ = ['FixedPointEvaluator', 'Programs', 'evaluate_expressions', 'run_programs']

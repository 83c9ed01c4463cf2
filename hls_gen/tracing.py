"""Trace a Design into da4ml fixed-point logic with hls4ml's C++ semantics.

hls4ml prints an expression as ap_fixed C++ (backends/symbolic/passes/expr_templates.py): sums and
products of ap_fixed are exact (the width grows), constants are cast as ``result_t(c)`` (a negative
coefficient of a product is printed as ``-result_t(|c|)*...``), integer powers are repeated products,
function arguments are cast to ``result_t`` and functions return ``result_t``, each output is cast to
``result_t``. da4ml's arithmetic is exact too, so tracing the same tree with the same casts gives the
same bits. Functions without a LUT spec become a ROM over the argument's whole range (at most
2**NATIVE_MAX_ADDRESS_BITS entries; finer inputs are truncated first): the open backend's "native"
implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import da4ml_compat
from .design import Design
from .errors import ExpressionError, SynthesisError
from .ir import decompose, float_function
from .precision import Precision
from .tables import NATIVE_MAX_ADDRESS_BITS, lut_layout, saturating_cast

HWCONF = (1, -1, -1)  # da4ml HWConfig(adder_size, carry_size, latency_cutoff)


@dataclass
class Traced:
    comb: object  # da4ml CombLogic
    n_inputs: int
    n_outputs: int


class _Tracer:
    def __init__(self, design: Design):
        from da4ml.trace import FixedVariable, HWConfig

        da4ml_compat.install()  # words past 127 bits (x0**12 at <16,6>) get a finite delay
        self.FV = FixedVariable
        self.hw = HWConfig(*HWCONF)
        self.design = design
        self.prec: Precision = design.precision
        k, i, f = self.prec.kif
        self.inputs = [FixedVariable.from_kif(k, i, f, hwconf=self.hw) for _ in range(design.n_inputs)]
        self.memo: dict[sympy.Expr, object] = {}

    def cast(self, v):
        """Assignment to result_t (its rounding and overflow modes)."""
        if not isinstance(v, self.FV):
            return self.const(float(v))
        k, i, f = self.prec.kif
        over = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT', 'AP_SAT_SYM': 'SAT_SYM'}.get(self.prec.overflow)
        rnd = {'AP_TRN': 'TRN', 'AP_RND': 'RND'}.get(self.prec.rounding)
        if over is None or rnd is None:
            raise ExpressionError(f'the open backend does not implement {self.prec.rounding}/{self.prec.overflow} yet')
        return v.quantize(k, i, f, over, rnd)

    def const(self, c: float):
        return self.FV.from_const(float(self.prec.quantize(c)), hwconf=self.hw)

    def run(self, e: sympy.Expr):
        if e in self.memo:
            return self.memo[e]
        v = self._run(e)
        self.memo[e] = v
        return v

    def _run(self, e: sympy.Expr):
        n = decompose(e)
        if n.op == 'var':
            return self.inputs[n.value]
        if n.op == 'const':
            return self.const(n.value)
        if n.op == '+':
            out = self.run(n.args[0])
            for a in n.args[1:]:
                out = out + self.run(a)
            return out
        if n.op == '*':
            coeff, rest = e.as_coeff_Mul()
            if coeff.is_Number and coeff != 1 and rest != 1:
                c = self.const(abs(float(coeff)))
                factors = [c] + [self.run(a) for a in sympy.Mul.make_args(rest)]
                out = factors[0]
                for f in factors[1:]:
                    out = out * f
                return -out if coeff < 0 else out
            out = self.run(n.args[0])
            for a in n.args[1:]:
                out = out * self.run(a)
            return out
        if n.op == 'neg':
            return -self.run(n.args[0])
        if n.op in ('square', 'cube', 'pow_int'):
            power = {'square': 2, 'cube': 3}.get(n.op, n.value)
            base = self.run(n.args[0])
            out = base
            for _ in range(power - 1):
                out = out * base
            return out
        if n.op == 'abs':
            return self.cast(abs(self.cast(self.run(n.args[0]))))
        if n.op.endswith('_lut'):
            return self.lut(n.op, self.run(n.args[0]))
        if n.op in ('sqrt_abs', 'log_abs'):
            inner = self.cast(abs(self.cast(self.run(n.args[0]))))
            return self.native(n.op.replace('_abs', ''), inner)
        if n.op == 'pow_abs':
            inner = self.cast(abs(self.cast(self.run(n.args[0]))))
            exponent = n.value
            return self.native(lambda x: np.abs(x) ** exponent, inner)
        return self.native(n.op, self.run(n.args[0]))

    def lut(self, name: str, arg):
        spec = self.design.lut_for(name)
        layout = lut_layout(spec, self.prec)
        x = self.cast(arg)
        if not isinstance(x, self.FV) or x.low == x.high:
            from .tables import lut_index

            return self.const(float(layout.samples[lut_index(np.array([float(x.low)]), layout, spec.table_size)[0]]))
        idx = ((x - layout.start) * layout.base_div).quantize(True, 40, 0)
        idx = idx.max_of(0).min_of(spec.table_size - 1)
        lo, hi = int(idx.low), int(idx.high)
        if lo == hi:
            return self.const(float(layout.samples[lo]))
        # an index that moves in steps of more than one entry reaches only every step-th one (sin_lut(0.25*x0)
        # at ap_fixed<10,5>: steps of 4); da4ml's ROM holds exactly the entries its address can reach
        step = int(round(float(idx.step)))
        return idx.lookup(layout.samples[lo : hi + 1 : step])

    def native(self, op, arg):
        fn = op if callable(op) else float_function(op)
        x = self.cast(arg)
        if x.low == x.high:
            return self.const(float(saturating_cast(fn(np.array([float(x.low)])), self.prec)[0]))
        k, i, f = x.kif
        while k + i + f > NATIVE_MAX_ADDRESS_BITS and f > -i:
            f -= 1
        if (k, i, f) != x.kif:
            x = x.quantize(k, i, f)
        lo, hi, step = float(x.low), float(x.high), float(x.step)
        size = int(round((hi - lo) / step)) + 1
        grid = lo + np.arange(size) * step
        with np.errstate(all='ignore'):
            table = saturating_cast(fn(grid), self.prec)
        if np.all(table == table[0]):
            return self.const(float(table[0]))
        return x.lookup(table)


def trace_outputs(t: _Tracer, design: Design) -> list:
    """Each output of ``design`` traced by ``t`` and cast to ``result_t``."""
    try:
        return [t.cast(t.run(e.sympy_expr)) for e in design.outputs]
    except (ValueError, OverflowError) as e:  # a word past 2**1024: da4ml's float ranges overflow
        raise SynthesisError(f'the datapath needs values more than 1,000 bits wide, which da4ml cannot represent ({e}); use a '
                             'narrower precision or constants and powers that grow values less') from None


def trace(design: Design) -> Traced:
    from da4ml.trace import comb_trace

    t = _Tracer(design)
    outs = trace_outputs(t, design)
    comb = comb_trace(t.inputs, outs, keep_dead_inputs=True)
    return Traced(comb, design.n_inputs, len(design.outputs))


def latency_cutoff(comb, clock_period_ns: float) -> float:
    """da4ml latency units (about one adder level) per pipeline stage: two per ns of clock period, but never
    less than the slowest single operation (a wide multiplier is not split)."""
    ops = comb.ops
    worst = 1.0
    for k, op in enumerate(ops):
        if not np.isfinite(op.latency):
            raise SynthesisError(f'the datapath needs a value {word_bits(op.qint)} bits wide (operation {k}): da4ml cannot time or '
                                 'pipeline it; use a narrower precision or constants and powers that grow values less')
        preds = [ops[j].latency for j in (op.id0, op.id1) if j >= 0 and op.opcode not in (-1, 5)]
        base = max(preds) if preds else 0.0
        worst = max(worst, op.latency - base)
    return float(max(2.0 * clock_period_ns, np.ceil(worst)))


# -- the traced logic's reference outputs -------------------------------------------------------------------

EXACT_WORD_BITS = 53  # da4ml's Python interpreter computes in float64: exact for words up to this wide


def word_bits(qint) -> int:
    """Bits of a traced value's word (da4ml's ``minimal_kif``: sign, integer and fractional bits)."""
    from da4ml.types import minimal_kif

    return int(sum(minimal_kif(qint)))


def max_word_bits(comb) -> int:
    """Widest intermediate word of the traced logic."""
    return max((word_bits(op.qint) for op in comb.ops), default=0)


def _compiled_interpreter_exact(comb) -> bool:
    """Whether da4ml 0.6.0's C++ interpreter (``CombLogic.predict``) computes ``comb`` exactly. It does not
    where a word is wider than 32 bits (``DType::int_min`` / ``int_max`` shift a 32-bit ``1``, and
    ``quantize`` keeps an ``int32_t``; tests/test_trace_reference.py) or where a multiplexer's
    key is unsigned (``get_msb`` tests ``value > 2**(w-2)``, not bit ``w-1``)."""
    if max_word_bits(comb) > 32:
        return False
    ops = comb.ops
    return not any(op.opcode in (6, -6) and ops[op.data & 0xFFFFFFFF].qint.min >= 0 for op in ops)


def predict(comb, Xq: np.ndarray) -> np.ndarray:
    """Outputs of the traced logic ``comb`` for quantized inputs ``Xq`` (rows x inputs), as the RTL computes
    them: da4ml's C++ interpreter where it is exact (``_compiled_interpreter_exact``), else its Python one, row
    by row (exact for words up to ``EXACT_WORD_BITS``)."""
    n_in = comb.shape[0]
    Xq = np.asarray(Xq, dtype=np.float64).reshape(-1, n_in)
    if _compiled_interpreter_exact(comb):
        return np.asarray(comb.predict(Xq), dtype=np.float64).reshape(Xq.shape[0], -1)
    out = np.empty((Xq.shape[0], comb.shape[1]))
    for i, x in enumerate(Xq):
        out[i] = np.asarray(comb(x), dtype=np.float64)
    return out

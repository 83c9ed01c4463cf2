"""Fixed-point precisions, as hls4ml writes them: ``ap_fixed<W,I>``, ``ap_ufixed<W,I,Q,O>``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import PrecisionError

ROUNDING_MODES = ('AP_TRN', 'AP_RND', 'AP_TRN_ZERO', 'AP_RND_ZERO', 'AP_RND_INF', 'AP_RND_MIN_INF', 'AP_RND_CONV')
OVERFLOW_MODES = ('AP_WRAP', 'AP_SAT', 'AP_SAT_ZERO', 'AP_SAT_SYM')
MAX_WIDTH = 64  # bits of the widest type: the cost model and the emulation compute in 64-bit integers
MAX_MAGNITUDE = 2.0**MAX_WIDTH  # no supported type holds a value this large (ap_ufixed<64,64> ends just below)

_PATTERN = re.compile(r'^\s*(ap_fixed|ap_ufixed)\s*<\s*([^<>]*)>\s*$')


@dataclass(frozen=True, order=True)
class Precision:
    """An arbitrary-precision fixed-point type: ``width`` bits of which ``integer`` are integer bits
    (the sign bit included when ``signed``), like Xilinx ``ap_fixed<W,I>``."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = 'AP_TRN'
    overflow: str = 'AP_WRAP'

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise PrecisionError(f'width {self.width} is out of range: srcost supports 1 to {MAX_WIDTH} bits')
        if not isinstance(self.integer, int) or not 0 <= self.integer <= self.width:
            raise PrecisionError(
                f'integer bits {self.integer} must be between 0 and the width {self.width} '
                f'(e.g. ap_fixed<16,6>: 16 bits, 6 of them integer)'
            )
        if self.signed and self.width < 2:
            raise PrecisionError('a signed ap_fixed needs at least 2 bits')
        if self.rounding not in ROUNDING_MODES:
            raise PrecisionError(f'unknown rounding mode {self.rounding!r}; use one of {", ".join(ROUNDING_MODES)}')
        if self.overflow not in OVERFLOW_MODES:
            raise PrecisionError(f'unknown overflow mode {self.overflow!r}; use one of {", ".join(OVERFLOW_MODES)}')

    @classmethod
    def parse(cls, text: str | Precision) -> Precision:
        """Parse ``ap_fixed<16,6>``, ``ap_ufixed<8,3>``, ``ap_fixed<18,8,AP_RND,AP_SAT>``."""
        if isinstance(text, Precision):
            return text
        m = _PATTERN.match(str(text))
        if not m:
            raise PrecisionError(f'cannot parse precision {text!r}: expected e.g. "ap_fixed<16,6>" or "ap_ufixed<8,3>"')
        kind, body = m.groups()
        parts = [p.strip() for p in body.split(',')]
        if len(parts) < 2 or len(parts) > 4 or not all(parts):
            raise PrecisionError(f'cannot parse precision {text!r}: expected <W,I> or <W,I,rounding,overflow>')
        try:
            width, integer = int(parts[0]), int(parts[1])
        except ValueError:
            raise PrecisionError(f'cannot parse precision {text!r}: width and integer bits must be integers') from None
        rounding = parts[2].upper() if len(parts) > 2 else 'AP_TRN'
        overflow = parts[3].upper() if len(parts) > 3 else 'AP_WRAP'
        return cls(width, integer, kind == 'ap_fixed', rounding, overflow)

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def step(self) -> float:
        return 2.0**-self.fractional

    @property
    def min_value(self) -> float:
        return -(2.0 ** (self.integer - 1)) if self.signed else 0.0

    @property
    def max_value(self) -> float:
        top = 2.0 ** (self.integer - 1) if self.signed else 2.0**self.integer
        return top - self.step

    @property
    def kif(self) -> tuple[int, int, int]:
        """(sign bit, integer bits without sign, fractional bits), da4ml's convention."""
        k = int(self.signed)
        return k, self.integer - k, self.fractional

    def __str__(self) -> str:
        kind = 'ap_fixed' if self.signed else 'ap_ufixed'
        if self.rounding == 'AP_TRN' and self.overflow == 'AP_WRAP':
            return f'{kind}<{self.width},{self.integer}>'
        return f'{kind}<{self.width},{self.integer},{self.rounding},{self.overflow}>'

    def quantize(self, values):
        """Quantize float values as a C++ assignment to this type does (numpy, vectorised)."""
        import numpy as np

        x = np.asarray(values, dtype=np.float64)
        if self.overflow == 'AP_WRAP':
            # Beyond 2**53 steps a double is a whole number of steps, so wrapping it first (fmod by 2**integer, a
            # whole number of steps too, is exact) changes nothing; it keeps x / step from overflowing to inf
            # (1e300 at ap_fixed<28,0>) and q - lo from losing the low bits.
            with np.errstate(invalid='ignore'):
                big = np.abs(x) >= 2.0**53 * self.step
                x = np.where(big, np.fmod(x, 2.0**self.integer), x)
        with np.errstate(over='ignore'):
            x = x / self.step
        if self.rounding == 'AP_TRN':
            q = np.floor(x)
        elif self.rounding == 'AP_RND':
            q = np.floor(x + 0.5)
        elif self.rounding == 'AP_TRN_ZERO':
            q = np.trunc(x)
        else:
            q = np.round(x)
        lo, hi = self.min_value / self.step, self.max_value / self.step
        if self.overflow == 'AP_WRAP':
            # out-of-range q only: q mod span, then the upper half down (q - lo would lose bits past 2**53)
            span = 2.0**self.width
            r = np.mod(q, span)
            r = np.where(r > hi, r - span, r)
            q = np.where((q < lo) | (q > hi), r, q)
        else:
            q = np.clip(q, lo if self.overflow != 'AP_SAT_SYM' else -hi, hi)
        return q * self.step + 0.0  # + 0.0: no negative zeros

    def quantize_one(self, x: float) -> float:
        """``quantize`` of one float, in Python's float arithmetic (the same IEEE operations as the numpy form, so
        the same result; a search casts a handful of constants per candidate, where numpy's per-call cost would
        dominate). tests/test_precision.py checks the two against each other."""
        x = float(x)
        if x != x:
            return x
        step = self.step
        if self.overflow == 'AP_WRAP':
            if math.isinf(x):
                return math.nan
            if abs(x) >= 2.0**53 * step:
                x = math.fmod(x, 2.0**self.integer)
        v = x / step
        if not math.isfinite(v):
            q = v
        elif self.rounding == 'AP_TRN':
            q = float(math.floor(v))
        elif self.rounding == 'AP_RND':
            q = float(math.floor(v + 0.5))
        elif self.rounding == 'AP_TRN_ZERO':
            q = float(math.trunc(v))
        else:
            q = float(round(v))
        lo, hi = self.min_value / step, self.max_value / step
        if self.overflow == 'AP_WRAP':
            if q < lo or q > hi:
                span = 2.0**self.width
                q = q % span
                if q > hi:
                    q -= span
        else:
            q = min(max(q, lo if self.overflow != 'AP_SAT_SYM' else -hi), hi)
        return q * step + 0.0

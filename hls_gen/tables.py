"""Table contents, computed exactly as the firmware computes them.

hls4ml's ``nnet::lookup_table<T, N, func>(from, to)`` (nnet_utils/nnet_types.h):
    base_div = ap_fixed<20,16>(ap_uint<16>(N) / T(to - from))   # integer quotient
    step     = T((to - from) / N);  num_i = T(from + i*step);  samples[i] = T(func(num_i))
    index    = int((T(n) - from) * base_div), clamped to [0, N-1]
Sample values use the float function saturated to ``T``'s range (NaN -> 0) and truncated to its LSB: the
rule of srcost's ``hls_math.h`` stand-in, which both the open backend and the hls4ml C simulation use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir import float_function
from .lut import LutSpec
from .precision import Precision

NATIVE_MAX_ADDRESS_BITS = 10


def saturating_cast(values: np.ndarray, prec: Precision) -> np.ndarray:
    """T(func(x)) of the stand-in math library: saturate to T's range, NaN to 0, truncate to the LSB."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isnan(v), 0.0, v)
    v = np.clip(v, prec.min_value, prec.max_value)
    return np.floor(v / prec.step) * prec.step


@dataclass(frozen=True)
class LutLayout:
    start: float  # T(range_start)
    base_div: int  # integer quotient N / T(range)
    samples: np.ndarray  # N values, already in T


def lut_layout(spec: LutSpec, prec: Precision) -> LutLayout:
    n = spec.table_size
    start = float(prec.quantize(spec.range_start))
    end = float(prec.quantize(spec.range_end))
    span = float(prec.quantize(end - start))
    if span <= 0:
        from .errors import LutSpecError

        raise LutSpecError(f'LUT {spec} has an empty range at {prec}')
    base_div = int(np.floor(n / span))
    step = float(prec.quantize(span / n))
    nums = prec.quantize(start + np.arange(n) * step)
    samples = saturating_cast(float_function(spec.function)(nums), prec)
    return LutLayout(start, base_div, samples)


def lut_index(x_t: np.ndarray, layout: LutLayout, n: int) -> np.ndarray:
    """Index hls4ml's lookup_table computes for inputs already cast to T."""
    idx = np.floor((x_t - layout.start) * layout.base_div)
    return np.clip(idx, 0, n - 1).astype(np.int64)

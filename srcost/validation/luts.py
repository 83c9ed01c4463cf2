"""The error of each lookup table of a design, over its whole input range at the design's precision."""

from __future__ import annotations

import numpy as np

from hls_gen import Design

from .records import LutError, finite_or_none

MAX_LUT_POINTS = 1 << 16


def lut_errors(design: Design) -> list[LutError]:
    """Each LUT of ``design`` (as the firmware builds and indexes it) against its float function."""
    from hls_gen.ir import float_function
    from hls_gen.tables import lut_index, lut_layout

    prec = design.precision
    out = []
    for spec in design.luts:
        layout = lut_layout(spec, prec)
        fn = float_function(spec.function)
        lo, hi = float(prec.quantize(spec.range_start)), float(prec.quantize(spec.range_end))
        count = int(round((hi - lo) / prec.step)) + 1
        if count <= MAX_LUT_POINTS:
            x = lo + np.arange(count) * prec.step
        else:
            x = np.unique(prec.quantize(np.linspace(lo, hi, MAX_LUT_POINTS)))
        with np.errstate(all='ignore'):
            ref = fn(x)
            got = layout.samples[lut_index(x, layout, spec.table_size)]
            step = float(prec.quantize(float(prec.quantize(hi - lo)) / spec.table_size))  # as lut_layout
            nums = prec.quantize(layout.start + np.arange(spec.table_size) * step)
            sref = fn(nums)
        ok = np.isfinite(ref)
        sok = np.isfinite(sref)
        err = np.abs(got[ok] - ref[ok])
        serr = np.abs(layout.samples[sok] - sref[sok])
        out.append(LutError(
            name=spec.name, spec=str(spec), precision=str(prec), n_points=int(len(x)),
            max_abs_error=finite_or_none(err.max()) if len(err) else None,
            mean_abs_error=finite_or_none(err.mean()) if len(err) else None,
            sample_max_abs_error=finite_or_none(serr.max()) if len(serr) else None,
            n_saturated=int(np.sum((ref[ok] > prec.max_value) | (ref[ok] < prec.min_value))),
            n_undefined=int((~ok).sum()),
        ))
    return out

"""Numeric error of a micro-benchmark against float, on a fixed input grid over the operator's domain.

The firmware outputs come from a bit-accurate emulation of the backend where there is one (the open
backend: Verilator simulation of the RTL it synthesized; see ``find_emulator``). Otherwise a numpy quantization
model of the precision stands in (arithmetic exact then cast to the result type, functions as
``T(f(T(x)))``, LUTs as hls4ml's ``nnet::lookup_table``); rows say which method produced them.

Grid: the inputs are a fixed number of points over the operator's mathematical domain intersected with
the precision's range (for a function that has LUT variants, further limited to the table's range, for
its native row too, so rows compare), quantized to the precision so the input quantization itself is
not counted. Points where the float result is not finite or not representable in the precision are
left out; the row records how many points were used and the domain.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hls_gen.operators import get_operator
from hls_gen.precision import Precision

from .plans import BenchmarkPlan, benchmark_arity

UNARY_POINTS = 1025
BINARY_POINTS = 65  # per axis: 65 x 65 pairs
METHOD_EMULATION = 'bit-accurate emulation'
METHOD_MODEL = 'numpy quantization model (fallback, not bit-accurate)'

Emulator = Callable[..., np.ndarray]


@dataclass(frozen=True)
class ErrorStats:
    max_abs: float | None
    mean_abs: float | None
    points: int
    domain: tuple[float, float]
    method: str


def error_domain(plan: BenchmarkPlan) -> tuple[float, float]:
    """The operator's domain within the precision's range; for a function with a LUT variant, the range
    of interest of its table (the plan's LUT range, else the hls4ml default), for the native row too, so
    that the native and LUT rows of one function are measured on the same inputs."""
    prec = Precision.parse(plan.precision)
    op = get_operator(plan.operator)
    lo, hi = max(prec.min_value, float(op.domain[0])), min(prec.max_value, float(op.domain[1]))
    span = (plan.lut.range_start, plan.lut.range_end) if plan.lut is not None else op.lut_range
    if span is not None:
        lo, hi = max(lo, float(span[0])), min(hi, float(span[1]))
    return float(lo), float(hi)


def input_grid(plan: BenchmarkPlan) -> np.ndarray:
    """The fixed input grid, shape (n, n_inputs), every value representable in the precision."""
    prec = Precision.parse(plan.precision)
    lo, hi = error_domain(plan)
    arity = benchmark_arity(get_operator(plan.operator))
    axis = np.unique(prec.quantize(np.linspace(lo, hi, UNARY_POINTS if arity == 1 else BINARY_POINTS)))
    axis = axis[(axis >= lo) & (axis <= hi)]
    if arity == 1:
        return axis[:, None]
    a, b = np.meshgrid(axis, axis, indexing='ij')
    return np.column_stack([a.ravel(), b.ravel()])


def model_outputs(plan: BenchmarkPlan, X: np.ndarray) -> np.ndarray:
    """The numpy quantization model of the benchmark's firmware output (see the module docstring)."""
    from hls_gen.tables import lut_index, lut_layout, saturating_cast

    prec = Precision.parse(plan.precision)
    Xq = prec.quantize(X)
    if plan.lut is not None:
        layout = lut_layout(plan.lut, prec)
        return layout.samples[lut_index(Xq[:, 0], layout, plan.lut.table_size)]
    exact = plan.design.outputs[0].evaluate(Xq)
    if get_operator(plan.operator).is_function:
        return saturating_cast(exact, prec)
    with np.errstate(all='ignore'):
        return prec.quantize(np.where(np.isfinite(exact), exact, 0.0))


# hls_gen.emulate.emulate(design, X, backend=MODE) mode that reproduces each synthesis backend's firmware
# when the backend itself cannot emulate cheaply
EMULATION_MODES: dict[str, tuple[str, str]] = {
    'open': ('trace', 'da4ml interpreter of the logic written as RTL (exact up to 64-bit internal widths)'),
    'vivado_hls': ('hls4ml', "hls4ml C simulation (math functions: srcost's hls_math stand-in)"),
    'vitis_hls': ('hls4ml', "hls4ml C simulation (math functions: srcost's hls_math stand-in)"),
}


def find_emulator(backend: object) -> tuple[Emulator, str] | None:
    """The hook for bit-accurate outputs, as (callable(design, X, ...), label):

    1. ``backend.emulate(design, X[, workdir, timeout_s])`` when the backend has one and has built its
       simulation model while synthesizing (the open backend with ``verify_latency``: Verilator simulation
       of the synthesized RTL, reusing the model in the batch's work directory);
    2. else ``hls_gen.emulate.emulate(design, X, backend=MODE)`` for a backend listed in EMULATION_MODES
       (the open backend without latency verification: da4ml's interpreter, no C++ build);
    3. else ``backend.emulate`` if it exists at all;
    4. else None: the numpy quantization model is used, and labelled as the fallback.
    """
    name = getattr(backend, 'name', '')
    method = getattr(backend, 'emulate', None)
    if callable(method) and getattr(backend, 'verify_latency', True):
        return method, f'{name} backend RTL simulation' if name == 'open' else f'{name} backend emulate()'
    if name in EMULATION_MODES:
        try:
            from hls_gen.emulate import emulate
        except ImportError:
            emulate = None
        if emulate is not None:
            mode, label = EMULATION_MODES[name]
            return functools.partial(emulate, backend=mode), label
    if callable(method):
        return method, f'{name} backend emulate()'
    return None


def _call_emulator(fn: Emulator, plan: BenchmarkPlan, X: np.ndarray, workdir: Path | None, timeout_s: float) -> np.ndarray:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = {}
    kwargs = {}
    if 'workdir' in params and workdir is not None:
        kwargs['workdir'] = workdir
    if 'timeout_s' in params:
        kwargs['timeout_s'] = timeout_s
    return np.asarray(fn(plan.design, X, **kwargs), dtype=np.float64)


def measure_error(plan: BenchmarkPlan, emulator: Emulator | tuple[Emulator, str] | None = None,
                  workdir: Path | None = None, timeout_s: float = 600) -> ErrorStats:
    """Max and mean absolute error of the firmware output against float64 on the fixed grid.
    ``emulator``: a callable or ``find_emulator``'s (callable, label); None for the numpy model."""
    prec = Precision.parse(plan.precision)
    X = input_grid(plan)
    with np.errstate(all='ignore'):
        ref = plan.design.outputs[0].evaluate(X)
    keep = np.isfinite(ref) & (ref >= prec.min_value) & (ref <= prec.max_value)
    method = METHOD_MODEL
    got = None
    label = ''
    if isinstance(emulator, tuple):
        emulator, label = emulator
    if emulator is not None:
        try:
            got = _call_emulator(emulator, plan, X, workdir, timeout_s).reshape(X.shape[0], -1)[:, 0]
            method = f'{METHOD_EMULATION}: {label}' if label else METHOD_EMULATION
        except Exception as e:  # noqa: BLE001 - the fallback is labelled with the reason
            method = f'{METHOD_MODEL}; emulation failed: {type(e).__name__}: {str(e)[:200]}'
    if got is None:
        got = model_outputs(plan, X)
    domain = error_domain(plan)
    if not keep.any():
        return ErrorStats(None, None, 0, domain, method)
    err = np.abs(got[keep] - ref[keep])
    return ErrorStats(float(err.max()), float(err.mean()), int(keep.sum()), domain, method)

"""Bit-accurate C simulation of a Design through hls4ml's generated C++, without Xilinx tools.

hls4ml's symbolic writer copies its ``HLSIncludePath`` into ``firmware/ap_types``; we point it at a folder
holding hls4ml's bundled ap_types headers plus srcost's ``hls_math.h`` shim (``hls_gen/cxx/hls_math.h``),
compile with g++ (``model.compile()``) and run ``model.predict``. The result is the reference numerics of
srcost: the open backend must agree with it bit for bit.

Exactness: the ap_fixed arithmetic, constants and ``nnet::lookup_table`` lookups are exactly what Vivado/Vitis
HLS C simulation computes, given the table samples. The samples (and any NON-LUT math function such as
``sin`` rather than ``sin_lut``) come from the shim: the real function in double, NaN -> 0, saturated to the
type's range, quantized with the type's rounding (AP_TRN: toward minus infinity). Xilinx's ``hls::`` math
differs from that by up to about one LSB, so designs with non-LUT functions are simulated approximately:
``CsimModel.shim_functions`` lists them.

The semantics, verified with g++ against hls4ml 1.3.0's ap_types headers (``T`` = the design's ap_fixed):

* ``T(double)`` and every implicit conversion to ``T``: floor to the LSB (AP_TRN), two's-complement wrap.
  ``+ - *`` between ap_fixed values are exact (the result type grows). Constants are printed by hls4ml as
  ``result_t(c)``: a negative constant term is ``result_t(-0.3)`` (floored), but ``-0.7*x0`` prints as
  ``-result_t(0.7)*x[0]`` (magnitude floored, then negated); ``x0/x1`` is a native ap_fixed division.
* ``nnet::lookup_table<T, N, func>(from, to)``: ``start = T(from)``, ``end = T(to)``;
  ``base_div = ap_fixed<20,16>(ap_uint<16>(N) / T(end - start))`` -- the quotient type is ap_fixed<27,27>
  (an integer), truncated toward zero, then wrapped into 16 integer bits (N=65535 over a span of 1 gives -1;
  a span that wraps negative, e.g. [-16, 16] at ap_fixed<16,6>, gives a negative base_div and every lookup
  clamps to index 0; a span of exactly 0 after wrapping, e.g. [-32, 32], divides by zero: SIGFPE);
  ``step = T((end - start) / ap_uint<16>(N))`` -- quotient truncated toward zero at T's LSB;
  ``sample[i] = T(func(T(start + i*step)))`` with func from the shim (NaN -> 0, saturate, floor);
  lookup ``index = int((T(arg) - start) * base_div)`` -- int() truncates toward zero -- clamped to [0, N-1].
"""

from __future__ import annotations

import atexit
import io
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .design import Design
from .errors import LutSpecError, SynthesisError, ToolNotFound
from .hls4ml_project import NO_HLS_LIBS, bundled_ap_types, convert
from .stdout import redirect_stdout

SHIM_HEADER = Path(__file__).parent / 'cxx' / 'hls_math.h'
BUILD_TIMEOUT_S = 600

_LOCK = threading.Lock()
_CACHE: dict[str, CsimModel] = {}
_WORKDIR: Path | None = None


@dataclass
class CsimModel:
    """A compiled hls4ml C model of one design."""

    design: Design
    project_dir: Path
    shim_functions: tuple[str, ...]  # hls:: functions the expressions call (shim, not bit-exact vs Xilinx)
    divides: bool  # the C++ has a native ap_fixed division: predictions run in a child process
    library: Path  # the compiled shared library
    _model: Any = field(repr=False)

    @property
    def bit_accurate(self) -> bool:
        """True when every math function is a lookup table (the output is exactly Vivado HLS csim's)."""
        return not self.shim_functions

    def predict(self, X) -> np.ndarray:
        X = _check_inputs(self.design, X)
        n, n_out = X.shape[0], len(self.design.outputs)
        if n == 0:
            return np.zeros((0, n_out))
        if self.divides:
            return _predict_isolated(self.library, f'{self.design.name}_double', X, n_out)
        with _LOCK:  # the compiled library keeps static state; one call at a time
            y = self._model.predict(X)
        return np.asarray(y, dtype=np.float64).reshape(n, n_out)


# Runs a compiled model in a child process: an ap_fixed division by a value that quantized to zero raises
# SIGFPE, which would kill the calling Python process. This is srcost's own fixed code, not user text.
_WORKER = r"""
import ctypes, io, sys
import numpy as np
lib, fn, n_out = sys.argv[1], sys.argv[2], int(sys.argv[3])
X = np.load(io.BytesIO(sys.stdin.buffer.read()))
f = getattr(ctypes.CDLL(lib), fn)
f.restype = None
f.argtypes = [np.ctypeslib.ndpointer(np.float64, flags='C_CONTIGUOUS')] * 2
Y = np.zeros((X.shape[0], n_out))
for i in range(X.shape[0]):
    x, y = np.ascontiguousarray(X[i]), np.zeros(n_out)
    f(x, y)
    Y[i] = y
np.save(sys.stdout.buffer, Y)
"""


def _predict_isolated(library: Path, function: str, X: np.ndarray, n_out: int) -> np.ndarray:
    buf = io.BytesIO()
    np.save(buf, X)
    try:
        proc = subprocess.run(
            [sys.executable, '-c', _WORKER, str(library), function, str(n_out)],
            input=buf.getvalue(),
            capture_output=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SynthesisError(f'C simulation of {library.name} ran past {BUILD_TIMEOUT_S} s') from None
    if proc.returncode == -signal.SIGFPE:
        raise SynthesisError(
            'C simulation divided by zero: an ap_fixed division by a value that quantized to 0 '
            '(the same inputs would give an undefined result in hardware)'
        )
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors='replace').strip()[-2000:]
        raise SynthesisError(f'C simulation of {library.name} failed with exit status {proc.returncode}: {msg}')
    return np.load(io.BytesIO(proc.stdout)).reshape(X.shape[0], n_out)


def _check_inputs(design: Design, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1) if design.n_inputs == 1 else X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != design.n_inputs:
        raise ValueError(f'inputs must have shape (n_samples, {design.n_inputs}), got {X.shape}')
    if not np.all(np.isfinite(X)):
        raise ValueError('inputs contain NaN or infinity: fixed-point inputs must be finite numbers')
    return np.ascontiguousarray(X)


def shim_functions(project_dir: Path, name: str) -> tuple[str, ...]:
    """The ``hls::`` functions the generated expressions call directly (read from ``firmware/<name>.cpp``):
    C simulation takes them from the shim, so they are not bit-exact against Xilinx's hls_math.
    (Lookup-table samples also come from the shim, by design: that is what makes them deterministic.)"""
    cpp = Path(project_dir) / 'firmware' / f'{name}.cpp'
    text = cpp.read_text() if cpp.is_file() else ''
    return tuple(sorted(set(re.findall(r'\bhls::(\w+)\s*[<(]', text))))


def has_native_division(project_dir: Path, name: str) -> bool:
    """Does ``firmware/<name>.cpp`` divide ap_fixed values (``x[0]/x[1]``), as opposed to the constant
    literals hls4ml prints for rationals (``result_t(1.0/3.0)``)?"""
    cpp = Path(project_dir) / 'firmware' / f'{name}.cpp'
    text = cpp.read_text() if cpp.is_file() else ''
    text = re.sub(r'//[^\n]*', '', text)  # comments
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.DOTALL)
    text = re.sub(r'\d+\.\d*\s*/\s*\d+\.\d*', '', text)  # rational literals
    return '/' in text


def check_luts(design: Design) -> None:
    """Refuse lookup tables whose C++ constructor divides by zero (SIGFPE when the library is loaded):
    ``ap_uint<16>(N)`` is 0 when N is a multiple of 65536, and ``T(T(end) - T(start))`` is 0 when the range
    wraps around the type (e.g. [-32, 32] at ap_fixed<16,6>)."""
    p = design.precision
    for s in design.luts:
        if s.table_size % 65536 == 0:
            raise LutSpecError(f'{s.name}: table size {s.table_size} is 0 as hls4ml\'s ap_uint<16>: use at most 65535')
        span = float(p.quantize(p.quantize(s.range_end) - p.quantize(s.range_start)))
        if span == 0:
            raise LutSpecError(
                f'{s.name}: range [{s.range_start:g}, {s.range_end:g}] has span 0 once converted to {p} '
                f'(the range end wraps around the type), and hls4ml\'s lookup_table would divide by zero'
            )


def _workdir() -> Path:
    global _WORKDIR
    if _WORKDIR is None or not _WORKDIR.is_dir():
        _WORKDIR = Path(tempfile.mkdtemp(prefix='srcost-csim-'))
        atexit.register(shutil.rmtree, _WORKDIR, True)
    return _WORKDIR


def include_dir() -> Path:
    """hls4ml's ap_types headers with srcost's ``hls_math.h`` shim in place of hls4ml's stub (once per process)."""
    inc = _workdir() / 'include'
    if not (inc / 'hls_math.h').is_file():
        if not SHIM_HEADER.is_file():
            raise FileNotFoundError(f'{SHIM_HEADER} is missing: the srcost installation is incomplete')
        tmp = _workdir() / 'include.tmp'
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(bundled_ap_types(), tmp)
        shutil.copyfile(SHIM_HEADER, tmp / 'hls_math.h')
        tmp.rename(inc)
    return inc


def csim_model(design: Design) -> CsimModel:
    """The compiled C model of ``design``, cached by design digest for the life of the process."""
    key = design.digest()
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        if shutil.which('g++') is None:
            raise ToolNotFound('g++ not found on PATH; C simulation needs a C++ compiler (e.g. apt-get install g++)')
        check_luts(design)
        project = _workdir() / f'{design.name}-{key}'
        shutil.rmtree(project, ignore_errors=True)
        model = convert(design, project, hls_include_path=include_dir(), hls_libs_path=NO_HLS_LIBS)
        out = io.StringIO()
        try:
            with redirect_stdout(out):
                model.compile()
        except Exception as e:
            raise SynthesisError(
                f'g++ could not compile the hls4ml C model of {design.name!r}: {e}', _build_log(project, out.getvalue())
            ) from e
        stamp = model.config.get_config_value('Stamp')
        cached = CsimModel(
            design,
            project,
            shim_functions(project, design.name),
            has_native_division(project, design.name),
            project / 'firmware' / f'{design.name}-{stamp}.so',
            model,
        )
        _CACHE[key] = cached
        return cached


def _build_log(project: Path, captured: str) -> str:
    """Re-run the build script to capture the compiler's messages (hls4ml's compile() hides them)."""
    log_path = project / 'srcost_csim_build.log'
    project.mkdir(parents=True, exist_ok=True)
    text = captured
    if (project / 'build_lib.sh').is_file():
        try:
            proc = subprocess.run(
                ['bash', 'build_lib.sh'],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
            text += proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            text += f'build_lib.sh timed out after {BUILD_TIMEOUT_S} s\n'
    log_path.write_text(text)
    return str(log_path)


def csim_predict(design: Design, X) -> np.ndarray:
    """hls4ml C-simulation outputs of ``design`` on rows of ``X``: shape (n_samples, n_outputs), float64.

    Inputs are converted to ``input_t`` as the C++ does (AP_TRN: toward minus infinity, then wrap)."""
    return csim_model(design).predict(X)


def clear_cache() -> None:
    """Forget compiled models (their libraries stay loaded until the process exits)."""
    with _LOCK:
        _CACHE.clear()

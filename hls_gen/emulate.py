"""Bit-accurate emulation of what the firmware computes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .design import Design


def emulate(design: Design, X: np.ndarray, backend: str = 'open', workdir: Path | None = None) -> np.ndarray:
    """Outputs (n_samples, n_outputs) of ``design`` on rows of X.

    ``open``: Verilator simulation of the open backend's RTL. ``trace``: da4ml's interpreter of the same traced
    logic, no compilation (the open backend checks at every synthesis that the RTL equals it). ``hls4ml``: hls4ml's C simulation (g++
    with the bundled ap_types headers and srcost's math stand-in; exact for LUT functions and arithmetic).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < design.n_inputs:
        raise ValueError(f'X must have shape (n, {design.n_inputs}), got {X.shape}')
    if np.isnan(X).any():
        raise ValueError(f'X has {int(np.isnan(X).any(axis=1).sum())} rows with NaN; drop or impute them first')
    if backend == 'open':
        from .backends.open import OpenBackend

        if workdir is not None:
            return OpenBackend().emulate(design, X[:, : design.n_inputs], Path(workdir))
        with tempfile.TemporaryDirectory(prefix='srcost-emu-') as tmp:
            return OpenBackend().emulate(design, X[:, : design.n_inputs], Path(tmp))
    if backend == 'trace':
        from .tracing import predict, trace

        Xq = design.precision.quantize(X[:, : design.n_inputs])
        out = predict(trace(design).comb, Xq)
        return out.reshape(X.shape[0], len(design.outputs))
    if backend == 'hls4ml':
        from .csim import csim_predict

        return csim_predict(design, X[:, : design.n_inputs])
    raise ValueError(f'unknown emulation backend {backend!r}: use "open", "trace" or "hls4ml"')

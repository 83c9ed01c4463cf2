"""Vivado / Vitis HLS: the analytic model on the published per-operator latency table, with three
backend-level parameters fitted on the real designs in ``../shared/fixtures/vivado_hls``.

The published table measured each operator alone (every result floored at 1 cycle). Inside a whole
design the HLS scheduler chains several adders and multipliers into one 5 ns cycle, and an hls4ml
``lookup_table`` read is not in the table at all. So the model is

    latency = round(critical path with arithmetic at ``arith_scale`` x its table latency,
                    math functions at their table latency, LUT reads at ``lut_latency``) + ``offset``

and the three numbers are chosen on the shared designs (a small grid, physically plausible values only,
ties broken toward 0.5 cycles per arithmetic operation and no offset).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from hls_gen import Design

from .calibration import CalibrationSet, OpCost, OperatorCosts, shared_dir

ARITH = ('+', '-', '*', 'neg', 'square', 'cube', 'pow_int', 'abs')
GRID_SCALE = (0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0)
GRID_LUT = (1.0, 2.0, 3.0)
GRID_OFFSET = (-2, -1, 0, 1, 2, 3)


@dataclass(frozen=True)
class VivadoParams:
    arith_scale: float = 0.5
    lut_latency: float = 1.0
    offset: float = 0.0


def adjusted(cal: CalibrationSet, params: VivadoParams) -> CalibrationSet:
    """A copy of ``cal`` with arithmetic latencies scaled and LUT reads given ``lut_latency``."""
    from hls_gen.operators import LUT_FUNCTIONS

    out = CalibrationSet(cal.backend, cal.part, fallback=cal.fallback)
    for t in cal.tables.values():
        costs = {}
        for (op, impl), c in t.costs:
            lat = c.latency * params.arith_scale if op in ARITH else c.latency
            costs[(op, impl)] = OpCost(lat, c.ii, c.lut, c.ff, c.dsp, c.bram_18k, c.carry)
        for (op, _impl), c in list(costs.items()):
            if op in ('+', '*') and (op, 'const') not in costs:
                costs[(op, 'const')] = c
        for name in LUT_FUNCTIONS:
            fn = name[: -len('_lut')]
            if t.get(fn, 'lut') is None:
                costs[(fn, 'lut')] = OpCost(latency=params.lut_latency, ii=1.0)
        out.add(OperatorCosts.build(t.backend, t.precision, costs, part=t.part, clock_period_ns=t.clock_period_ns,
                                    tool_version=t.tool_version, source=t.source + ' (backend-level parameters fitted)'))
    return out


def fixture_designs(root: Path | None = None) -> list[tuple[str, Design, int]]:
    """(variant, design, reported latency) of the shared Vivado HLS designs; [] without ../shared."""
    root = root or (shared_dir() / 'fixtures' / 'vivado_hls' if shared_dir() else None)
    if root is None or not root.is_dir():
        return []
    out = []
    for d in sorted(p for p in root.iterdir() if (p / 'design.json').exists()):
        j = json.loads((d / 'design.json').read_text())
        outs = list(j['outputs_plain'].values())
        luts: list = []
        if j['variant'] != 'nonlut':
            outs = [o.replace('sin(', 'sin_lut(') for o in outs]
            for lut in j.get('lut_definitions', []):
                if 'range_start' in lut:
                    luts = [f'sin:{lut["table_size"]}:{lut["range_start"]}:{lut["range_end"]}']
        design = Design.build(outs, j['precision'], luts, n_inputs=j['n_inputs'])
        out.append((j['variant'], design, _reported_latency(d)))
    return out


def _reported_latency(folder: Path) -> int:
    from xml.etree import ElementTree

    for name in ('myproject_csynth.xml', 'csynth.xml'):
        f = folder / name
        if f.exists():
            node = ElementTree.parse(f).getroot().find('.//SummaryOfOverallLatency/Worst-caseLatency')
            if node is not None and node.text:
                return int(node.text)
    raise FileNotFoundError(f'no top-level csynth report in {folder}')


_FITTED: dict[str, VivadoParams] = {}


def fit_params(cal: CalibrationSet) -> VivadoParams:
    """Grid search of the backend-level parameters on the shared designs (cached per calibration)."""
    key = cal.digest()
    if key not in _FITTED:
        _FITTED[key] = _fit(cal)
    return _FITTED[key]


def _fit(cal: CalibrationSet) -> VivadoParams:
    fixtures = fixture_designs()
    if not fixtures:
        return VivadoParams()
    from .features import FeatureExtractor

    fx = FeatureExtractor()
    best, best_key = VivadoParams(), None
    for scale, lut in itertools.product(GRID_SCALE, GRID_LUT):
        adj = adjusted(cal, VivadoParams(scale, lut, 0))
        X = fx.features([d for _, d, _ in fixtures], adj)
        cps = X['cal_latency_cp'].to_numpy()
        for off in GRID_OFFSET:
            errs = [abs(round(cp) + off - y) for cp, (_, _, y) in zip(cps, fixtures)]
            key = (max(errs), sum(errs), abs(scale - 0.5), abs(off), lut)
            if best_key is None or key < best_key:
                best, best_key = VivadoParams(scale, lut, off), key
    return best


def fit_vivado_analytic(model) -> VivadoParams:
    """Give an ``AnalyticModel`` of vivado_hls/vitis_hls the fitted backend-level parameters."""
    cal = model.calibration
    if cal is None:
        return VivadoParams()
    params = fit_params(cal)
    model._calibration = adjusted(cal, params)
    model.latency_scale, model.latency_offset = 1.0, float(params.offset)
    model.vivado_params = params
    return params


__all__ = ['VivadoParams', 'adjusted', 'fit_params', 'fit_vivado_analytic', 'fixture_designs']

"""The real Vivado HLS reports under ``../shared`` as typed records: the data the Vivado model is fitted on.

Two collections (Vivado HLS 2020.1, xcvu9p-flga2577-2-e, 5 ns, II=1, hls4ml ``io_parallel``):

- ``fixtures/vivado_hls/<design>/``: one five-output jet-tagging expression set at ``ap_fixed<16,6>``,
  ``design.json`` (expressions, LUT definitions) beside the csynth XML reports;
- ``fixtures/vivado_hls_sincos/``: a sin/cos five-output set at seven precisions (``ap_fixed<8..16,6>``),
  ``reports.csv`` (one row per design) naming the JSON that holds its expressions.

Each comes in three implementations of ``sin``/``cos``: ``nonlut`` (``hls::sin``, a CORDIC), ``lut``
(hls4ml's built-in ``nnet::sin_lut``: a 512-entry octant table) and ``userlut`` (a user
``nnet::lookup_table`` of 1024 entries over [-8, 8]). srcost writes the last two as ``sin_lut``: the
built-in one without a LUT spec (the design gets srcost's default spec), the user one with its spec;
``lut_impl`` records which one Vivado synthesized. Nothing here is copied into the repository: the
records are read from ``../shared`` whenever they are needed, and [] is returned without it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from hls_gen import Design

from .calibration import PUBLISHED_VIVADO, shared_dir

VARIANT_LUT_IMPL = {'nonlut': '', 'lut': 'builtin', 'userlut': 'table'}
_FUNC_CALL = re.compile(r'\b(sin|cos)\(')


@dataclass(frozen=True)
class VivadoReport:
    """One synthesized design and what Vivado HLS reported for it."""

    name: str  # the report's folder
    collection: str  # 'vivado_hls' | 'vivado_hls_sincos'
    variant: str  # 'nonlut' | 'lut' | 'userlut'
    design: Design
    latency: int  # worst-case latency, cycles
    ii: int
    lut: int
    ff: int
    dsp: int
    bram_18k: int

    @property
    def lut_impl(self) -> str:
        """'builtin' (hls4ml's nnet::sin_lut), 'table' (nnet::lookup_table) or '' (no LUT function)."""
        return VARIANT_LUT_IMPL[self.variant]

    @property
    def precision(self) -> str:
        return str(self.design.precision)

    @property
    def folded(self) -> bool:
        """Vivado reported (almost) no logic: it folded the design's outputs to constants."""
        return self.lut < 100 and self.dsp == 0


def _design(outputs: list[str], precision: str, variant: str, lut_defs: list[dict], n_inputs: int) -> Design:
    """The srcost design of one report: LUT variants call ``sin_lut``/``cos_lut``; a user table keeps its spec."""
    luts = []
    if variant != 'nonlut':
        outputs = [_FUNC_CALL.sub(r'\1_lut(', o) for o in outputs]
        for d in lut_defs:
            if 'range_start' in d:
                fn = str(d.get('function') or d['name'][: -len('_lut')]).split()[0]
                luts.append(f'{fn}:{d["table_size"]}:{d["range_start"]}:{d["range_end"]}')
    return Design.build(outputs, precision, luts, n_inputs=n_inputs)


def _fixture_reports(root: Path) -> list[VivadoReport]:
    from hls_gen.reports import find_top_report, parse_csynth_xml

    out = []
    for d in sorted(p for p in root.iterdir() if (p / 'design.json').exists()):
        j = json.loads((d / 'design.json').read_text())
        r = parse_csynth_xml(find_top_report(d, 'myproject'))
        design = _design(list(j['outputs_plain'].values()), j['precision'], j['variant'], j.get('lut_definitions', []),
                         j['n_inputs'])
        out.append(VivadoReport(d.name, 'vivado_hls', j['variant'], design, r.latency_worst, r.ii, r.lut, r.ff, r.dsp,
                                r.bram_18k))
    return out


def _sincos_reports(root: Path) -> list[VivadoReport]:
    table = root / 'reports.csv'
    if not table.exists():
        return []
    out = []
    with open(table, newline='') as fh:
        for row in csv.DictReader(fh):
            j = json.loads((root / row['expressions']).read_text())
            design = _design(list(j['outputs_plain'].values()), row['precision'], row['variant'], j.get('lut_definitions', []),
                             j['n_inputs'])
            out.append(VivadoReport(row['folder'], 'vivado_hls_sincos', row['variant'], design, int(row['latency_worst']),
                                    int(row['ii_max']), int(row['lut']), int(row['ff']), int(row['dsp']), int(row['bram18k'])))
    return out


def shared_reports(root: Path | None = None) -> list[VivadoReport]:
    """Every real Vivado HLS report of ``../shared/fixtures`` (or ``root``); [] where they are absent."""
    root = root or (shared_dir() / 'fixtures' if shared_dir() else None)
    if root is None or not root.is_dir():
        return []
    out: list[VivadoReport] = []
    if (root / 'vivado_hls').is_dir():
        out += _fixture_reports(root / 'vivado_hls')
    if (root / 'vivado_hls_sincos').is_dir():
        out += _sincos_reports(root / 'vivado_hls_sincos')
    return out


def published_latency_rows(path: Path | None = None) -> list[tuple[str, int, int, int]]:
    """(operator, width, integer bits, latency cycles) of the published per-operator table; [] without it."""
    from hls_gen import Precision


    if path is None:
        root = shared_dir()
        if root is None or not (root / PUBLISHED_VIVADO).exists():
            return []
        path = root / PUBLISHED_VIVADO
    out = []
    with open(path, newline='') as fh:
        for row in csv.DictReader(fh):
            p = Precision.parse(row['precision'])
            out.append((row['operator'], p.width, p.integer, int(row['latency_cycles'])))
    return out


__all__ = ['VARIANT_LUT_IMPL', 'VivadoReport', 'published_latency_rows', 'shared_reports']

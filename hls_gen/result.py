"""What a synthesis backend returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class SynthResult:
    backend: str  # 'open', 'vivado_hls', 'vitis_hls'
    tool: str  # e.g. 'yosys+verilator', 'vivado_hls'
    tool_version: str
    part: str
    precision: str
    clock_period_ns: float
    latency_best: int  # cycles
    latency_worst: int
    ii: int
    lut: int
    ff: int
    dsp: int
    bram_18k: int
    uram: int = 0
    carry: int = 0
    clock_estimate_ns: float | None = None
    clock_estimate_method: str = ''  # how the clock estimate was obtained: 'hls estimate', 'open: logic-depth model'
    latency_method: str = ''  # e.g. 'pipeline stages, confirmed by Verilator simulation'
    design_digest: str = ''
    log_path: str | None = None
    cells: tuple[tuple[str, int], ...] = ()

    @property
    def latency_cycles(self) -> int:
        return self.latency_worst

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['cells'] = dict(self.cells)
        d['latency_cycles'] = self.latency_cycles
        d['clock_estimate_ns'] = self.clock_estimate_ns
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SynthResult:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw['cells'] = tuple(sorted(dict(kw.get('cells', {}) or {}).items()))
        return cls(**kw)

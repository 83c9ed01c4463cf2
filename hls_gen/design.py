"""A design: the output expressions of one firmware block, with its precision, LUTs and target."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import ExpressionError, LutSpecError
from .expression import MAX_INPUTS, Expression
from .lut import LutSpec
from .precision import Precision

DEFAULT_PART = 'xcvu9p-flga2577-2-e'
DEFAULT_CLOCK_NS = 5.0
SCHEMA_VERSION = 1
ROM_STYLES = ('auto', 'block', 'distributed')  # Vivado's ROM_STYLE; the rule of 'auto': hls_gen/backends/roms.py
# Outputs of one design: each is a port and a datapath of its own, like an input's port (MAX_INPUTS); chosen
# equal to MAX_INPUTS. docs/limits.md.
MAX_OUTPUTS = 256
_PART = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')  # the part goes into tool scripts: letters, digits, - _ .


@dataclass(frozen=True)
class Design:
    outputs: tuple[Expression, ...]
    precision: Precision
    n_inputs: int
    luts: tuple[LutSpec, ...] = ()
    part: str = DEFAULT_PART
    clock_period_ns: float = DEFAULT_CLOCK_NS
    name: str = 'myproject'
    rom_style: str = 'auto'  # tables: auto | block | distributed (hls_gen/backends/roms.py)
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @classmethod
    def build(
        cls,
        outputs: Sequence[str | Expression] | str | Expression,
        precision: str | Precision = 'ap_fixed<16,6>',
        luts: Sequence[str | LutSpec] = (),
        n_inputs: int | None = None,
        part: str = DEFAULT_PART,
        clock_period_ns: float = DEFAULT_CLOCK_NS,
        name: str = 'myproject',
        rom_style: str = 'auto',
    ) -> Design:
        """Validate everything once. Every ``<fn>_lut`` used without a spec gets hls4ml-style defaults."""
        if isinstance(outputs, (str, Expression)):
            outputs = [outputs]
        outputs = list(outputs)
        if not outputs:
            raise ExpressionError('a design needs at least one output expression')
        if len(outputs) > MAX_OUTPUTS:
            raise ExpressionError(f'a design has at most {MAX_OUTPUTS} outputs, got {len(outputs)}')
        exprs = tuple(Expression.parse(o) for o in outputs)
        prec = Precision.parse(precision)
        specs = {s.name: s for s in (LutSpec.parse(x) for x in luts)}
        used = set().union(*(e.lut_functions for e in exprs))
        for fn in sorted(used - set(specs)):
            specs[fn] = LutSpec.default(fn[: -len('_lut')])
        for s in specs.values():
            if s.name not in used:
                # a spec for an unused function is harmless but probably a typo: keep it, hls4ml does
                pass
        need = max(e.n_inputs for e in exprs)
        if n_inputs is None:
            n_inputs = max(need, 1)
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)):
            raise ExpressionError(f'the number of inputs must be an integer, got {n_inputs!r}')
        if not 1 <= n_inputs <= MAX_INPUTS:
            raise ExpressionError(f'a design has 1 to {MAX_INPUTS} inputs, got {n_inputs}')
        if n_inputs < need:
            raise ExpressionError(f'the expressions use x{need - 1} but the design has only {n_inputs} inputs')
        try:
            clock = float(clock_period_ns)
        except (TypeError, ValueError):
            clock = float('nan')
        if not 0 < clock < float('inf'):
            raise ExpressionError(f'clock period must be a positive number of ns, got {clock_period_ns!r}')
        if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
            raise ExpressionError(f'design name {name!r} must be a C identifier')
        if not isinstance(part, str) or not _PART.match(part):
            raise ExpressionError(f'FPGA part {str(part)[:60]!r} must be a part name such as {DEFAULT_PART}')
        if rom_style not in ROM_STYLES:
            raise ExpressionError(f'unknown ROM style {str(rom_style)[:40]!r}; choose one of {", ".join(ROM_STYLES)}')
        return cls(exprs, prec, int(n_inputs), tuple(sorted(specs.values())), part, clock, name, rom_style)

    def lut_for(self, fn_name: str) -> LutSpec:
        for s in self.luts:
            if s.name == fn_name:
                return s
        raise LutSpecError(f'no LUT spec for {fn_name}')

    def to_dict(self) -> dict:
        d = {
            'schema_version': SCHEMA_VERSION,
            'outputs': [e.text for e in self.outputs],
            'outputs_srepr': [e.canonical for e in self.outputs],
            'precision': str(self.precision),
            'n_inputs': self.n_inputs,
            'luts': [str(s) for s in self.luts],
            'part': self.part,
            'clock_period_ns': self.clock_period_ns,
            'name': self.name,
        }
        if self.rom_style != 'auto':  # the default is left out, so designs of before keep their digests
            d['rom_style'] = self.rom_style
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Design:
        return cls.build(
            d['outputs'], d['precision'], d.get('luts', ()), d.get('n_inputs'), d.get('part', DEFAULT_PART),
            d.get('clock_period_ns', DEFAULT_CLOCK_NS), d.get('name', 'myproject'), d.get('rom_style', 'auto'),
        )

    def digest(self) -> str:
        """Stable content digest: the cache key of the calibration store."""
        d = self.to_dict()
        d.pop('outputs')
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:20]

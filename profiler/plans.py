"""Micro-benchmark plans: one operator, in one implementation, at one precision, on one backend.

A plan holds everything a synthesis run needs (the ``Design``) and a content digest, which is the
cache key of the calibration store. Plans are built from the one operator table
(``hls_gen.operators.OPERATORS``): binary operators on two inputs (``x0 + x1``), unary ones on one
(``sin(x0)``), and every math function that hls4ml can tabulate also as ``<fn>_lut(x0)`` with tables of
256, 1024 and 4096 entries over its hls4ml-style default range (or a range the user sets).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy

from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART, Design
from hls_gen.expression import Expression
from hls_gen.lut import LutSpec
from hls_gen.operators import OPERATORS, Operator, get_operator
from hls_gen.precision import Precision

from .errors import ProfilerError

PLAN_VERSION = 1  # bump when the benchmark designs or the recorded metrics change meaning
DEFAULT_PRECISIONS: tuple[str, ...] = ('ap_fixed<16,6>', 'ap_fixed<18,8>', 'ap_fixed<24,12>', 'ap_fixed<32,16>')
DEFAULT_LUT_SIZES: tuple[int, ...] = (256, 1024, 4096)
NATIVE = 'native'
PUBLISHED = 'published'  # implementation label of imported, latency-only calibrations

# Operators whose second argument must be a number in firmware: the exponent each benchmark uses.
# (pow_int: 2 and 3 are `square` and `cube`, so the smallest power that is pow_int is 4.)
CONSTANT_SECOND_ARGUMENT: dict[str, float] = {'pow_int': 4, 'pow_abs': 1.5}

# How each backend implements a math function that has no LUT spec ('native').
NATIVE_FUNCTION_NOTES: dict[str, str] = {
    'open': 'open backend: the math function becomes a ROM lookup table over the whole input range of the '
    'precision (inputs truncated to at most {bits} address bits), not a math-library core',
    'vivado_hls': 'hls:: math library (hls_math.h) as Vivado HLS implements it',
    'vitis_hls': 'hls:: math library (hls_math.h) as Vitis HLS implements it',
}


def implementation_label(table_size: int | None, lut_range: tuple[float, float] | None = None,
                         default_range: tuple[float, float] | None = None) -> str:
    """``native``; ``lut1024`` for the default range; ``lut1024@-8:8`` for a user range (so a custom
    range never overwrites the default one in the store)."""
    if table_size is None:
        return NATIVE
    label = f'lut{table_size}'
    if lut_range is not None and default_range is not None and tuple(map(float, lut_range)) != tuple(map(float, default_range)):
        label += f'@{lut_range[0]:g}:{lut_range[1]:g}'
    return label


@dataclass(frozen=True)
class BenchmarkPlan:
    """One micro-benchmark: ``design`` synthesized by ``backend`` (at ``tool_version``)."""

    backend: str
    tool_version: str
    operator: str  # srcost operator name (the table's ``name``)
    implementation: str  # 'native', 'lut256', 'lut1024', 'lut4096', 'lut1024@-8:8'
    precision: str
    part: str
    clock_period_ns: float
    design: Design
    pysr_name: str | None = None
    lut: LutSpec | None = None
    notes: str = ''
    digest: str = ''

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, 'digest', plan_digest(self.design, self.backend, self.tool_version,
                                                           self.operator, self.implementation))

    @property
    def key(self) -> tuple:
        """The calibration store's natural key of this plan's row."""
        return (self.backend, self.tool_version, self.part, self.clock_period_ns, self.precision,
                self.operator, self.implementation)

    @property
    def label(self) -> str:
        return f'{self.operator} [{self.implementation}] @ {self.precision}'

    def to_dict(self) -> dict:
        return {
            'backend': self.backend, 'tool_version': self.tool_version, 'operator': self.operator,
            'implementation': self.implementation, 'precision': self.precision, 'part': self.part,
            'clock_period_ns': self.clock_period_ns, 'pysr_name': self.pysr_name,
            'lut': str(self.lut) if self.lut else None, 'notes': self.notes, 'digest': self.digest,
            'design': self.design.to_dict(),
        }


def plan_digest(design: Design, backend: str, tool_version: str, operator: str, implementation: str) -> str:
    payload = {
        'plan_version': PLAN_VERSION, 'design': design.digest(), 'backend': backend,
        'tool_version': tool_version, 'operator': operator, 'implementation': implementation,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def benchmark_expression(op: Operator) -> Expression:
    """The operator applied to fresh inputs: ``x0 + x1``, ``sin(x0)``, ``x0**4``, ``Abs(x0)**1.5``."""
    x0, x1 = sympy.symbols('x0 x1')
    if op.arity == 1:
        expr = op.build(x0)
    elif op.name in CONSTANT_SECOND_ARGUMENT:
        expr = op.build(x0, sympy.Number(CONSTANT_SECOND_ARGUMENT[op.name]))
    else:
        expr = op.build(x0, x1)
    return Expression.from_sympy(expr)


def benchmark_arity(op: Operator) -> int:
    """Number of variable inputs of the benchmark design."""
    return 1 if op.arity == 1 or op.name in CONSTANT_SECOND_ARGUMENT else op.arity


def native_note(backend: str, op: Operator) -> str:
    if not op.is_function:
        return ''
    template = NATIVE_FUNCTION_NOTES.get(backend, '')
    if '{bits}' in template:
        try:
            from hls_gen.tables import NATIVE_MAX_ADDRESS_BITS as bits
        except ImportError:  # pragma: no cover - depends on the open backend's internals
            bits = '?'
        template = template.format(bits=bits)
    return template


def resolve_operators(names: Iterable[str] | None) -> list[Operator]:
    """Table operators by srcost name, alias or PySR name; all of them when ``names`` is empty."""
    if not names:
        return list(OPERATORS)
    by_pysr = {op.pysr_name: op for op in OPERATORS if op.pysr_name}
    out: list[Operator] = []
    for name in names:
        try:
            op = get_operator(name)
        except KeyError:
            if name not in by_pysr:
                known = ', '.join(op.name for op in OPERATORS)
                raise ProfilerError(f'unknown operator {name!r}; known: {known}') from None
            op = by_pysr[name]
        if op not in out:
            out.append(op)
    return out


_TOP_LEVEL_COMMA = re.compile(r',(?![^<>]*>)')


def split_list(values: Iterable[str] | str | None) -> list[str]:
    """Flatten repeated and comma-separated option values; commas inside ``<...>`` are kept
    (``ap_fixed<16,6>,ap_fixed<18,8>`` is two precisions)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        out += [p.strip() for p in _TOP_LEVEL_COMMA.split(v) if p.strip()]
    return out


def parse_precisions(values: Iterable[str] | str | None) -> list[Precision]:
    items = split_list(values) or list(DEFAULT_PRECISIONS)
    out: list[Precision] = []
    for p in map(Precision.parse, items):
        if p not in out:
            out.append(p)
    return out


def parse_lut_ranges(values: Iterable[str] | str | None) -> dict[str, tuple[float, float]]:
    """``sin:-8:8`` (function:start:end) -> {'sin': (-8.0, 8.0)}."""
    out = {}
    for item in split_list(values):
        parts = item.split(':')
        if len(parts) != 3:
            raise ProfilerError(f'cannot parse LUT range {item!r}: expected function:start:end, e.g. sin:-8:8')
        try:
            start, end = float(parts[1]), float(parts[2])
        except ValueError:
            raise ProfilerError(f'cannot parse LUT range {item!r}: start and end must be numbers') from None
        op = resolve_operators([parts[0]])[0]
        if op.lut_range is None:
            raise ProfilerError(f'{op.name} has no lookup-table variant')
        if not start < end:
            raise ProfilerError(f'LUT range {item!r} is empty: start must be below end')
        out[op.name] = (start, end)
    return out


def make_plans(
    backend: str,
    tool_version: str,
    operators: Iterable[str] | None = None,
    precisions: Iterable[str | Precision] | None = None,
    lut_sizes: Sequence[int] = DEFAULT_LUT_SIZES,
    lut_ranges: Mapping[str, tuple[float, float]] | None = None,
    implementations: Iterable[str] | None = None,
    part: str = DEFAULT_PART,
    clock_period_ns: float = DEFAULT_CLOCK_NS,
    rom_style: str = 'auto',
) -> list[BenchmarkPlan]:
    """Every (operator, implementation, precision) micro-benchmark. ``implementations`` filters by label
    prefix ('native', 'lut1024', ...). ``rom_style`` (auto | block | distributed) goes into each design and
    its notes, so the store records it."""
    ops = resolve_operators(list(operators) if operators is not None else None)
    precs = parse_precisions([str(p) for p in precisions] if precisions is not None else None)
    ranges = dict(lut_ranges or {})
    for size in lut_sizes:
        if not isinstance(size, int) or size < 2:
            raise ProfilerError(f'LUT table size {size!r} must be an integer >= 2')
    wanted = set(split_list(list(implementations))) if implementations is not None else None
    plans: list[BenchmarkPlan] = []
    for prec in precs:
        for op in ops:
            expr = benchmark_expression(op)
            variants: list[tuple[str, Expression, LutSpec | None, str]] = [(NATIVE, expr, None, native_note(backend, op))]
            if op.lut_range is not None:
                start, end = ranges.get(op.name, op.lut_range)
                for size in lut_sizes:
                    spec = LutSpec(op.name, size, start, end)
                    label = implementation_label(size, (start, end), op.lut_range)
                    lut_expr = Expression.parse(f'{op.lut_name}(x0)')
                    variants.append((label, lut_expr, spec,
                                     f'{size}-entry nnet::lookup_table over [{start:g}, {end:g}]; ROM style {rom_style}'))
            for label, e, spec, notes in variants:
                if wanted is not None and label not in wanted and label.split('@')[0] not in wanted:
                    continue
                design = Design.build([e], prec, [spec] if spec else (), benchmark_arity(op), part, clock_period_ns,
                                      rom_style=rom_style)
                plans.append(BenchmarkPlan(
                    backend=backend, tool_version=tool_version, operator=op.name, implementation=label,
                    precision=str(prec), part=part, clock_period_ns=float(clock_period_ns), design=design,
                    pysr_name=op.pysr_name, lut=spec, notes=notes,
                ))
    return plans


def estimated_cost(plan: BenchmarkPlan) -> float:
    """A rough relative synthesis cost, to start the slow benchmarks first."""
    op = get_operator(plan.operator)
    width = Precision.parse(plan.precision).width
    if plan.lut is not None:
        return width * plan.lut.table_size / 1024
    return width * (8.0 if op.is_function else 2.0 if op.name in ('/', 'inv') else 1.0)

"""Per-operator costs: what one operator costs on one backend, part, clock and precision.

``OperatorCosts`` maps ``(operator, implementation)`` to an ``OpCost`` (latency, ii, lut, ff, dsp,
bram_18k, carry; NaN where the source did not measure it). Three sources fill it:

- the profiler's calibration store, through ``costs_from_records(records)`` on plain record mappings
  (keys ``backend, tool_version, part, clock_period_ns`` (or ``clock``), ``precision, operator,
  implementation, latency`` (or ``latency_cycles``), ``ii, lut, ff, dsp, bram_18k`` (or ``bram``),
  ``carry``);
- the published Vivado HLS 2020.1 table (``../shared/calibration``): latency only;
- for the open backend without a store, the analytic datapath model on single-operator designs
  (``features.open_default_costs``), i.e. what the profiler's micro-benchmarks would measure, modelled.
  A ``CalibrationSet`` names that source (``fallback=OPEN_MODEL``, what it serializes) and is given the
  function that builds a table from it (its ``model``, or ``for_precision(..., model=...)``): the feature
  extractor passes it, a cost model sets it on its calibration. So this module imports no other part of
  costmodel.

Operator names are the table's (``+``, ``*``, ``sin``, ``sin_lut``...). Implementations: ``''`` (the
default), ``'const'`` (an adder or multiplier with a constant operand), ``'lut'`` (a math function as an
hls4ml lookup table: ``('sin', 'lut')`` and ``('sin_lut', '')`` name the same thing). ``get`` falls
back along those synonyms and then to related operators (``inv`` -> ``/``, ``sqrt`` -> ``sqrt_abs``,
``square`` -> ``*``...), and returns None when nothing applies.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hls_gen import Precision
from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART
from hls_gen.operators import LUT_FUNCTIONS

from .targets import RESOURCE_TARGETS

NAN = float('nan')
COST_FIELDS = ('latency', 'ii', 'lut', 'ff', 'dsp', 'bram_18k', 'carry')
PUBLISHED_VIVADO = 'calibration/vu9p_vivado_hls_2020.1_op_latency.csv'
OPEN_MODEL = 'open-model'  # a CalibrationSet's fallback: the open backend's datapath model on single-operator designs

# related operators to fall back on when a calibration lacks one (cost of the key ~ cost of the value)
_RELATED: dict[str, tuple[str, ...]] = {
    'inv': ('/',), '/': ('inv',), '-': ('+',), 'neg': ('-',), 'square': ('*',), 'cube': ('*',), 'pow_int': ('*',),
    'sqrt': ('sqrt_abs',), 'sqrt_abs': ('sqrt',), 'log': ('log_abs',), 'log_abs': ('log',), 'abs': (),
    'cos': ('sin',), 'sin': ('cos',),
}


@dataclass(frozen=True)
class OpCost:
    latency: float = NAN
    ii: float = NAN
    lut: float = NAN
    ff: float = NAN
    dsp: float = NAN
    bram_18k: float = NAN
    carry: float = NAN

    def to_dict(self) -> dict:
        return {k: (None if math.isnan(getattr(self, k)) else getattr(self, k)) for k in COST_FIELDS}

    @classmethod
    def from_mapping(cls, d: Mapping) -> OpCost:
        def num(*keys):
            for k in keys:
                v = d.get(k)
                if v is not None and v != '':
                    try:
                        return float(v)
                    except (TypeError, ValueError):
                        return NAN
            return NAN

        return cls(num('latency', 'latency_cycles', 'latency_worst'), num('ii'), num('lut'), num('ff'), num('dsp'),
                   num('bram_18k', 'bram'), num('carry'))


def split_operator(name: str) -> tuple[str, str]:
    """``sin_lut`` -> (``sin``, ``lut``); anything else -> (name, '')."""
    if name in LUT_FUNCTIONS:
        return name[: -len('_lut')], 'lut'
    return name, ''


def normalize_implementation(impl: str) -> str:
    """The profiler's labels -> this module's: ``native``/``published``/'' -> '', ``lut1024`` -> ``lut``
    (the default table), ``lut256`` / ``lut1024@-8:8`` stay as they are (and are found by ``get(...,
    table_size=256)``)."""
    impl = (impl or '').strip()
    if impl in ('', 'native', 'published', 'default'):
        return ''
    if impl == 'lut1024':
        return 'lut'
    return impl


@dataclass(frozen=True)
class OperatorCosts:
    """Costs of single operators for one backend, part, clock and precision."""

    backend: str
    precision: str
    costs: tuple[tuple[tuple[str, str], OpCost], ...] = ()
    part: str = DEFAULT_PART
    clock_period_ns: float = DEFAULT_CLOCK_NS
    tool_version: str = ''
    source: str = ''  # 'profiler store', 'published', 'model'
    _index: dict = field(default=None, compare=False, repr=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, 'precision', str(Precision.parse(self.precision)))
        idx: dict[tuple[str, str], OpCost] = {}
        for (op, impl), cost in self.costs:
            base, lut = split_operator(op)
            impl = normalize_implementation(impl) or lut
            idx[(base, impl)] = cost
            if impl.startswith('lut') and impl != 'lut':
                idx.setdefault((base, 'lut*'), cost)  # some table when the default one was not measured
        idx[('', 'latency_only')] = all(all(math.isnan(getattr(c, f)) for f in RESOURCE_TARGETS) for _, c in self.costs)
        object.__setattr__(self, '_index', idx)

    @classmethod
    def build(cls, backend: str, precision: str | Precision, costs: Mapping[tuple[str, str], OpCost], **kw) -> OperatorCosts:
        return cls(backend, str(Precision.parse(precision)), tuple(sorted(costs.items())), **kw)

    @property
    def latency_only(self) -> bool:
        """True when no operator has any resource figure (e.g. the published Vivado latency table)."""
        return self._index[('', 'latency_only')]

    def get(self, op: str, impl: str = '', table_size: int | None = None) -> OpCost | None:
        base, lut = split_operator(op)
        impl = normalize_implementation(impl) or lut
        idx = self._index
        if impl == 'lut':
            for key in ((base, f'lut{table_size}') if table_size else None, (base, 'lut'), (base, 'lut*')):
                if key is not None and key in idx:
                    return idx[key]
            return None  # a ROM costs nothing like the math library: no silent fallback
        for key in ((base, impl), (base, '') if impl == 'const' else None):
            if key is not None and key in idx:
                return idx[key]
        for rel in _RELATED.get(base, ()):
            if (rel, impl) in idx:
                return idx[(rel, impl)]
            if (rel, '') in idx:
                return idx[(rel, '')]
        return None

    def value(self, op: str, field_name: str, impl: str = '', default: float = NAN, table_size: int | None = None) -> float:
        c = self.get(op, impl, table_size)
        v = getattr(c, field_name) if c is not None else NAN
        return default if math.isnan(v) else v

    def to_dict(self) -> dict:
        return {
            'backend': self.backend, 'precision': self.precision, 'part': self.part,
            'clock_period_ns': self.clock_period_ns, 'tool_version': self.tool_version, 'source': self.source,
            'costs': [{'operator': op, 'implementation': impl, **c.to_dict()} for (op, impl), c in self.costs],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> OperatorCosts:
        costs = {(r['operator'], r.get('implementation') or ''): OpCost.from_mapping(r) for r in d.get('costs', ())}
        return cls.build(d['backend'], d['precision'], costs, part=d.get('part', DEFAULT_PART),
                         clock_period_ns=float(d.get('clock_period_ns', DEFAULT_CLOCK_NS)),
                         tool_version=d.get('tool_version', ''), source=d.get('source', ''))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def costs_from_records(records: Iterable[Mapping]) -> list[OperatorCosts]:
    """Group calibration records (mappings, or objects with ``to_dict()`` such as the profiler store's
    ``OpRecord``) into one ``OperatorCosts`` per (backend, tool version, part, clock, precision). Failed
    records are skipped; later records of the same operator and implementation win."""
    groups: dict[tuple, dict[tuple[str, str], OpCost]] = {}
    for r in records:
        if not isinstance(r, Mapping):
            r = r.to_dict() if hasattr(r, 'to_dict') else vars(r)  # e.g. profiler.store.OpRecord
        if r.get('status') not in (None, '', 'ok'):
            continue
        key = (
            str(r.get('backend', '')), str(r.get('tool_version', '') or ''), str(r.get('part', DEFAULT_PART) or DEFAULT_PART),
            float(r.get('clock_period_ns', r.get('clock', DEFAULT_CLOCK_NS)) or DEFAULT_CLOCK_NS),
            str(Precision.parse(r['precision'])),
        )
        op = str(r['operator'])
        groups.setdefault(key, {})[(op, str(r.get('implementation', '') or ''))] = OpCost.from_mapping(r)
    return [
        OperatorCosts.build(b, p, costs, part=part, clock_period_ns=clk, tool_version=tv, source='records')
        for (b, tv, part, clk, p), costs in sorted(groups.items())
    ]


# what builds the table of a precision a calibration lacks: (precision, part, clock period in ns) -> its costs
CostsModel = Callable[[Precision, str, float], OperatorCosts]


@dataclass
class CalibrationSet:
    """The operator costs of one backend and part at several precisions; ``for_precision`` picks the
    exact precision, else the nearest measured one (by width, then integer bits), else ``fallback``."""

    backend: str
    part: str = DEFAULT_PART
    tables: dict[str, OperatorCosts] = field(default_factory=dict)
    fallback: str = ''  # OPEN_MODEL: a precision it lacks is built by ``model`` (the open backend's datapath model)
    model: CostsModel | None = field(default=None, compare=False, repr=False)  # not serialized: supplied by its reader

    def add(self, costs: OperatorCosts) -> None:
        self.tables[costs.precision] = costs

    @property
    def latency_only(self) -> bool:
        return bool(self.tables) and all(t.latency_only for t in self.tables.values()) and not self.fallback

    def for_precision(self, precision: str | Precision, clock_period_ns: float = DEFAULT_CLOCK_NS,
                      model: CostsModel | None = None) -> OperatorCosts:
        """The table of ``precision``. A set with ``fallback=OPEN_MODEL`` builds a precision it lacks with
        ``model(precision, part, clock_period_ns)`` (``model`` defaults to the set's own;
        ``features.open_default_costs``) and keeps it."""
        p = Precision.parse(precision)
        key = str(p)
        hit = self.tables.get(key)
        if hit is not None:
            return hit
        if self.fallback == OPEN_MODEL:
            build = model if model is not None else self.model
            if build is None:
                raise LookupError(f'the {self.backend} calibration on {self.part} has no table for {key} and builds it from the '
                                  'datapath model: set its model (or pass model=) to costmodel.features.open_default_costs')
            costs = build(p, self.part, clock_period_ns)
            self.tables[key] = costs
            return costs
        if not self.tables:
            raise LookupError(f'no calibration for backend {self.backend} on {self.part}')
        plain = str(Precision(p.width, p.integer, p.signed))
        if plain in self.tables:
            return self.tables[plain]
        best = min(self.tables.values(), key=lambda t: _distance(Precision.parse(t.precision), p))
        return best

    def to_dict(self) -> dict:
        return {'backend': self.backend, 'part': self.part, 'fallback': self.fallback,
                'tables': [t.to_dict() for _, t in sorted(self.tables.items())]}

    @classmethod
    def from_dict(cls, d: Mapping) -> CalibrationSet:
        cs = cls(d['backend'], d.get('part', DEFAULT_PART), fallback=d.get('fallback', ''))
        for t in d.get('tables', ()):
            cs.add(OperatorCosts.from_dict(t))
        return cs

    @classmethod
    def from_records(cls, records: Iterable[Mapping], backend: str, part: str = DEFAULT_PART) -> CalibrationSet:
        cs = cls(backend, part)
        for t in costs_from_records(records):
            if t.backend == backend and t.part == part:
                cs.add(t)
        return cs

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _distance(a: Precision, b: Precision) -> tuple:
    return (abs(a.width - b.width) + abs(a.integer - b.integer), abs(a.width - b.width), a.width)


# -- sources --------------------------------------------------------------------------------------------

def shared_dir() -> Path | None:
    """``../shared`` beside the project checkout, where the published calibration and fixtures live."""
    p = Path(__file__).resolve().parents[2] / 'shared'
    return p if p.is_dir() else None


# PySR names in the published table -> srcost operator names
_PUBLISHED_NAMES = {'/': 'inv', '-': '+'}


def published_vivado_calibration(path: Path | None = None) -> CalibrationSet:
    """The published Vivado HLS 2020.1 per-operator latency table (latency only). ``path`` defaults to
    ``../shared/calibration/vu9p_vivado_hls_2020.1_op_latency.csv``. Raises FileNotFoundError."""
    if path is None:
        root = shared_dir()
        if root is None:
            raise FileNotFoundError(f'../shared is absent: the published Vivado calibration ({PUBLISHED_VIVADO}) is read from there')
        path = root / PUBLISHED_VIVADO
    with open(path, newline='') as fh:
        rows = list(csv.DictReader(fh))
    records = []
    for r in rows:
        op = r['operator']
        records.append({'backend': 'vivado_hls', 'tool_version': 'Vivado HLS 2020.1', 'part': r['part'],
                        'clock_period_ns': DEFAULT_CLOCK_NS, 'precision': r['precision'], 'operator': op,
                        'implementation': '', 'latency': r['latency_cycles']})
        if op in _PUBLISHED_NAMES and not any(x['operator'] == _PUBLISHED_NAMES[op] for x in rows if x['precision'] == r['precision']):
            records.append({**records[-1], 'operator': _PUBLISHED_NAMES[op]})
    part = rows[0]['part'] if rows else DEFAULT_PART
    cs = CalibrationSet.from_records(records, 'vivado_hls', part)
    for t in cs.tables.values():
        object.__setattr__(t, 'source', f'published: {Path(path).name}')
    return cs


# single-operator micro-benchmarks, as the profiler would write them (operator, implementation, text)
def micro_benchmarks() -> list[tuple[str, str, str]]:
    from hls_gen.operators import OPERATORS

    out = [('+', '', 'x0 + x1'), ('+', 'const', 'x0 + 1.375'), ('*', '', 'x0*x1'), ('*', 'const', '0.7071*x0'),
           ('neg', '', '-x0'), ('square', '', 'x0**2'), ('cube', '', 'x0**3'), ('pow_int', '', 'x0**4'),
           ('inv', '', 'inv(x0)'), ('abs', '', 'abs(x0)'), ('pow_abs', '', 'pow_abs(x0, 1.5)')]
    done = {o for o, _, _ in out}
    for op in OPERATORS:
        if op.is_function and op.name not in done:
            out.append((op.name, '', f'{op.name}(x0)'))
        if op.lut_name:
            out.append((op.name, 'lut', f'{op.lut_name}(x0)'))
    return out


def fitting_lut_spec(lut_name: str, precision: Precision, table_size: int = 1024):
    """hls4ml's default spec for ``lut_name``, its range halved until it fits ``precision`` (hls4ml computes
    ``end - start`` in the table's own type)."""
    from hls_gen import LutSpec

    spec = LutSpec.default(lut_name[: -len('_lut')], table_size)
    start, end = max(spec.range_start, precision.min_value), spec.range_end
    for _ in range(64):
        if end - start <= precision.max_value:
            break
        start, end = start / 2, end / 2
    return LutSpec(spec.function, table_size, start, end)


def default_calibration(backend: str, part: str = DEFAULT_PART) -> CalibrationSet:
    """The calibration to use when no store is given: the published table for Vivado/Vitis HLS, the
    datapath model for the open backend."""
    if backend == 'open':
        return CalibrationSet('open', part, fallback=OPEN_MODEL)
    if backend in ('vivado_hls', 'vitis_hls'):
        cs = published_vivado_calibration()
        cs.backend = backend
        return cs
    raise LookupError(f'no default calibration for backend {backend!r}')


__all__ = ['OPEN_MODEL', 'CalibrationSet', 'CostsModel', 'OpCost', 'OperatorCosts', 'costs_from_records', 'default_calibration',
           'fitting_lut_spec', 'micro_benchmarks', 'published_vivado_calibration', 'split_operator']

"""Import published calibrations into the store, and export stored records (CSV, JSON, PySR).

Two published formats are read as latency-only calibrations (backend ``vivado_hls``, tool version
``2020.1``, implementation ``published``, every resource metric NULL):

- hls4sr-configs JSON: ``{"part": ..., "precision": ..., "complexity_of_operators": {op: cycles}}`` (a
  list of such objects is accepted too);
- CSV with columns ``part, precision, operator, latency_cycles`` (``../shared/calibration/``).

Operator names are PySR's (``/ * + - pow_abs log_abs sqrt_abs square sin ...``), mapped onto the
operator table by its ``pysr_name``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART
from hls_gen.errors import file_problem, read_text
from hls_gen.operators import OPERATORS
from hls_gen.precision import Precision

from .errors import CalibrationFormatError, ProfilerError
from .plans import NATIVE, PLAN_VERSION, PUBLISHED
from .store import STATUS_OK, CalibrationStore, OpRecord, now_utc, unique_values

PUBLISHED_BACKEND = 'vivado_hls'
PUBLISHED_TOOL_VERSION = '2020.1'
CSV_COLUMNS = ('part', 'precision', 'operator', 'latency_cycles')
MAX_LATENCY_CYCLES = 2**31 - 1  # the store keeps latencies as SQLite integers; no operator takes this long
# which record stands for an operator when several implementations are stored, best first
PYSR_PREFERENCE = (PUBLISHED, NATIVE)

EXPORT_COLUMNS = (
    'backend', 'tool_version', 'part', 'clock_period_ns', 'precision', 'operator', 'pysr_name', 'implementation',
    'status', 'latency_best', 'latency_worst', 'ii', 'lut', 'ff', 'dsp', 'bram_18k', 'uram', 'carry',
    'clock_estimate_ns', 'clock_estimate_method', 'error_max', 'error_mean', 'error_points', 'error_method',
    'lut_size', 'lut_range_start', 'lut_range_end', 'notes', 'error', 'log_path', 'source', 'digest', 'created_at',
)


@dataclass(frozen=True)
class ImportSummary:
    path: str
    format: str
    records: int
    precisions: tuple[str, ...]
    backend: str
    tool_version: str

    def to_dict(self) -> dict:
        return {'path': self.path, 'format': self.format, 'records': self.records,
                'precisions': list(self.precisions), 'backend': self.backend, 'tool_version': self.tool_version}


def _operator_for_pysr(name: str):
    name = str(name).strip()
    for op in OPERATORS:
        if name in (op.pysr_name, op.name, *op.aliases):
            return op
    known = ', '.join(op.pysr_name for op in OPERATORS if op.pysr_name)
    raise CalibrationFormatError(f'unknown operator {name!r} in the calibration; PySR operator names: {known}')


def published_record(part: str, precision: str, operator: str, cycles, source: str, backend: str = PUBLISHED_BACKEND,
                     tool_version: str = PUBLISHED_TOOL_VERSION, clock_period_ns: float = DEFAULT_CLOCK_NS) -> OpRecord:
    op = _operator_for_pysr(operator)
    try:
        prec = str(Precision.parse(precision))
    except ValueError as e:
        raise CalibrationFormatError(f'bad precision in {source}: {e}') from None
    try:
        cycles_f = float(cycles)
    except (TypeError, ValueError):
        raise CalibrationFormatError(f'latency of {operator} at {precision} in {source} is not a number: {cycles!r}') from None
    if not 0 <= cycles_f <= MAX_LATENCY_CYCLES or cycles_f != int(cycles_f):
        raise CalibrationFormatError(f'latency of {operator} at {precision} in {source} must be a whole number of cycles '
                                     f'from 0 to {MAX_LATENCY_CYCLES}, got {cycles!r}')
    part = str(part or DEFAULT_PART).strip()
    key = [PLAN_VERSION, backend, tool_version, part, float(clock_period_ns), prec, op.name, PUBLISHED]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]
    return OpRecord(
        digest=digest, backend=backend, tool_version=tool_version, part=part, clock_period_ns=float(clock_period_ns),
        precision=prec, operator=op.name, implementation=PUBLISHED, status=STATUS_OK, pysr_name=op.pysr_name,
        latency_best=int(cycles_f), latency_worst=int(cycles_f), notes=f'published latency-only calibration: {source}',
        latency_method='published', source=f'import:{source}', created_at=now_utc(),
    )


def read_calibration(path: str | os.PathLike, backend: str = PUBLISHED_BACKEND, tool_version: str = PUBLISHED_TOOL_VERSION,
                     clock_period_ns: float | None = None) -> tuple[str, list[OpRecord]]:
    """Parse a published calibration file into records: ('csv' | 'json', records)."""
    p = Path(path)
    if clock_period_ns is not None:
        clock_period_ns = _clock(clock_period_ns, 'the clock period given')
    text = read_text(p, CalibrationFormatError)
    stripped = text.lstrip()
    if p.suffix.lower() == '.json' or stripped.startswith(('{', '[')):
        return 'json', _read_json(text, p.name, backend, tool_version, clock_period_ns)
    return 'csv', _read_csv(text, p.name, backend, tool_version, clock_period_ns)


def _read_csv(text: str, source: str, backend: str, tool_version: str, clock: float | None) -> list[OpRecord]:
    try:
        return _csv_records(text, source, backend, tool_version, clock)
    except csv.Error as e:
        raise CalibrationFormatError(file_problem(source, e)) from None


def _csv_records(text: str, source: str, backend: str, tool_version: str, clock: float | None) -> list[OpRecord]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CalibrationFormatError(f'{source} lacks the column(s) {", ".join(missing)}; expected {", ".join(CSV_COLUMNS)}')
    out = []
    for row in reader:
        if None in row:
            raise CalibrationFormatError(f'{source} line {reader.line_num} has more fields than its header: '
                                         f'quote precisions that contain commas ("ap_fixed<16,6>")')
        if any(row[c] is None for c in CSV_COLUMNS):
            raise CalibrationFormatError(f'{source} line {reader.line_num} has fewer fields than its header')
        row_clock = clock if clock is not None else _clock(row.get('clock_period_ns') or DEFAULT_CLOCK_NS, source)
        out.append(published_record(row['part'], row['precision'], row['operator'], row['latency_cycles'], source,
                                    backend, tool_version, row_clock))
    if not out:
        raise CalibrationFormatError(f'{source} has no rows')
    return out


def _clock(value, source: str) -> float:
    """A clock period in ns from a calibration file: a positive finite number."""
    try:
        ns = float(value)
    except (TypeError, ValueError):
        ns = float('nan')
    if not 0 < ns < float('inf'):
        raise CalibrationFormatError(f'{source}: the clock period must be a positive number of ns, got {value!r}')
    return ns


def _read_json(text: str, source: str, backend: str, tool_version: str, clock: float | None) -> list[OpRecord]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: [[[[... nested past Python's stack
        raise CalibrationFormatError(f'{source} is not valid JSON: {e}') from None
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict) or 'complexity_of_operators' not in item or 'precision' not in item:
            raise CalibrationFormatError(
                f'{source}: expected {{"part", "precision", "complexity_of_operators": {{op: cycles}}}} (or a list of them)')
        ops = item['complexity_of_operators']
        if not isinstance(ops, dict):
            raise CalibrationFormatError(f'{source}: complexity_of_operators must map operator names to cycles')
        item_clock = clock if clock is not None else _clock(item.get('clock_period_ns', item.get('clock_period', DEFAULT_CLOCK_NS)), source)
        for name, cycles in ops.items():
            out.append(published_record(item.get('part', DEFAULT_PART), item['precision'], name, cycles, source,
                                        backend, tool_version, item_clock))
    if not out:
        raise CalibrationFormatError(f'{source} has no operators')
    return out


def import_calibration(path: str | os.PathLike, store: CalibrationStore, backend: str = PUBLISHED_BACKEND,
                       tool_version: str = PUBLISHED_TOOL_VERSION, clock_period_ns: float | None = None) -> ImportSummary:
    """Read a published calibration and store it in one transaction (all rows or none)."""
    fmt, records = read_calibration(path, backend, tool_version, clock_period_ns)
    return store_calibration(path, fmt, records, store, backend, tool_version)


def store_calibration(path: str | os.PathLike, fmt: str, records: list[OpRecord], store: CalibrationStore,
                      backend: str = PUBLISHED_BACKEND, tool_version: str = PUBLISHED_TOOL_VERSION) -> ImportSummary:
    """Store records :func:`read_calibration` read, in one transaction (for callers that read the file before they
    open the store, so a bad file leaves no store behind)."""
    store.put_many(records)
    return ImportSummary(str(path), fmt, len(records), tuple(unique_values(records, 'precision')), backend, tool_version)


# -- export ----------------------------------------------------------------------------------------------
def ops_records(store: CalibrationStore, precision: str | None = None, backend: str | None = None,
                implementation: str | None = None, status: str | None = None, **filters) -> list[OpRecord]:
    """Stored operator records for a precision (normalized, so ``ap_fixed<16, 6>`` works) and backend."""
    prec = str(Precision.parse(precision)) if precision else None
    return store.records(backend=backend, precision=prec, implementation=implementation, status=status, **filters)


def to_pysr_complexity(records: Iterable[OpRecord], implementation: str | None = None) -> dict[str, int]:
    """PySR's ``complexity_of_operators``: {PySR operator name: latency in cycles, at least 1}.

    Records must come from one (backend, tool version, part, clock, precision). Per operator the record of
    ``implementation`` is used when it exists (e.g. ``lut1024``: math functions as tables), else the
    published or native one. Failed records and operators PySR has no name for are left out.
    """
    recs = [r for r in records if r.status == STATUS_OK and r.pysr_name and r.latency_worst is not None]
    for field in ('backend', 'tool_version', 'part', 'clock_period_ns', 'precision'):
        values = unique_values(recs, field)
        if len(values) > 1:
            shown = ', '.join(map(str, values))
            raise ProfilerError(f'the records span several values of {field} ({shown}): select one (e.g. --{field.replace("_", "-")})')
    preference = ((implementation,) if implementation else ()) + PYSR_PREFERENCE
    chosen: dict[str, OpRecord] = {}
    for r in recs:
        rank = preference.index(r.implementation) if r.implementation in preference else None
        if rank is None:
            continue
        cur = chosen.get(r.pysr_name)
        if cur is None or rank < preference.index(cur.implementation):
            chosen[r.pysr_name] = r
    return {name: max(1, int(r.latency_worst)) for name, r in chosen.items()}


def sort_records(records: Iterable[OpRecord]) -> list[OpRecord]:
    """Readable order: backend, tool version, part, clock, precision, operator-table order, implementation."""
    order = {op.name: i for i, op in enumerate(OPERATORS)}

    def impl_key(label: str):
        if not label.startswith('lut'):
            return (0, 0, label)
        size = label[3:].split('@')[0]
        return (1, int(size) if size.isdigit() else 0, label)

    def key(r: OpRecord):
        try:
            prec = Precision.parse(r.precision)
            pkey = (prec.width, prec.integer, r.precision)
        except ValueError:
            pkey = (0, 0, r.precision)
        return (r.backend, r.tool_version, r.part, r.clock_period_ns, pkey, order.get(r.operator, len(order)),
                impl_key(r.implementation))

    return sorted(records, key=key)


def records_to_csv(records: Sequence[OpRecord]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(EXPORT_COLUMNS)
    for r in records:
        w.writerow(['' if getattr(r, c) is None else getattr(r, c) for c in EXPORT_COLUMNS])
    return buf.getvalue()


def records_to_json(records: Sequence[OpRecord]) -> str:
    return json.dumps([{c: getattr(r, c) for c in EXPORT_COLUMNS} for r in records], indent=2)

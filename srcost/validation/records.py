"""What a validation run records, and how it saves to and loads from JSON.

A ``ValidationRun`` holds one ``ValidationRecord`` per design: what was built, what synthesis measured, what
the cost model predicted, and how accurate the bit-accurate firmware is (``Accuracy``, ``Metrics``,
``LutError``). Everything is plain data, so a run round-trips through JSON exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hls_gen import Design, SynthResult
from hls_gen.errors import SrcostError

SCHEMA_VERSION = 1


class ValidationError(SrcostError, ValueError):
    """Inputs to ``validate`` are inconsistent (data shape, predictor output, ...)."""


@dataclass
class Metrics:
    """Accuracy of one set of outputs. Regression fills rmse/mae/max_abs_error/r2, classification accuracy/auc."""

    rmse: float | None = None
    mae: float | None = None
    max_abs_error: float | None = None
    r2: float | None = None
    accuracy: float | None = None
    auc: float | None = None
    auc_per_output: list[float] | None = None
    n_nonfinite: int = 0  # samples left out because an output was NaN or infinite


@dataclass
class Accuracy:
    """Float reference and bit-accurate fixed-point outputs on the same test data."""

    task: str  # 'regression', 'classification', or 'none' (no labels: only fixed against float)
    n_samples: int
    float: Metrics | None  # float64 evaluation of the expressions against the labels
    fixed: Metrics | None  # emulated firmware against the labels
    fixed_vs_float: Metrics  # emulated firmware against the float evaluation (rmse, mae, max_abs_error)
    emulation: str = 'trace'  # how the fixed-point outputs were obtained
    threshold: float | None = None  # decision threshold of single-output classification

    @classmethod
    def from_dict(cls, d: dict) -> Accuracy:
        def m(x):
            return Metrics(**x) if x is not None else None

        return cls(d['task'], d['n_samples'], m(d.get('float')), m(d.get('fixed')), Metrics(**d['fixed_vs_float']),
                   d.get('emulation', 'trace'), d.get('threshold'))


@dataclass
class LutError:
    """One lookup table against its float function, over its whole input range at the design's precision."""

    name: str  # e.g. 'sin_lut'
    spec: str  # 'sin:1024:-4:4'
    precision: str
    n_points: int  # inputs checked: every value of the precision in the range (or MAX_LUT_POINTS of them)
    max_abs_error: float | None  # table lookup (as the firmware indexes it) against f(x)
    mean_abs_error: float | None
    sample_max_abs_error: float | None  # table entries against f at their own sample points (quantization only)
    n_saturated: int = 0  # inputs where f(x) lies outside the precision's range
    n_undefined: int = 0  # inputs where f(x) is not a finite number (left out)


@dataclass
class ValidationRecord:
    """One validated design: what was built, what synthesis measured, what the model predicted, how accurate."""

    index: int
    design: dict
    digest: str
    expressions: list[str]
    precision: str
    luts: list[str]
    backend: str
    status: str  # 'ok' or 'failed'
    actual: dict | None = None  # SynthResult.to_dict()
    predicted: dict[str, float] = field(default_factory=dict)  # per target; empty without a model
    accuracy: Accuracy | None = None
    lut_errors: list[LutError] = field(default_factory=list)
    hls4ml_project: str | None = None
    hls4ml_error: str | None = None
    verilog_dir: str | None = None
    verilog_error: str | None = None
    error: str | None = None  # why synthesis failed
    accuracy_error: str | None = None  # why emulation or the LUT check failed
    log_path: str | None = None
    synth_command: str = ''  # the ``srcost synth`` line that reproduces ``actual`` alone
    label: str = ''  # e.g. the front member it came from

    @property
    def ok(self) -> bool:
        return self.status == 'ok'

    @property
    def synth_result(self) -> SynthResult | None:
        return SynthResult.from_dict(self.actual) if self.actual is not None else None

    def design_obj(self) -> Design:
        return Design.from_dict(self.design)

    def to_dict(self) -> dict:
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> ValidationRecord:
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        if kw.get('accuracy') is not None:
            kw['accuracy'] = Accuracy.from_dict(kw['accuracy'])
        kw['lut_errors'] = [LutError(**x) for x in kw.get('lut_errors') or []]
        kw['predicted'] = dict(kw.get('predicted') or {})
        return cls(**kw)

    def training_record(self, provenance: dict | None = None) -> dict | None:
        """What the calibration store needs to learn from this design (None when synthesis failed)."""
        if not self.ok:
            return None
        return {'design': self.design, 'digest': self.digest, 'result': self.actual,
                'source': 'srcost validate', **(provenance or {})}


@dataclass
class ValidationRun:
    records: list[ValidationRecord]
    backend: str
    emulation: str
    commands: list[str]  # the command lines that produced this run, exactly
    tool_versions: dict[str, str]
    started_at: str  # ISO 8601, UTC
    finished_at: str
    workdir: str
    data: dict = field(default_factory=dict)  # where the test data came from, samples, target, task
    predictor: str | None = None  # name of the cost model asked, None without one
    notes: list[str] = field(default_factory=list)
    synth_seconds: float | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        d = jsonable(dataclasses.asdict(self))
        d['records'] = [r.to_dict() for r in self.records]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ValidationRun:
        if d.get('schema_version', SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValidationError(f'validation file has schema {d["schema_version"]}, newer than this srcost '
                                  f'({SCHEMA_VERSION}); upgrade srcost')
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        kw['records'] = [ValidationRecord.from_dict(r) for r in d.get('records', [])]
        return cls(**kw)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ValidationRun:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValidationError(f'cannot read validation run {path}: {e}') from None

    def training_records(self) -> list[dict]:
        prov = {'run_started_at': self.started_at, 'tool_versions': self.tool_versions, 'commands': self.commands}
        return [t for r in self.records if (t := r.training_record(prov)) is not None]


def save_run(run: ValidationRun, path: str | Path) -> Path:
    return run.save(path)


def load_run(path: str | Path) -> ValidationRun:
    return ValidationRun.load(path)


def jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None, tuples to lists."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, Path):
        return str(x)
    return x


def finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
